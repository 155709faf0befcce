"""Signed attendance for many learners at once (dashboards, reports, built sites): read the sessions once.

:class:`AttendanceContext` holds every session chain, the groups and the
moment of reading; :meth:`AttendanceContext.rows` gives one learner's
:class:`~livret.views.attendance.SessionRow` list from their record, without
reading anything else.  :attr:`AttendanceContext.key` changes when a session
file, a group's members or the set of closed signing windows changes: with
the learner's own version it keys a cached summary
(:meth:`~livret.store.learners.LearnerStore.derived`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ..store import LearnerRecord
from ..store.schema import AttendanceSettings, Group
from .attendance import STATES, Chain, Totals, learner_rows, load_chains, signing_window, totals
from .progress import MONTHS, for_audience


def as_of(day: dt.date, tz: str) -> dt.datetime:
    """Now when ``day`` is today, else the end of ``day`` (a report or a site as of a given day)."""
    now = dt.datetime.now(ZoneInfo(tz))
    return now if now.date() == day else dt.datetime.combine(day, dt.time(23, 59, 59), ZoneInfo(tz))


@dataclass
class AttendanceContext:
    chains: dict[str, Chain]
    groups: dict[str, Group]
    now: dt.datetime
    settings: AttendanceSettings
    tz: str
    by_group: dict[str, dict[str, Chain]] = field(default_factory=dict)
    key: str = ""

    @classmethod
    def load(cls, store, now: dt.datetime | None = None) -> "AttendanceContext":
        settings = store.settings()
        now = now or dt.datetime.now(ZoneInfo(settings.timezone))
        ctx = cls(load_chains(store), store.groups(), now, settings.attendance, settings.timezone)
        digest = hashlib.sha256()
        closed = 0
        for chain in ctx.chains.values():
            digest.update(f"{chain.latest.path}\n".encode())
            if chain.session.group:
                ctx.by_group.setdefault(chain.session.group, {})[chain.id] = chain
            if signing_window(chain.session, ctx.settings, ctx.tz)[1] <= now:
                closed += 1
        if ctx.chains:
            for gid, group in ctx.groups.items():
                digest.update(f"{gid}:{','.join(group.members)}\n".encode())
        digest.update(f"closed:{closed}".encode())
        ctx.key = digest.hexdigest()
        return ctx

    def rows(self, record: LearnerRecord, audience: str = "staff") -> list:
        """The learner's sessions with their states at :attr:`now` ([] for an invalid profile)."""
        profile = record.profile
        if profile is None or not self.chains:
            return []
        groups = [g for g in self.groups.values() if record.id in g.members]
        entries = for_audience(record.entries, audience)
        found: dict[str, Chain] = {}
        for g in groups:
            found.update(self.by_group.get(g.id, {}))
        for e in entries:
            if e.type == "convocation" and e.meta.session in self.chains:
                found[e.meta.session] = self.chains[e.meta.session]
        if not found:
            return []
        found = dict(sorted(found.items(), key=lambda kv: (kv[1].session.date, kv[1].session.start, kv[0])))
        return learner_rows(profile, groups, entries, found, self.now, self.settings, self.tz)


# --------------------------------------------------------------------------
# One learner's page (the app's and the built sites')
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    key: str  # YYYY-MM
    label: str  # « mars 2026 »
    rows: list
    totals: Totals


def months(rows) -> list[Month]:
    """The rows by month, oldest first, with each month's totals (every planned hour of the month)."""
    by: dict[str, list] = {}
    for r in rows:
        by.setdefault(f"{r.session.date:%Y-%m}", []).append(r)
    return [Month(key, f"{MONTHS[int(key[5:]) - 1]} {key[:4]}", rs, totals(rs, settled_only=False))
            for key, rs in sorted(by.items())]


def state_label(row) -> str:
    """The state in words, with the minutes missed (« En retard (15 min) »): what every audience may see."""
    label = STATES[row.state]
    if row.state in ("late", "left-early") and row.minutes_missed:
        label += f" ({row.minutes_missed} min)"
    return label


def hours(value: float) -> str:
    """« 3,5 h »: hours the French way."""
    return f"{value:g} h".replace(".", ",")
