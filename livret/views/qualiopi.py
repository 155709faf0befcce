"""Qualiopi follow-up report: what a tutoring record proves, per learner and per cohort.

Qualiopi's criterion 3 asks a training organisation to prove, learner by
learner, that it positioned (indicator 8), followed up (10), assessed (11),
kept engaged (12) and, for work-study, coordinated with the company (13).
An auditor reads the record, not the intentions: a follow-up with no dated,
attributed trace counts as absent.  So each indicator here gets a status,
``conforme`` or ``à compléter``, the French reasons behind it (what is
missing first) and the entries that prove it, for the auditor to open.

Every figure comes from :mod:`livret.views.progress`, so the report, the dashboard
and the portfolio agree.  Everything here is a pure function of the
learner's record, the organisation's thresholds and ``today`` — except
:func:`store_reports`, the one reader of the store.

Rules (documented in docs/audit.md):

- **8 positioning**: a positioning entry within ``positioning_days`` of the
  training's start (before the start counts too).
- **10 follow-up**: at least one follow-up meeting and, for a learner in
  training, a last contact no older than ``no_contact_days``.  The longest
  interval between contacts is shown, not judged: organisations close in
  summer, and a past gap cannot be completed anyway.
- **11 assessment**: at least one assessment; once the training is over
  (status ``termine``), every competency of the framework assessed.
- **12 engagement**: no open alert left without follow-up past
  ``alert_followup_days``, no overdue action plan, attendance under
  ``attendance_min`` met by an alert or an action plan, an abandonment
  preceded by an alert or an action plan.
- **13 work-study** (``work_study: true`` only): at least one company
  feedback and one company visit (meeting of kind ``visite-entreprise``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..store import LearnerRecord, Store, StoredEntry
from ..store.schema import MODALITIES, PLAN_STATUSES, TYPE_LABELS, LearnerProfile, Organisation, Thresholds
from . import progress as pg

CONFORME = "conforme"
A_COMPLETER = "à compléter"

TITLES = {
    8: "Positionnement à l'entrée",
    10: "Adaptation et suivi du parcours",
    11: "Évaluation de l'atteinte des objectifs",
    12: "Engagement et prévention des ruptures",
    13: "Coordination avec l'entreprise (alternance)",
}


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
class Indicator:
    number: int
    status: str  # CONFORME or A_COMPLETER
    reasons: tuple[str, ...]  # French, what is missing first
    figures: tuple[tuple[str, str], ...]  # (French label, value as shown)
    proofs: tuple[Proof, ...]

    @property
    def title(self) -> str:
        return TITLES[self.number]

    @property
    def ok(self) -> bool:
        return self.status == CONFORME


@dataclass
class LearnerReport:
    id: str
    name: str
    programme: str
    work_study: bool
    status: str  # the learner's status: en-cours, termine, abandon
    indicators: list[Indicator]

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.indicators)

    def indicator(self, number: int) -> Indicator | None:
        return next((i for i in self.indicators if i.number == number), None)


def _proofs(entries: Iterable[StoredEntry]) -> tuple[Proof, ...]:
    seen: dict[str, Proof] = {}
    for e in sorted(entries, key=lambda e: (e.meta.date, e.meta.recorded, e.id)):
        seen.setdefault(e.id, Proof(e.id, e.meta.date.date(), e.type, e.meta.title, e.path))
    return tuple(seen.values())


def _indicator(number: int, problems: list[str], fine: list[str], figures: list[tuple[str, str]],
               proofs: Iterable[StoredEntry]) -> Indicator:
    status = A_COMPLETER if problems else CONFORME
    return Indicator(number, status, tuple(problems + fine), tuple(figures), _proofs(proofs))


def _days(n: int) -> str:
    return f"{n} jour" if abs(n) <= 1 else f"{n} jours"


def _of_type(entries: Iterable[StoredEntry], type_: str) -> list[StoredEntry]:
    return sorted((e for e in pg.effective(entries) if e.type == type_),
                  key=lambda e: (e.meta.date, e.meta.recorded, e.id))


# --------------------------------------------------------------------------
# The indicators
# --------------------------------------------------------------------------


def positioning(profile: LearnerProfile, entries: Sequence[StoredEntry], thresholds: Thresholds,
                today: dt.date) -> Indicator:
    """Indicator 8: initial positioning done, and when."""
    done = _of_type(entries, "positioning")
    limit = profile.start + dt.timedelta(days=thresholds.positioning_days)
    problems: list[str] = []
    fine: list[str] = []
    figures = [("Début de la formation", pg.fr_date(profile.start)),
               ("Délai fixé", _days(thresholds.positioning_days))]
    if not done:
        when = "aurait dû être réalisé" if today > limit else "à réaliser"
        problems.append(f"Aucun positionnement initial enregistré ({when} avant le {pg.fr_date(limit)}).")
        figures.append(("Positionnement", "—"))
    else:
        first = done[0]
        delay = (first.meta.date.date() - profile.start).days
        codes = {c.code for e in done for c in e.meta.competencies}
        figures += [("Positionnement", pg.fr_date(first.meta.date)), ("Délai constaté", _days(delay)),
                    ("Compétences positionnées", str(len(codes)))]
        if delay > thresholds.positioning_days:
            problems.append(
                f"Positionnement initial réalisé le {pg.fr_date(first.meta.date)}, {_days(delay)} après le "
                f"début de la formation (délai fixé : {_days(thresholds.positioning_days)}) : "
                "joindre la justification du retard.")
        elif delay < 0:
            fine.append(f"Positionnement initial réalisé le {pg.fr_date(first.meta.date)}, "
                        "avant l'entrée en formation.")
        else:
            fine.append(f"Positionnement initial réalisé le {pg.fr_date(first.meta.date)}, "
                        f"{_days(delay)} après le début de la formation.")
    return _indicator(8, problems, fine, figures, done)


def modality_mix(by_modality: dict[str, int]) -> str:
    """``Présentiel : 3 / À distance, synchrone : 1`` in the schema's order of modalities."""
    parts = [f"{label} : {by_modality[key]}" for key, label in MODALITIES.items() if by_modality.get(key)]
    return " / ".join(parts) or "—"


