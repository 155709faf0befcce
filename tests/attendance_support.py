"""Projects with a group and training sessions (livret.attendance), for the core, app and browser tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from factories import PARIS, make_project

from livret.admin.groups import create_group
from livret.store.project import Project

#: The morning session of the fixtures: 10 November 2026, 09:00-12:30 (window 08:45-09:30).
DAY = dt.date(2026, 11, 10)
START = dt.datetime(2026, 11, 10, 9, 0, tzinfo=PARIS)


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def attendance_project(root: Path, learners=("alice", "bob", "carol"), members=("alice", "bob"),
                       organisation: dict | None = None) -> Project:
    """``make_project`` with the group ``promo`` (``members``); carol (tutor tom) is in no group;
    ``organisation``: the ``_organisation.yml`` to start with."""
    from livret.seal import witnessed
    from livret.store.history import History
    from livret.store.yamlio import dump_yaml

    project = make_project(root, learners=learners, git=False)
    if organisation:
        (project.portfolios / "_organisation.yml").write_text(dump_yaml(organisation), encoding="utf-8")
    History(project.portfolios).init()
    witnessed(project)
    create_group(project.store, {"name": "Promo"}, list(members), author="ada", group_id="promo")
    return project


def add_session(project: Project, *, day: dt.date = DAY, start: str = "09:00", end: str = "12:30",
                trainer: str = "tina", modality: str = "presentiel", group: str | None = "promo",
                title: str = "Accueil du public", convened=(), now: dt.datetime | None = None, **over) -> str:
    """One session written through the store; returns its (chain) id."""
    fields = {"date": day.isoformat(), "half_day": "matin" if start < "13:00" else "apres-midi", "start": start,
              "end": end, "title": title, "trainer": trainer, "trainer_name": "Tina Martin", "modality": modality,
              **({"group": group} if group else {}), **over}
    stored = project.store.write_sessions([fields], author="ada", author_name="Ada Admin",
                                          convocations={0: list(convened)} if convened else None,
                                          message="séance de test", now=now or dt.datetime(2026, 11, 1, 9,
                                                                                           tzinfo=PARIS))
    return stored[0].id


def cancel_session(project: Project, chain_id: str, now: dt.datetime | None = None) -> str:
    first = project.store.session(chain_id).session
    fields = {k: v for k, v in first.model_dump(mode="json").items()
              if k not in ("id", "recorded", "author", "author_name", "status") and v not in (None, [])}
    fields.update(updates=chain_id, reason="Formateur malade", status="cancelled")
    return project.store.write_sessions([fields], author="ada", message="annulation",
                                        now=now or dt.datetime(2026, 11, 2, 9, tzinfo=PARIS))[0].id


def around_today(project: Project, days: int = 200) -> None:
    """Move every learner's programme around today (tests that sign through the app use the real clock)."""
    from livret.store.writer import ProfileChange

    today = dt.date.today()
    changes = []
    for lid in project.store.learner_ids():
        profile = project.store.profile(lid)
        changes.append(ProfileChange(profile.model_copy(update={"start": today - dt.timedelta(days=days),
                                                                "end": today + dt.timedelta(days=days)})))
    project.store.write_changes(changes, author="ada", message="programmes autour d'aujourd'hui")


def live_times(now: dt.datetime, started: bool = False) -> tuple[dt.date, str, str]:
    """(day, start, end) of a session whose signing window is open at ``now`` (and stays open a while);
    ``started``: it began 5 minutes ago (else it begins in 5 minutes)."""
    start = now + dt.timedelta(minutes=5)
    if started or start.date() != now.date() or start.strftime("%H:%M") > "23:00":
        start = max(now - dt.timedelta(minutes=5), now.replace(hour=0, minute=0))
    end = min(start + dt.timedelta(hours=3), start.replace(hour=23, minute=59))
    if start.strftime("%H:%M") < "13:00" <= end.strftime("%H:%M"):  # a half-day does not cross 13:00
        if start.strftime("%H:%M") >= "12:30" and not started:
            start = start.replace(hour=13, minute=0)
            end = start.replace(hour=16)
        else:
            end = start.replace(hour=12, minute=59)
    return start.date(), start.strftime("%H:%M"), end.strftime("%H:%M")


def add_live_session(project: Project, started: bool = False, **over) -> str:
    """A session whose window is open now (the app's real clock); see :func:`live_times`."""
    from zoneinfo import ZoneInfo

    now = dt.datetime.now(ZoneInfo("Europe/Paris"))
    day, start, end = live_times(now, started)
    return add_session(project, day=day, start=start, end=end, now=now.replace(microsecond=0), **over)
