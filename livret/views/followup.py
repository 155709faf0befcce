"""The organisation's follow-up rules at work: what is due, overdue or done for one learner (pure).

The rules are ``followup.rules`` of ``_organisation.yml``
(:class:`livret.store.schema.FollowupRule`, docs/planning.md "Follow-up
rules").  For each rule that applies to a learner (its ``programmes``,
``groups`` and ``contracts`` filters; empty = everyone), the rule gives one
or more *occurrences*, each with a due date and a state at ``today``:

- ``done``: a proof is recorded (the entry is named in ``proof``); done after
  the due date is still ``done`` — Qualiopi asks for the proof — and
  ``late`` is true, with « réalisé en retard le … » in ``detail``;
- ``overdue``: the due date has passed without a proof;
- ``due``: the due date is within the next :data:`DUE_WINDOW_DAYS` days
  (today included);
- ``upcoming``: the due date is later than that;
- ``not-applicable``: the rule applies but cannot be computed (a
  company check-in without a work-study calendar): ``detail`` says what to fix.

The rule kinds:

- ``welcome``: a meeting of kind ``accueil`` on or before start + ``within_days``;
- ``positioning``: a positioning entry on or before start + ``within_days``;
- ``company-checkin``: a meeting of kind ``visite-entreprise`` or
  ``entretien-tripartite`` on or before the ``presence_days``-th day of
  effective presence in the company (:func:`livret.views.calendar.nth_presence_day`);
- ``company-visit``: one ``visite-entreprise`` meeting in each window of
  ``every_months`` months from the start (window *k* runs from start + k×N
  months, included, to start + (k+1)×N months, its due date, included); the
  windows up to today and the next one are listed;
- ``contact``: a meeting of any kind at least every ``every_days`` days:
  each meeting closes the interval since the previous one (or the start)
  — done, late when the interval was longer — and the open interval is due
  ``every_days`` after the last meeting.

Occurrences stop at the end of the training (``status_date`` for a learner
who finished or left, else the planned ``end``).  Planned meetings
(:func:`livret.views.plans.plan_states`) are information only: an open
item with a plan of the matching kind says « rendez-vous prévu le … » in
``detail`` and stays due until the meeting entry is written.

Only the latest version of an entry counts (corrections).  The caller
passes the entries of the audience: a proof is never an entry the reader
may not see.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..store import StoredEntry, french
from ..store.french_dates import fr_date
from ..store.schema import FOLLOWUP_WHATS, CalendarPeriod, FollowupRule, Group, LearnerProfile
from .calendar import company_presence_days, learner_periods, nth_presence_day
from .plans import plan_states

#: An item whose due date is within this many days from today (today included) is ``due``; later: ``upcoming``.
DUE_WINDOW_DAYS = 14
STATES = ("done", "due", "overdue", "upcoming", "not-applicable")
STATE_LABELS = {
    "done": "réalisé",
    "due": "à faire",
    "overdue": "en retard",
    "upcoming": "à venir",
    "not-applicable": "à renseigner",
}
#: The meeting kinds that prove each rule (None: any meeting; positioning: a positioning entry).
PROOF_KINDS: dict[str, tuple[str, ...] | None] = {
    "welcome": ("accueil",),
    "company-checkin": ("visite-entreprise", "entretien-tripartite"),
    "company-visit": ("visite-entreprise",),
    "contact": None,
}
#: The kind of the meeting proposed for each rule (:func:`proposals`); positioning is not a meeting.
PROPOSED_KINDS = {"welcome": "accueil", "company-checkin": "entretien-tripartite",
                  "company-visit": "visite-entreprise", "contact": "suivi"}
#: Rules about the company: they apply to work-study learners only (Qualiopi indicator 13).
COMPANY_RULES = ("company-checkin", "company-visit")
NO_CALENDAR = "calendrier de l'alternance à renseigner"


@dataclass(slots=True)
class FollowupItem:
    """One occurrence of one rule for one learner, and its state at ``today``."""

    rule_id: str
    label: str
    what: str
    due: dt.date | None
    state: str  # one of STATES
    proof: str | None = None  # the id of the entry that proves it
    proof_date: dt.date | None = None
    detail: str = ""
    #: Done after the due date (state ``done``).
    late: bool = False
    #: The first day a proof counts for this occurrence (``company-visit`` and ``contact`` windows).
    window_start: dt.date | None = None
    #: A planned meeting (the chain's id and its day) that would prove it: information only.
    plan: str | None = None
    plan_date: dt.date | None = None
    proof_title: str | None = None

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def open(self) -> bool:
        """Something to do: ``due`` or ``overdue``."""
        return self.state in ("due", "overdue")


def rule_label(rule: FollowupRule) -> str:
    """The rule's own label, else a French sentence made of its kind and parameter."""
    if rule.label:
        return rule.label
    base = FOLLOWUP_WHATS[rule.what]
    if rule.what in ("welcome", "positioning"):
        return f"{base} (sous {rule.within_days} jours)"
    if rule.what == "company-checkin":
        return f"Point avec l'entreprise avant le {rule.presence_days}e jour de présence en entreprise"
    if rule.what == "company-visit":
        return f"Visite en entreprise tous les {rule.every_months} mois"
    return f"Contact de suivi au moins tous les {rule.every_days} jours"


