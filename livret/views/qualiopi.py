"""Qualiopi follow-up report: what a tutoring record shows, per learner and per cohort.

Qualiopi asks a training organisation to prove, learner by learner, that it
positioned the learner at entry (indicator 8, criterion 2), followed up (10),
assessed (11), kept engaged (12) and, for work-study, coordinated with the
company (13) — indicators 10 to 13 are criterion 3.  An auditor reads the
record, not the intentions: a follow-up with no dated, attributed trace
counts as absent.

Only the certifying body rules on conformity.  livret says what it can
know: whether the proof is present and whether the organisation's own rule
(its thresholds in ``_organisation.yml``) is met.  Each indicator gets one
of three statuses:

- ``règle de l'organisme respectée`` (:data:`RULE_MET`): the proofs are
  there and every figure is within the organisation's rule;
- ``écart à justifier`` (:data:`TO_JUSTIFY`): the proofs are there but a
  figure is past the rule (a late positioning, a gap between contacts
  longer than the threshold): a past fact, to be explained, not completed;
- ``à compléter`` (:data:`TO_COMPLETE`): a proof is missing or something is
  due now (no meeting, no contact for too long, an alert without follow-up…).

Each indicator is computed in three pure steps: its *facts* (numbers and
dates from :mod:`livret.views.progress`, so that the report, the dashboard
and the portfolio agree), the *figures* shown (formatted from those facts
only) and the *findings* that give the status (derived from those same
facts only, one function per indicator: ``positioning_findings``…).  So a
status never contradicts a figure beside it.  Everything here is a pure
function of the learner's record, the organisation's settings and
``today`` — except :func:`store_reports`, the one reader of the store.

Rules (documented in docs/audit.md):

- **8 positioning**: a positioning, dated from the earliest day the
  organisation admits for an entry (``dates.before_start_days`` before the
  start) to today, with at least one competency positioned; past
  ``positioning_days`` after the start it is an *écart à justifier*.
- **10 follow-up**: at least one meeting and, for a learner in training, a
  last contact no older than ``no_contact_days`` (else *à compléter*); a
  longest interval between contacts over ``no_contact_days`` is an *écart à
  justifier* (a summer closure is explained, it cannot be completed).
- **11 assessment**: at least one assessment; once the training is over
  (status ``termine``), every competency of the framework assessed.
- **12 engagement**: no open alert left without follow-up past
  ``alert_followup_days``, no overdue action plan, attendance under
  ``attendance_min`` met by an alert or an action plan, an abandonment
  preceded by an alert or an action plan.
- **13 work-study** (``work_study: true`` only): at least one company
  feedback and one company visit (meeting of kind ``visite-entreprise``).
- **The organisation's follow-up rules** (``followup.rules``,
  :mod:`livret.views.followup`, docs/planning.md): each rule that applies
  to the learner adds one finding to its indicator — ``positioning`` to 8,
  ``welcome`` and ``contact`` to 12 (the follow-up process that prevents
  ruptures), ``company-checkin`` and ``company-visit`` to 13 — with the
  proof: done in time = *règle respectée*; done late or a missed periodic
  occurrence already followed by a done one = *écart à justifier*; due now,
  overdue or not computable (no work-study calendar) = *à compléter*.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..store import LearnerRecord, Store, StoredEntry, french
from ..store.date_range import date_window
from ..store.schema import (
    LEARNER_STATUSES,
    MODALITIES,
    PLAN_STATUSES,
    TYPE_LABELS,
    Group,
    LearnerProfile,
    Organisation,
    Thresholds,
)
from . import followup as fv
from . import progress as pg
from .derived_attendance import AttendanceContext, as_of
from .people import named
from .spreadsheet import csv_text

RULE_MET = "règle de l'organisme respectée"
TO_JUSTIFY = "écart à justifier"
TO_COMPLETE = "à compléter"
#: From the best to the worst: an indicator (a learner, a cohort line) takes its worst finding's.
STATUSES = (RULE_MET, TO_JUSTIFY, TO_COMPLETE)

#: A learner's (or a page's) one-line verdict, from its worst status.
OVERALL = {
    RULE_MET: "règle de l'organisme respectée sur tous les indicateurs",
    TO_JUSTIFY: "des écarts à la règle de l'organisme sont à justifier",
    TO_COMPLETE: "des éléments sont à compléter",
}
#: What the statuses mean, said once wherever the report is shown (docs/audit.md).
DISCLAIMER = ("Seul l'organisme certificateur se prononce sur la conformité. Ce rapport dit si la preuve est "
              "présente et si la règle que l'organisme s'est fixée (délais et seuils de _organisation.yml) "
              "est respectée : « règle de l'organisme respectée », « écart à justifier » (la preuve est là, "
              "un chiffre dépasse la règle), « à compléter » (une preuve manque ou une action est due).")


TITLES = {
    8: "Positionnement à l'entrée",
    10: "Adaptation et suivi du parcours",
    11: "Évaluation de l'atteinte des objectifs",
    12: "Engagement et prévention des ruptures",
    13: "Coordination avec l'entreprise (alternance)",
}
#: The Qualiopi criterion of each indicator.
CRITERIA = {8: 2, 10: 3, 11: 3, 12: 3, 13: 3}


def worst(statuses: Iterable[str]) -> str:
    """The worst of some statuses (:data:`RULE_MET` for none)."""
    return max(statuses, key=STATUSES.index, default=RULE_MET)


@dataclass(frozen=True)
class Proof:
    """An entry that proves (part of) an indicator, with what a reader needs to find it."""

    id: str
    date: dt.date
    type: str
    title: str
    path: str  # relative to the store: <learner>/entries/<name>.md

    @property
    def label(self) -> str:
        return f"{pg.fr_date(self.date)} — {TYPE_LABELS.get(self.type, self.type)} « {self.title} »"


@dataclass(frozen=True)
class Finding:
    """One French sentence about an indicator, and the status it gives it."""

    status: str  # one of STATUSES: RULE_MET for what is fine
    text: str


@dataclass(frozen=True)
class Indicator:
    number: int
    findings: tuple[Finding, ...]  # what needs doing first
    figures: tuple[tuple[str, str], ...]  # (French label, value as shown)
    proofs: tuple[Proof, ...]

    @property
    def status(self) -> str:
        return worst(f.status for f in self.findings)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(f.text for f in self.findings)

    @property
    def title(self) -> str:
        return TITLES[self.number]

    @property
    def criterion(self) -> int:
        return CRITERIA[self.number]

    @property
    def ok(self) -> bool:
        return self.status == RULE_MET


@dataclass
class LearnerReport:
    id: str
    name: str
    programme: str
    work_study: bool
    status: str  # the learner's status: en-cours, termine, abandon
    indicators: list[Indicator]
    #: The organisation's follow-up rules at work for this learner (:func:`livret.views.followup.followup_items`).
    followup: list[fv.FollowupItem] = field(default_factory=list)

    @property
    def overall(self) -> str:
        """The worst status of the learner's indicators."""
        return worst(i.status for i in self.indicators)

    @property
    def ok(self) -> bool:
        return self.overall == RULE_MET

    def indicator(self, number: int) -> Indicator | None:
        return next((i for i in self.indicators if i.number == number), None)


