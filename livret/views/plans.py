"""Planned meetings as they stand: one state per chain of plan records, and the agenda (pure functions).

A planned meeting (entry type ``planned-meeting``, :class:`livret.store.schema.PlannedMeeting`)
is append-only like every entry: moving or cancelling it is a new record whose
``updates`` names the *first* plan of the chain, with a ``reason``.  The chain's
identity is that first plan's id (a calendar feed's ``UID``); its latest record
is the plan as it stands; ``sequence`` counts the records after the first (the
feed's ``SEQUENCE``).  A correction (``corrects``) of a record is one more
record of the same chain.

States, at ``now``:

- ``held``: a meeting entry (type ``meeting``) names the chain's id, or any
  record of it, in ``about`` (« Écrire le compte rendu »);
- ``cancelled``: the latest record says so;
- ``to-complete``: the start has passed, still planned, no meeting entry yet
  (« à compléter » on the dashboards);
- ``planned``: to come.

The agenda (:func:`agenda`) lays plans, due follow-ups and work-study periods
out over a week or a month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..store import StoredEntry
from ..store.schema import CalendarPeriod, PlannedMeeting

#: Kinds of meeting that take place with the company (they need a learner in work-study).
VISIT_KINDS = ("visite-entreprise", "entretien-tripartite")
#: « Prochains rendez-vous » on the dashboards: the plans starting within this many days.
SOON_DAYS = 7


@dataclass(frozen=True)
class PlanState:
    """One planned meeting as it stands (every record of its chain taken into account)."""

    id: str  # the first plan's id: the chain's identity (a feed's UID)
    latest: PlannedMeeting  # the latest record: the plan as it stands
    sequence: int  # 0 for the first record, +1 per move, cancellation or correction
    start: dt.datetime
    end: dt.datetime
    status: str  # planned | cancelled | held | to-complete
    meeting_id: str | None = None  # the meeting entry written from it (held)
    #: Every record of the chain, oldest first (the moves and cancellation with their reasons).
    records: tuple[PlannedMeeting, ...] = field(default=(), repr=False)
    #: The ids of every record of the chain (the first one included).
    ids: frozenset[str] = frozenset()

    @property
    def first(self) -> PlannedMeeting:
        return self.records[0] if self.records else self.latest

    @property
    def moved(self) -> bool:
        """Whether the plan's start changed since it was first recorded."""
        return any(r.date != self.latest.date for r in self.records)

    @property
    def changes(self) -> list[PlannedMeeting]:
        """The records that moved or cancelled it (each with its ``reason``), oldest first."""
        return [r for r in self.records if r.updates is not None]


def _root(entry_id: str, corrects: dict[str, str]) -> str:
    """The original record of ``entry_id``, following its corrections back."""
    seen = set()
    while entry_id in corrects and entry_id not in seen:
        seen.add(entry_id)
        entry_id = corrects[entry_id]
    return entry_id


def plan_states(entries: Iterable[StoredEntry], now: dt.datetime) -> list[PlanState]:
    """Every planned meeting of one learner's ``entries`` (every visibility the caller reads), by start.

    ``now`` is an aware date-time (the organisation's "now").
    """
    entries = list(entries)
    plans = [e for e in entries if e.type == "planned-meeting"]
    if not plans:
        return []
    corrects = {e.id: e.meta.corrects for e in plans if e.meta.corrects}
    corrected = set(corrects.values())
    chains: dict[str, list[PlannedMeeting]] = {}
    every: dict[str, set[str]] = {}
    for e in sorted(plans, key=lambda e: (e.meta.recorded, e.id)):
        meta: PlannedMeeting = e.meta  # type: ignore[assignment]
        key = _root(meta.updates, corrects) if meta.updates else _root(meta.id, corrects)
        every.setdefault(key, set()).add(meta.id)
        if meta.id not in corrected:
            chains.setdefault(key, []).append(meta)
    held: dict[str, str] = {}  # plan record id -> meeting entry id
    superseded = {x.meta.corrects for x in entries if x.meta.corrects}
    for e in entries:
        if e.type == "meeting" and e.meta.about and e.id not in superseded:
            held.setdefault(e.meta.about, e.id)
    out: list[PlanState] = []
    for key, records in chains.items():
        if key not in every or not records:
            continue
        latest = records[-1]
        ids = frozenset(every[key] | {key})
        meeting = next((held[i] for i in sorted(ids) if i in held), None)
        start = latest.date
        if meeting is not None:
            status = "held"
        elif latest.status == "cancelled":
            status = "cancelled"
        elif start <= now:
            status = "to-complete"
        else:
            status = "planned"
        out.append(PlanState(key, latest, len(every[key]) - 1, start, start + dt.timedelta(minutes=latest.duration),
                             status, meeting, tuple(records), ids))
    return sorted(out, key=lambda s: (s.start, s.id))


