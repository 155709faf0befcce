"""Projects whose organisation asks for sign-offs (livret.signoff), for the core and app tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from factories import PARIS, add, make_project, meeting, when

from livret.seal import witnessed
from livret.store.history import History
from livret.store.project import Project
from livret.store.yamlio import dump_yaml

#: The three-party visit (learner and company tutor sign the tutor's report), the learner's evidence and the
#: tutor's assessments (company tutor).
RULES = [
    {"type": "meeting", "kind": "visite-entreprise", "by": ["learner", "company"]},
    {"type": "evidence", "by": ["company"]},
    {"type": "assessment", "by": ["company"]},
]
#: "now" of the fixtures' writes (factories.add)
NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=PARIS)


def signoff_project(root: Path, *, rules=RULES, remind_after_days: int = 7, public_url: str | None = None,
                    sender: str | None = None) -> Project:
    """``factories.make_project`` with sign-off rules in ``_organisation.yml`` (committed with the rest)."""
    project = make_project(root, git=False)
    org = {"name": "OF de test", "signoff": {"rules": rules, "remind_after_days": remind_after_days}}
    if public_url:
        org["public_url"] = public_url
    if sender:
        org["mail"] = {"sender": sender}
    (project.portfolios / "_organisation.yml").write_text(dump_yaml(org), encoding="utf-8")
    History(project.portfolios).init()
    witnessed(project)
    return project


def visit(**over):
    """The tutor's company visit report (a meeting of kind visite-entreprise)."""
    return meeting(kind="visite-entreprise", title="Visite en entreprise", date=when("2026-11-02"), **over)


def add_visit(project: Project, learner: str = "alice", **kw):
    return add(project, learner, visit(), "Compte rendu de la visite.", **kw)
