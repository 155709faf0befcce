"""Derived views of a learner's record, as pure functions.

Nothing here reads files or the clock: every function takes the entries (and
``today`` where time matters) and returns plain data.  The build, the app,
the API and the reports all use these, so a level shown in the competency
matrix, on the dashboard and in the API is the same number.

Conventions (documented in docs/format.md):

- A correction (``corrects: <id>``) replaces the entry it corrects; only the
  latest version counts.
- The official level of a competency is the latest *assessment*; the
  positioning level is the latest *positioning*; the self-assessed level is
  the latest *reflection* that rates it; the follow-up level is the latest
  level a tutor gave in a *meeting* or *feedback* (what the tutor sees
  between assessments); company feedback and the company's observation grid give an observed level
  (informative: only an assessment makes a competency acquired; « non vu en entreprise » changes no level).
- A *contact* is a meeting, a tutor's feedback, a positioning or an
  assessment: a dated trace of the tutor's follow-up.
- An action plan or an alert is updated by later entries of its type with
  ``updates: <id of the first one>``; the latest one gives its status.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..store import LearnerRecord, StoredEntry
from ..store.french_dates import MONTHS, fr_date  # noqa: F401 - re-exported for the views
from ..store.schema import ALERT_CATEGORIES, SEVERITIES, Framework, LearnerProfile, Organisation, Thresholds
from ..store.visibility import hidden_references, visible_ids

CONTACT_TYPES = ("meeting", "feedback", "positioning", "assessment")
LEVEL_SOURCES = {
    "positioning": "positionnement",
    "reflection": "auto-évaluation",
    "meeting": "suivi du tuteur",
    "feedback": "suivi du tuteur",
    "assessment": "évaluation",
    "company-feedback": "observation entreprise",
    "observation": "observation entreprise",
}
SEVERITY_RANK = {"haute": 0, "moyenne": 1, "faible": 2}


# --------------------------------------------------------------------------
# Entries
# --------------------------------------------------------------------------


def effective(entries: Iterable[StoredEntry]) -> list[StoredEntry]:
    """Entries that no later entry corrects (the latest version of each)."""
    entries = list(entries)
    corrected = {e.meta.corrects for e in entries if e.meta.corrects}
    return [e for e in entries if e.id not in corrected]


def for_audience(entries: Iterable[StoredEntry], audience: str) -> list[StoredEntry]:
    """What ``audience`` sees: ``staff`` keeps everything; ``shared`` drops every ``staff`` entry.

    ``shared`` also drops every version that a ``staff`` entry corrects (see
    :func:`livret.store.visibility.visible_ids`), and every entry it keeps
    loses its references (``about``, ``corrects``, ``updates``) to an entry
    it drops: a shared output (site, API, export, pack) never names a staff
    entry, not even by its id.
    """
    entries = list(entries)
    if audience == "staff":
        return entries
    visible = visible_ids((e.meta for e in entries), audience)
    return [without_hidden_references(e, visible) for e in entries if e.id in visible]


def without_hidden_references(entry: StoredEntry, visible: Container[str]) -> StoredEntry:
    """``entry`` without its references to entries outside ``visible``: a copy (the store's is
    untouched), or ``entry`` itself when it names none."""
    hidden = hidden_references(entry.meta, visible)
    if not hidden:
        return entry
    return dataclasses.replace(entry, meta=entry.meta.model_copy(update=dict.fromkeys(hidden)))


def corrections_of(entries: Sequence[StoredEntry], entry_id: str) -> list[StoredEntry]:
    """Earlier versions of an entry, oldest first (what it corrects, recursively)."""
    by_id = {e.id: e for e in entries}
    chain = []
    current = by_id.get(entry_id)
    while current is not None and current.meta.corrects:
        previous = by_id.get(current.meta.corrects)
        if previous is None:
            break
        chain.append(previous)
        current = previous
    return list(reversed(chain))


def timeline(entries: Iterable[StoredEntry]) -> list[StoredEntry]:
    """Newest first."""
    return sorted(entries, key=lambda e: (e.meta.date, e.meta.recorded, e.id), reverse=True)


def _day(value: dt.datetime | dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


# --------------------------------------------------------------------------
# Competencies
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelEvent:
    date: dt.datetime
    level: str | None
    source: str  # entry type
    entry_id: str
    author: str


@dataclass
class CompetencyView:
    code: str
    title: str
    description: str | None
    block_code: str
    block_title: str
    positioning: LevelEvent | None = None
    self_assessed: LevelEvent | None = None
    followup: LevelEvent | None = None  # latest level a tutor gave in a meeting or feedback
    assessed: LevelEvent | None = None
    observed: LevelEvent | None = None
    acquired: bool = False
    evidence: list[str] = field(default_factory=list)
    citations: list[str] = field(default_factory=list)
    history: list[LevelEvent] = field(default_factory=list)


def competency_views(framework: Framework, entries: Iterable[StoredEntry]) -> list[CompetencyView]:
    """One view per competency of the framework, in the framework's order."""
    views = {
        c.code: CompetencyView(c.code, c.title, c.description, b.code, b.title)
        for b, c in framework.competencies()
    }
    for e in sorted(effective(entries), key=lambda e: (e.meta.date, e.meta.recorded, e.id)):
        for rating in e.meta.competencies:
            view = views.get(rating.code)
            if view is None:
                continue
            view.citations.append(e.id)
            if e.type == "evidence":
                view.evidence.append(e.id)
            if e.type in LEVEL_SOURCES and rating.level is not None:
                event = LevelEvent(e.meta.date, rating.level, e.type, e.id, e.meta.author)
                view.history.append(event)
                if e.type == "positioning":
                    view.positioning = event
                elif e.type == "reflection":
                    view.self_assessed = event
                elif e.type in ("meeting", "feedback"):
                    view.followup = event
                elif e.type == "assessment":
                    view.assessed = event
                elif e.type in ("company-feedback", "observation"):
                    view.observed = event
    for view in views.values():
        view.acquired = view.assessed is not None and framework.scale.is_acquired(view.assessed.level)
    return list(views.values())