def _proofs(entries: Iterable[StoredEntry]) -> tuple[Proof, ...]:
    seen: dict[str, Proof] = {}
    for e in sorted(entries, key=lambda e: (e.meta.date, e.meta.recorded, e.id)):
        seen.setdefault(e.id, Proof(e.id, e.meta.date.date(), e.type, e.meta.title, e.path))
    return tuple(seen.values())


def _indicator(number: int, findings: Iterable[Finding], figures: Iterable[tuple[str, str]],
               proofs: Iterable[StoredEntry]) -> Indicator:
    ordered = sorted(findings, key=lambda f: -STATUSES.index(f.status))  # stable: what needs doing first
    return Indicator(number, tuple(ordered), tuple(figures), _proofs(proofs))


def _days(n: int) -> str:
    return f"{n} jour" if abs(n) <= 1 else f"{n} jours"


def _relative(days: int) -> str:
    """``3 jours après le début`` / ``10 jours avant le début`` / ``le jour du début``."""
    if days == 0:
        return "le jour du début"
    return f"{_days(abs(days))} {'après' if days > 0 else 'avant'} le début"


def _of_type(entries: Iterable[StoredEntry], type_: str) -> list[StoredEntry]:
    return sorted((e for e in pg.effective(entries) if e.type == type_),
                  key=lambda e: (e.meta.date, e.meta.recorded, e.id))


def _learner_status(status: str) -> str:
    return LEARNER_STATUSES.get(status, status)


# --------------------------------------------------------------------------
# Indicator 8: positioning at entry (criterion 2)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PositioningFacts:
    start: dt.date
    allowed_days: int  # the organisation's rule: positioning within this many days of the start
    earliest: dt.date  # the earliest day an entry may be dated (date range of the store)
    latest: dt.date  # and the latest: never after today
    first: dt.date | None  # the first positioning dated within [earliest, latest]
    competencies: int  # competencies positioned by the positionings within that range
    outside: tuple[dt.date, ...] = ()  # positionings dated outside that range
    today: dt.date | None = None

    @property
    def delay(self) -> int | None:
        return None if self.first is None else (self.first - self.start).days

    @property
    def limit(self) -> dt.date:
        return self.start + dt.timedelta(days=self.allowed_days)


