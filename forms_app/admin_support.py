"""What the administration pages share: the form that shows the core's errors, and refused writes.

:class:`AdminForm` places the :class:`~livret.store.errors.InvalidInput`
errors of :mod:`livret.admin` next to their inputs (what has no input goes
on top of the form).  :func:`refusals` turns a write the core refuses into
the status of the page to show again, with what was typed::

    with refusals(form, STALE_MESSAGE) as refused:
        saved = admin.update_learner(...)
    if refused.status:
        return _form_page(form, record=record, status=refused.status)

Not a blueprint: nothing here is a route.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask_wtf import FlaskForm

from livret.store.errors import FieldError, InvalidInput
from livret.store.records import StaleWrite

from .entry_forms import friendly

#: « (clé company) » at the end of a schema message: the file's key, meaningless next to a form field.
FILE_KEY = re.compile(r" \(clé [a-z_]+\)$")


class AdminForm(FlaskForm):
    """Errors from the core placed next to the inputs; what has no input goes on top."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.general_errors: list[str] = []

    def place_errors(self, errors: Iterable[FieldError]) -> None:
        for err in errors:
            message = friendly(FILE_KEY.sub("", err.message))  # a form speaks of fields, not of the file's keys
            head = err.loc[0] if err.loc else None
            if isinstance(head, str) and head in self and head not in ("csrf_token", "revision"):
                self[head].errors = [*self[head].errors, message]
            else:
                self.general_errors.append(message)

    def all_errors(self) -> list[tuple[str | None, str]]:
        out: list[tuple[str | None, str]] = [(None, m) for m in self.general_errors]
        for f in self:
            for m in f.errors:
                out.append((f.id, f"{f.label.text} : {m}"))
        return out

    def values(self, names: Iterable[str]) -> dict:
        return {name: self[name].data for name in names if name in self}


@dataclass
class Refusal:
    """The HTTP status of the page to show again (None: the write went through)."""

    status: int | None = None


@contextmanager
def refusals(form: AdminForm, stale_message: object) -> Iterator[Refusal]:
    """Catch the core's refusals of a write made from ``form`` (nothing was written either way).

    Bad input: its errors go next to their inputs, status 422.  A file
    changed since the form was opened (:class:`StaleWrite`): ``stale_message``
    on top of the form, status 409.
    """
    refusal = Refusal()
    try:
        yield refusal
    except InvalidInput as exc:
        form.place_errors(exc.errors)
        refusal.status = 422
    except StaleWrite:
        form.general_errors.append(str(stale_message))
        refusal.status = 409
