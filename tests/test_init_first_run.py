"""First run without a terminal: what ``livret init`` prints, and an example learner that is consistent
(an opaque id, accounts for who its profile names, dates as of today: no alert on day one)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from livret.admin.first_steps import checklist, is_example
from livret.cli import main, store_cmds
from livret.instance.accounts import Accounts
from livret.store.ids import ALPHABET, LENGTH
from livret.store.project import Project
from livret.views import progress

OPAQUE_ID = re.compile(rf"^[{ALPHABET}]{{{LENGTH}}}$")


def init(target, *args: str, stdin: str | None = None):
    result = CliRunner().invoke(main, ["init", str(target), *args], input=stdin, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def today_of(project: Project) -> dt.date:
    return dt.datetime.now(ZoneInfo(project.store.settings().timezone)).date()


def test_init_says_how_to_create_the_first_admin_and_start(tmp_path):
    target = tmp_path / "mon organisme"
    out = init(target)
    quoted = f"'{target}'"  # a path with a space is quoted, ready to paste
    assert f"livret --root {quoted} user add NOM --role admin" in out
    assert f"livret --root {quoted} serve" in out
    assert "http://127.0.0.1:8000/admin/" in out and "Premiers pas" in out
    assert out.index("user add") < out.index("serve") < out.index("/admin/")


def test_the_example_learner_is_consistent_on_day_one(tmp_path):
    target = tmp_path / "neuf"
    out = init(target)
    project = Project.at(target)
    store = project.store
    (lid,) = store.learner_ids()
    assert OPAQUE_ID.match(lid) and lid != "marie-durand"
    assert f"identifiant {lid}" in out
    record = store.load_learner(lid)
    profile = record.profile
    assert is_example(profile) and profile.id == lid
    # The accounts its profile names exist, with their roles; their passwords are printed once.
    accounts = {u.username: u.role for u in Accounts.for_project(project).list()}
    assert accounts == {"paul.martin": "tutor", "marie.durand": "learner"}
    assert profile.tutors == ["paul.martin"] and profile.account == "marie.durand"
    assert re.search(r"Tuteur·rice\s+paul\.martin\s+\S{16,}", out)
    # livret check is clean, with no warning, and nothing needs attention today.
    assert store.check() == [] and store.warnings() == []
    today = today_of(project)
    summary = progress.summary(record, store.settings(), today)
    assert summary.attention == []
    assert summary.days_since_last_contact is not None and summary.days_since_last_contact < 30
    assert all(e.meta.date.date() <= today for e in record.entries)
    # Its files were written before the history started: one first commit holds them.
    assert store.history.untracked() == []


@pytest.mark.parametrize("today", [dt.date(2026, 1, 28), dt.date(2026, 2, 2), dt.date(2027, 6, 15),
                                   dt.date(2025, 3, 3), dt.date(2031, 12, 31)])
def test_the_examples_dates_follow_the_day_of_init(tmp_path, today):
    root = tmp_path / "p"
    shutil.copytree(store_cmds.SCAFFOLD, root, ignore=shutil.ignore_patterns(store_cmds.EXAMPLE.name))
    project = Project.at(root)
    lid = store_cmds.add_example_learner(project, today)
    store = project.store
    assert store.check() == []
    assert store.warnings(today) == []
    record = store.load_learner(lid)
    assert progress.summary(record, store.settings(), today).attention == []
    dates = [e.meta.date.date() for e in record.entries]
    assert max(dates) <= today and (today - max(dates)).days < 14
    assert all(d.weekday() < 5 for d in dates)  # whole weeks: the example's working days stay working days
    names = sorted(p.name for p in (root / "portfolios" / lid / "entries").iterdir())
    assert [n[:10] for n in names] == sorted(d.isoformat() for d in dates)


def test_no_example_gives_a_store_with_the_framework_only(tmp_path):
    target = tmp_path / "vide"
    out = init(target, "--no-example")
    project = Project.at(target)
    assert project.store.learner_ids() == [] and project.store.framework_ids() == ["tuteur"]
    assert Accounts.for_project(project).list() == []
    assert project.store.check() == [] and "user add NOM --role admin" in out and "Comptes d'exemple" not in out


def test_on_a_terminal_init_asks(tmp_path, monkeypatch):
    monkeypatch.setattr(store_cmds, "interactive", lambda: True)
    out = init(tmp_path / "non", stdin="n\n")
    assert "Ajouter l'apprenante d'exemple" in out
    assert Project.at(tmp_path / "non").store.learner_ids() == []
    init(tmp_path / "oui", stdin="\n")  # the default answer: yes
    assert len(Project.at(tmp_path / "oui").store.learner_ids()) == 1


def test_a_fresh_project_starts_with_every_first_step_to_do(tmp_path):
    """The example (framework, learner, its accounts) counts for none of the steps."""
    target = tmp_path / "neuf"
    init(target)
    project = Project.at(target)
    steps = checklist(project.store, Accounts.for_project(project).list())
    assert [(s.key, s.done) for s in steps.steps] == [("framework", False), ("tutor_accounts", False),
                                                      ("learners", False), ("assignments", False),
                                                      ("groups", False)]
    assert steps.step("framework").figures == {"frameworks": 1, "own": 0}