def positioning_facts(profile: LearnerProfile, entries: Sequence[StoredEntry], settings: Organisation,
                      today: dt.date) -> tuple[PositioningFacts, list[StoredEntry]]:
    """The facts of indicator 8, and the positionings that prove it."""
    window = date_window(profile, settings.dates, today)
    done = _of_type(entries, "positioning")
    inside = [e for e in done if window.first <= e.meta.date.date() <= window.last]
    outside = tuple(e.meta.date.date() for e in done if e not in inside)
    codes = {c.code for e in inside for c in e.meta.competencies}
    facts = PositioningFacts(profile.start, settings.thresholds.positioning_days, window.first, window.last,
                             inside[0].meta.date.date() if inside else None, len(codes), outside, today)
    return facts, inside


def positioning_figures(f: PositioningFacts) -> list[tuple[str, str]]:
    shown = pg.fr_date(f.first) if f.first else (
        "; ".join(f"{pg.fr_date(d)} (hors de la période admise)" for d in f.outside) or "—")
    return [
        ("Début de la formation", pg.fr_date(f.start)),
        ("Délai fixé", f"{_days(f.allowed_days)} après le début (au plus tard le {pg.fr_date(f.limit)})"),
        ("Positionnement admis à partir du", pg.fr_date(f.earliest)),
        ("Positionnement", shown),
        ("Délai constaté", _relative(f.delay) if f.delay is not None else "—"),
        ("Compétences positionnées", str(f.competencies)),
    ]


def positioning_findings(f: PositioningFacts) -> list[Finding]:
    """Indicator 8's status, from its figures only."""
    out: list[Finding] = []
    if f.first is None:
        if f.outside:
            dates = ", ".join(pg.fr_date(d) for d in f.outside)
            out.append(Finding(TO_COMPLETE, f"Positionnement daté du {dates}, hors de la période admise "
                                            f"(du {pg.fr_date(f.earliest)} au {pg.fr_date(f.latest)}) : "
                                            "corriger sa date par une entrée de correction."))
        else:
            late = f.today is not None and f.today > f.limit
            when = "aurait dû être réalisé" if late else "à réaliser"
            out.append(Finding(TO_COMPLETE, f"Aucun positionnement initial enregistré ({when} "
                                            f"avant le {pg.fr_date(f.limit)})."))
        return out
    done = f"Positionnement initial réalisé le {pg.fr_date(f.first)}"
    delay = f.delay or 0
    if f.competencies == 0:
        out.append(Finding(TO_COMPLETE, f"{done} sans niveau initial d'aucune compétence : "
                                        "positionner les compétences du référentiel."))
    if delay > f.allowed_days:
        out.append(Finding(TO_JUSTIFY, f"{done}, {_days(delay)} après le début de la formation "
                                       f"(délai fixé : {_days(f.allowed_days)}) : joindre la justification du retard."))
    elif delay < 0:
        out.append(Finding(RULE_MET, f"{done}, avant l'entrée en formation."))
    else:
        out.append(Finding(RULE_MET, f"{done}, {_days(delay)} après le début de la formation."))
    return out


def positioning(profile: LearnerProfile, entries: Sequence[StoredEntry], settings: Organisation,
                today: dt.date) -> Indicator:
    """Indicator 8: initial positioning done, and when."""
    facts, proofs = positioning_facts(profile, entries, settings, today)
    return _indicator(8, positioning_findings(facts), positioning_figures(facts), proofs)


# --------------------------------------------------------------------------
# Indicator 10: follow-up
# --------------------------------------------------------------------------


def modality_mix(by_modality: dict[str, int]) -> str:
    """``Présentiel : 3 / À distance, synchrone : 1`` in the schema's order of modalities."""
    parts = [f"{label} : {by_modality[key]}" for key, label in MODALITIES.items() if by_modality.get(key)]
    return " / ".join(parts) or "—"


@dataclass(frozen=True)
class FollowupFacts:
    threshold: int  # the organisation's rule: no contact for more than this many days
    contacts: int
    meetings: int
    minutes: int = 0
    by_modality: dict[str, int] = field(default_factory=dict)
    average_gap: float | None = None
    longest_gap: pg.Gap | None = None
    last_contact: dt.date | None = None
    in_training: bool = False
    #: For a learner in training: days since the last contact (since the start without any).
    silent_days: int | None = None


def followup_facts(profile: LearnerProfile, entries: Sequence[StoredEntry], thresholds: Thresholds,
                   today: dt.date) -> tuple[FollowupFacts, list[StoredEntry]]:
    fu = pg.followup(entries, today)
    in_training = profile.status == "en-cours" and profile.start <= today
    silent = (today - (fu.last_contact or profile.start)).days if in_training else None
    facts = FollowupFacts(thresholds.no_contact_days, len(fu.contacts), fu.count, fu.total_minutes,
                          dict(fu.by_modality), fu.average_gap_days, fu.longest_gap, fu.last_contact,
                          in_training, silent)
    return facts, fu.contacts


