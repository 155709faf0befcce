"""Helpers of the feed and scheduler tests: plans written through the real store, settings, parsers."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from livret.store.schema import LearnerProfile
from livret.store.validation import PlanContacts
from livret.store.yamlio import dump_yaml, load_yaml, render_front_matter

PARIS = ZoneInfo("Europe/Paris")


def at(day: str, hour: int = 10, minute: int = 0) -> dt.datetime:
    """``day`` at ``hour`` in Paris (summer or winter time as the day says)."""
    d = dt.date.fromisoformat(day)
    return dt.datetime(d.year, d.month, d.day, hour, minute, tzinfo=PARIS)


def plan(project, learner: str, start: dt.datetime, *, now: dt.datetime | None = None, author: str = "tina",
         **over):
    """A planned meeting written through the store (recorded ``now``, default: two days before)."""
    fields = {"type": "planned-meeting", "date": start.isoformat(), "title": "Titre interne du plan",
              "kind": "suivi", "modality": "presentiel", "place": "Salle 3, 12 rue des Lilas", "duration": 60}
    fields.update(over)
    # The addresses the reminders go to (the app reads them from the accounts; here: given).
    contacts = PlanContacts(learner_email=f"{learner}@exemple.fr", company_emails=None)
    return project.store.append_entry(learner, fields, "Notes de préparation internes.", author=author,
                                      role="tutor", now=now or start - dt.timedelta(days=2), contacts=contacts)


def move(project, learner: str, first_id: str, start: dt.datetime, *, now: dt.datetime, **over):
    return plan(project, learner, start, now=now, updates=first_id, reason="Indisponibilité", **over)


def cancel(project, learner: str, first_id: str, start: dt.datetime, *, now: dt.datetime):
    return plan(project, learner, start, now=now, updates=first_id, reason="Annulé par l'entreprise",
                status="cancelled")


def set_organisation(project, **values) -> None:
    """Merge ``values`` into ``_organisation.yml`` (not committed: the tests read the files)."""
    path = project.portfolios / "_organisation.yml"
    data = dict(load_yaml(path.read_text(encoding="utf-8")).data or {})
    data.update(values)
    path.write_text(dump_yaml(data), encoding="utf-8")


def set_profile(project, learner: str, **values) -> None:
    """Change fields of a learner's profile file (validated like the store would)."""
    profile = project.store.profile(learner)
    data = {**profile.model_dump(mode="json", exclude_none=True), **values}
    data = LearnerProfile.model_validate(data).model_dump(mode="json", exclude_none=True)
    (project.portfolios / learner / "learner.md").write_text(render_front_matter(data, f"Objectifs de {learner}."),
                                                              encoding="utf-8")


def parse_both(body: bytes):
    """(icalendar Calendar, ical Calendar): both parsers must read the feed."""
    from ical.calendar_stream import IcsCalendarStream
    from icalendar import Calendar

    return Calendar.from_ical(body), IcsCalendarStream.calendar_from_ics(body.decode("utf-8"))


def events_of(cal) -> list:
    return [c for c in cal.walk("VEVENT")]


def tzids_used(body: bytes) -> set[str]:
    import re

    return set(re.findall(rb";TZID=([^:;]+)", body))


def tzids_defined(cal) -> set[bytes]:
    return {str(tz["TZID"]).encode() for tz in cal.walk("VTIMEZONE")}
