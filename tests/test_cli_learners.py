"""``livret learners import`` and ``livret learners list``: preview, exit codes, one commit or nothing."""

from __future__ import annotations

import subprocess

import pytest
from click.testing import CliRunner
from factories import make_project, password_of

from livret.cli import main
from livret.instance.accounts import Accounts

GOOD = "prénom;nom;formation;référentiel;début;tuteurs\nZoé;Martin;BTS MCO;mini;01/09/2026;tina\n"
BROKEN = GOOD + "Léo;Petit;BTS MCO;inconnu;01/09/2026;\n"


def commits(project) -> int:
    out = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=project.portfolios, capture_output=True,
                         text=True, check=True)
    return int(out.stdout)


@pytest.fixture
def project(tmp_path):
    project = make_project(tmp_path / "p", with_site=False)
    Accounts.for_project(project).add("tina", "tutor", password_of("tina"))
    return project


def run(project, *args: str):
    return CliRunner().invoke(main, [*args, "--root", str(project.root)])


def write(tmp_path, text: str, name: str = "eleves.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_dry_run_prints_the_preview_and_writes_nothing(project, tmp_path):
    before = commits(project)
    result = run(project, "learners", "import", str(write(tmp_path, GOOD)), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "ligne 2 : création (nouvel identifiant) Zoé Martin" in result.output
    assert "rien n'a été écrit" in result.output
    assert commits(project) == before and project.store.learner_ids() == ["alice", "bob"]
    result = run(project, "learners", "import", str(write(tmp_path, BROKEN)), "--dry-run")
    assert result.exit_code == 1
    assert commits(project) == before


def test_errors_are_printed_as_file_row_column_and_nothing_is_written(project, tmp_path):
    path = write(tmp_path, BROKEN)
    before = commits(project)
    result = run(project, "learners", "import", str(path))
    assert result.exit_code == 1
    assert f"{path}:3: référentiel : référentiel inconnu : « inconnu » (connus : mini)" in result.output
    assert "rien n'a été écrit" in result.output
    assert commits(project) == before and project.store.learner_ids() == ["alice", "bob"]


def test_import_writes_every_row_in_one_commit_by_the_author(project, tmp_path):
    before = commits(project)
    result = run(project, "learners", "import", str(write(tmp_path, GOOD)), "--author", "ada")
    assert result.exit_code == 0, result.output
    assert "Importé : 1 création, 0 mise à jour" in result.output
    created = next(lid for lid in project.store.learner_ids() if lid not in ("alice", "bob"))
    assert f"ligne 2 : création {created} Zoé Martin" in result.output  # the id written
    assert commits(project) == before + 1
    log = subprocess.run(["git", "log", "-1", "--format=%an|%s"], cwd=project.portfolios, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert log == "ada|Import d'apprenant·es (eleves.csv) : 1 création"
    assert project.store.check() == []
    again = run(project, "learners", "import", str(write(tmp_path, "identifiant;prénom\nalice;Alice\n")))
    assert again.exit_code == 0 and "inchangé" in again.output and "Rien à écrire" in again.output
    assert commits(project) == before + 1


def test_only_valid_writes_the_valid_rows(project, tmp_path):
    before = commits(project)
    result = run(project, "learners", "import", str(write(tmp_path, BROKEN)), "--only-valid", "--author", "ada")
    assert result.exit_code == 0, result.output
    assert "1 ligne en erreur ignorée" in result.output
    assert commits(project) == before + 1 and len(project.store.learner_ids()) == 3


def test_bad_options_and_unreadable_files(project, tmp_path):
    result = run(project, "learners", "import", str(write(tmp_path, GOOD)), "--author", "Not Valid")
    assert result.exit_code == 2 and "--author" in result.output
    path = tmp_path / "bad.csv"
    path.write_bytes(b"")
    result = run(project, "learners", "import", str(path))
    assert result.exit_code == 1 and f"{path}: fichier vide" in result.output
    assert run(project, "learners", "import", str(tmp_path / "absent.csv")).exit_code == 2


def test_list_filters_by_group_and_status(project, tmp_path):
    from livret.admin.groups import create_group

    create_group(project.store, {"name": "BTS 2026"}, ["bob"], author="ada")
    out = run(project, "learners", "list").output.splitlines()
    assert out[0].split("\t")[:2] == ["alice", "Alice Test"] and out[1].endswith("bts-2026")
    assert [line.split("\t")[0] for line in run(project, "learners", "list", "--group", "bts-2026").output.splitlines()
            ] == ["bob"]
    assert run(project, "learners", "list", "--status", "abandon").output.strip() == "Aucun·e apprenant·e."
    assert run(project, "learners", "list", "--group", "nope").exit_code == 2
