"""``livret user``: the same checks and writes as the administration pages (livret.admin.accounts)."""

from __future__ import annotations

import re
import subprocess

import pyotp
from click.testing import CliRunner

from livret.cli import main
from livret.instance.accounts import Accounts
from livret.instance.onetime import OneTimeLinks
from livret.instance.totp import SecondFactor
from livret.store.yamlio import dump_yaml

PASSWORD = "Mot-de-passe-sûr-2026\n"


def run(project, *args, input=None):
    return CliRunner().invoke(main, ["--root", str(project.root), "user", *args], input=input)


def git_log(project, fmt: str = "%an %s") -> list[str]:
    return subprocess.run(["git", "log", f"--format={fmt}"], cwd=project.portfolios, capture_output=True,
                          text=True, check=True).stdout.splitlines()


def test_add_with_name_and_email_assigns_in_one_commit(project):
    before = len(git_log(project))
    result = run(project, "add", "paul.martin", "--role", "tutor", "--learner", "alice", "--learner", "bob",
                 "--name", "Paul Martin", "--email", "paul@exemple.fr", "--password-stdin", input=PASSWORD)
    assert result.exit_code == 0, result.output
    user = Accounts.for_project(project).get("paul.martin")
    assert (user.display_name, user.email) == ("Paul Martin", "paul@exemple.fr")
    log = git_log(project)
    assert len(log) == before + 1 and log[0].startswith("livret Comptes : affectation de paul.martin")
    assert project.store.check() == []
    listing = run(project, "list").output
    assert re.search(r"paul\.martin\s+Tuteur·rice\s+actif\s+alice, bob\s+\[—\]\s+Paul Martin", listing)


def test_add_refuses_a_bad_address_and_a_weak_password(project):
    result = run(project, "add", "paul", "--role", "tutor", "--email", "paul", "--password-stdin", input=PASSWORD)
    assert result.exit_code == 2 and "adresse e-mail invalide" in result.output
    result = run(project, "add", "paul", "--role", "tutor", "--password-stdin", input="paul-2026-secret\n")
    assert result.exit_code == 2 and "contient l'identifiant" in result.output
    assert Accounts.for_project(project).list() == []


def test_reset_prints_a_one_time_link(project):
    run(project, "add", "tina", "--role", "tutor", "--password-stdin", input=PASSWORD)
    result = run(project, "reset", "tina")
    assert result.exit_code == 0 and "public_url" in result.output and "24 h" in result.output
    path = result.output.strip().splitlines()[-1]
    assert re.fullmatch(r"/lien/[A-Za-z0-9_-]{43}", path)
    links = OneTimeLinks(Accounts.for_project(project).db)
    assert links.peek(path.rsplit("/", 1)[1], "reset").username == "tina"
    (project.portfolios / "_organisation.yml").write_text(
        dump_yaml({"name": "OF de test", "public_url": "https://livret.exemple.fr"}), encoding="utf-8")
    url = run(project, "reset", "tina").output.strip().splitlines()[-1]
    assert url.startswith("https://livret.exemple.fr/lien/")
    assert links.peek(path.rsplit("/", 1)[1]) is None  # the new link replaced the first
    assert run(project, "reset", "personne").exit_code == 2


def test_set_role_keeps_an_admin_and_names_what_is_left(project):
    run(project, "add", "ada", "--role", "admin", "--password-stdin", input=PASSWORD)
    run(project, "add", "tina", "--role", "tutor", "--learner", "alice", "--password-stdin", input=PASSWORD)
    last = run(project, "set-role", "ada", "--role", "tutor")
    assert last.exit_code == 2 and "dernier compte administrateur actif" in last.output
    assert run(project, "disable", "ada").exit_code == 2
    left = run(project, "set-role", "tina", "--role", "company")
    assert left.exit_code == 2 and "Alice Test (alice, tuteur·rice)" in left.output
    assert Accounts.for_project(project).get("tina").role == "tutor"
    assert run(project, "set-role", "ada", "--role", "admin").exit_code == 0  # same role: nothing to refuse


def test_reset_2fa(project):
    run(project, "add", "ada", "--role", "admin", "--password-stdin", input=PASSWORD)
    factor = SecondFactor(Accounts.for_project(project))
    factor.confirm("ada", pyotp.TOTP(factor.begin("ada")).now())
    assert "[2FA]" in run(project, "list").output
    result = run(project, "reset-2fa", "ada")
    assert result.exit_code == 0 and not Accounts.for_project(project).get("ada").totp_enabled
