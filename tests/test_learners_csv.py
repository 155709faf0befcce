"""Learners from a CSV file (livret.interop.learners_csv): encodings, separators, aliases, updates, errors,
one commit."""

from __future__ import annotations

import datetime as dt
import re
import subprocess

import pytest
from factories import REPO, make_project

from livret.instance.accounts import Accounts, User
from livret.interop.learners_csv import (
    MAX_BYTES,
    MAX_ROWS,
    ImportRefused,
    apply_import,
    fold_header,
    parse_date,
    plan_import,
)
from livret.store.records import StaleWrite
from livret.store.schema import Group
from livret.store.writer import GroupChange

EXAMPLE = REPO / "docs" / "examples" / "learners.csv"


def account(username: str, role: str, disabled: bool = False) -> User:
    return User(username=username, role=role, disabled=disabled, created="2026-01-01T00:00:00+00:00", stamp="s")


USERS = [account("tina", "tutor"), account("tom", "tutor"), account("carl", "company"), account("alice", "learner"),
         account("old.tutor", "tutor", disabled=True)]


def commits(project) -> int:
    out = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=project.portfolios, capture_output=True,
                         text=True, check=True)
    return int(out.stdout)


def last_author(project) -> str:
    return subprocess.run(["git", "log", "-1", "--format=%an"], cwd=project.portfolios, capture_output=True,
                          text=True, check=True).stdout.strip()


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "p", with_site=False)


def errors_of(plan) -> set[tuple[int | None, str, str]]:
    return {(e.row, e.column, e.message) for e in plan.errors}


def test_utf8_semicolons_french_dates_and_aliases_create_learners_in_one_commit(project):
    data = (
        "Prénom;NOM;Courriel;Intitulé de la formation;Référentiel;Date de début;Fin prévue;Modalité;"
        "En alternance;Type de contrat;Employeur;Ville;Tuteur(s);Maître d'apprentissage;Statut\n"
        "Zoé;Martin;zoe.martin@example.org;BTS MCO;Référentiel de test;01/09/2026;30/06/2028;À distance;oui;"
        "Contrat d’apprentissage;Boulangerie Dupont;Lyon;tina|tom;carl;En cours\n"
        "\n"
        "Léo;Petit;;BTS MCO;mini;2026-09-01;;hybride;non;stage;;;tina;;\n"
    ).encode("utf-8")
    before = commits(project)
    plan = plan_import(data, project.store, USERS, name="eleves.csv")
    assert plan.ok and plan.warnings == []
    assert [(r.row, r.action) for r in plan.rows] == [(2, "create"), (4, "create")]  # the blank row 3 is skipped
    result = apply_import(plan, project.store, author="ada")
    assert commits(project) == before + 1 and last_author(project) == "ada"
    assert len(result.created) == 2 and result.updated == []
    zoe = project.store.profile(result.created[0])
    assert re.fullmatch(r"[a-z][a-z0-9]{7}", zoe.id) and "zoe" not in zoe.id  # opaque, not from the name
    assert (zoe.first_name, zoe.email, zoe.framework, zoe.start, zoe.end) == (
        "Zoé", "zoe.martin@example.org", "mini", dt.date(2026, 9, 1), dt.date(2028, 6, 30))
    assert (zoe.modality, zoe.work_study, zoe.contract, zoe.status) == ("distance", True, "apprentissage", "en-cours")
    assert zoe.company.name == "Boulangerie Dupont" and zoe.company.city == "Lyon"
    assert zoe.tutors == ["tina", "tom"] and zoe.company_tutors == ["carl"]
    leo = project.store.profile(result.created[1])
    assert (leo.contract, leo.work_study, leo.modality, leo.end) == ("stage", False, "hybride", None)
    assert project.store.check() == []


def test_a_bom_and_commas_with_quoted_cells(project):
    data = ("\ufeffprenom,nom,formation,referentiel,debut,objectifs\n"
            'Anne,Roux,"Titre pro, niveau 5",mini,15/09/2026,"Objectif : le titre.\nContexte : reprise."\n')
    plan = plan_import(data.encode("utf-8"), project.store, USERS)
    assert plan.ok and plan.warnings == []
    result = apply_import(plan, project.store, author="ada")
    record = project.store.load_learner(result.created[0])
    assert record.profile.first_name == "Anne" and record.profile.programme == "Titre pro, niveau 5"
    assert record.profile_body.strip() == "Objectif : le titre.\nContexte : reprise."