@dataclass(frozen=True)
class Progress:
    acquired: int
    total: int

    @property
    def share(self) -> float:
        return self.acquired / self.total if self.total else 0.0

    @property
    def percent(self) -> int:
        return round(100 * self.share)


def progress(views: Sequence[CompetencyView]) -> Progress:
    return Progress(sum(v.acquired for v in views), len(views))


def acquired_over_time(framework: Framework, entries: Iterable[StoredEntry]) -> list[tuple[dt.date, int]]:
    """Number of competencies acquired after each day with an assessment."""
    latest: dict[str, str] = {}
    points: list[tuple[dt.date, int]] = []
    known = {c.code for _, c in framework.competencies()}
    assessments = sorted(
        (e for e in effective(entries) if e.type == "assessment"),
        key=lambda e: (e.meta.date, e.meta.recorded, e.id),
    )
    for e in assessments:
        for rating in e.meta.competencies:
            if rating.code in known and rating.level is not None:
                latest[rating.code] = rating.level
        count = sum(framework.scale.is_acquired(level) for level in latest.values())
        day = _day(e.meta.date)
        if points and points[-1][0] == day:
            points[-1] = (day, count)
        else:
            points.append((day, count))
    return points


@dataclass(frozen=True)
class BlockView:
    code: str
    title: str
    total: int
    acquired: int
    positioning: float | None  # mean rank on the scale, 0..1
    self_assessed: float | None
    assessed: float | None


def block_views(framework: Framework, views: Sequence[CompetencyView]) -> list[BlockView]:
    """Per block: competencies acquired and mean levels (as a share of the scale's top)."""
    top = len(framework.scale.values) - 1

    def mean(events: list[LevelEvent | None]) -> float | None:
        ranks = [framework.scale.rank(e.level) for e in events if e is not None]
        ranks = [r for r in ranks if r is not None]
        return round(sum(ranks) / len(ranks) / top, 4) if ranks and top else None

    out = []
    for block in framework.blocks:
        vs = [v for v in views if v.block_code == block.code]
        out.append(BlockView(
            block.code, block.title, len(vs), sum(v.acquired for v in vs),
            mean([v.positioning for v in vs]), mean([v.self_assessed for v in vs]),
            mean([v.assessed for v in vs]),
        ))
    return out


# --------------------------------------------------------------------------
# Follow-up (suivi)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    days: int
    start: dt.date
    end: dt.date


