"""A project with the issue's follow-up rules and an apprentice on a work-study calendar (tests of issue 16)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from factories import make_project

from livret.seal import witnessed
from livret.store.history import History
from livret.store.schema import LearnerProfile
from livret.store.yamlio import dump_yaml, render_front_matter

PARIS = ZoneInfo("Europe/Paris")
#: Alice's start: a Monday.
START = dt.date(2026, 9, 7)
#: The issue's rules.
RULES = [
    {"id": "accueil", "what": "welcome", "within_days": 7},
    {"id": "positionnement", "what": "positioning", "within_days": 15},
    {"id": "periode-essai", "what": "company-checkin", "presence_days": 45, "contracts": ["apprentissage"]},
    {"id": "visites", "what": "company-visit", "every_months": 2},
    {"id": "contacts", "what": "contact", "every_days": 30},
]
def alternating_weeks(start: dt.date, weeks: int) -> list[dict]:
    """Centre one week, company the next (Monday to Friday), from ``start`` (a Monday), and a half-day
    absence on the Wednesday of the second company week."""
    absence = start + dt.timedelta(days=7 * 3 + 2)
    out = []
    for w in range(weeks):
        monday = start + dt.timedelta(days=7 * w)
        out.append({"start": monday.isoformat(), "end": (monday + dt.timedelta(days=4)).isoformat(),
                    "kind": "centre" if w % 2 == 0 else "entreprise"})
    out.append({"start": absence.isoformat(), "end": absence.isoformat(), "kind": "absence",
                "label": "demi-journée (rendez-vous médical)"})
    return out


def day(n: int) -> dt.date:
    """Day ``n`` of the training: ``n`` days after the start (day 0 is the start)."""
    return START + dt.timedelta(days=n)


def at(n: int, hour: int = 10) -> dt.datetime:
    d = day(n)
    return dt.datetime(d.year, d.month, d.day, hour, tzinfo=PARIS)


def followup_project(root: Path, *, rules: list[dict] | None = None, calendar: bool = True, sender: str | None = None,
                     public_url: str | None = None, org: dict | None = None, start: dt.date = START):
    """``factories.make_project`` whose alice is an apprentice starting on ``start`` with a calendar of
    alternating weeks (40 weeks), under the issue's rules; bob (not in work-study) starts the same day."""
    project = make_project(root, git=False)
    data: dict = {"name": "OF de test", "timezone": "Europe/Paris", "address": "12 rue de l'École, 69001 Lyon",
                  "followup": {"rules": RULES if rules is None else rules}, **(org or {})}
    if sender:
        data["mail"] = {"sender": sender}
    if public_url:
        data["public_url"] = public_url
    (project.portfolios / "_organisation.yml").write_text(dump_yaml(data), encoding="utf-8")
    for lid in ("alice", "bob"):
        profile = project.store.profile(lid)
        fields = {**profile.model_dump(mode="json", exclude_none=True), "start": start.isoformat(),
                  "end": (start + dt.timedelta(days=700)).isoformat()}
        if lid == "alice":
            fields.update(contract="apprentissage", email="alice@example.org")
            if calendar:
                fields["calendar"] = alternating_weeks(start - dt.timedelta(days=start.weekday()), 40)
        fields = LearnerProfile.model_validate(fields).model_dump(mode="json", exclude_none=True)
        (project.portfolios / lid / "learner.md").write_text(render_front_matter(fields, f"Objectifs de {lid}."),
                                                             encoding="utf-8")
    History(project.portfolios).init()
    witnessed(project)
    return project


def write(project, learner: str, n: int, fields: dict, *, author: str = "tina", role: str = "tutor",
          hour: int = 10, body: str = "Compte rendu."):
    """Append an entry dated day ``n`` as a tutor would, that day (the store's clock fixed at 18:00)."""
    fields = {"date": at(n, hour).isoformat(), **fields}
    return project.store.append_entry(learner, fields, body, author=author, role=role, now=at(n, 18))


def meeting_fields(kind: str, title: str, **over) -> dict:
    return {"type": "meeting", "title": title, "kind": kind, "modality": "presentiel", "duration": 60, **over}


def positioning_fields() -> dict:
    return {"type": "positioning", "title": "Positionnement initial", "competencies": [{"code": "A1", "level": "1"}]}