def test_windows_1252_accents_are_read_with_a_warning(project):
    data = "Prénom;Nom;Formation;Référentiel;Début\nHélène;Lefèvre;Sécurité;mini;02/03/2026\n".encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    plan = plan_import(data, project.store, USERS, name="export.csv")
    assert plan.ok
    assert "Windows-1252" in plan.warnings[0]
    assert plan.rows[0].name == "Hélène Lefèvre"
    result = apply_import(plan, project.store, author="ada")
    assert project.store.profile(result.created[0]).programme == "Sécurité"


def test_a_row_with_an_existing_id_updates_only_its_cells(project):
    store = project.store
    before = store.profile("alice")
    data = ("identifiant;fin;statut;date de sortie;motif;tuteurs\n"
            "alice;31/12/2026;abandon;01/06/2026;Déménagement;\n"
            "bob;;;;;\n").encode("utf-8")
    plan = plan_import(data, store, USERS)
    assert plan.ok
    alice, bob = plan.rows
    assert (alice.action, alice.learner_id) == ("update", "alice")
    assert alice.changed == ["end", "status", "status_date", "status_reason"]
    assert (bob.action, bob.changed) == ("unchanged", [])
    result = apply_import(plan, store, author="ada")
    assert result.updated == ["alice"] and result.created == []
    after = store.profile("alice")
    assert (after.end, after.status, after.status_date, after.status_reason) == (
        dt.date(2026, 12, 31), "abandon", dt.date(2026, 6, 1), "Déménagement")
    # Everything the file did not give is kept: names, tutors, company, account, the free text.
    for key in ("first_name", "last_name", "tutors", "company_tutors", "company", "account", "start"):
        assert getattr(after, key) == getattr(before, key)
    assert store.load_learner("alice").profile_body.strip() == "Objectifs de alice."
    assert store.check() == []


def test_every_error_names_its_row_and_column_and_nothing_is_written(project):
    store = project.store
    store.write_changes((), [GroupChange(Group(id="bts", name="BTS MCO 2026"), None)], author="ada", message="g")
    data = (
        "identifiant;prénom;nom;formation;référentiel;début;fin;tuteurs;tuteurs entreprise;groupes;contrat\n"
        ";Ana;Lima;BTS;inconnu;01/09/2026;;;;;\n"                    # 2 unknown framework
        ";Ben;Rey;BTS;mini;01/09/2026;01/08/2026;;;;\n"               # 3 end before start
        ";Cid;Sol;BTS;mini;31/02/2026;;;;;\n"                         # 4 no such date
        ";Dan;Uri;BTS;mini;01/09/2026;;ghost;;;\n"                    # 5 unknown account
        ";Eva;Vox;BTS;mini;01/09/2026;;carl;;;\n"                     # 6 wrong role
        ";Fay;Wu;BTS;mini;01/09/2026;;;carl;;\n"                      # 7 company tutor, no company
        ";Alice;Test;BTS;mini;05/01/2026;;;;;\n"                      # 8 duplicate of alice
        ";Gus;Yen;BTS;mini;01/09/2026;;;;Promo inconnue;\n"           # 9 unknown group
        ";Gus;Yen;BTS;mini;01/09/2026;;;;bts;\n"                      # 10 valid (first Gus in the file)
        ";Gus;Yen;BTS;mini;01/09/2026;;;;;\n"                         # 11 duplicate of row 10
        "zz1;Hal;Zed;BTS;mini;01/09/2026;;;;;\n"                      # 12 a given new id: valid
        "zz1;Ian;Zed;BTS;mini;01/09/2026;;;;;\n"                      # 13 the same id again
        ";Jo;Ka;BTS;mini;01/09/2026;;old.tutor;;;\n"                  # 14 disabled account
        ";Kim;Lo;BTS;mini;01/09/2026;;;;;apprentissage\n"             # 15 alternance without a company
        "Not An Id!;;;;;;;;;;\n"                                      # 16 invalid id
        ";;Ma;BTS;mini;01/09/2026;;;;;\n"                             # 17 no first name
    ).encode("utf-8")
    before = commits(project)
    plan = plan_import(data, store, USERS, name="f.csv")
    found = errors_of(plan)
    assert (2, "référentiel", "référentiel inconnu : « inconnu » (connus : mini)") in found
    assert (3, "fin", "la date de fin précède la date de début") in found
    assert (4, "début", "date inexistante (lu : '31/02/2026')") in found
    assert (5, "tuteurs", "compte inconnu : ghost") in found
    assert (6, "tuteurs", "carl n'est pas un compte tuteur·rice (rôle : tuteur·rice entreprise)") in found
    assert (7, "entreprise", "des tuteurs entreprise sont indiqués sans entreprise (clé company)") in found
    assert any(e[:2] == (8, "nom") and e[2].startswith("doublon : même prénom, nom et date de début que "
                                                      "l'apprenant·e alice") for e in found)
    assert any(e[:2] == (9, "groupes") and e[2].startswith("groupe inconnu : « Promo inconnue »") for e in found)
    assert any(e[:2] == (11, "nom") and "que ligne 10" in e[2] for e in found)
    assert (13, "identifiant", "identifiant en double : déjà à la ligne 12") in found
    assert (14, "tuteurs", "le compte old.tutor est désactivé") in found
    assert (15, "entreprise", "un contrat d'alternance suppose une entreprise (clé company)") in found
    assert any(e[:2] == (16, "identifiant") and e[2].startswith("identifiant invalide") for e in found)
    assert (17, "prénom", "obligatoire pour créer un·e apprenant·e") in found
    assert [r.row for r in plan.rows if not r.errors] == [10, 12]
    assert plan.rows[0].shown_id is None  # a refused new learner shows no id (it would not be kept)
    assert next(r for r in plan.rows if r.row == 12).shown_id == "zz1"
    with pytest.raises(ImportRefused):
        apply_import(plan, store, author="ada")
    assert commits(project) == before
    assert store.learner_ids() == ["alice", "bob"]
    assert store.groups()["bts"].members == []
    line = next(e for e in plan.errors if e.row == 5).line("f.csv")
    assert line == "f.csv:5: tuteurs : compte inconnu : ghost"