def followup(profile: LearnerProfile, entries: Sequence[StoredEntry], thresholds: Thresholds,
             today: dt.date) -> Indicator:
    """Indicator 10: contacts, modality mix, average and longest interval."""
    fu = pg.followup(entries, today)
    limit = thresholds.no_contact_days
    problems: list[str] = []
    fine: list[str] = []
    figures = [
        ("Contacts de suivi", str(len(fu.contacts))),
        ("Entretiens", str(fu.count)),
        ("Durée des entretiens", pg.duration(fu.total_minutes) if fu.count else "—"),
        ("Modalités", modality_mix(fu.by_modality)),
        ("Intervalle moyen", f"{fu.average_gap_days:.1f} jours".replace(".", ",")
         if fu.average_gap_days is not None else "—"),
        ("Intervalle le plus long", f"{_days(fu.longest_gap.days)} (du {pg.fr_date(fu.longest_gap.start)} "
                                    f"au {pg.fr_date(fu.longest_gap.end)})" if fu.longest_gap else "—"),
        ("Dernier contact", pg.fr_date(fu.last_contact)),
        ("Seuil sans contact", _days(limit)),
    ]
    if not fu.meetings:
        problems.append("Aucun entretien de suivi enregistré.")
    in_training = profile.status == "en-cours" and profile.start <= today
    if in_training:
        reference = fu.last_contact or profile.start
        silent = (today - reference).days
        if silent > limit:
            since = f"dernier le {pg.fr_date(fu.last_contact)}" if fu.last_contact else "depuis le début de la formation"
            problems.append(f"Aucun contact de suivi depuis {_days(silent)} ({since} ; seuil : {_days(limit)}).")
    if fu.contacts and not problems:
        fine.append(f"{len(fu.contacts)} contacts de suivi dont {fu.count} entretien(s), "
                    f"le dernier le {pg.fr_date(fu.last_contact)}.")
    return _indicator(10, problems, fine, figures, fu.contacts)


