"""``livret user ...`` and ``livret demo``: the command-line contract."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest
from app_support import HttpSession
from click.testing import CliRunner
from factories import REPO

from livret.cli import main
from livret.instance.accounts import Accounts, LoginRefused
from livret.store.project import Project


def run(project, *args, input=None):
    return CliRunner().invoke(main, ["--root", str(project.root), "user", *args], input=input)


def git_log(project) -> list[str]:
    return subprocess.run(["git", "log", "--format=%s"], cwd=project.portfolios, capture_output=True,
                          text=True, check=True).stdout.splitlines()


def test_add_prints_a_random_password_and_records_assignments(project):
    result = run(project, "add", "paul.martin", "--role", "tutor", "--learner", "alice", "--learner", "bob")
    assert result.exit_code == 0, result.output
    password = re.search(r"Mot de passe : (\S+)", result.output).group(1)
    assert len(password) >= 16
    assert Accounts.for_project(project).authenticate("paul.martin", password).role == "tutor"
    store = Project.at(project.root).store
    assert "paul.martin" in store.profile("alice").tutors and "paul.martin" in store.profile("bob").tutors
    assert any("affectation de paul.martin" in line for line in git_log(project))
    assert store.check() == []


def test_password_from_stdin_and_roles(project):
    assert run(project, "add", "jean.dupont", "--role", "company", "--learner", "alice", "--password-stdin",
               input="Mot-de-passe-sûr-2026\n").exit_code == 0
    result = run(project, "add", "alice.new", "--role", "learner", "--learner", "bob", "--password-stdin",
                 input="Mot-de-passe-sûr-2026\n")
    assert result.exit_code == 2 and "Bob Test (bob) a déjà un compte apprenant·e : bob" in result.output
    assert run(project, "add", "audit", "--role", "auditor", "--password-stdin",
               input="Mot-de-passe-sûr-2026\n").exit_code == 0
    accounts = Accounts.for_project(project)
    assert "Mot de passe :" not in run(project, "add", "x.y", "--role", "admin", "--password-stdin",
                                       input="Mot-de-passe-sûr-2026\n").output
    assert accounts.authenticate("jean.dupont", "Mot-de-passe-sûr-2026").role == "company"
    assert "jean.dupont" in project.store.profile("alice").company_tutors


@pytest.mark.parametrize("args, message", [
    (["add", "Paul", "--role", "tutor"], "nom d'utilisateur invalide"),
    (["add", "paul", "--role", "tutor", "--learner", "nobody"], "apprenant·e inconnu·e : nobody"),
    (["add", "paul", "--role", "company", "--learner", "bob"], "sans entreprise"),
    (["add", "paul", "--role", "admin", "--learner", "bob"], "ne s'applique pas au rôle admin"),
    (["add", "paul", "--role", "learner", "--learner", "alice", "--learner", "bob"], "un seul portfolio"),
    (["add", "paul", "--role", "chef"], "Invalid value for '--role'"),
])
def test_refused_adds_change_nothing(project, args, message):
    before = (project.portfolios / "bob" / "learner.md").read_bytes(), git_log(project)
    result = run(project, *args, input="Mot-de-passe-sûr-2026\n")
    assert result.exit_code == 2 and message in result.output, result.output
    assert Accounts.for_project(project).list() == []
    assert ((project.portfolios / "bob" / "learner.md").read_bytes(), git_log(project)) == before


def test_short_password_is_refused(project):
    result = run(project, "add", "paul", "--role", "tutor", "--password-stdin", input="court\n")
    assert result.exit_code == 2 and "trop court" in result.output
    assert Accounts.for_project(project).list() == []


def test_list_disable_enable_set_password(project):
    run(project, "add", "tina", "--role", "tutor", "--learner", "alice", "--password-stdin",
        input="Mot-de-passe-sûr-2026\n")
    listing = run(project, "list").output
    assert re.search(r"tina\s+Tuteur·rice\s+actif\s+alice", listing)
    assert run(project, "disable", "tina").exit_code == 0
    assert "désactivé" in run(project, "list").output
    accounts = Accounts.for_project(project)
    with pytest.raises(LoginRefused):
        accounts.authenticate("tina", "Mot-de-passe-sûr-2026")
    assert run(project, "enable", "tina").exit_code == 0
    result = run(project, "set-password", "tina")
    new = re.search(r"Mot de passe : (\S+)", result.output).group(1)
    assert accounts.authenticate("tina", new)
    assert run(project, "disable", "personne").exit_code == 2
    assert run(project, "set-password", "personne").exit_code == 2


# ---------------------------------------------------------------- demo


def test_demo_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "x").write_text("déjà là")
    result = CliRunner().invoke(main, ["demo", str(tmp_path), "--no-serve"])
    assert result.exit_code == 2 and "n'est pas vide" in result.output


def test_demo_builds_serves_and_leaves_the_repository_alone(tmp_path):
    tracked_before = subprocess.run(["git", "status", "--porcelain", "--", "portfolios"], cwd=REPO,
                                    capture_output=True, text=True).stdout
    target = tmp_path / "demo"
    log = tmp_path / "demo.log"
    with open(log, "w", encoding="utf-8") as handle:
        proc = subprocess.Popen([sys.executable, "-m", "livret", "demo", str(target), "--port", "0"],
                                stdout=handle, stderr=subprocess.STDOUT,
                                env={**__import__("os").environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not re.search(r"http://127\.0\.0\.1:\d+/", log.read_text()):
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
        output = log.read_text()
        url = re.search(r"http://127\.0\.0\.1:\d+", output).group(0)
        accounts = dict(re.findall(r"^\s+Tuteur·rice\s+(\S+)\s+(\S+)$", output, re.M))
        admins = dict(re.findall(r"^\s+Administrateur·rice\s+(\S+)\s+(\S+)$", output, re.M))
        learners = dict(re.findall(r"^\s+Apprenant·e\s+(\S+)\s+(\S+)$", output, re.M))
        assert accounts and admins and learners and "Auditeur·rice" in output
        tutor, password = next(iter(accounts.items()))
        session = HttpSession(url)
        session.login(tutor, password)
        project = Project.at(target)
        mine = [lid for lid in project.store.learner_ids() if tutor in project.store.profile(lid).tutors]
        status, _, page = session.get(f"/portfolio/{mine[0]}/")
        assert status == 200 and project.store.profile(mine[0]).first_name in page
        assert (project.portfolios / ".git").is_dir()
        assert (target / "build" / "shared" / mine[0] / "index.html").is_file()
        # The organisation's mails so far (the company tutor's link, the reminders), in the outbox.
        mails = sorted(p.name for p in (target / "instance" / "outbox").glob("*.eml"))
        kinds = {name.split("-", 3)[3].removesuffix(".eml") for name in mails}
        # the company tutor's link first, then what the scheduler found due (the weekly digest depends on the day)
        assert "company-link" in mails[0] and "signoff-reminder" in kinds, mails
        link = re.search(rf"{re.escape(url)}/lien/[A-Za-z0-9_-]{{43}}", (target / "instance" / "outbox" /
                                                                          mails[0]).read_text())
        assert link, "the company tutor's mail links to this server"
        admin = HttpSession(url)
        admin.login(*next(iter(admins.items())))
        status, _, page = admin.get("/admin/courriels/")
        assert status == 200 and page.count("Jean Dupont") >= 2 and "/lien/" + link.group(0)[-43:] not in page
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    after = subprocess.run(["git", "status", "--porcelain", "--", "portfolios"], cwd=REPO,
                           capture_output=True, text=True).stdout
    assert after == tracked_before