def test_only_valid_writes_the_valid_rows_in_one_commit(project):
    store = project.store
    store.write_changes((), [GroupChange(Group(id="bts", name="BTS MCO 2026"), None)], author="ada", message="g")
    data = ("prénom;nom;formation;référentiel;début;groupes\n"
            "Ana;Lima;BTS;mini;01/09/2026;BTS MCO 2026\n"
            "Ben;Rey;BTS;nope;01/09/2026;bts\n"
            "Cid;Sol;BTS;mini;01/09/2026;bts|BTS MCO 2026\n").encode("utf-8")
    plan = plan_import(data, store, USERS)
    before = commits(project)
    result = apply_import(plan, store, author="ada", only_valid=True)
    assert commits(project) == before + 1 and last_author(project) == "ada"
    assert len(result.created) == 2 and result.skipped == 1 and result.groups == ["bts"]
    assert store.groups()["bts"].members == result.created
    assert sorted(store.profile(lid).first_name for lid in result.created) == ["Ana", "Cid"]
    assert plan.named_groups == ["bts"]
    assert store.check() == []


def test_a_file_that_cannot_be_read_is_refused_whole(project):
    store = project.store
    cases = {
        b"": "fichier vide",
        b"x" * (MAX_BYTES + 1): "fichier trop volumineux",
        "prénom;nom\nZoé;Mart\x81in\n".encode("utf-8").replace(b"\xc3\xa9", b"\xe9"): "ni en UTF-8 ni en Windows-1252",
        "prénom;nom;couleur\nZoé;Martin;bleu\n".encode(): "colonnes manquantes pour créer des apprenant·es : "
                                                         "« formation », « référentiel », « début »",
        "prénom;Prenom;nom\n".encode(): "colonne en double",
        "a;b\n1;2\n".encode(): "aucune colonne reconnue",
        ('identifiant\n' + "alice\n" * (MAX_ROWS + 1)).encode(): "trop de lignes",
        'prénom;nom\n"Zoé;Martin\n'.encode(): "CSV illisible",
    }
    for data, message in cases.items():
        plan = plan_import(data, store, USERS)
        assert plan.file_errors and message in plan.file_errors[0].message, (data[:40], plan.file_errors)
        assert plan.rows == []
        with pytest.raises(ImportRefused):
            apply_import(plan, store, author="ada", only_valid=True)
    plan = plan_import("prénom;nom;couleur\nZoé;Martin;bleu\n".encode(), store, USERS)
    assert "colonne « couleur » inconnue : ignorée" in plan.warnings


def test_a_plan_is_not_applied_over_a_hand_edit_made_since(project):
    store = project.store
    plan = plan_import("identifiant;formation\nalice;BTS NDRC\n".encode(), store, USERS)
    assert plan.ok and plan.rows[0].action == "update"
    path = project.portfolios / "alice" / "learner.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Alice", "Alicia"), encoding="utf-8")
    before = commits(project)
    with pytest.raises(StaleWrite):
        apply_import(plan, store, author="ada")
    assert commits(project) == before
    assert "Alicia" in path.read_text(encoding="utf-8") and "BTS NDRC" not in path.read_text(encoding="utf-8")