def assessment(profile: LearnerProfile, record: LearnerRecord, entries: Sequence[StoredEntry]) -> Indicator:
    """Indicator 11: assessments done and objectives (competencies) reached."""
    done = _of_type(entries, "assessment")
    problems: list[str] = []
    fine: list[str] = []
    figures = [("Évaluations", str(len(done))),
               ("Dernière évaluation", pg.fr_date(done[-1].meta.date) if done else "—")]
    if record.framework is None:
        problems.append(f"Référentiel « {profile.framework} » introuvable : compétences non évaluables.")
        return _indicator(11, problems, fine, figures, done)
    views = pg.competency_views(record.framework, entries)
    prog = pg.progress(views)
    assessed = [v for v in views if v.assessed is not None]
    figures += [("Compétences évaluées", f"{len(assessed)} sur {prog.total}"),
                ("Compétences acquises", f"{prog.acquired} sur {prog.total} ({prog.percent} %)")]
    if not done:
        problems.append("Aucune évaluation des compétences enregistrée.")
    elif profile.status == "termine" and len(assessed) < prog.total:
        missing = [v.code for v in views if v.assessed is None]
        problems.append("Formation terminée sans évaluation de toutes les compétences "
                        f"(non évaluées : {', '.join(missing)}).")
    else:
        fine.append(f"{len(done)} évaluation(s), la dernière le {pg.fr_date(done[-1].meta.date)} ; "
                    f"{prog.acquired} compétence(s) acquise(s) sur {prog.total} ({prog.percent} %).")
    return _indicator(11, problems, fine, figures, done)


def engagement(profile: LearnerProfile, entries: Sequence[StoredEntry], thresholds: Thresholds,
               today: dt.date) -> Indicator:
    """Indicator 12: alerts and their follow-up, action plans, reminders, attendance."""
    alerts = pg.tutor_alerts(entries)
    plans = pg.action_plans(entries, today)
    att = pg.attendance(entries)
    by_id = {e.id: e for e in entries}
    reminders = sorted({i for a in alerts for i in a.follow_ups})
    counts = {s: sum(p.status == s for p in plans) for s in PLAN_STATUSES}
    overdue = [p for p in plans if p.overdue]
    figures = [
        ("Alertes", str(len(alerts))),
        ("Alertes ouvertes", str(sum(a.status == "open" for a in alerts))),
        ("Relances et suites données", str(len(reminders))),
        ("Plans d'action", f"{len(plans)} (" + ", ".join(
            f"{label.lower()} : {counts[s]}" for s, label in PLAN_STATUSES.items()) + ")"),
        ("Plans en retard", str(len(overdue))),
        ("Assiduité", f"{pg.percent(att.rate)} (3 dernières périodes : {pg.percent(att.recent_rate)})"),
    ]
    problems: list[str] = []
    fine: list[str] = []
    for a in alerts:
        age = (today - a.date).days
        if a.status == "open" and not a.followed_up and age > thresholds.alert_followup_days:
            problems.append(f"Alerte « {a.title} » du {pg.fr_date(a.date)} ouverte depuis {_days(age)} sans suite "
                            f"(suite attendue sous {_days(thresholds.alert_followup_days)}).")
    for p in overdue:
        problems.append(f"Plan d'action « {p.title} » en retard : échéance du {pg.fr_date(p.due)} dépassée "
                        f"de {_days((today - p.due).days)}.")
    low = [r for r in (att.rate, att.recent_rate) if r is not None and r < thresholds.attendance_min]
    if low and not alerts and not plans:
        problems.append(f"Assiduité sous le seuil de {pg.percent(thresholds.attendance_min)} "
                        f"({pg.percent(min(low))}) sans alerte ni plan d'action.")
    if profile.status == "abandon" and not alerts and not plans:
        problems.append("Abandon sans alerte ni plan d'action enregistrés auparavant.")
    if not problems:
        if alerts:
            fine.append(f"{len(alerts)} alerte(s), toutes suivies ou traitées dans les délais.")
        else:
            fine.append("Aucune alerte en attente de suite.")
        if plans:
            fine.append(f"{len(plans)} plan(s) d'action, aucun en retard.")
    proofs = [by_id[i] for a in alerts for i in [a.id, *a.follow_ups] if i in by_id]
    proofs += [by_id[i] for p in plans for i in p.entries if i in by_id]
    return _indicator(12, problems, fine, figures, proofs)


