"""The work-study calendar of a learner: their own periods and their groups', and the days of effective
presence in the company (pure functions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from ..store.schema import CalendarPeriod, Group, LearnerProfile


def learner_periods(profile: LearnerProfile, groups: Iterable[Group] = ()) -> list[CalendarPeriod]:
    """The learner's periods and those of the groups they belong to, by start date (duplicates once)."""
    seen: set[tuple] = set()
    out: list[CalendarPeriod] = []
    for period in [*profile.calendar, *(p for g in groups if profile.id in g.members for p in g.calendar)]:
        key = (period.start, period.end, period.kind)
        if key not in seen:
            seen.add(key)
            out.append(period)
    return sorted(out, key=lambda p: (p.start, p.end, p.kind))


def days(period: CalendarPeriod) -> Iterable[dt.date]:
    day = period.start
    while day <= period.end:
        yield day
        day += dt.timedelta(days=1)


def company_presence_days(periods: Iterable[CalendarPeriod]) -> list[dt.date]:
    """Days of effective presence in the company, in order: working days (Monday to Friday) of the
    company periods, less every day with an absence (a half-day absence counts as a whole day)."""
    periods = list(periods)
    absent = {d for p in periods if p.kind == "absence" for d in days(p)}
    present = {d for p in periods if p.kind == "entreprise" for d in days(p) if d.weekday() < 5 and d not in absent}
    return sorted(present)


def nth_presence_day(periods: Iterable[CalendarPeriod], n: int) -> dt.date | None:
    """The date of the ``n``-th day of effective presence in the company, None if the calendar has fewer."""
    present = company_presence_days(periods)
    return present[n - 1] if 0 < n <= len(present) else None


def place_on(periods: Iterable[CalendarPeriod], day: dt.date) -> str | None:
    """Where the learner is expected on ``day`` (``centre``, ``entreprise``, ``absence``), None if no period."""
    found = None
    for p in periods:
        if p.start <= day <= p.end:
            if p.kind == "absence":
                return "absence"
            found = p.kind
    return found