@dataclass
class FollowUp:
    meetings: list[StoredEntry]  # oldest first
    contacts: list[StoredEntry]  # oldest first
    total_minutes: int
    by_modality: dict[str, int]
    by_kind: dict[str, int]
    last_contact: dt.date | None
    days_since_last_contact: int | None
    longest_gap: Gap | None
    average_gap_days: float | None

    @property
    def count(self) -> int:
        return len(self.meetings)


def followup(entries: Iterable[StoredEntry], today: dt.date) -> FollowUp:
    eff = sorted(effective(entries), key=lambda e: (e.meta.date, e.meta.recorded, e.id))
    meetings = [e for e in eff if e.type == "meeting"]
    marks = {e.id for e in eff if e.type == "attendance-mark"}  # a note about a mark is no follow-up contact
    contacts = [e for e in eff if e.type in CONTACT_TYPES and e.meta.role in ("tutor", "admin")
                and not (e.type == "feedback" and e.meta.about in marks)]
    days = sorted({_day(e.meta.date) for e in contacts})
    gaps = [Gap((b - a).days, a, b) for a, b in zip(days, days[1:])]
    longest = max(gaps, key=lambda g: (g.days, g.start), default=None)
    last = days[-1] if days else None
    return FollowUp(
        meetings=meetings,
        contacts=contacts,
        total_minutes=sum(m.meta.duration for m in meetings),
        by_modality=dict(Counter(m.meta.modality for m in meetings)),
        by_kind=dict(Counter(m.meta.kind for m in meetings)),
        last_contact=last,
        days_since_last_contact=(today - last).days if last else None,
        longest_gap=longest,
        average_gap_days=round(sum(g.days for g in gaps) / len(gaps), 1) if gaps else None,
    )


# --------------------------------------------------------------------------
# Action plans and tutor alerts (entries updated by later entries)
# --------------------------------------------------------------------------


def _threads(entries: Sequence[StoredEntry], type_: str) -> list[list[StoredEntry]]:
    """Entries of ``type_`` grouped by the first one they update, each oldest first."""
    eff = sorted((e for e in effective(entries) if e.type == type_),
                 key=lambda e: (e.meta.date, e.meta.recorded, e.id))
    by_id = {e.id: e for e in eff}

    def root(e: StoredEntry) -> str:
        seen = set()
        while e.meta.updates and e.meta.updates in by_id and e.id not in seen:
            seen.add(e.id)
            e = by_id[e.meta.updates]
        return e.id

    threads: dict[str, list[StoredEntry]] = {}
    for e in eff:
        threads.setdefault(root(e), []).append(e)
    return list(threads.values())


@dataclass
class PlanView:
    id: str
    title: str
    objectives: list[str]
    actions: list[str]
    due: dt.date
    status: str
    overdue: bool
    created: dt.date
    updated: dt.date
    author: str
    entries: list[str]  # ids, oldest first


def action_plans(entries: Iterable[StoredEntry], today: dt.date) -> list[PlanView]:
    """Every action plan with its latest status; open ones first, by due date."""
    out = []
    for thread in _threads(list(entries), "action-plan"):
        first, last = thread[0], thread[-1]
        objectives = next((e.meta.objectives for e in reversed(thread) if e.meta.objectives), [])
        actions = next((e.meta.actions for e in reversed(thread) if e.meta.actions), [])
        out.append(PlanView(
            id=first.id, title=first.meta.title, objectives=list(objectives), actions=list(actions),
            due=last.meta.due, status=last.meta.status,
            overdue=last.meta.status == "open" and last.meta.due < today,
            created=_day(first.meta.date), updated=_day(last.meta.date), author=first.meta.author,
            entries=[e.id for e in thread],
        ))
    order = {"open": 0, "done": 1, "dropped": 2}
    out.sort(key=lambda p: (order[p.status], p.due, p.id))
    return out


@dataclass
class TutorAlert:
    id: str
    title: str
    category: str
    severity: str
    status: str
    date: dt.date
    followed_up: bool
    follow_ups: list[str]  # ids of entries about it


def tutor_alerts(entries: Iterable[StoredEntry]) -> list[TutorAlert]:
    entries = effective(entries)
    out = []
    for thread in _threads(entries, "alert"):
        first, last = thread[0], thread[-1]
        ids = {e.id for e in thread}
        follow = [e.id for e in entries if e.meta.about in ids and e.meta.date >= first.meta.date]
        follow += [e.id for e in thread[1:]]
        out.append(TutorAlert(
            id=first.id, title=first.meta.title, category=last.meta.category,
            severity=last.meta.severity, status=last.meta.status, date=_day(first.meta.date),
            followed_up=bool(follow), follow_ups=follow,
        ))
    return out