def test_status_rules_apply_to_imported_rows(project):
    store = project.store
    data = ("identifiant;statut;date de sortie;motif\n"
            "alice;terminé;;\n"
            "bob;en cours;01/06/2026;\n").encode()
    found = errors_of(plan_import(data, store, USERS))
    assert (2, "date de sortie", "la date de fin ou d'abandon est obligatoire") in found
    assert (2, "motif", "le motif de la fin ou de l'abandon est obligatoire") in found
    assert (3, "date de sortie", "une date de fin ou d'abandon suppose le statut terminé ou abandon") in found
    ended = store.profile("alice").model_copy(update={"status": "termine", "status_date": dt.date(2026, 6, 1),
                                                      "status_reason": "Diplômée"})
    store.write_profile(ended, None, author="ada", message="fin")
    plan = plan_import("identifiant;statut\nalice;en cours\n".encode(), store, USERS)
    assert plan.ok and plan.rows[0].changed == ["status", "status_date", "status_reason"]
    apply_import(plan, store, author="ada")
    back = store.profile("alice")
    assert (back.status, back.status_date, back.status_reason) == ("en-cours", None, None)


def test_many_learners_import_in_one_commit_and_stay_valid(project):
    rows = "\n".join(f"Prénom{i};Nom{i};BTS;mini;01/09/2026;tina" for i in range(300))
    data = ("prénom;nom;formation;référentiel;début;tuteurs\n" + rows + "\n").encode()
    before = commits(project)
    plan = plan_import(data, project.store, USERS)
    assert plan.ok and plan.count("create") == 300
    result = apply_import(plan, project.store, author="ada")
    assert len(set(result.created)) == 300
    assert commits(project) == before + 1
    changed = subprocess.run(["git", "show", "--name-only", "--format=", "HEAD"], cwd=project.portfolios,
                             capture_output=True, text=True, check=True).stdout.split()
    assert len(changed) == 300
    assert project.store.check() == []


def test_small_parsers():
    assert parse_date("5/1/2026") == dt.date(2026, 1, 5)
    assert parse_date("05.01.2026") == dt.date(2026, 1, 5)
    assert parse_date("2026-01-05") == dt.date(2026, 1, 5)
    for bad in ("05/01/26", "2026/01/05", "demain", "31/04/2026"):
        with pytest.raises(ValueError):
            parse_date(bad)
    assert fold_header("  Tuteur(s) Entreprise ") == "tuteurs entreprise"
    assert fold_header("Maître d’apprentissage") == "maitre d apprentissage"
    assert fold_header("E-MAIL") == "e mail"


def test_the_documented_example_imports_into_the_demo(demo_project):
    """docs/examples/learners.csv is the file docs/format.md shows, and it imports as documented."""
    fmt = (REPO / "docs" / "format.md").read_text(encoding="utf-8")
    shown = re.search(r"```csv\n(.*?)```", fmt, flags=re.S).group(1)
    assert shown == EXAMPLE.read_text(encoding="utf-8")
    store = demo_project.store
    accounts = Accounts.for_project(demo_project)
    for name, role in (("paul.martin", "tutor"), ("sophie.bernard", "tutor"), ("jean.dupont", "company")):
        accounts.add(name, role)
    store.write_changes((), [GroupChange(Group(id="promo-crcd-2026", name="Promo CRCD 2026"), None)],
                        author="ada", message="groupe")
    plan = plan_import(EXAMPLE.read_bytes(), store, accounts.list(), name=EXAMPLE.name)
    assert plan.errors == [] and plan.warnings == []
    assert [(r.row, r.action) for r in plan.rows] == [(2, "create"), (3, "create"), (4, "update")]
    assert plan.rows[2].changed == ["end"]
    result = apply_import(plan, store, author="ada")
    nadia, julien = (store.profile(lid) for lid in result.created)
    assert nadia.name == "Nadia Haddad" and nadia.framework == "relation-client" and nadia.contract == "aucun"
    assert julien.tutors == ["paul.martin", "sophie.bernard"] and julien.company_tutors == ["jean.dupont"]
    assert julien.contract == "apprentissage" and julien.work_study and julien.company.city == "Lyon"
    assert store.groups()["promo-crcd-2026"].members == [nadia.id]
    assert store.profile("claire-dubois").end == dt.date(2027, 1, 15)
    assert store.check() == []
