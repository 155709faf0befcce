"""The work-study calendar as month grids, and the mission plan (pure functions).

- :func:`month_grids`: the learner's periods (:func:`livret.views.calendar.learner_periods`)
  as Monday-first month grids, each day with its place (centre, entreprise,
  absence or none) and a letter, so a page never tells the place by colour alone;
- :func:`place_days`: working days per place (the coverage matrix's note);
- :func:`mission_plan`: the ``mission`` entries as chains (a change is a new
  record whose ``updates`` names the first one), each with its latest state,
  grouped by term (court, moyen, long).

The caller filters the entries for its audience first (a shared page is made
from shared entries only).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..store.french_dates import MONTHS
from ..store.records import StoredEntry
from ..store.schema import MISSION_TERMS, CalendarPeriod
from .calendar import days, place_on
from .progress import effective

#: Place -> (letter shown in each day, label of the legend).
PLACES = {
    "centre": ("C", "En centre de formation"),
    "entreprise": ("E", "En entreprise"),
    "absence": ("A", "Absence"),
}
WEEKDAYS = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")
MISSION_STATUSES = {"open": "En cours", "done": "Réalisée", "dropped": "Abandonnée"}


@dataclass(frozen=True)
class Day:
    date: dt.date
    place: str | None  # centre, entreprise, absence, None

    @property
    def letter(self) -> str:
        return PLACES[self.place][0] if self.place else ""

    @property
    def weekend(self) -> bool:
        return self.date.weekday() >= 5


@dataclass(frozen=True)
class MonthGrid:
    year: int
    month: int
    #: Weeks, Monday first; None for the days of the neighbouring months.
    weeks: list[list[Day | None]]

    @property
    def title(self) -> str:
        return f"{MONTHS[self.month - 1].capitalize()} {self.year}"


def calendar_range(periods: Sequence[CalendarPeriod], start: dt.date | None = None,
                   end: dt.date | None = None) -> tuple[dt.date, dt.date] | None:
    """The days a calendar shows: the programme (``start``..``end``) widened to the periods; None without periods."""
    if not periods:
        return None
    first = min(p.start for p in periods)
    last = max(p.end for p in periods)
    return (min(first, start) if start else first, max(last, end) if end else last)


def month_grids(periods: Sequence[CalendarPeriod], start: dt.date, end: dt.date) -> list[MonthGrid]:
    """One grid per month from ``start``'s month to ``end``'s (at most 36 months)."""
    periods = list(periods)
    out: list[MonthGrid] = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month) and len(out) < 36:
        first = dt.date(year, month, 1)
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        weeks: list[list[Day | None]] = []
        week: list[Day | None] = [None] * first.weekday()
        day = first
        while day < following:
            week.append(Day(day, place_on(periods, day)))
            if len(week) == 7:
                weeks.append(week)
                week = []
            day += dt.timedelta(days=1)
        if week:
            weeks.append(week + [None] * (7 - len(week)))
        out.append(MonthGrid(year, month, weeks))
        year, month = following.year, following.month
    return out


def place_days(periods: Iterable[CalendarPeriod]) -> dict[str, int]:
    """Working days (Monday to Friday) per place: ``centre``, ``entreprise``, ``absence``; an absence
    inside a centre or company period is taken off that place."""
    periods = list(periods)
    counted = {"centre": 0, "entreprise": 0, "absence": 0}
    seen: set[dt.date] = set()
    for p in periods:
        for d in days(p):
            if d.weekday() < 5 and d not in seen:
                seen.add(d)
                place = place_on(periods, d)
                if place:
                    counted[place] += 1
    return counted


# --------------------------------------------------------------------------
# The mission plan
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class MissionView:
    """A mission as it stands: the first record's id, the latest record's state."""

    id: str  # the first record of the chain
    latest: StoredEntry
    records: int  # how many records the chain has

    @property
    def title(self) -> str:
        return self.latest.meta.title

    @property
    def term(self) -> str:
        return self.latest.meta.term

    @property
    def status(self) -> str:
        return self.latest.meta.status

    @property
    def status_label(self) -> str:
        return MISSION_STATUSES[self.status]

    @property
    def period_start(self) -> dt.date | None:
        return self.latest.meta.period_start

    @property
    def period_end(self) -> dt.date | None:
        return self.latest.meta.period_end

    #: Codes of the competencies exercised (the latest record that names some).
    codes: tuple[str, ...] = ()


def missions(entries: Iterable[StoredEntry]) -> list[MissionView]:
    """Every mission chain (latest versions of corrected records), by term then start then title."""
    current = [e for e in effective(entries) if e.type == "mission"]
    chains: dict[str, list[StoredEntry]] = {}
    for e in current:
        chains.setdefault(e.meta.updates or e.id, []).append(e)
    out = []
    for first_id, records in chains.items():
        records.sort(key=lambda e: (e.meta.recorded, e.id))
        latest = records[-1]
        named = next((r for r in reversed(records) if r.meta.competencies), None)
        codes = tuple(c.code for c in named.meta.competencies) if named else ()
        out.append(MissionView(first_id, latest, len(records), codes))
    order = list(MISSION_TERMS)
    out.sort(key=lambda m: (order.index(m.term), m.period_start or dt.date.max, m.title.casefold()))
    return out


def mission_plan(entries: Iterable[StoredEntry]) -> list[tuple[str, str, list[MissionView]]]:
    """(term, its label, its missions) for each term that has missions, court -> long."""
    found = missions(entries)
    return [(term, label, [m for m in found if m.term == term]) for term, label in MISSION_TERMS.items()
            if any(m.term == term for m in found)]