def followup_figures(f: FollowupFacts) -> list[tuple[str, str]]:
    gap = f.longest_gap
    if f.silent_days is None:
        silent = "— (hors période de formation)"
    else:
        silent = _days(f.silent_days) + ("" if f.last_contact else " (depuis le début de la formation)")
    return [
        ("Contacts de suivi", str(f.contacts)),
        ("Entretiens", str(f.meetings)),
        ("Durée des entretiens", pg.duration(f.minutes) if f.meetings else "—"),
        ("Modalités", modality_mix(f.by_modality)),
        ("Intervalle moyen", f"{f.average_gap:.1f} jours".replace(".", ",") if f.average_gap is not None else "—"),
        ("Intervalle le plus long", f"{_days(gap.days)} (du {pg.fr_date(gap.start)} au {pg.fr_date(gap.end)})"
         if gap else "—"),
        ("Dernier contact", pg.fr_date(f.last_contact)),
        ("Jours sans contact", silent),
        ("Seuil sans contact", _days(f.threshold)),
    ]


def followup_findings(f: FollowupFacts) -> list[Finding]:
    """Indicator 10's status, from its figures only."""
    out: list[Finding] = []
    if not f.meetings:
        out.append(Finding(TO_COMPLETE, "Aucun entretien de suivi enregistré."))
    if f.silent_days is not None and f.silent_days > f.threshold:
        since = (f"dernier le {pg.fr_date(f.last_contact)}" if f.last_contact
                 else "depuis le début de la formation")
        out.append(Finding(TO_COMPLETE, f"Aucun contact de suivi depuis {_days(f.silent_days)} "
                                        f"({since} ; seuil : {_days(f.threshold)})."))
    gap = f.longest_gap
    if gap is not None and gap.days > f.threshold:
        out.append(Finding(TO_JUSTIFY, f"{_days(gap.days)} sans contact de suivi du {pg.fr_date(gap.start)} "
                                       f"au {pg.fr_date(gap.end)}, au-delà du seuil de {_days(f.threshold)} : "
                                       "joindre la justification (fermeture, congés, interruption du parcours)."))
    if f.contacts and not out:
        out.append(Finding(RULE_MET, f"{f.contacts} contacts de suivi dont "
                                     f"{french.count(f.meetings, 'entretien', 'entretiens')}, "
                                     f"le dernier le {pg.fr_date(f.last_contact)} ; aucun intervalle "
                                     f"au-delà de {_days(f.threshold)}."))
    return out


def followup(profile: LearnerProfile, entries: Sequence[StoredEntry], thresholds: Thresholds,
             today: dt.date) -> Indicator:
    """Indicator 10: contacts, modality mix, average and longest interval."""
    facts, proofs = followup_facts(profile, entries, thresholds, today)
    return _indicator(10, followup_findings(facts), followup_figures(facts), proofs)


# --------------------------------------------------------------------------
# Indicator 11: assessment
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class AssessmentFacts:
    framework: str
    framework_found: bool
    assessments: int
    last: dt.date | None
    learner_status: str  # en-cours, termine, abandon
    total: int = 0
    assessed: int = 0
    acquired: int = 0
    percent: int = 0
    not_assessed: tuple[str, ...] = ()


def assessment_facts(profile: LearnerProfile, record: LearnerRecord, entries: Sequence[StoredEntry]
                     ) -> tuple[AssessmentFacts, list[StoredEntry]]:
    done = _of_type(entries, "assessment")
    last = done[-1].meta.date.date() if done else None
    if record.framework is None:
        return AssessmentFacts(profile.framework, False, len(done), last, profile.status), done
    views = pg.competency_views(record.framework, entries)
    prog = pg.progress(views)
    missing = tuple(v.code for v in views if v.assessed is None)
    return AssessmentFacts(profile.framework, True, len(done), last, profile.status, prog.total,
                           prog.total - len(missing), prog.acquired, prog.percent, missing), done


def assessment_figures(f: AssessmentFacts) -> list[tuple[str, str]]:
    figures = [("Évaluations", str(f.assessments)), ("Dernière évaluation", pg.fr_date(f.last))]
    if f.framework_found:
        figures += [("Compétences évaluées", f"{f.assessed} sur {f.total}"),
                    ("Compétences acquises", f"{f.acquired} sur {f.total} ({f.percent} %)")]
    figures.append(("Statut de l'apprenant·e", _learner_status(f.learner_status)))
    return figures


def assessment_findings(f: AssessmentFacts) -> list[Finding]:
    """Indicator 11's status, from its figures only."""
    if not f.framework_found:
        return [Finding(TO_COMPLETE, f"Référentiel « {f.framework} » introuvable : compétences non évaluables.")]
    if not f.assessments:
        return [Finding(TO_COMPLETE, "Aucune évaluation des compétences enregistrée.")]
    if f.learner_status == "termine" and f.assessed < f.total:
        return [Finding(TO_COMPLETE, "Formation terminée sans évaluation de toutes les compétences "
                                     f"(non évaluées : {', '.join(f.not_assessed)}).")]
    return [Finding(RULE_MET, f"{french.count(f.assessments, 'évaluation', 'évaluations')}, "
                              f"la dernière le {pg.fr_date(f.last)} ; "
                              f"{french.count(f.acquired, 'compétence acquise', 'compétences acquises')} sur {f.total} "
                              f"({f.percent} %).")]


