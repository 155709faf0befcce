"""The centre / company coverage matrix (Qualiopi indicator 13): for each competency of the learner's
framework, where it is worked — at the training centre, in the company — so that gaps show (pure).

- **centre**: the tutors' assessments and the positioning entries that rate the competency, and the
  training sessions the learner attended (signed, late or left early: :mod:`livret.views.attendance`)
  that work it (the session's ``framework`` is the learner's);
- **company**: the missions that exercise it (open or done: a dropped mission does not count),
  the company's observation grids that rate it (« non vu en entreprise » does not count) and the
  company feedback entries that name it.

The centre periods of the calendar are not tied to competencies: they are stated once, as the
matrix's note (:func:`livret.views.worksite.place_days`), not per row.  A **gap** is a competency
with nothing in one of the two columns, for a work-study learner only (``work_study``).

The caller filters ``entries`` for its audience first: a shared page never names a staff entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..store.records import StoredEntry
from ..store.schema import MISSION_TERMS, CalendarPeriod, Framework
from .attendance import ATTENDED
from .progress import effective, fr_date
from .worksite import missions

CENTRE_TYPES = ("assessment", "positioning")
COMPANY_TYPES = ("observation", "company-feedback")
SOURCE_LABELS = {"assessment": "Évaluation", "positioning": "Positionnement",
                 "observation": "Grille d'observation", "company-feedback": "Retour de l'entreprise"}


@dataclass(frozen=True)
class CoverageRow:
    code: str
    label: str
    block: str
    #: What shows the competency at the centre / in the company: « Évaluation : titre (date) »...
    centre: list[str]
    company: list[str]
    gap: bool
    #: The entry ids behind ``centre`` / ``company``, in the same order (for links).
    centre_ids: list[str] = field(default_factory=list)
    company_ids: list[str] = field(default_factory=list)


def _item(entry: StoredEntry) -> str:
    return f"{SOURCE_LABELS[entry.type]} : {entry.meta.title} ({fr_date(entry.meta.date)})"


def coverage(framework: Framework, entries: Iterable[StoredEntry], periods: Sequence[CalendarPeriod] = (), *,
             work_study: bool = True, rows: Sequence[Any] = ()) -> list[CoverageRow]:
    """One row per competency of ``framework``, in its order.  ``periods`` are accepted for the
    note's figures (see the module) and do not fill a row; ``rows``: the learner's sessions
    (:class:`~livret.views.attendance.SessionRow`), those attended count at the centre (id: the chain's)."""
    entries = list(entries)
    current = sorted(effective(entries), key=lambda e: (e.meta.date, e.id))
    centre: dict[str, list[tuple[str, str]]] = {}
    company: dict[str, list[tuple[str, str]]] = {}
    for e in current:
        codes = {r.code for r in e.meta.competencies}
        if e.type in CENTRE_TYPES and (e.type != "assessment" or e.meta.role in ("tutor", "admin")):
            for code in codes:
                centre.setdefault(code, []).append((_item(e), e.id))
        elif e.type in COMPANY_TYPES:
            for code in codes:  # an observation's « non vu » codes are in not_observed, not here
                company.setdefault(code, []).append((_item(e), e.id))
    for m in missions(entries):
        if m.status == "dropped":
            continue
        label = f"Mission ({MISSION_TERMS[m.term].lower()}, {m.status_label.lower()}) : {m.title}"
        for code in m.codes:
            company.setdefault(code, []).append((label, m.latest.id))
    for r in rows:
        s = r.session
        if r.state in ATTENDED and s.framework == framework.id:
            for code in s.competencies:
                centre.setdefault(code, []).append((f"Séance : {s.title} ({fr_date(s.date)})", r.chain.id))
    rows = []
    for block, comp in framework.competencies():
        c, k = centre.get(comp.code, []), company.get(comp.code, [])
        rows.append(CoverageRow(
            code=comp.code, label=comp.title, block=f"{block.code} — {block.title}",
            centre=[x for x, _ in c], company=[x for x, _ in k], gap=work_study and (not c or not k),
            centre_ids=[i for _, i in c], company_ids=[i for _, i in k]))
    return rows


def gap_text(row: CoverageRow) -> str:
    """The gap in words (never colour alone)."""
    if not row.centre and not row.company:
        return "Lacune : travaillée ni en centre ni en entreprise"
    if not row.centre:
        return "Lacune : pas encore travaillée en centre"
    return "Lacune : pas encore travaillée en entreprise"
