"""The « Calendrier de l'alternance » editor shared by the learner, group and tutor forms.

Rows of inputs posted as ``calendar-<i>-start``, ``-end``, ``-kind``,
``-label`` (and ``-remove``, a box that drops the row), with
``calendar-rows`` the number of rows shown.  « Ajouter des lignes »
(``calendar-add``) posts the form back to show :data:`EXTRA` more empty
rows, writing nothing: the editor works without JavaScript.  Errors of
:func:`livret.admin.calendar.periods_from_rows` (``calendar.<row>.<key>``)
go next to their input and into the page's error summary.

Not a blueprint: nothing here is a route.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from flask_babel import gettext as _

from livret.admin.calendar import ROW_KEYS, periods_from_rows, rows_of
from livret.store.errors import FieldError
from livret.store.schema import PERIOD_KINDS, CalendarPeriod

from .entry_forms import friendly

#: Empty rows offered below the periods, and added by « Ajouter des lignes ».
EXTRA = 3
MAX_ROWS = 400
ADD = "calendar-add"


@dataclass
class CalendarEditor:
    rows: list[dict[str, str]]
    #: Row -> key -> messages.
    errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    kinds = PERIOD_KINDS

    @classmethod
    def of(cls, periods: Sequence[CalendarPeriod]) -> "CalendarEditor":
        return cls(rows_of(periods) + [cls.empty() for _ in range(EXTRA)])

    @staticmethod
    def empty() -> dict[str, str]:
        return {"start": "", "end": "", "kind": "", "label": ""}

    @classmethod
    def from_form(cls, form) -> "CalendarEditor":
        """The rows posted (removed ones dropped), plus empty rows when « Ajouter des lignes » was pressed."""
        try:
            count = min(max(int(form.get("calendar-rows", "0")), 0), MAX_ROWS)
        except ValueError:
            count = 0
        rows = []
        for i in range(count):
            if form.get(f"calendar-{i}-remove"):
                continue
            rows.append({k: (form.get(f"calendar-{i}-{k}") or "").strip()[:300] for k in ROW_KEYS})
        if form.get(ADD):
            rows += [cls.empty() for _ in range(EXTRA)]
        return cls(rows)

    @staticmethod
    def adding(form) -> bool:
        """Was the form posted to add rows (or to remove some) rather than to save?"""
        return bool(form.get(ADD))

    def periods(self) -> list[CalendarPeriod]:
        """The periods (InvalidInput at ``calendar.<row>.<key>``)."""
        return periods_from_rows(self.rows)

    def place(self, errors: Iterable[FieldError]) -> list[FieldError]:
        """Keep the errors of the calendar's rows; return the others."""
        rest = []
        for err in errors:
            if err.loc[:1] != ("calendar",):
                rest.append(err)
            elif len(err.loc) >= 3 and isinstance(err.loc[1], int):
                self.errors.setdefault(err.loc[1], {}).setdefault(str(err.loc[2]), []).append(friendly(err.message))
            else:
                self.general.append(friendly(err.message))
        return rest

    def error(self, row: int, key: str) -> list[str]:
        return self.errors.get(row, {}).get(key, [])

    def summary(self) -> list[tuple[str | None, str]]:
        """(input id, message) pairs for the page's error summary."""
        labels = {"start": _("du"), "end": _("au"), "kind": _("lieu"), "label": _("précision")}
        out: list[tuple[str | None, str]] = [("calendar", f"{_('Calendrier')} : {m}") for m in self.general]
        for row in sorted(self.errors):
            for key, messages in self.errors[row].items():
                for m in messages:
                    out.append((f"calendar-{row}-{key}",
                                _("Calendrier, ligne %(n)d, %(field)s : %(message)s", n=row + 1,
                                  field=labels.get(key, key), message=m)))
        return out
