"""Calendars in iCalendar format (RFC 5545), built with the ``icalendar`` library.

One VCALENDAR (``METHOD:PUBLISH``, ``CALSCALE:GREGORIAN``, ``X-WR-CALNAME``)
holds three kinds of events:

- a planned meeting (:func:`plan_event`): ``UID`` = ``<chain id>@livret``,
  the id of the *first* plan of the chain, so a moved or cancelled plan
  replaces the event a calendar already has instead of adding a second one;
  ``SEQUENCE`` = the chain's sequence (0, then +1 per move or cancellation);
  ``STATUS:CANCELLED`` for a cancelled plan, which stays in the feed (a
  calendar that saw it planned then shows it cancelled);
  ``DTSTART``/``DTEND`` in the organisation's time zone with its ``TZID``;
- a follow-up due under the organisation's rules (:func:`followup_event`), an
  all-day event « Suivi à faire : … » (tutors' feeds only), ``UID`` stable per
  learner, rule and due date;
- a period of the work-study calendar (:func:`period_event`), all-day, its
  ``DTEND`` the day *after* the last day (exclusive, RFC 5545 3.6.1).

:func:`calendar_for` adds one ``VTIMEZONE`` for every ``TZID`` the events use,
generated from the system's zoneinfo (``icalendar.Timezone.from_tzid``).

What an event says is fixed here, never taken from a free text a tutor wrote:
the kind of meeting, the learner's name, the modality, the place or the
video link (and, for staff only, the link to the learner's page).  No entry
title, no alert, no participant's address.  ``DTSTAMP`` is the time the
record was written (not the time of the request), so the same state of the
store always gives the same bytes (the feed's ETag).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone

from ..store.schema import MODALITIES, PERIOD_KINDS

PRODID = "-//livret//Agenda de suivi//FR"
UID_DOMAIN = "livret"
#: SUMMARY of a planned meeting, by kind (« Rendez-vous de suivi — Lucas Moreau »).
SUMMARIES = {
    "accueil": "Entretien d'accueil",
    "suivi": "Rendez-vous de suivi",
    "bilan-intermediaire": "Bilan intermédiaire",
    "bilan-final": "Bilan final",
    "visite-entreprise": "Visite en entreprise",
    "entretien-tripartite": "Entretien tripartite",
}
PERIOD_SUMMARIES = {"centre": "En centre de formation", "entreprise": "En entreprise", "absence": "Absence"}
#: The VTIMEZONE covers these years (the rules of most zones are stable; it stays small).
TZ_FIRST = dt.date(2000, 1, 1)
TZ_LAST = dt.date(2060, 1, 1)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc).replace(microsecond=0)


def _stamp_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)


def meeting_summary(kind: str, learner_name: str) -> str:
    return f"{SUMMARIES.get(kind, 'Rendez-vous')} — {learner_name}"


def plan_event(state, learner_name: str, *, tz: str = "Europe/Paris", url: str | None = None) -> Event:
    """The VEVENT of a plan chain (a :class:`livret.views.plans.PlanState`).

    ``url`` (the learner's page in the app) is given for staff feeds only.
    """
    meta = state.latest
    zone = ZoneInfo(tz)
    event = Event()
    event.add("uid", f"{state.id}@{UID_DOMAIN}")
    event.add("sequence", int(state.sequence))
    event.add("dtstamp", _utc(meta.recorded))
    event.add("dtstart", state.start.astimezone(zone).replace(microsecond=0))
    event.add("dtend", state.end.astimezone(zone).replace(microsecond=0))
    event.add("summary", meeting_summary(meta.kind, learner_name))
    where = (meta.place or "").strip() or (meta.video_link or "")
    if where:
        event.add("location", where)
    lines = [f"Modalité : {MODALITIES.get(meta.modality, meta.modality)}"]
    if meta.video_link:
        lines.append(f"Lien de visioconférence : {meta.video_link}")
    event.add("description", "\n".join(lines))
    event.add("status", "CANCELLED" if state.status == "cancelled" else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if state.status == "cancelled" else "OPAQUE")
    if url:
        event.add("url", url)
    return event


def followup_uid(learner_id: str, rule_id: str, due: dt.date) -> str:
    return f"suivi-{learner_id}-{rule_id}-{due.isoformat()}@{UID_DOMAIN}"


def followup_event(learner_id: str, learner_name: str, item, *, url: str | None = None) -> Event:
    """An all-day event on the due date of a follow-up (a :class:`livret.views.followup.FollowupItem`)."""
    overdue = item.state == "overdue"
    event = Event()
    event.add("uid", followup_uid(learner_id, item.rule_id, item.due))
    event.add("sequence", 1 if overdue else 0)
    event.add("dtstamp", _stamp_of_day(item.due))
    event.add("dtstart", item.due)
    event.add("dtend", item.due + dt.timedelta(days=1))
    prefix = "Suivi en retard" if overdue else "Suivi à faire"
    event.add("summary", f"{prefix} : {item.label} — {learner_name}")
    event.add("transp", "TRANSPARENT")
    event.add("categories", ["Suivi"])
    if url:
        event.add("url", url)
    return event


def period_uid(learner_id: str, period) -> str:
    return f"periode-{learner_id}-{period.kind}-{period.start.isoformat()}@{UID_DOMAIN}"


def period_event(learner_id: str, learner_name: str, period) -> Event:
    """An all-day event over a work-study period (a :class:`livret.store.schema.CalendarPeriod`)."""
    event = Event()
    event.add("uid", period_uid(learner_id, period))
    event.add("dtstamp", _stamp_of_day(period.start))
    event.add("dtstart", period.start)
    event.add("dtend", period.end + dt.timedelta(days=1))  # exclusive: the day after the last day
    event.add("summary", f"{PERIOD_SUMMARIES.get(period.kind, period.kind)} — {learner_name}")
    description = PERIOD_KINDS.get(period.kind, period.kind)
    if period.label:
        description += f" : {period.label}"
    event.add("description", description)
    event.add("transp", "TRANSPARENT")
    return event


@functools.lru_cache(maxsize=16)
def vtimezone(tzid: str) -> Timezone:
    """The VTIMEZONE of a zoneinfo name (generated once per process)."""
    return Timezone.from_tzid(tzid, first_date=TZ_FIRST, last_date=TZ_LAST)


@functools.lru_cache(maxsize=16)
def _vtimezone_bytes(tzid: str) -> bytes:
    return vtimezone(tzid).to_ical()


_TZID = re.compile(rb";TZID=([^:;]+)[:;]")


@dataclass(frozen=True)
class Block:
    """One event already serialised by ``icalendar`` (feeds cache these per learner: serialising is the
    expensive part), with its sort key and the TZIDs it names."""

    key: tuple
    data: bytes
    tzids: frozenset[str]


def block(event: Event) -> Block:
    data = event.to_ical()
    start = event.decoded("dtstart")
    if not isinstance(start, dt.datetime):
        start = dt.datetime(start.year, start.month, start.day, tzinfo=dt.timezone.utc)
    return Block((_utc(start), str(event.get("uid"))), data,
                 frozenset(m.decode("utf-8") for m in _TZID.findall(data)))


def calendar_for(events: Iterable[Event | Block], tz: str = "Europe/Paris", *, name: str = "livret") -> bytes:
    """The VCALENDAR of ``events`` (sorted by start, then UID), with a VTIMEZONE for each TZID used.

    The calendar's properties are written by ``icalendar``; the events' blocks (``icalendar``'s own
    serialisation, see :class:`Block`) and the VTIMEZONEs go inside it, the VTIMEZONEs first."""
    blocks = sorted((e if isinstance(e, Block) else block(e) for e in events), key=lambda b: b.key)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", tz)
    head = cal.to_ical()
    end = b"END:VCALENDAR\r\n"
    assert head.endswith(end)
    tzids = sorted(set().union(*(b.tzids for b in blocks))) if blocks else []
    return b"".join([head[: -len(end)], *(_vtimezone_bytes(t) for t in tzids), *(b.data for b in blocks), end])
