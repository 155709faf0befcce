"""Administration operations on learners and groups, the profile's history, kept uploads (livret.admin)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time

import pytest
from factories import make_project

from livret.admin import groups as G
from livret.admin import learners as L
from livret.admin.history import profile_changes, profile_history
from livret.admin.learner_imports import MAX_AGE, PendingImports, safe_name
from livret.instance.accounts import User
from livret.store.errors import InvalidInput
from livret.store.records import StaleWrite


def account(username: str, role: str, disabled: bool = False) -> User:
    return User(username=username, role=role, disabled=disabled, created="2026-01-01T00:00:00+00:00", stamp="s")


USERS = L.users_by_name([account("tina", "tutor"), account("tom", "tutor"), account("carl", "company"),
                         account("alice", "learner"), account("gone", "tutor", disabled=True)])


def commits(project) -> int:
    out = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=project.portfolios, capture_output=True,
                         text=True, check=True)
    return int(out.stdout)


def git(project, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=project.portfolios, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "p", with_site=False)


def form(**over) -> dict:
    data = {"first_name": "Zoé", "last_name": "Martin", "email": "", "programme": "BTS MCO", "framework": "mini",
            "start": "2026-09-01", "end": "", "modality": "presentiel", "work_study": False, "contract": "",
            "company_name": "", "company_city": "", "company_contact": "", "tutors": ["tina"],
            "company_tutors": []}
    data.update(over)
    return data


def errors(exc: pytest.ExceptionInfo) -> dict:
    return {e.loc: e.message for e in exc.value.errors}


# --------------------------------------------------------------------------
# The history's diff: a pure function
# --------------------------------------------------------------------------


def test_profile_changes_names_each_field_in_french_with_readable_values():
    old = {"id": "k7mpq2xt", "first_name": "Zoé", "programme": "BTS", "start": "2026-09-01", "status": "en-cours",
           "contract": "apprentissage", "company": {"name": "Dupont", "city": "Lyon"}, "tutors": ["tina"],
           "work_study": True, "custom": "x"}
    new = {"id": "k7mpq2xt", "first_name": "Zoé", "programme": "BTS NDRC", "start": "2026-09-01",
           "status": "abandon", "status_date": "2027-02-01", "contract": "professionnalisation",
           "company": {"name": "Dupont"}, "tutors": ["tina", "tom"], "work_study": False}
    changes = [(c.key, c.label, c.old, c.new) for c in profile_changes(old, new, "Objectifs.", "Nouveaux objectifs.")]
    assert changes == [
        ("programme", "Formation", "BTS", "BTS NDRC"),
        ("work_study", "Alternance", "oui", "non"),
        ("contract", "Contrat", "Contrat d'apprentissage", "Contrat de professionnalisation"),
        ("company.city", "Ville de l'entreprise", "Lyon", "—"),
        ("status", "Statut", "En cours", "Abandon"),
        ("status_date", "Date de fin ou d'abandon", "—", "1er février 2027"),
        ("tutors", "Tuteurs", "tina", "tina, tom"),
        ("body", "Objectifs, contexte", "Objectifs.", "Nouveaux objectifs."),
        ("custom", "custom", "x", "—"),  # a key the schema does not know (a hand edit) comes last
    ]
    assert profile_changes(old, old) == []
    assert profile_changes({"tutors": []}, {}) == []  # an empty list and an absent key read the same
    created = profile_changes(None, {"id": "x", "first_name": "Zoé"})
    assert [(c.label, c.old, c.new) for c in created] == [("Identifiant", "—", "x"), ("Prénom", "—", "Zoé")]
    long = profile_changes({"programme": "a"}, {"programme": "b" * 1000})[0].new
    assert len(long) == 300 and long.endswith("…")


def test_the_history_lists_every_version_with_its_author_hand_edits_included(project):
    store = project.store
    lid = L.create_learner(store, form(), users=USERS, author="ada", body="Objectifs.").learner_id
    L.update_learner(store, lid, {**form(), "programme": "BTS NDRC"}, users=USERS, author="ada",
                     expected=L.profile_revision(store, lid))
    path = project.portfolios / lid / "learner.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Martin", "Martin-Roux"), encoding="utf-8")
    subprocess.run(["git", "-c", "user.name=marie", "-c", "user.email=m@x", "commit", "-qam", "nom à la main"],
                   cwd=project.portfolios, check=True)
    versions = profile_history(store, lid)
    assert [v.author for v in versions] == ["marie", "ada", "ada"]
    assert [(c.label, c.old, c.new) for c in versions[0].changes] == [("Nom", "Martin", "Martin-Roux")]
    assert [(c.label, c.old, c.new) for c in versions[1].changes] == [("Formation", "BTS MCO", "BTS NDRC")]
    assert versions[2].created and ("Objectifs, contexte", "—", "Objectifs.") in [
        (c.label, c.old, c.new) for c in versions[2].changes]
    assert versions[1].message.startswith(f"{lid} : profil modifié (formation)")
    assert all(v.date.tzinfo is not None for v in versions)


# --------------------------------------------------------------------------
# Learners
# --------------------------------------------------------------------------


def test_create_gives_an_opaque_id_and_writes_profile_and_groups_in_one_commit(project):
    store = project.store
    gid = G.create_group(store, {"name": "BTS MCO 2026"}, ["alice"], author="ada")
    before = commits(project)
    saved = L.create_learner(store, form(contract="apprentissage", company_name="Boulangerie", work_study=True,
                                         company_tutors=["carl"]),
                             users=USERS, author="ada", groups=[gid], body="Objectifs.")
    assert commits(project) == before + 1 and git(project, "log", "-1", "--format=%an") == "ada"
    assert len(saved.learner_id) == 8 and "zoe" not in saved.learner_id
    assert set(git(project, "show", "--name-only", "--format=", "HEAD").split()) == {
        f"{saved.learner_id}/learner.md", "_groups/bts-mco-2026.yml"}
    profile = store.profile(saved.learner_id)
    assert profile.company.name == "Boulangerie" and profile.company_tutors == ["carl"]
    assert store.groups()[gid].members == ["alice", saved.learner_id]
    assert store.check() == []


@pytest.mark.parametrize("over, loc, message", [
    ({"framework": "nope"}, ("framework",), "référentiel introuvable : nope"),
    ({"end": "2026-08-01"}, ("end",), "la date de fin précède la date de début"),
    ({"start": "01/13/2026"}, ("start",), "date inexistante (lu : '01/13/2026')"),
    ({"start": ""}, ("start",), "clé obligatoire manquante"),
    ({"email": "pas une adresse"}, ("email",), "format invalide (lu : 'pas une adresse')"),
    ({"tutors": ["carl"]}, ("tutors",), "carl n'est pas un compte tuteur·rice (rôle : tuteur·rice entreprise)"),
    ({"tutors": ["ghost"]}, ("tutors",), "compte inconnu : ghost"),
    ({"tutors": ["gone"]}, ("tutors",), "le compte gone est désactivé"),
    ({"company_tutors": ["carl"]}, ("company_name",),
     "des tuteurs entreprise sont indiqués sans entreprise (clé company)"),
    ({"company_tutors": ["tina"], "company_name": "X"}, ("company_tutors",),
     "tina n'est pas un compte tuteur·rice entreprise (rôle : tuteur·rice)"),
    ({"contract": "professionnalisation"}, ("company_name",),
     "un contrat d'alternance suppose une entreprise (clé company)"),
    ({"company_city": "Lyon"}, ("company_name",),
     "le nom de l'entreprise est obligatoire quand une ville ou un contact est indiqué"),
    ({"status": "abandon", "status_date": "2026-10-01"}, ("status_reason",),
     "le motif de la fin ou de l'abandon est obligatoire"),
])
def test_bad_input_names_the_form_field_and_writes_nothing(project, over, loc, message):
    before = commits(project)
    with pytest.raises(InvalidInput) as exc:
        L.create_learner(project.store, form(**over), users=USERS, author="ada")
    assert errors(exc)[loc] == message
    assert commits(project) == before and project.store.learner_ids() == ["alice", "bob"]


def test_a_duplicate_is_refused_unless_declared_a_homonym(project):
    store = project.store
    same = form(first_name="ALICE", last_name="Test", start="05/01/2026")
    with pytest.raises(InvalidInput) as exc:
        L.create_learner(store, same, users=USERS, author="ada")
    assert errors(exc)[("last_name",)].startswith("doublon : Alice Test (alice) a les mêmes nom, prénom")
    saved = L.create_learner(store, same, users=USERS, author="ada", allow_homonym=True)
    assert saved.learner_id != "alice" and store.profile(saved.learner_id).first_name == "ALICE"


def test_update_keeps_the_id_refuses_a_stale_form_and_skips_a_no_op(project):
    store = project.store
    gid = G.create_group(store, {"name": "G1"}, ["alice"], author="ada")
    seen = L.profile_revision(store, "alice")
    data = L.profile_form_data(store.profile("alice"), "Objectifs de alice.")
    before = commits(project)
    assert L.update_learner(store, "alice", data, users=USERS, author="ada", expected=seen,
                            groups=[gid]).commit_id is None
    assert commits(project) == before
    path = project.portfolios / "alice" / "learner.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Formation de test", "Formation à la main"),
                    encoding="utf-8")
    with pytest.raises(StaleWrite):
        L.update_learner(store, "alice", {**data, "last_name": "Durand"}, users=USERS, author="ada", expected=seen)
    with pytest.raises(StaleWrite):  # nothing to save, but the form showed an older file: say so
        L.update_learner(store, "alice", data, users=USERS, author="ada", expected=seen, groups=[gid])
    assert "Formation à la main" in path.read_text(encoding="utf-8") and commits(project) == before
    fresh = L.profile_revision(store, "alice")
    data = L.profile_form_data(store.profile("alice"), "Objectifs de alice.")
    saved = L.update_learner(store, "alice", {**data, "last_name": "Durand", "tutors": ["tina", "tom"]},
                             users=USERS, author="ada", expected=fresh, groups=[])
    profile = store.profile("alice")
    assert saved.commit_id and profile.id == "alice" and profile.last_name == "Durand"
    assert profile.programme == "Formation à la main" and profile.account == "alice"
    assert profile.tutors == ["tina", "tom"] and store.groups()[gid].members == []
    assert store.load_learner("alice").profile_body.strip() == "Objectifs de alice."
    assert commits(project) == before + 1 and store.check() == []


def test_assignments_already_there_are_kept_even_if_the_account_changed_since(project):
    store = project.store
    users = {**USERS, "tina": account("tina", "tutor", disabled=True)}
    data = L.profile_form_data(store.profile("alice"))
    L.update_learner(store, "alice", {**data, "programme": "Autre"}, users=users, author="ada",
                     expected=L.profile_revision(store, "alice"))
    assert store.profile("alice").tutors == ["tina"]


def test_status_needs_a_date_and_a_reason_and_en_cours_clears_them(project):
    store = project.store

    def status(**values):
        return L.change_status(store, "alice", values, author="ada", expected=L.profile_revision(store, "alice"))

    with pytest.raises(InvalidInput) as exc:
        status(status="termine")
    assert set(errors(exc)) == {("status_date",), ("status_reason",)}
    with pytest.raises(InvalidInput) as exc:
        status(status="abandon", status_date="2025-12-01", status_reason="x")
    assert errors(exc)[("status_date",)] == "la date de fin ou d'abandon précède le début de la formation"
    with pytest.raises(InvalidInput) as exc:
        status(status="fini")
    assert errors(exc)[("status",)] == "statut inconnu"
    status(status="abandon", status_date="15/06/2026", status_reason="Déménagement")
    p = store.profile("alice")
    assert (p.status, p.status_date, p.status_reason) == ("abandon", dt.date(2026, 6, 15), "Déménagement")
    assert git(project, "log", "-1", "--format=%s") == "alice : statut « Abandon » (ada)"
    status(status="en-cours", status_date="15/06/2026", status_reason="ignoré")
    p = store.profile("alice")
    assert (p.status, p.status_date, p.status_reason) == ("en-cours", None, None)


def test_a_contract_break_needs_an_alternance_contract_a_date_and_a_reason(project):
    store = project.store
    rev = L.profile_revision(store, "alice")
    with pytest.raises(InvalidInput) as exc:
        L.change_status(store, "alice", {"contract_break_date": "2026-03-01", "contract_break_reason": "x"},
                        author="ada", expected=rev)
    assert errors(exc)[("contract_break_date",)].startswith("une rupture suppose un contrat d'apprentissage")
    data = L.profile_form_data(store.profile("alice"))
    L.update_learner(store, "alice", {**data, "contract": "apprentissage"}, users=USERS, author="ada", expected=rev)
    rev = L.profile_revision(store, "alice")
    with pytest.raises(InvalidInput) as exc:
        L.change_status(store, "alice", {"contract_break_date": "2026-03-01", "contract_break_reason": ""},
                        author="ada", expected=rev)
    assert errors(exc) == {("contract_break_reason",): "le motif de la rupture est obligatoire"}
    with pytest.raises(InvalidInput) as exc:
        L.change_status(store, "alice", {"contract_break_date": "", "contract_break_reason": "Motif"},
                        author="ada", expected=rev)
    assert errors(exc) == {("contract_break_date",): "la date de la rupture est obligatoire quand un motif est "
                                                     "indiqué"}
    L.change_status(store, "alice", {"contract_break_date": "2026-03-01", "contract_break_reason": "Employeur"},
                    author="ada", expected=rev)
    brk = store.profile("alice").contract_break
    assert (brk.date, brk.reason) == (dt.date(2026, 3, 1), "Employeur")
    assert store.profile("alice").status == "en-cours"  # a break does not end the training
    L.change_status(store, "alice", {"contract_break_date": "", "contract_break_reason": ""}, author="ada",
                    expected=L.profile_revision(store, "alice"))
    assert store.profile("alice").contract_break is None
    assert git(project, "log", "-1", "--format=%s") == "alice : rupture du contrat retirée (ada)"


def test_assign_and_unassign_check_the_role(project):
    store = project.store
    with pytest.raises(InvalidInput) as exc:
        L.assign(store, "bob", "carl", key="tutors", users=USERS, author="ada")
    assert errors(exc)[("tutors",)].startswith("carl n'est pas un compte tuteur·rice")
    with pytest.raises(InvalidInput) as exc:
        L.assign(store, "bob", "carl", key="company_tutors", users=USERS, author="ada")
    assert errors(exc)[("company_name",)].startswith("des tuteurs entreprise sont indiqués sans entreprise")
    assert L.assign(store, "bob", "tina", key="tutors", users=USERS, author="ada").commit_id
    assert store.profile("bob").tutors == ["tom", "tina"]
    assert L.assign(store, "bob", "tina", key="tutors", users=USERS, author="ada").commit_id is None
    assert L.unassign(store, "bob", "tom", key="tutors", author="ada").commit_id
    assert store.profile("bob").tutors == ["tina"]
    assert git(project, "log", "-1", "--format=%s") == "bob : fin de l'affectation de tom (tuteur·rice) (ada)"
    assert store.check() == []


# --------------------------------------------------------------------------
# Groups
# --------------------------------------------------------------------------


def test_groups_get_ids_from_their_names_and_are_validated(project):
    store = project.store
    assert G.create_group(store, {"name": "BTS MCO — 2026", "start": "01/09/2026", "end": "2028-06-30",
                                  "weekly_hours": "35,5"}, ["alice"], author="ada") == "bts-mco-2026"
    assert G.create_group(store, {"name": "BTS MCO 2026"}, author="ada") == "bts-mco-2026-2"
    g = store.groups()["bts-mco-2026"]
    assert (g.start, g.end, g.weekly_hours, g.members) == (dt.date(2026, 9, 1), dt.date(2028, 6, 30), 35.5, ["alice"])
    bad = [({"name": ""}, [], ("name",), "le nom du groupe est obligatoire"),
           ({"name": "X", "start": "2026-09-01", "end": "2026-08-01"}, [], ("end",),
            "la date de fin précède la date de début"),
           ({"name": "X", "weekly_hours": "beaucoup"}, [], ("weekly_hours",), "nombre attendu (lu : 'beaucoup')"),
           ({"name": "X", "weekly_hours": "90"}, [], ("weekly_hours",), "doit être au plus 80"),
           ({"name": "X"}, ["ghost"], ("members",), "apprenant·e inconnu·e : ghost")]
    before = commits(project)
    for data, members, loc, message in bad:
        with pytest.raises(InvalidInput) as exc:
            G.create_group(store, data, members, author="ada")
        assert errors(exc)[loc].startswith(message)
    with pytest.raises(InvalidInput) as exc:
        G.create_group(store, {"name": "Y"}, author="ada", group_id="bts-mco-2026")
    assert errors(exc)[("id",)] == "le groupe bts-mco-2026 existe déjà"
    assert commits(project) == before


def test_group_edit_is_stale_safe_and_delete_leaves_learners_untouched(project):
    store = project.store
    gid = G.create_group(store, {"name": "G"}, ["alice"], author="ada")
    seen = G.group_revision(store, gid)
    path = project.portfolios / "_groups" / f"{gid}.yml"
    path.write_text(path.read_text(encoding="utf-8") + "description: à la main\n", encoding="utf-8")
    with pytest.raises(StaleWrite):
        G.update_group(store, gid, {"name": "G2"}, ["alice", "bob"], author="ada", expected=seen)
    assert "à la main" in path.read_text(encoding="utf-8")
    fresh = G.group_revision(store, gid)
    G.update_group(store, gid, {**G.group_form_data(store.groups()[gid]), "name": "G2"}, ["alice", "bob"],
                   author="ada", expected=fresh)
    assert (store.groups()[gid].name, store.groups()[gid].description) == ("G2", "à la main")
    alice = (project.portfolios / "alice" / "learner.md").read_bytes()
    before = commits(project)
    with pytest.raises(StaleWrite):
        G.delete_group(store, gid, author="ada", expected=seen)
    G.delete_group(store, gid, author="ada", expected=G.group_revision(store, gid))
    assert commits(project) == before + 1 and not path.exists()
    assert (project.portfolios / "alice" / "learner.md").read_bytes() == alice
    assert git(project, "show", "--name-status", "--format=", "HEAD") == f"D\t_groups/{gid}.yml"
    assert store.check() == []


def test_membership_changes_join_and_leave(project):
    store = project.store
    g1 = G.create_group(store, {"name": "G1"}, ["alice"], author="ada")
    g2 = G.create_group(store, {"name": "G2"}, [], author="ada")
    changes = G.membership_changes(store, "alice", [g2])
    assert {(c.group.id, tuple(c.group.members)) for c in changes} == {(g1, ()), (g2, ("alice",))}
    assert [c.group.id for c in G.membership_changes(store, "alice", [g2], add_only=True)] == [g2]
    assert G.membership_changes(store, "alice", None) == []
    with pytest.raises(InvalidInput):
        G.membership_changes(store, "alice", ["nope"])
    G.add_members(store, g2, ["bob", "alice", "bob"], author="ada")
    assert store.groups()[g2].members == ["bob", "alice"]


# --------------------------------------------------------------------------
# Uploaded files kept between preview and confirmation
# --------------------------------------------------------------------------


def test_kept_uploads_are_private_bound_to_their_owner_and_expire(tmp_path):
    keeper = PendingImports(tmp_path / "instance")
    token = keeper.keep(b"prenom;nom\n", owner="ada", name="C:\\Users\\ada\\eleves.csv")
    files = sorted(p.name for p in (tmp_path / "instance" / "imports").iterdir())
    assert files == [f"{token}.csv", f"{token}.json"]
    assert all(os.stat(tmp_path / "instance" / "imports" / f).st_mode & 0o777 == 0o600 for f in files)
    kept = keeper.load(token, owner="ada")
    assert kept.data == b"prenom;nom\n" and kept.name == "eleves.csv"
    assert keeper.load(token, owner="eve") is None  # another admin cannot use it
    for forged in ("../../etc/passwd", "", token + "x", token[:-1] + "/"):
        assert keeper.load(forged, owner="ada") is None
    assert keeper.load(token, owner="ada", now=time.time() + MAX_AGE + 1) is None  # expired: gone
    assert not (tmp_path / "instance" / "imports" / f"{token}.csv").exists()
    old = keeper.keep(b"x", owner="ada", name="a.csv")
    stale = time.time() - MAX_AGE - 10
    for suffix in (".csv", ".json"):
        os.utime(tmp_path / "instance" / "imports" / f"{old}{suffix}", (stale, stale))
    newer = keeper.keep(b"y", owner="ada", name="b.csv")
    assert keeper.load(old, owner="ada") is None and keeper.load(newer, owner="ada").data == b"y"
    keeper.discard(newer)
    assert list((tmp_path / "instance" / "imports").iterdir()) == []
    assert safe_name("../../x\x00y.csv") == "xy.csv" and safe_name("") == "import.csv"
