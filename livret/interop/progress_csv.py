"""The cohort progression CSV: one row per learner and competency.

Meant for a spreadsheet, a training-management suite or a funder, so it is
built from the *shared* view only: ``staff`` entries never reach it.  Levels
are the ones :func:`livret.views.progress.competency_views` derives (the same
numbers as the portfolio and the API).

Format, chosen for French Excel: UTF-8 with a byte-order mark, ``;`` as the
separator, CRLF line ends, dates as ``AAAA-MM-JJ``.  A cell that a
spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``)
is prefixed with an apostrophe (:mod:`livret.views.spreadsheet`, like every
CSV livret writes).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..store import LearnerRecord
from ..views.progress import LevelEvent, competency_views, for_audience
from ..views.spreadsheet import EXCEL_DELIMITER, csv_text

COLUMNS = (
    "apprenant", "nom", "formation", "référentiel", "bloc", "code", "compétence",
    "positionnement", "date positionnement", "auto-évaluation", "date auto-évaluation",
    "niveau évalué", "libellé niveau évalué", "date évaluation", "acquise", "preuves",
)
DELIMITER = EXCEL_DELIMITER


def _level(event: LevelEvent | None) -> tuple[str, str]:
    if event is None:
        return "", ""
    return event.level or "", event.date.date().isoformat()


def progress_rows(records: Iterable[LearnerRecord]) -> list[list[object]]:
    """Rows (without the header) for learners whose profile and framework are valid.

    Raw values: :func:`progress_csv` makes them safe for a spreadsheet.
    """
    rows: list[list[object]] = []
    for record in records:
        profile, framework = record.profile, record.framework
        if profile is None or framework is None:
            continue
        entries = for_audience(record.entries, "shared")
        for view in competency_views(framework, entries):
            positioning, positioning_date = _level(view.positioning)
            self_level, self_date = _level(view.self_assessed)
            assessed, assessed_date = _level(view.assessed)
            rows.append([
                record.id, profile.name, profile.programme, framework.id, view.block_code, view.code,
                view.title, positioning, positioning_date, self_level, self_date, assessed,
                framework.scale.label(assessed) if assessed else "", assessed_date,
                "oui" if view.acquired else "non", len(view.evidence),
            ])
    return rows


def progress_csv(records: Iterable[LearnerRecord]) -> bytes:
    """The whole file, ready to write."""
    return csv_text([COLUMNS, *progress_rows(records)], bom=True).encode("utf-8")