def assessment(profile: LearnerProfile, record: LearnerRecord, entries: Sequence[StoredEntry]) -> Indicator:
    """Indicator 11: assessments done and objectives (competencies) reached."""
    facts, proofs = assessment_facts(profile, record, entries)
    return _indicator(11, assessment_findings(facts), assessment_figures(facts), proofs)


# --------------------------------------------------------------------------
# Indicator 12: engagement and dropout prevention
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class LateItem:
    """An open alert without follow-up past the delay, or an overdue action plan."""

    title: str
    date: dt.date  # the alert's date, the plan's due date
    days: int  # the alert's age, the plan's delay


@dataclass(frozen=True)
class EngagementFacts:
    followup_days: int  # the organisation's rules
    attendance_min: float
    learner_status: str
    alerts: int = 0
    open_alerts: int = 0
    late_alerts: tuple[LateItem, ...] = ()
    reminders: int = 0
    plans: dict[str, int] = field(default_factory=dict)  # per plan status
    overdue_plans: tuple[LateItem, ...] = ()
    attendance: float | None = None
    recent_attendance: float | None = None

    @property
    def plan_count(self) -> int:
        return sum(self.plans.values())

    @property
    def lowest_attendance(self) -> float | None:
        rates = [r for r in (self.attendance, self.recent_attendance) if r is not None]
        return min(rates, default=None)


def engagement_facts(profile: LearnerProfile, entries: Sequence[StoredEntry], thresholds: Thresholds,
                     today: dt.date, rows: Sequence | None = None) -> tuple[EngagementFacts, list[StoredEntry]]:
    alerts = pg.tutor_alerts(entries)
    plans = pg.action_plans(entries, today)
    att = pg.attendance(entries, rows)  # rows: the signed sessions (livret.views.attendance)
    late = tuple(LateItem(a.title, a.date, (today - a.date).days) for a in alerts
                 if a.status == "open" and not a.followed_up and (today - a.date).days > thresholds.alert_followup_days)
    overdue = tuple(LateItem(p.title, p.due, (today - p.due).days) for p in plans if p.overdue)
    facts = EngagementFacts(
        thresholds.alert_followup_days, thresholds.attendance_min, profile.status,
        alerts=len(alerts), open_alerts=sum(a.status == "open" for a in alerts), late_alerts=late,
        reminders=len({i for a in alerts for i in a.follow_ups}),
        plans={s: sum(p.status == s for p in plans) for s in PLAN_STATUSES}, overdue_plans=overdue,
        attendance=att.rate, recent_attendance=att.recent_rate,
    )
    by_id = {e.id: e for e in entries}
    proofs = [by_id[i] for a in alerts for i in [a.id, *a.follow_ups] if i in by_id]
    proofs += [by_id[i] for p in plans for i in p.entries if i in by_id]
    return facts, proofs


def engagement_figures(f: EngagementFacts) -> list[tuple[str, str]]:
    return [
        ("Alertes", str(f.alerts)),
        ("Alertes ouvertes", str(f.open_alerts)),
        (f"Alertes sans suite après {_days(f.followup_days)}", str(len(f.late_alerts))),
        ("Relances et suites données", str(f.reminders)),
        ("Plans d'action", f"{f.plan_count} (" + ", ".join(
            f"{label.lower()} : {f.plans.get(s, 0)}" for s, label in PLAN_STATUSES.items()) + ")"),
        ("Plans en retard", str(len(f.overdue_plans))),
        ("Assiduité", f"{pg.percent(f.attendance)} (3 dernières périodes : {pg.percent(f.recent_attendance)})"),
        ("Seuil d'assiduité", pg.percent(f.attendance_min)),
        ("Statut de l'apprenant·e", _learner_status(f.learner_status)),
    ]