# --------------------------------------------------------------------------
# Attendance
# --------------------------------------------------------------------------


@dataclass
class AttendanceView:
    periods: list[StoredEntry]  # hand-typed periods counted, oldest first
    hours_planned: float
    hours_attended: float
    rate: float | None
    recent_rate: float | None  # over the last three periods (a month of signed sessions is one)
    #: Hand-typed periods over a day with an expected session: « déjà couvert par l'émargement », not counted.
    covered: list[StoredEntry] = field(default_factory=list)
    #: Hours of the signed sessions whose outcome is known (livret.views.attendance), in the figures above.
    session_planned: float = 0.0
    session_attended: float = 0.0


def attendance(entries: Iterable[StoredEntry], rows: Sequence[Any] | None = None) -> AttendanceView:
    """Hours planned and attended, and the rates: hand-typed ``attendance`` periods and, with ``rows``
    (the learner's :class:`~livret.views.attendance.SessionRow`), the signed sessions.

    A hand-typed period counts only when no day of it has an expected session
    (:func:`~livret.views.attendance.session_days`); one that has is listed in
    ``covered``: the signed sessions say it, never twice.
    """
    from .attendance import SETTLED, session_days  # (that module builds on this one)

    periods = sorted((e for e in effective(entries) if e.type == "attendance"),
                     key=lambda e: (e.meta.period_start, e.meta.period_end, e.id))
    rows = list(rows or ())
    days = sorted(session_days(rows))
    covered = [p for p in periods if any(p.meta.period_start <= d <= p.meta.period_end for d in days)]
    periods = [p for p in periods if p not in covered]
    # (end of the unit, planned, attended): each counted period, and each month of settled sessions
    units = [(p.meta.period_end, p.meta.hours_planned, p.meta.hours_attended) for p in periods]
    months: dict[tuple[int, int], list[float]] = {}
    for r in rows:
        if r.state in SETTLED:
            month = months.setdefault((r.session.date.year, r.session.date.month), [0.0, 0.0])
            month[0] += r.hours_planned
            month[1] += r.hours_attended
    for (year, month), (planned, attended) in months.items():
        units.append((dt.date(year, month, 28), planned, attended))
    units.sort(key=lambda u: u[0])

    def rate(us: list[tuple[dt.date, float, float]]) -> float | None:
        planned = sum(u[1] for u in us)
        return round(sum(u[2] for u in us) / planned, 4) if planned else None

    session_planned = round(sum(m[0] for m in months.values()), 4)
    session_attended = round(sum(m[1] for m in months.values()), 4)
    planned = sum(u[1] for u in units)
    attended = sum(u[2] for u in units)
    return AttendanceView(periods, planned, attended, rate(units), rate(units[-3:]), covered,
                          session_planned, session_attended)


# --------------------------------------------------------------------------
# Alerts that need attention
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Attention:
    code: str  # no-contact, no-positioning, overdue-plan, low-attendance, open-alert
    severity: str  # haute, moyenne, faible
    message: str
    entries: tuple[str, ...] = ()