def applies(rule: FollowupRule, profile: LearnerProfile, group_ids: Iterable[str] = ()) -> bool:
    """Whether ``rule`` concerns this learner (``group_ids``: the groups they belong to)."""
    if rule.programmes and profile.programme not in rule.programmes:
        return False
    if rule.groups and not set(rule.groups) & set(group_ids):
        return False
    if rule.contracts and profile.contract not in rule.contracts:
        return False
    if rule.what in COMPANY_RULES and not profile.work_study:
        return False  # a company check-in or visit concerns work-study learners only
    return True


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` months, on the month's last day when it is shorter (31 Jan + 1 = 28/29 Feb)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def training_end(profile: LearnerProfile) -> dt.date | None:
    """The last day the rules run: the day the training ended or was abandoned, else its planned end."""
    if profile.status != "en-cours":
        return profile.status_date or profile.end
    return profile.end


def _state(due: dt.date, today: dt.date) -> str:
    if due < today:
        return "overdue"
    return "due" if (due - today).days < DUE_WINDOW_DAYS else "upcoming"


def _day(entry: StoredEntry) -> dt.date:
    return entry.meta.date.date()


class _Facts:
    """What the rules read from a learner's entries, once."""

    def __init__(self, entries: Sequence[StoredEntry], today: dt.date, now: dt.datetime | None):
        corrected = {e.meta.corrects for e in entries if e.meta.corrects}
        meetings, positionings, plans = [], [], False
        for e in entries:
            meta = e.meta
            if meta.type == "meeting" or meta.type == "positioning":
                if meta.id not in corrected and meta.date.date() <= today:
                    (meetings if meta.type == "meeting" else positionings).append(e)
            elif meta.type == "planned-meeting":
                plans = True
        order = lambda e: (e.meta.date, e.meta.recorded, e.meta.id)  # noqa: E731
        self.meetings = sorted(meetings, key=order)
        self.positionings = sorted(positionings, key=order)
        now = now or dt.datetime.combine(today, dt.time(0, 0), tzinfo=dt.timezone.utc)
        self.plans = [p for p in plan_states(list(entries), now) if p.status in ("planned", "to-complete")] \
            if plans else []

    def meetings_of(self, kinds: tuple[str, ...] | None) -> list[StoredEntry]:
        return [e for e in self.meetings if kinds is None or e.meta.kind in kinds]

    def plan_for(self, kinds: tuple[str, ...] | None, after: dt.date | None):
        """The first open plan of one of ``kinds`` starting on or after ``after``."""
        for p in self.plans:
            if (kinds is None or p.latest.kind in kinds) and (after is None or p.start.date() >= after):
                return p
        return None


Base = tuple[str, str, str]  # a rule's id, label and kind (``what``)


def _done(base: Base, due: dt.date | None, entry: StoredEntry, window_start: dt.date | None = None) -> FollowupItem:
    day = _day(entry)
    late = due is not None and day > due
    detail = f"réalisé en retard le {fr_date(day)}" if late else f"réalisé le {fr_date(day)}"
    return FollowupItem(*base, due, "done", entry.id, day, detail, late, window_start, None, None, entry.meta.title)


def _pending(base: Base, due: dt.date, today: dt.date, facts: _Facts, kinds: tuple[str, ...] | None,
             window_start: dt.date | None = None) -> FollowupItem:
    state = _state(due, today)
    limit = "à réaliser au plus tard le" if state != "overdue" else "en retard : attendu au plus tard le"
    detail = f"{limit} {fr_date(due)}"
    plan = None if base[2] == "positioning" else facts.plan_for(kinds, window_start)
    if plan is None:
        return FollowupItem(*base, due, state, None, None, detail, False, window_start)
    day = plan.start.date()
    detail += f" ; rendez-vous prévu le {fr_date(day)}"
    return FollowupItem(*base, due, state, None, None, detail, False, window_start, plan.id, day)


def _once(base: Base, due: dt.date, proofs: list[StoredEntry], today: dt.date, facts: _Facts,
          kinds: tuple[str, ...] | None) -> FollowupItem:
    """A rule done once: the first proof (in time or late), else pending."""
    if proofs:
        return _done(base, due, proofs[0])
    return _pending(base, due, today, facts, kinds)


def _company_checkin(rule: FollowupRule, base: Base, periods: Sequence[CalendarPeriod], today: dt.date,
                     facts: _Facts) -> FollowupItem:
    kinds = PROOF_KINDS["company-checkin"]
    due = nth_presence_day(periods, rule.presence_days or 0)
    proofs = facts.meetings_of(kinds)
    if due is None:
        if proofs:
            return _done(base, None, proofs[0])
        present = len(company_presence_days(periods))
        detail = NO_CALENDAR if not present else (
            f"calendrier de l'alternance à compléter : {french.count(present, 'jour', 'jours')} "
            "de présence en entreprise "
            f"sur les {rule.presence_days} à compter")
        return FollowupItem(*base, None, "not-applicable", detail=detail)
    return _once(base, due, proofs, today, facts, kinds)


def _company_visits(rule: FollowupRule, base: Base, start: dt.date, end: dt.date | None, today: dt.date,
                    facts: _Facts) -> list[FollowupItem]:
    """The windows that started on or before today and, when the last of them is done, the next one."""
    kinds = PROOF_KINDS["company-visit"]
    visits = [(_day(v), v) for v in facts.meetings_of(kinds)]
    every = rule.every_months or 1
    out: list[FollowupItem] = []
    k = 0
    while True:
        lo = start if k == 0 else add_months(start, k * every) + dt.timedelta(days=1)
        due = add_months(start, (k + 1) * every)
        if (end is not None and lo > end) or (lo > today and (not out or out[-1].state != "done")):
            break
        inside = next((v for d, v in visits if lo <= d <= due), None)
        out.append(_done(base, due, inside, lo) if inside else _pending(base, due, today, facts, kinds, lo))
        if lo > today:
            break  # the next one, listed once the current window is done
        k += 1
    return out


def _contacts(rule: FollowupRule, base: Base, start: dt.date, end: dt.date | None, today: dt.date,
              facts: _Facts) -> list[FollowupItem]:
    """Each meeting closes the interval since the previous one (or the start); the open interval follows
    while the training runs."""
    every = dt.timedelta(days=rule.every_days or 0)
    out: list[FollowupItem] = []
    previous = start
    for meeting in facts.meetings:
        day = _day(meeting)
        if day < start:
            continue
        out.append(_done(base, previous + every, meeting, previous))
        previous = day
    if end is None or today <= end:
        out.append(_pending(base, previous + every, today, facts, None, previous))
    return out


def followup_items(profile: LearnerProfile, entries: Sequence[StoredEntry], periods: Sequence[CalendarPeriod],
                   rules: Iterable[FollowupRule], today: dt.date, *, group_ids: Iterable[str] | None = None,
                   now: dt.datetime | None = None) -> list[FollowupItem]:
    """Every occurrence of every rule that applies to the learner, in the rules' order then by due date.

    ``entries``: the learner's entries for the audience (every version:
    corrections are resolved here); ``periods``: the learner's work-study
    calendar (:func:`livret.views.calendar.learner_periods`); ``group_ids``:
    the groups the learner belongs to (None: rules narrowed to groups do not
    apply); ``now``: for the planned meetings' states (default: ``today`` at midnight UTC).
    """
    groups = list(group_ids or ())
    rules = [r for r in rules if applies(r, profile, groups)]
    if not rules:
        return []
    facts = _Facts(entries, today, now)
    start, end = profile.start, training_end(profile)
    out: list[FollowupItem] = []
    for rule in rules:
        base = (rule.id, rule_label(rule), rule.what)
        if rule.what == "welcome":
            due = start + dt.timedelta(days=rule.within_days or 0)
            out.append(_once(base, due, facts.meetings_of(PROOF_KINDS["welcome"]), today, facts,
                             PROOF_KINDS["welcome"]))
        elif rule.what == "positioning":
            due = start + dt.timedelta(days=rule.within_days or 0)
            out.append(_once(base, due, facts.positionings, today, facts, None))
        elif rule.what == "company-checkin":
            out.append(_company_checkin(rule, base, periods, today, facts))
        elif rule.what == "company-visit":
            out += _company_visits(rule, base, start, end, today, facts)
        else:
            out += _contacts(rule, base, start, end, today, facts)
    return out


def to_do(items: Iterable[FollowupItem]) -> list[FollowupItem]:
    """What a tutor has to act on, oldest due date first: ``overdue`` and ``due`` items, less a missed
    ``company-visit`` window when a later window of the same rule is done (nothing left to do for it)."""
    items = list(items)
    out = [item for item in items if item.open and not superseded(item, items)]
    return sorted(out, key=lambda i: (i.due or dt.date.max, i.rule_id))


def overdue_count(items: Iterable[FollowupItem]) -> int:
    return sum(i.state == "overdue" for i in to_do(items))


def superseded(item: FollowupItem, items: Sequence[FollowupItem]) -> bool:
    """A missed occurrence with a later occurrence of the same rule done: a past gap, nothing left to do."""
    return item.state == "overdue" and any(
        o.rule_id == item.rule_id and o.state == "done" and o.due and item.due and o.due > item.due for o in items)


def learner_items(profile: LearnerProfile, entries: Sequence[StoredEntry], groups: Iterable[Group],
                  rules: Iterable[FollowupRule], today: dt.date, *, now: dt.datetime | None = None,
                  cache: dict | None = None) -> list[FollowupItem]:
    """:func:`followup_items` with the learner's groups (the organisation's: only those naming the learner
    count), their calendars and ids.  ``cache``: a dict kept by a caller that evaluates many learners (the
    calendar of learners without their own periods is computed once per set of groups)."""
    groups = [g for g in groups if profile.id in g.members]
    key = None if profile.calendar or cache is None else tuple(g.id for g in groups)
    periods = cache.get(key) if key is not None else None
    if periods is None:
        periods = learner_periods(profile, groups)
        if key is not None:
            cache[key] = periods
    return followup_items(profile, entries, periods, rules, today, group_ids=[g.id for g in groups], now=now)


# --------------------------------------------------------------------------
# The plan proposed for a learner
# --------------------------------------------------------------------------

#: A proposed meeting is set this many days before the item's due date (not before today + 1, never after due).
PROPOSAL_MARGIN_DAYS = 3
PROPOSAL_HOUR = dt.time(10, 0)


@dataclass(frozen=True)
class Proposal:
    """A planned meeting the rules propose (the form shows it, editable)."""

    rule_id: str
    label: str
    kind: str
    day: dt.date
    with_company: bool


def proposals(items: Iterable[FollowupItem], today: dt.date) -> list[Proposal]:
    """One planned meeting per open or upcoming meeting item without a plan (welcome, company check-in,
    company visit, contact): on the due date minus :data:`PROPOSAL_MARGIN_DAYS`, not before tomorrow;
    an item whose due date is already past is proposed for tomorrow (a plan is never in the past)."""
    out = []
    tomorrow = today + dt.timedelta(days=1)
    for item in items:
        if item.what not in PROPOSED_KINDS or item.state not in ("due", "overdue", "upcoming"):
            continue
        if item.plan is not None or item.due is None:
            continue
        day = max(item.due - dt.timedelta(days=PROPOSAL_MARGIN_DAYS), tomorrow)
        kind = PROPOSED_KINDS[item.what]
        out.append(Proposal(item.rule_id, item.label, kind, day, kind in ("visite-entreprise", "entretien-tripartite")))
    return sorted(out, key=lambda p: (p.day, p.rule_id))