def engagement_findings(f: EngagementFacts) -> list[Finding]:
    """Indicator 12's status, from its figures only."""
    out = [Finding(TO_COMPLETE, f"Alerte « {a.title} » du {pg.fr_date(a.date)} ouverte depuis {_days(a.days)} "
                                f"sans suite (suite attendue sous {_days(f.followup_days)}).")
           for a in f.late_alerts]
    out += [Finding(TO_COMPLETE, f"Plan d'action « {p.title} » en retard : échéance du {pg.fr_date(p.date)} "
                                 f"dépassée de {_days(p.days)}.")
            for p in f.overdue_plans]
    low = f.lowest_attendance
    if low is not None and low < f.attendance_min and not f.alerts and not f.plan_count:
        out.append(Finding(TO_COMPLETE, f"Assiduité sous le seuil de {pg.percent(f.attendance_min)} "
                                        f"({pg.percent(low)}) sans alerte ni plan d'action."))
    if f.learner_status == "abandon" and not f.alerts and not f.plan_count:
        out.append(Finding(TO_COMPLETE, "Abandon sans alerte ni plan d'action enregistrés auparavant."))
    if out:
        return out
    if f.alerts:
        out.append(Finding(RULE_MET, f"{french.count(f.alerts, 'alerte', 'alertes')}, "
                                     "toutes suivies ou traitées dans les délais."))
    else:
        out.append(Finding(RULE_MET, "Aucune alerte en attente de suite."))
    if f.plan_count:
        out.append(Finding(RULE_MET, french.count(f.plan_count, "plan d'action", "plans d'action")
                           + ", aucun en retard."))
    return out


def engagement(profile: LearnerProfile, entries: Sequence[StoredEntry], thresholds: Thresholds,
               today: dt.date, rows: Sequence | None = None) -> Indicator:
    """Indicator 12: alerts and their follow-up, action plans, reminders, attendance (signed sessions too)."""
    facts, proofs = engagement_facts(profile, entries, thresholds, today, rows)
    return _indicator(12, engagement_findings(facts), engagement_figures(facts), proofs)


# --------------------------------------------------------------------------
# Indicator 13: work-study coordination with the company
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkStudyFacts:
    company: str | None
    company_tutors: tuple[str, ...]
    feedback: int
    visits: int
    last_visit: dt.date | None = None


def work_study_facts(profile: LearnerProfile, entries: Sequence[StoredEntry], people: Mapping[str, str] | None = None,
                     ) -> tuple[WorkStudyFacts, list[StoredEntry]]:
    """``people``: username -> name (``_people.yml``): the company tutors show by name, never by login."""
    # the company's observation grid is the company tutor's word too (issue 15)
    feedback = sorted([*_of_type(entries, "company-feedback"), *_of_type(entries, "observation")],
                      key=lambda e: (e.meta.date, e.meta.recorded, e.id))
    visits = [m for m in _of_type(entries, "meeting") if m.meta.kind == "visite-entreprise"]
    tutors = tuple(named(u, people or {}, "company") for u in profile.company_tutors)
    facts = WorkStudyFacts(profile.company.name if profile.company else None, tutors,
                           len(feedback), len(visits), visits[-1].meta.date.date() if visits else None)
    return facts, [*feedback, *visits]


def work_study_figures(f: WorkStudyFacts) -> list[tuple[str, str]]:
    return [
        ("Entreprise", f.company or "—"),
        ("Tuteurs entreprise", ", ".join(f.company_tutors) or "—"),
        ("Retours de l'entreprise", str(f.feedback)),
        ("Visites en entreprise", str(f.visits)),
    ]


def work_study_findings(f: WorkStudyFacts) -> list[Finding]:
    """Indicator 13's status, from its figures only."""
    out = []
    if not f.feedback:
        out.append(Finding(TO_COMPLETE, "Aucun retour du ou de la tuteur·rice entreprise enregistré."))
    if not f.visits:
        out.append(Finding(TO_COMPLETE, "Aucune visite en entreprise enregistrée "
                                        "(entretien de nature « visite entreprise »)."))
    return out or [Finding(RULE_MET, f"{french.count(f.feedback, 'retour', 'retours')} de l'entreprise, "
                                     f"{french.count(f.visits, 'visite', 'visites')} en entreprise, "
                                     f"la dernière le {pg.fr_date(f.last_visit)}.")]


def work_study(profile: LearnerProfile, entries: Sequence[StoredEntry],
               people: Mapping[str, str] | None = None) -> Indicator:
    """Indicator 13 (work-study only): company feedback and company visits."""
    facts, proofs = work_study_facts(profile, entries, people)
    return _indicator(13, work_study_findings(facts), work_study_figures(facts), proofs)


# --------------------------------------------------------------------------
# Per learner, per cohort
# --------------------------------------------------------------------------


#: The indicator each kind of follow-up rule proves.
RULE_INDICATORS = {"positioning": 8, "welcome": 12, "contact": 12, "company-checkin": 13, "company-visit": 13}
RULE_VERDICTS = {RULE_MET: "dans les délais", TO_JUSTIFY: "en retard", TO_COMPLETE: "manquant ou à faire"}


def rule_status(items: Sequence[fv.FollowupItem]) -> str:
    """One rule's status for one learner, from its occurrences (see the module's docstring)."""
    statuses = []
    for item in items:
        if item.state in ("due", "not-applicable") or (item.state == "overdue" and not fv.superseded(item, items)):
            statuses.append(TO_COMPLETE)
        elif item.late or item.state == "overdue":
            statuses.append(TO_JUSTIFY)
        else:
            statuses.append(RULE_MET)
    return worst(statuses)


