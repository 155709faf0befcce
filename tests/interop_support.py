"""Helpers shared by the interoperability tests (real CLI, real store, real git)."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

from click.testing import CliRunner
from factories import PARIS, add, when

from livret.cli import main
from livret.store.schema import LearnerProfile
from livret.views.progress import competency_views

FIXTURES = Path(__file__).parent / "fixtures"
MOODLE_CSV = FIXTURES / "interop" / "moodle-tuteur.csv"
MAHARA_MATRIX = FIXTURES / "interop" / "mahara-accompagnement.matrix"


def cli(project, *args: str):
    """Run ``livret --root <project> ARGS`` in-process; returns click's Result (stderr apart)."""
    runner = CliRunner()
    return runner.invoke(main, ["--root", str(project.root), *args], catch_exceptions=False)


def commits(project) -> list[str]:
    out = subprocess.run(["git", "log", "--format=%an|%s"], cwd=project.portfolios,
                         capture_output=True, text=True, check=True).stdout
    return out.strip().splitlines()


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (outside .git), to prove that nothing changed."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.parts}


def enrol_and_assess(project, framework_id: str, ratings: dict[str, str], learner: str = "zoe"):
    """Enrol a learner on ``framework_id`` and record an assessment; return the competency views."""
    store = project.store
    profile = LearnerProfile(id=learner, first_name="Zoé", last_name="Test", programme="Formation",
                             framework=framework_id, start=dt.date(2026, 1, 5), tutors=["tina"])
    store.write_profile(profile, "Objectifs.", author="admin", message=f"{learner} inscrite")
    add(project, learner, {"type": "assessment", "date": when("2026-03-02"), "title": "Évaluation",
                           "competencies": [{"code": c, "level": lv} for c, lv in ratings.items()]})
    record = store.load_learner(learner)
    assert record.ok, record.problems
    return {v.code: v for v in competency_views(record.framework, record.entries)}


__all__ = ["FIXTURES", "MOODLE_CSV", "MAHARA_MATRIX", "PARIS", "cli", "commits", "snapshot",
           "enrol_and_assess"]


STAFF_TITLE = "Évaluation confidentielle (santé)"
EVIDENCE_TITLE = "Fiche d'accueil rédigée"


def cohort_history(project) -> None:
    """A small cohort: alice (shared and staff entries) and bob, through the real store API."""
    add(project, "alice", {"type": "positioning", "date": when("2026-01-10"), "title": "Positionnement",
                           "competencies": [{"code": "A1", "level": "1"}, {"code": "A2", "level": "2"}]})
    add(project, "alice", {"type": "evidence", "date": when("2026-02-01"), "title": EVIDENCE_TITLE,
                           "competencies": [{"code": "A1"}]}, author="alice", role="learner")
    add(project, "alice", {"type": "reflection", "date": when("2026-02-05"), "title": "Auto-évaluation",
                           "competencies": [{"code": "A1", "level": "2"}]}, author="alice", role="learner")
    add(project, "alice", {"type": "assessment", "date": when("2026-03-02"), "title": "Évaluation de mars",
                           "competencies": [{"code": "A1", "level": "3"}, {"code": "A2", "level": "2"}]})
    add(project, "alice", {"type": "assessment", "date": when("2026-03-03"), "title": STAFF_TITLE,
                           "visibility": "staff", "competencies": [{"code": "B1", "level": "4"}]})
    add(project, "bob", {"type": "assessment", "date": when("2026-04-01"), "title": "Évaluation d'avril",
                         "competencies": [{"code": "B2", "level": "4"}]}, author="tom")


__all__ += ["STAFF_TITLE", "EVIDENCE_TITLE", "cohort_history"]
