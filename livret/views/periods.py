"""Hours of a period: what a group plans, what a learner already has recorded.

Pure functions (no file, no clock), used by the group's attendance form
(:mod:`forms_app.bulk`) and meant for the signed half-day sessions to come:

- :func:`planned_hours`: the hours a group plans over a period, from its
  weekly hours: ``weekly_hours × working days (Monday to Friday) / 5``,
  rounded to the hundredth.  Public holidays are not known here: the form
  shows the figure and the person adjusts it.
- :func:`recorded_hours`: the hours a learner already has recorded over a
  period: attendance entries whose period overlaps it, and the training
  sessions the learner is expected at (``source`` ``"sessions"``: their hours
  come from the signatures, :mod:`livret.views.attendance`).  A period with
  recorded hours is shown read-only and never written again, so no hour is
  ever counted twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..store import StoredEntry
from .progress import effective

#: Working days of a week (Monday to Friday) in the planned-hours rule.
WORKING_DAYS_PER_WEEK = 5
#: The longest period one form records (a year and a day).
MAX_PERIOD_DAYS = 366


def working_days(start: dt.date, end: dt.date) -> int:
    """Mondays to Fridays from ``start`` to ``end``, both included (0 when ``end`` is before ``start``)."""
    if end < start:
        return 0
    days = (end - start).days + 1
    weeks, rest = divmod(days, 7)
    count = weeks * WORKING_DAYS_PER_WEEK
    for i in range(rest):
        if (start + dt.timedelta(days=weeks * 7 + i)).weekday() < WORKING_DAYS_PER_WEEK:
            count += 1
    return count


def planned_hours(weekly_hours: float | None, start: dt.date, end: dt.date) -> float | None:
    """The hours planned over ``start``–``end`` by a weekly volume; None when there is no volume.

    ``weekly_hours × working_days / 5``, rounded to the hundredth: 35 h a week
    over Monday to Wednesday is 21 h; over two full weeks, 70 h.
    """
    if weekly_hours is None:
        return None
    return round(weekly_hours * working_days(start, end) / WORKING_DAYS_PER_WEEK, 2)


def overlaps(start: dt.date, end: dt.date, other_start: dt.date, other_end: dt.date) -> bool:
    """Whether two periods (bounds included) share at least one day."""
    return start <= other_end and other_start <= end


@dataclass(frozen=True)
class RecordedHours:
    """Hours already recorded for a learner over a period that overlaps the one asked."""

    source: str  # "attendance" (a hand-typed entry) or "sessions" (a training session: entry_id is its chain)
    entry_id: str
    start: dt.date
    end: dt.date
    planned: float
    attended: float


def recorded_hours(entries: Iterable[StoredEntry], start: dt.date, end: dt.date,
                   rows: Iterable[Any] = ()) -> list[RecordedHours]:
    """What a learner already has recorded that overlaps ``start``–``end``, oldest period first.

    Only the latest version of each entry counts (a corrected attendance is
    replaced by its correction).  ``rows``: the learner's sessions
    (:class:`~livret.views.attendance.SessionRow`); every one not cancelled is recorded.
    """
    out = []
    for e in effective(entries):
        if e.type != "attendance":
            continue
        m = e.meta
        if overlaps(start, end, m.period_start, m.period_end):
            out.append(RecordedHours("attendance", e.id, m.period_start, m.period_end, m.hours_planned,
                                     m.hours_attended))
    for r in rows:
        day = r.session.date
        if r.state != "cancelled" and start <= day <= end:
            out.append(RecordedHours("sessions", r.chain.id, day, day, r.hours_planned, r.hours_attended))
    return sorted(out, key=lambda r: (r.start, r.end, r.entry_id))