def _by_rule(items: Iterable[fv.FollowupItem]) -> dict[str, list[fv.FollowupItem]]:
    out: dict[str, list[fv.FollowupItem]] = {}
    for item in items:
        out.setdefault(item.rule_id, []).append(item)
    return out


def _item_text(item: fv.FollowupItem) -> str:
    due = f"au plus tard le {pg.fr_date(item.due)}" if item.due else ""
    if item.state == "done":
        late = " en retard" if item.late else ""
        return f"réalisé{late} le {pg.fr_date(item.proof_date)} ({due}) : « {item.proof_title} »"
    if item.state == "not-applicable":
        return item.detail
    words = {"overdue": "aucune preuve", "due": "à faire", "upcoming": "à venir"}[item.state]
    window = f"entre le {pg.fr_date(item.window_start)} et le {pg.fr_date(item.due)}" if item.window_start else due
    planned = f" ; rendez-vous prévu le {pg.fr_date(item.plan_date)}" if item.plan_date else ""
    return f"{words} ({window}){planned}"


def rule_findings(items: Sequence[fv.FollowupItem]) -> dict[int, list[Finding]]:
    """Indicator number -> one finding per rule (the rule, its status, each occurrence and its proof)."""
    out: dict[int, list[Finding]] = {}
    for rule_items in _by_rule(items).values():
        first = rule_items[0]
        status = rule_status(rule_items)
        shown = [i for i in rule_items if i.state != "upcoming"] or rule_items[:1]
        in_time = [i for i in shown if i.state == "done" and not i.late]
        if len(in_time) > 1:  # many occurrences done in time: counted (their proofs are listed), the rest said
            shown = [i for i in shown if i not in in_time]
            parts = [f"{len(in_time)} réalisés dans les délais", *(_item_text(i) for i in shown)]
        else:
            parts = [_item_text(i) for i in shown]
        text = f"Règle de suivi « {first.label} » : {RULE_VERDICTS[status]} — " + " ; ".join(parts) + "."
        out.setdefault(RULE_INDICATORS[first.what], []).append(Finding(status, text))
    return out


def learner_report(record: LearnerRecord, settings: Organisation, today: dt.date,
                   groups: Iterable[Group] = (), cache: dict | None = None,
                   rows: Sequence | None = None, people: Mapping[str, str] | None = None) -> LearnerReport:
    """Every indicator that applies to the learner; ``record.profile`` must be valid.

    Uses every entry (the staff view): the report is for admins and
    auditors, never for the shared site.  ``groups``: the organisation's
    groups (or the learner's): their calendars and the rules narrowed to groups.
    """
    profile = record.profile
    assert profile is not None, "learner_report needs a valid profile"
    entries = record.entries
    th = settings.thresholds
    indicators = [
        positioning(profile, entries, settings, today),
        followup(profile, entries, th, today),
        assessment(profile, record, entries),
        engagement(profile, entries, th, today, rows),
    ]
    if profile.work_study:
        indicators.append(work_study(profile, entries, people))
    items = fv.learner_items(profile, entries, groups, settings.followup.rules, today, cache=cache)
    if items:
        by_id = {e.id: e for e in entries}
        extra = rule_findings(items)
        for n, ind in enumerate(indicators):
            found = extra.get(ind.number)
            if found:
                proofs = [by_id[i.proof] for i in items if i.proof in by_id
                          and RULE_INDICATORS[i.what] == ind.number]
                indicators[n] = _indicator(ind.number, [*ind.findings, *found], ind.figures,
                                           [*_proof_entries(ind, by_id), *proofs])
    return LearnerReport(record.id, profile.name, profile.programme, profile.work_study, profile.status,
                         indicators, items)


def _proof_entries(ind: Indicator, by_id: dict[str, StoredEntry]) -> list[StoredEntry]:
    return [by_id[p.id] for p in ind.proofs if p.id in by_id]


@dataclass
class RuleLine:
    """One follow-up rule across a cohort: the learners it concerns, in time, late, missing, and the proofs."""

    rule_id: str
    label: str
    indicator: int
    concerned: list[str] = field(default_factory=list)  # learner ids
    met: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    #: Learner id -> the proofs of their occurrences: (entry id, title, date, late).
    proofs: dict[str, list[tuple[str, str, dt.date, bool]]] = field(default_factory=dict)


def rule_lines(reports: Sequence[LearnerReport]) -> list[RuleLine]:
    """Per follow-up rule (in the order first met), who it concerns and how they stand."""
    lines: dict[str, RuleLine] = {}
    for r in reports:
        for rule_id, items in _by_rule(r.followup).items():
            line = lines.setdefault(rule_id, RuleLine(rule_id, items[0].label, RULE_INDICATORS[items[0].what]))
            line.concerned.append(r.id)
            status = rule_status(items)
            {RULE_MET: line.met, TO_JUSTIFY: line.late, TO_COMPLETE: line.missing}[status].append(r.id)
            proofs = [(i.proof, i.proof_title or "", i.proof_date, i.late) for i in items
                      if i.proof and i.proof_date]
            if proofs:
                line.proofs[r.id] = proofs
    return list(lines.values())


