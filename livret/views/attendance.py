"""Signed attendance, derived (docs/attendance.md): who is expected at which session, in which state, for how long.

Pure functions over what the store holds: the session files
(:class:`~livret.store.sessions.StoredSession`), the groups, the learners'
profiles and the entries of a learner's folder (``signature`` with a
``session``, ``attendance-mark``, ``convocation``).  Every record in a
learner's folder names a session by its *chain* id: the id of the first
session file (a change is a new file with ``updates``); a signature's
``signed[0]`` is the file in force when it was signed.

States of a learner at a session (:data:`STATES`):

- ``upcoming``: the window has not opened; ``open``: it is open and nothing is signed yet;
- ``signed``: the learner signed, nothing marked: every hour is attended;
- ``late`` / ``left-early``: signed, and the trainer marked minutes missed;
- ``absent``: marked absent (even over a signature: the trainer's word wins);
- ``justified``: a justified absence;
- ``unsigned``: the window closed with neither signature nor mark (counted as an unjustified absence);
- ``cancelled``: the session was cancelled (no hour planned).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ..store.records import StoredEntry
from ..store.schema import AttendanceSettings, Group, LearnerProfile, TrainingSession
from ..store.sessions import MAX_MOVE_DAYS, StoredSession, latest_versions
from .progress import effective, for_audience

STATES = {
    "upcoming": "À venir",
    "open": "Émargement ouvert",
    "signed": "Présent·e (signé)",
    "late": "En retard",
    "left-early": "Parti·e avant la fin",
    "absent": "Absent·e",
    "justified": "Absence justifiée",
    "unsigned": "Non émargé",
    "cancelled": "Séance annulée",
}
#: States whose hours count as attended (minus the minutes missed).
ATTENDED = frozenset({"signed", "late", "left-early"})
#: States counted as an unjustified absence once the window has closed.
UNJUSTIFIED = frozenset({"absent", "unsigned"})


@dataclass(frozen=True)
class Chain:
    """A session and its changes: the first file (whose id everything names) and the one in force."""

    first: StoredSession
    latest: StoredSession
    versions: tuple[StoredSession, ...]

    @property
    def id(self) -> str:
        return self.first.id

    @property
    def session(self) -> TrainingSession:
        """The session as it stands now (the latest change)."""
        return self.latest.session

    @property
    def cancelled(self) -> bool:
        return self.session.status == "cancelled"


def chains(stored: Iterable[StoredSession]) -> dict[str, Chain]:
    """Every session chain by its first id, ordered by date and start of the session in force.

    A change whose first session is missing (a broken file) is left out: ``livret check`` reports it.
    """
    by_chain: dict[str, list[StoredSession]] = {}
    for s in stored:
        by_chain.setdefault(s.session.chain, []).append(s)
    latest = latest_versions(s for group in by_chain.values() for s in group)
    out: list[Chain] = []
    for chain_id, versions in by_chain.items():
        first = next((v for v in versions if v.id == chain_id), None)
        if first is None:
            continue
        ordered = tuple(sorted(versions, key=lambda v: (v.session.recorded, v.id)))
        out.append(Chain(first, latest[chain_id], ordered))
    out.sort(key=lambda c: (c.session.date, c.session.start, c.id))
    return {c.id: c for c in out}


def session_datetimes(session: TrainingSession, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """The session's start and end as aware datetimes in the organisation's time zone."""
    zone = ZoneInfo(tz)
    start = dt.datetime.combine(session.date, dt.time.fromisoformat(session.start), zone)
    end = dt.datetime.combine(session.date, dt.time.fromisoformat(session.end), zone)
    return start, end


def signing_window(session: TrainingSession, settings: AttendanceSettings, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """When a learner may sign on their own device: from ``window_before_minutes`` before the start
    to ``window_after_minutes`` after it (never after the session's end)."""
    start, end = session_datetimes(session, tz)
    opens = start - dt.timedelta(minutes=settings.window_before_minutes)
    closes = min(start + dt.timedelta(minutes=settings.window_after_minutes), end)
    return opens, closes


def trainer_device_window(session: TrainingSession, settings: AttendanceSettings,
                          tz: str) -> tuple[dt.datetime, dt.datetime]:
    """When a learner may sign on the trainer's device: from the window's opening to the session's end."""
    opens, _ = signing_window(session, settings, tz)
    return opens, session_datetimes(session, tz)[1]


def in_training(profile: LearnerProfile, day: dt.date) -> bool:
    """Whether the learner's programme covers ``day`` (started, not ended, not left before)."""
    if day < profile.start or (profile.end is not None and day > profile.end):
        return False
    if profile.status in ("termine", "abandon") and profile.status_date is not None and day > profile.status_date:
        return False
    return True


def convocations(entries: Iterable[StoredEntry]) -> set[str]:
    """The chain ids of the sessions a learner's folder convenes them to."""
    return {e.meta.session for e in entries if e.type == "convocation"}


def expected_chains(profile: LearnerProfile, groups: Iterable[Group], entries: Iterable[StoredEntry],
                    all_chains: Mapping[str, Chain]) -> list[Chain]:
    """The sessions a learner is expected at: their groups' sessions on days they are in training,
    and those they are convened to; by date and start."""
    group_ids = {g.id for g in groups if profile.id in g.members}
    convened = convocations(entries)
    out = []
    for chain in all_chains.values():
        s = chain.session
        if chain.id in convened or (s.group in group_ids and in_training(profile, s.date)):
            out.append(chain)
    return out


def expected_learners(chain: Chain, groups: Mapping[str, Group], profiles: Mapping[str, LearnerProfile],
                      convened: Mapping[str, set[str]]) -> list[str]:
    """The learners expected at one session (``convened``: learner id -> chain ids of their convocations),
    sorted by last then first name."""
    s = chain.session
    ids = set()
    group = groups.get(s.group) if s.group else None
    if group is not None:
        ids |= {m for m in group.members if m in profiles and in_training(profiles[m], s.date)}
    ids |= {lid for lid, chains_ in convened.items() if chain.id in chains_ and lid in profiles}
    return sorted(ids, key=lambda lid: (profiles[lid].last_name.casefold(), profiles[lid].first_name.casefold(), lid))


@dataclass(frozen=True)
class SessionRow:
    """A learner at one session: the state, the hours, and the records behind them."""

    chain: Chain
    state: str
    hours_planned: float
    hours_attended: float
    hours_justified: float
    hours_unjustified: float
    signature: StoredEntry | None = None  # the learner's own signature
    mark: StoredEntry | None = None  # the trainer's latest mark
    countersignature: StoredEntry | None = None  # the trainer's signature of this learner's line
    notes: tuple[StoredEntry, ...] = ()  # staff feedback entries about the mark (reason, proof, note)

    @property
    def session(self) -> TrainingSession:
        return self.chain.session

    @property
    def minutes_missed(self) -> int:
        return self.mark.meta.minutes if self.mark is not None and self.mark.meta.minutes else 0

    @property
    def changed_after_signing(self) -> bool:
        """The session changed (a new file in its chain) after the learner signed it."""
        if self.signature is None:
            return False
        return self.signature.meta.signed[0].path != self.chain.latest.path


def session_records(entries: Iterable[StoredEntry]) -> dict[str, dict[str, list[StoredEntry]]]:
    """A learner's attendance records by chain id: ``{"signature": [...], "countersignature": [...],
    "mark": [...], "note": [...]}``, each oldest first."""
    entries = list(entries)
    out: dict[str, dict[str, list[StoredEntry]]] = {}
    marks: dict[str, str] = {}  # mark id -> chain id
    for e in sorted(entries, key=lambda e: (e.meta.recorded, e.id)):
        if e.type == "signature" and e.meta.session:
            kind = "signature" if e.meta.role == "learner" else "countersignature"
            out.setdefault(e.meta.session, {}).setdefault(kind, []).append(e)
        elif e.type == "attendance-mark":
            out.setdefault(e.meta.session, {}).setdefault("mark", []).append(e)
            marks[e.id] = e.meta.session
    for e in entries:
        if e.type == "feedback" and e.meta.about in marks:
            out.setdefault(marks[e.meta.about], {}).setdefault("note", []).append(e)
    return out


def session_row(chain: Chain, records: Mapping[str, list[StoredEntry]], now: dt.datetime,
                settings: AttendanceSettings, tz: str) -> SessionRow:
    """One learner's row for one session, at ``now``."""
    s = chain.session
    signature = (records.get("signature") or [None])[0]
    mark = (records.get("mark") or [None])[-1]
    counter = (records.get("countersignature") or [None])[-1]
    notes = tuple(records.get("note") or ())
    hours = round(s.hours, 4)
    if chain.cancelled:
        return SessionRow(chain, "cancelled", 0.0, 0.0, 0.0, 0.0, signature, mark, counter, notes)
    opens, closes = signing_window(s, settings, tz)
    status = mark.meta.status if mark is not None else None
    if status in ("absent", "justified"):
        state = status
    elif signature is not None:
        state = status or "signed"
    elif now < opens:
        state = "upcoming"
    elif now < closes:
        state = "open"
    else:
        state = "unsigned"
    attended = justified = unjustified = 0.0
    if state in ATTENDED:
        missed = (mark.meta.minutes or 0) / 60 if status in ("late", "left-early") else 0.0
        attended = max(0.0, round(hours - missed, 4))
        unjustified = round(hours - attended, 4)
    elif state == "justified":
        justified = hours
    elif state in UNJUSTIFIED:
        unjustified = hours
    return SessionRow(chain, state, hours, attended, justified, unjustified, signature, mark, counter, notes)


def learner_rows(profile: LearnerProfile, groups: Iterable[Group], entries: Sequence[StoredEntry],
                 all_chains: Mapping[str, Chain], now: dt.datetime, settings: AttendanceSettings,
                 tz: str) -> list[SessionRow]:
    """Every session a learner is expected at, with its state at ``now``, by date and start.

    ``entries``: the learner's entries as the reader may see them (a shared
    audience sees no staff note; the states do not depend on them).
    """
    records = session_records(effective(entries))
    return [session_row(c, records.get(c.id, {}), now, settings, tz)
            for c in expected_chains(profile, groups, entries, all_chains)]


@dataclass(frozen=True)
class Totals:
    """Hours over a set of rows (cancelled sessions and those not yet closed plan nothing attended yet)."""

    planned: float
    attended: float
    justified: float
    unjustified: float

    @property
    def rate(self) -> float | None:
        """Attended over planned, for the sessions whose outcome is known (window closed or marked)."""
        return round(self.attended / self.planned, 4) if self.planned else None


#: States whose outcome is known (the rate counts them; an upcoming or open session does not).
SETTLED = frozenset({"signed", "late", "left-early", "absent", "justified", "unsigned"})


def totals(rows: Iterable[SessionRow], *, settled_only: bool = True) -> Totals:
    """Sum of the rows' hours; ``settled_only`` leaves out upcoming and open sessions (for a rate)."""
    rows = [r for r in rows if r.state in SETTLED or (not settled_only and r.state != "cancelled")]
    return Totals(round(sum(r.hours_planned for r in rows), 4), round(sum(r.hours_attended for r in rows), 4),
                  round(sum(r.hours_justified for r in rows), 4), round(sum(r.hours_unjustified for r in rows), 4))


def by_month(rows: Iterable[SessionRow]) -> dict[str, Totals]:
    """Totals per ``YYYY-MM`` (every planned hour of the month; attended, justified and unjustified so far)."""
    months: dict[str, list[SessionRow]] = {}
    for r in rows:
        months.setdefault(f"{r.session.date:%Y-%m}", []).append(r)
    return {m: totals(rs, settled_only=False) for m, rs in sorted(months.items())}


def session_days(rows: Iterable[SessionRow]) -> set[dt.date]:
    """Days with an expected, not cancelled session: hand-typed attendance for them is not counted twice."""
    return {r.session.date for r in rows if r.state != "cancelled"}


@dataclass(frozen=True)
class DistanceHours:
    """Asynchronous distance work (FOAD) declared over a period: shown apart on the certificat."""

    entries: tuple[StoredEntry, ...]
    hours: float


def distance_hours(entries: Iterable[StoredEntry], start: dt.date | None = None,
                   end: dt.date | None = None) -> DistanceHours:
    """The ``distance-work`` entries (latest versions) whose period overlaps ``start``..``end``."""
    found = []
    for e in effective(entries):
        if e.type != "distance-work":
            continue
        if (start and e.meta.period_end < start) or (end and e.meta.period_start > end):
            continue
        found.append(e)
    found.sort(key=lambda e: (e.meta.period_start, e.id))
    return DistanceHours(tuple(found), round(sum(e.meta.hours for e in found), 4))


@dataclass
class SessionSheet:
    """Everyone expected at one session (the feuille d'émargement), in the order of the sheet."""

    chain: Chain
    rows: list[tuple[str, SessionRow]] = field(default_factory=list)  # (learner id, row)


# --------------------------------------------------------------------------
# Reading the store (the one place that gathers sessions, groups and learners' records)
# --------------------------------------------------------------------------


def load_chains(store, start: dt.date | None = None, end: dt.date | None = None) -> dict[str, Chain]:
    """The session chains whose session in force is dated ``start``..``end`` (inclusive).

    A change moves a session by at most :data:`~livret.store.sessions.MAX_MOVE_DAYS` days, so the
    files are read over the range widened by that much: every version of a chain is found.
    """
    margin = dt.timedelta(days=MAX_MOVE_DAYS)
    found = chains(store.sessions(start - margin if start else None, end + margin if end else None))
    return {k: c for k, c in found.items()
            if not ((start and c.session.date < start) or (end and c.session.date > end))}


def _now(store) -> dt.datetime:
    return dt.datetime.now(ZoneInfo(store.settings().timezone))


def learner_attendance(store, learner_id: str, now: dt.datetime | None = None, *, audience: str = "staff",
                       start: dt.date | None = None, end: dt.date | None = None,
                       all_chains: Mapping[str, Chain] | None = None) -> list[SessionRow]:
    """One learner's rows (sessions dated ``start``..``end``) for ``audience`` (``shared``: no staff note).

    Raises :class:`~livret.store.UnknownLearner`; an invalid profile gives no row.
    """
    record = store.load_learner(learner_id)
    if record.profile is None:
        return []
    settings = store.settings()
    entries = for_audience(record.entries, audience)
    found = all_chains if all_chains is not None else load_chains(store, start, end)
    if all_chains is not None and (start or end):
        found = {k: c for k, c in found.items()
                 if not ((start and c.session.date < start) or (end and c.session.date > end))}
    return learner_rows(record.profile, store.groups_of(learner_id), entries, found, now or _now(store),
                        settings.attendance, settings.timezone)


def session_sheet(store, chain_id: str, now: dt.datetime | None = None) -> SessionSheet | None:
    """Everyone expected at one session with their row (staff audience: notes included); None when
    the session does not exist."""
    stored = store.session(chain_id)
    if stored is None:
        return None
    margin = dt.timedelta(days=MAX_MOVE_DAYS)
    found = chains(store.sessions(stored.session.date - margin, stored.session.date + margin))
    chain = found.get(stored.session.chain)
    if chain is None or chain.id != chain_id:
        return None
    return session_sheets(store, [chain], now)[0]


def session_sheets(store, sheet_chains: Iterable[Chain], now: dt.datetime | None = None) -> list[SessionSheet]:
    """:func:`session_sheet` of each chain, reading the learners' records once (a month's sheets)."""
    settings = store.settings()
    now = now or _now(store)
    groups = store.groups()
    records = {r.id: r for r in store.valid_records()}
    profiles = {lid: r.profile for lid, r in records.items()}
    convened = {lid: convocations(r.entries) for lid, r in records.items()}
    by_learner: dict[str, dict[str, dict[str, list[StoredEntry]]]] = {}
    sheets = []
    for chain in sheet_chains:
        sheet = SessionSheet(chain)
        for lid in expected_learners(chain, groups, profiles, convened):
            if lid not in by_learner:
                by_learner[lid] = session_records(effective(records[lid].entries))
            recs = by_learner[lid].get(chain.id, {})
            sheet.rows.append((lid, session_row(chain, recs, now, settings.attendance, settings.timezone)))
        sheets.append(sheet)
    return sheets
