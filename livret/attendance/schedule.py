"""Planning sessions (docs/attendance.md, « Sessions »): what the form, the weekly series, the CSV import,
the API and the command line share before :meth:`~livret.store.sessions.SessionStore.write_sessions`.

- :func:`split`: one planned slot (a date, a start, an end) becomes one or two half-days, split over the
  organisation's lunch break (each half-day is signed on its own);
- :func:`weekly`: a weekly pattern over a period, the days the group's calendar puts in the company or
  marks as an absence left out (and said why);
- :func:`may_plan` / :func:`may_change`: who plans for whom (admins: everyone; tutors: the groups with at
  least one learner they follow, the learners they follow; and a session they train or created);
- :func:`change_fields`: the fields of a change of a session (a new file of its chain).

Pure functions: no file, no clock.  French public holidays are not left out of a series (no library for
them is installed; the preview lists every date before anything is written).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..store.errors import FieldError
from ..store.schema import Group, LearnerProfile, TrainingSession
from ..store.sessions import half_days

#: Days of a weekly pattern, Monday first (Python's ``weekday()``).
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi")
#: The longest series (a year and a day) and the most sessions one write makes.
MAX_SERIES_DAYS = 366
MAX_SESSIONS = 1000
#: Calendar kinds whose days a series leaves out.
CLOSED_KINDS = {"entreprise": "en entreprise", "absence": "absence au calendrier"}
#: Keys of a session a planner gives (the server adds id, recorded, author and half_day).
SESSION_KEYS = ("date", "start", "end", "title", "framework", "competencies", "trainer", "trainer_name", "modality",
                "group", "place", "video_link")
CLOCK_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


@dataclass(frozen=True)
class Skipped:
    """A day of a series left out, and why."""

    date: dt.date
    reason: str


@dataclass
class Series:
    """What a weekly pattern plans: the sessions' fields (one per half-day) and the days left out."""

    items: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def clean(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields without empty values (a form's empty input means « not given »)."""
    return {k: v for k, v in fields.items() if v not in (None, "", [])}


def split(fields: Mapping[str, Any], lunch_start: str, lunch_end: str) -> list[dict[str, Any]]:
    """``fields`` (with ``date``, ``start``, ``end``) as one session per half-day, each with its
    ``half_day``; raises :class:`ValueError` (French) when the times are unreadable or reversed."""
    start, end = str(fields.get("start") or ""), str(fields.get("end") or "")
    for key, value in (("start", start), ("end", end)):
        if not CLOCK_RE.match(value):
            raise FieldValueErrors([FieldError((key,), f"heure attendue au format HH:MM (lu : {value[:20]!r})")])
    try:
        parts = half_days(start, end, lunch_start, lunch_end)
    except ValueError as exc:
        raise FieldValueErrors([FieldError(("end",), str(exc))]) from None
    out = []
    for half_day, s, e in parts:
        item = clean(fields)
        item.update(half_day=half_day, start=s, end=e)
        out.append(item)
    return out


class FieldValueErrors(ValueError):
    """Errors of the planner's fields (``errors``: located like the store's)."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field} : {e.message}" if e.loc else e.message for e in errors))


def public_holidays(start: dt.date, end: dt.date) -> dict[dt.date, str]:
    """French public holidays from ``start`` to ``end`` (metropolitan list; the ``holidays`` library), by name."""
    import holidays

    found = holidays.France(years=range(start.year, end.year + 1), language="fr")
    return {day: f"jour férié ({name})" for day, name in sorted(found.items()) if start <= day <= end}


def closed_days(group: Group | None, start: dt.date, end: dt.date) -> dict[dt.date, str]:
    """The days from ``start`` to ``end`` the group's calendar puts in the company or marks as absent,
    then the public holidays."""
    out: dict[dt.date, str] = {}
    for period in group.calendar if group else ():
        if period.kind not in CLOSED_KINDS or period.end < start or period.start > end:
            continue
        day = max(period.start, start)
        while day <= min(period.end, end):
            reason = CLOSED_KINDS[period.kind] + (f" ({period.label})" if period.label else "")
            out.setdefault(day, reason)
            day += dt.timedelta(days=1)
    for day, reason in public_holidays(start, end).items():
        out.setdefault(day, reason)
    return out


def weekly(base: Mapping[str, Any], start: dt.date, end: dt.date, weekdays: Iterable[int],
           slots: Sequence[tuple[str, str]], lunch_start: str, lunch_end: str,
           group: Group | None = None) -> Series:
    """Every ``weekdays`` day from ``start`` to ``end``, one session per slot (``[(start, end)]``, split into
    half-days), the group's company and absence days and the public holidays left out; raises :class:`FieldValueErrors`."""
    errors = []
    if end < start:
        errors.append(FieldError(("period_end",), "la fin de la période précède son début"))
    elif (end - start).days >= MAX_SERIES_DAYS:
        errors.append(FieldError(("period_end",), f"une série couvre au plus {MAX_SERIES_DAYS} jours"))
    days = sorted(set(weekdays))
    if not days:
        errors.append(FieldError(("weekdays",), "choisissez au moins un jour de la semaine"))
    if not slots:
        errors.append(FieldError(("morning_start",), "indiquez les horaires du matin ou de l'après-midi"))
    if errors:
        raise FieldValueErrors(errors)
    split_slots = []
    for i, (s, e) in enumerate(slots):
        try:
            split_slots += split({"start": s, "end": e}, lunch_start, lunch_end)
        except FieldValueErrors as exc:
            prefix = "morning" if i == 0 else "afternoon"
            raise FieldValueErrors([FieldError((f"{prefix}_{err.loc[0]}",), err.message)
                                    for err in exc.errors]) from None
    closed = closed_days(group, start, end)
    series = Series()
    day = start
    while day <= end:
        if day.weekday() in days:
            if day in closed:
                series.skipped.append(Skipped(day, closed[day]))
            else:
                for slot in split_slots:
                    series.items.append({**clean(base), "date": day.isoformat(), **slot})
        day += dt.timedelta(days=1)
    if len(series.items) > MAX_SESSIONS:
        raise FieldValueErrors([FieldError(("period_end",), f"{len(series.items)} séances : au plus {MAX_SESSIONS} "
                                                    "en une fois ; découpez la période")])
    return series


# --------------------------------------------------------------------------
# Who plans for whom
# --------------------------------------------------------------------------


def follows(username: str, profile: LearnerProfile | None) -> bool:
    return profile is not None and username in profile.tutors


def may_plan(role: str, username: str, group: Group | None, learner_ids: Iterable[str],
             profiles: Mapping[str, LearnerProfile | None]) -> bool:
    """Admins plan for everyone; a tutor for a group where they follow at least one learner and for
    learners they all follow; nobody else."""
    if role == "admin":
        return True
    if role != "tutor":
        return False
    if group is not None and not any(follows(username, profiles.get(m)) for m in group.members):
        return False
    return all(follows(username, profiles.get(lid)) for lid in learner_ids)


def may_change(role: str, username: str, session: TrainingSession, group: Group | None,
               profiles: Mapping[str, LearnerProfile | None]) -> bool:
    """Admins change every session; a tutor the sessions they train or created, and their groups'."""
    if role == "admin":
        return True
    if role != "tutor":
        return False
    if username in (session.trainer, session.author):
        return True
    return group is not None and any(follows(username, profiles.get(m)) for m in group.members)


def change_fields(session: TrainingSession, changes: Mapping[str, Any], *, chain_id: str, reason: str,
                  cancel: bool = False) -> dict[str, Any]:
    """The fields of a new file of ``chain_id`` replacing ``session`` (the one in force) with ``changes``."""
    data = {k: v for k, v in session.model_dump(mode="json").items() if k in (*SESSION_KEYS, "half_day")}
    data.update(changes)
    data.update(updates=chain_id, reason=reason)
    if cancel:
        data["status"] = "cancelled"
    return clean(data)


def trainer_choices(users: Iterable[Any]) -> list[tuple[str, str]]:
    """The accounts that may train (enabled tutors and admins): ``[(username, label)]``, by label."""
    out = [(u.username, f"{u.display_name} ({u.username})" if getattr(u, "display_name", "") else u.username)
           for u in users if u.role in ("tutor", "admin") and not u.disabled]
    return sorted(out, key=lambda c: c[1].casefold())


def trainer_name(users: Iterable[Any], username: str) -> str | None:
    """The display name of a trainer's account, None when it has none."""
    for u in users:
        if u.username == username:
            return (getattr(u, "display_name", "") or "").strip()[:200] or None
    return None