@dataclass
class CohortLine:
    number: int
    applicable: int
    met: int  # learners whose indicator meets the organisation's rule
    to_justify: list[str]  # learner ids
    to_complete: list[str]  # learner ids

    @property
    def title(self) -> str:
        return TITLES[self.number]

    @property
    def status(self) -> str:
        return TO_COMPLETE if self.to_complete else TO_JUSTIFY if self.to_justify else RULE_MET

    @property
    def rate(self) -> float | None:
        return self.met / self.applicable if self.applicable else None


@dataclass
class CohortReport:
    name: str
    learners: list[LearnerReport] = field(default_factory=list)
    lines: list[CohortLine] = field(default_factory=list)
    #: The organisation's follow-up rules (``followup.rules``) across the cohort.
    rules: list[RuleLine] = field(default_factory=list)

    def count(self, status: str) -> int:
        """Learners whose worst indicator has this status."""
        return sum(r.overall == status for r in self.learners)

    @property
    def met(self) -> int:
        return self.count(RULE_MET)


def cohort_report(name: str, reports: Sequence[LearnerReport]) -> CohortReport:
    """Per indicator: learners it applies to, how many meet the rule, who has a gap to justify or to complete."""
    lines = []
    for number in TITLES:
        found = [(r.id, r.indicator(number)) for r in reports]
        found = [(lid, i) for lid, i in found if i is not None]
        lines.append(CohortLine(number, len(found), sum(i.ok for _, i in found),
                                [lid for lid, i in found if i.status == TO_JUSTIFY],
                                [lid for lid, i in found if i.status == TO_COMPLETE]))
    return CohortReport(name, list(reports), lines, rule_lines(reports))


ALL_LEARNERS = "Tous les apprenants"


def cohorts(reports: Sequence[LearnerReport]) -> list[CohortReport]:
    """The whole organisation first, then one cohort per programme (alphabetical)."""
    programmes = sorted({r.programme for r in reports})
    out = [cohort_report(ALL_LEARNERS, reports)]
    if len(programmes) > 1:
        out += [cohort_report(p, [r for r in reports if r.programme == p]) for p in programmes]
    return out


def summary(reports: Sequence[LearnerReport]) -> str:
    """``6 apprenant·es : règle de l'organisme respectée pour 1, écart à justifier pour 3, à compléter pour 2``."""
    counts = ", ".join(f"{status} pour {sum(r.overall == status for r in reports)}" for status in STATUSES)
    return f"{french.count(len(reports), 'apprenant·e', 'apprenant·es')} : {counts}"


def store_reports(store: Store, today: dt.date, learner_ids: Iterable[str] | None = None) -> list[LearnerReport]:
    """Reports of the learners whose profile is valid (the others are ``livret check``'s business)."""
    settings = store.settings()
    groups = list(store.groups().values()) if settings.followup.rules else []
    cache: dict = {}
    people = store.people_names()
    signed = AttendanceContext.load(store, as_of(today, settings.timezone))
    out = []
    for lid in learner_ids if learner_ids is not None else store.learner_ids():
        record = store.load_learner(lid)
        if record.profile is not None:
            out.append(learner_report(record, settings, today, groups, cache, signed.rows(record), people))
    return out


# --------------------------------------------------------------------------
# CSV export
# --------------------------------------------------------------------------

CSV_COLUMNS = ("apprenant", "nom", "formation", "indicateur", "intitulé", "statut", "constats",
               "chiffres", "preuves")


def to_csv(reports: Sequence[LearnerReport], *, bom: bool = True) -> str:
    """One row per learner × indicator, for a spreadsheet.

    French Excel opens a CSV by double-click only if it is ``;``-separated
    (``,`` is the decimal separator in French) and starts with a UTF-8 byte
    order mark (otherwise it reads the accents as Windows-1252).  So: UTF-8
    with BOM, ``;``, CRLF line ends, every field quoted when needed.  Proofs
    are entry file paths (relative to ``portfolios/``), separated by spaces.
    A cell a spreadsheet would run as a formula is prefixed with an
    apostrophe (:mod:`livret.views.spreadsheet`).
    """
    rows: list[Sequence[object]] = [CSV_COLUMNS]
    for r in reports:
        for i in r.indicators:
            rows.append([
                r.id, r.name, r.programme, i.number, i.title, i.status,
                " ".join(i.reasons),
                " | ".join(f"{label} : {value}" for label, value in i.figures),
                " ".join(p.path for p in i.proofs),
            ])
    return csv_text(rows, bom=bom)