def attention(
    profile: LearnerProfile,
    entries: Sequence[StoredEntry],
    thresholds: Thresholds,
    today: dt.date,
    rows: Sequence[Any] | None = None,
) -> list[Attention]:
    """What a tutor must look at, most urgent first.  Only for learners in training.

    ``rows``: the learner's signed sessions (:func:`attendance`), counted in the attendance rate."""
    if profile.status != "en-cours":
        return []
    out: list[Attention] = []
    fu = followup(entries, today)
    reference = fu.last_contact or profile.start
    silent = (today - reference).days
    if silent > thresholds.no_contact_days and profile.start <= today:
        since = f"depuis le dernier contact du {fr_date(fu.last_contact)}" if fu.last_contact \
            else "depuis le début de la formation"
        out.append(Attention(
            "no-contact", "haute" if silent > 2 * thresholds.no_contact_days else "moyenne",
            f"Aucun contact de suivi depuis {silent} jours ({since} ; seuil : {thresholds.no_contact_days} j).",
            (fu.contacts[-1].id,) if fu.contacts else (),
        ))
    if not any(e.type == "positioning" for e in effective(entries)):
        late = (today - profile.start).days
        if late > thresholds.positioning_days:
            out.append(Attention(
                "no-positioning", "moyenne",
                f"Positionnement initial absent, {late} jours après le début de la formation.",
            ))
    for plan in action_plans(entries, today):
        if plan.overdue:
            late = (today - plan.due).days
            out.append(Attention(
                "overdue-plan", "haute" if late > 30 else "moyenne",
                f"Plan d'action « {plan.title} » en retard de {late} jours (échéance {fr_date(plan.due)}).",
                (plan.id,),
            ))
    att = attendance(entries, rows)
    low = [r for r in (att.rate, att.recent_rate) if r is not None and r < thresholds.attendance_min]
    if low:
        worst = min(low)
        out.append(Attention(
            "low-attendance", "haute" if worst < thresholds.attendance_min - 0.15 else "moyenne",
            f"Assiduité sous le seuil de {percent(thresholds.attendance_min)} : "
            f"{percent(att.rate)} au total, {percent(att.recent_rate)} sur les trois dernières périodes.",
            tuple(p.id for p in att.periods[-3:]),
        ))
    for alert in tutor_alerts(entries):
        if alert.status != "open":
            continue
        age = (today - alert.date).days
        if not alert.followed_up and age > thresholds.alert_followup_days:
            out.append(Attention(
                "open-alert", "haute",
                f"Alerte {ALERT_CATEGORIES[alert.category].lower()} « {alert.title} » ouverte depuis "
                f"{age} jours sans suite.",
                (alert.id,),
            ))
        else:
            out.append(Attention(
                "open-alert", alert.severity,
                f"Alerte {ALERT_CATEGORIES[alert.category].lower()} « {alert.title} » ouverte "
                f"(gravité {SEVERITIES[alert.severity].lower()}).",
                (alert.id,),
            ))
    out.sort(key=lambda a: SEVERITY_RANK[a.severity])
    return out


# --------------------------------------------------------------------------
# One line per learner (dashboards)
# --------------------------------------------------------------------------


@dataclass
class Summary:
    id: str
    name: str
    programme: str
    status: str
    progress: Progress
    last_contact: dt.date | None
    days_since_last_contact: int | None
    next_action: PlanView | None
    attendance_rate: float | None
    attention: list[Attention]
    problems: int

    @property
    def urgency(self) -> tuple:
        """Sort key: most urgent first."""
        severities = [SEVERITY_RANK[a.severity] for a in self.attention]
        return (
            min(severities, default=9),
            -len(self.attention),
            -(self.days_since_last_contact or 0),
            self.name,
        )


def summary(record: LearnerRecord, settings: Organisation, today: dt.date, audience: str = "staff",
            rows: Sequence[Any] | None = None) -> Summary:
    """The dashboard line of a learner; ``record.profile`` must be valid; ``rows``: their signed sessions
    (:class:`~livret.views.attendance.SessionRow`), counted in the attendance rate."""
    profile = record.profile
    assert profile is not None
    entries = for_audience(record.entries, audience)
    views = competency_views(record.framework, entries) if record.framework else []
    fu = followup(entries, today)
    plans = [p for p in action_plans(entries, today) if p.status == "open"]
    return Summary(
        id=record.id,
        name=profile.name,
        programme=profile.programme,
        status=profile.status,
        progress=progress(views),
        last_contact=fu.last_contact,
        days_since_last_contact=fu.days_since_last_contact,
        next_action=min(plans, key=lambda p: p.due, default=None),
        attendance_rate=attendance(entries, rows).rate,
        attention=attention(profile, entries, settings.thresholds, today, rows) if audience == "staff" else [],
        problems=len(record.problems),
    )


# --------------------------------------------------------------------------
# French formatting helpers shared by every view
# --------------------------------------------------------------------------

# MONTHS and fr_date live in livret.store.french_dates (imported above): one French date format for every layer.


def fr_datetime(value: dt.datetime) -> str:
    return f"{fr_date(value)} à {value.strftime('%H:%M')}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(100 * value)} %"


def duration(minutes: int) -> str:
    h, m = divmod(minutes, 60)
    if not h:
        return f"{m} min"
    return f"{h} h {m:02d}" if m else f"{h} h"