def to_complete(states: Iterable[PlanState]) -> list[PlanState]:
    """Plans whose time has passed without a meeting entry, oldest first."""
    return [s for s in states if s.status == "to-complete"]


def upcoming(states: Iterable[PlanState], now: dt.datetime, days: int | None = None) -> list[PlanState]:
    """Plans still to come (within ``days`` of ``now`` when given), soonest first."""
    limit = now + dt.timedelta(days=days) if days is not None else None
    return [s for s in states if s.status == "planned" and (limit is None or s.start <= limit)]


def find(states: Iterable[PlanState], plan_id: str) -> PlanState | None:
    """The plan whose chain holds the record ``plan_id``."""
    return next((s for s in states if plan_id in s.ids or plan_id == s.id), None)


# --------------------------------------------------------------------------
# The agenda
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class LearnerAgenda:
    """What the agenda needs of one learner (the caller has read and authorised it)."""

    learner_id: str
    name: str
    plans: Sequence[PlanState] = ()
    followups: Sequence = ()  # livret.views.followup.FollowupItem
    periods: Sequence[CalendarPeriod] = ()


@dataclass(frozen=True)
class AgendaEvent:
    day: dt.date
    kind: str  # plan | followup
    learner_id: str
    learner: str
    plan: PlanState | None = None
    followup: object | None = None  # FollowupItem

    @property
    def sort_key(self) -> tuple:
        if self.plan is not None:
            return (0, self.plan.start, self.learner)
        return (1, dt.datetime.min.replace(tzinfo=dt.timezone.utc), self.learner)


@dataclass(frozen=True)
class AgendaRange:
    """A work-study period shown over the agenda's days (clipped to them)."""

    learner_id: str
    learner: str
    kind: str  # centre | entreprise | absence
    start: dt.date
    end: dt.date
    label: str | None = None


@dataclass
class AgendaDay:
    day: dt.date
    events: list[AgendaEvent] = field(default_factory=list)
    #: Work-study places of the day: (learner, kind), for the month view's cells.
    places: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Agenda:
    first: dt.date
    last: dt.date
    days: list[AgendaDay]
    ranges: list[AgendaRange]
    #: Follow-ups overdue (their due date before ``first`` or up to today): listed at the top.
    overdue: list[AgendaEvent]

    @property
    def event_count(self) -> int:
        return sum(len(d.events) for d in self.days)


def week_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of ``day``'s week."""
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + dt.timedelta(days=6)


def month_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of ``day``'s month."""
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def agenda(learners: Iterable[LearnerAgenda], first: dt.date, last: dt.date, tz: dt.tzinfo,
           today: dt.date) -> Agenda:
    """Every plan (planned, to complete, held, cancelled) starting between ``first`` and ``last`` (local
    days), every follow-up due or overdue due on one of these days, and the work-study periods over them.

    Overdue follow-ups (state ``overdue``) are gathered in ``overdue`` whatever their date, so that they
    stay in sight at the top of any week; ``due`` ones are placed on their due date.
    """
    days = {first + dt.timedelta(days=i): AgendaDay(first + dt.timedelta(days=i))
            for i in range((last - first).days + 1)}
    ranges: list[AgendaRange] = []
    overdue: list[AgendaEvent] = []
    for la in learners:
        for plan in la.plans:
            day = plan.start.astimezone(tz).date()
            if day in days:
                days[day].events.append(AgendaEvent(day, "plan", la.learner_id, la.name, plan=plan))
        for item in la.followups:
            state, due = getattr(item, "state", None), getattr(item, "due", None)
            if state == "overdue":
                overdue.append(AgendaEvent(due or today, "followup", la.learner_id, la.name, followup=item))
            elif state == "due" and due in days:
                days[due].events.append(AgendaEvent(due, "followup", la.learner_id, la.name, followup=item))
        for p in la.periods:
            if p.end < first or p.start > last:
                continue
            start, end = max(p.start, first), min(p.end, last)
            ranges.append(AgendaRange(la.learner_id, la.name, p.kind, start, end, p.label))
            for i in range((end - start).days + 1):
                days[start + dt.timedelta(days=i)].places.append((la.name, p.kind))
    for d in days.values():
        d.events.sort(key=lambda e: e.sort_key)
        d.places.sort()
    ranges.sort(key=lambda r: (r.start, r.learner, r.kind))
    overdue.sort(key=lambda e: (e.day, e.learner))
    return Agenda(first, last, [days[k] for k in sorted(days)], ranges, overdue)