def work_study(profile: LearnerProfile, entries: Sequence[StoredEntry]) -> Indicator:
    """Indicator 13 (work-study only): company feedback and company visits."""
    feedback = _of_type(entries, "company-feedback")
    visits = [m for m in _of_type(entries, "meeting") if m.meta.kind == "visite-entreprise"]
    figures = [
        ("Entreprise", profile.company.name if profile.company else "—"),
        ("Tuteurs entreprise", ", ".join(profile.company_tutors) or "—"),
        ("Retours de l'entreprise", str(len(feedback))),
        ("Visites en entreprise", str(len(visits))),
    ]
    problems: list[str] = []
    fine: list[str] = []
    if not feedback:
        problems.append("Aucun retour du tuteur entreprise enregistré.")
    if not visits:
        problems.append("Aucune visite en entreprise enregistrée (entretien de nature « visite entreprise »).")
    if not problems:
        fine.append(f"{len(feedback)} retour(s) de l'entreprise, {len(visits)} visite(s) en entreprise, "
                    f"la dernière le {pg.fr_date(visits[-1].meta.date)}.")
    return _indicator(13, problems, fine, figures, [*feedback, *visits])


# --------------------------------------------------------------------------
# Per learner, per cohort
# --------------------------------------------------------------------------


def learner_report(record: LearnerRecord, settings: Organisation, today: dt.date) -> LearnerReport:
    """Every indicator that applies to the learner; ``record.profile`` must be valid.

    Uses every entry (the staff view): the report is for admins and
    auditors, never for the shared site.
    """
    profile = record.profile
    assert profile is not None, "learner_report needs a valid profile"
    entries = record.entries
    th = settings.thresholds
    indicators = [
        positioning(profile, entries, th, today),
        followup(profile, entries, th, today),
        assessment(profile, record, entries),
        engagement(profile, entries, th, today),
    ]
    if profile.work_study:
        indicators.append(work_study(profile, entries))
    return LearnerReport(record.id, profile.name, profile.programme, profile.work_study, profile.status,
                         indicators)


@dataclass
class CohortLine:
    number: int
    applicable: int
    conformes: int
    to_complete: list[str]  # learner ids

    @property
    def title(self) -> str:
        return TITLES[self.number]

    @property
    def status(self) -> str:
        return CONFORME if not self.to_complete else A_COMPLETER

    @property
    def rate(self) -> float | None:
        return self.conformes / self.applicable if self.applicable else None


@dataclass
class CohortReport:
    name: str
    learners: list[LearnerReport] = field(default_factory=list)
    lines: list[CohortLine] = field(default_factory=list)

    @property
    def conformes(self) -> int:
        return sum(r.ok for r in self.learners)


def cohort_report(name: str, reports: Sequence[LearnerReport]) -> CohortReport:
    """Per indicator: learners it applies to, how many are conforme, who is to complete."""
    lines = []
    for number in TITLES:
        found = [(r.id, r.indicator(number)) for r in reports]
        found = [(lid, i) for lid, i in found if i is not None]
        lines.append(CohortLine(number, len(found), sum(i.ok for _, i in found),
                                [lid for lid, i in found if not i.ok]))
    return CohortReport(name, list(reports), lines)


ALL_LEARNERS = "Tous les apprenants"


def cohorts(reports: Sequence[LearnerReport]) -> list[CohortReport]:
    """The whole organisation first, then one cohort per programme (alphabetical)."""
    programmes = sorted({r.programme for r in reports})
    out = [cohort_report(ALL_LEARNERS, reports)]
    if len(programmes) > 1:
        out += [cohort_report(p, [r for r in reports if r.programme == p]) for p in programmes]
    return out


def store_reports(store: Store, today: dt.date, learner_ids: Iterable[str] | None = None) -> list[LearnerReport]:
    """Reports of the learners whose profile is valid (the others are ``livret check``'s business)."""
    settings = store.settings()
    out = []
    for lid in learner_ids if learner_ids is not None else store.learner_ids():
        record = store.load_learner(lid)
        if record.profile is not None:
            out.append(learner_report(record, settings, today))
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
    """
    out = io.StringIO()
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in reports:
        for i in r.indicators:
            writer.writerow([
                r.id, r.name, r.programme, i.number, i.title, i.status,
                " ".join(i.reasons),
                " | ".join(f"{label} : {value}" for label, value in i.figures),
                " ".join(p.path for p in i.proofs),
            ])
    return out.getvalue()
