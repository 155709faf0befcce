"""Plurals and numbers in the app's pages, the French way (:mod:`livret.store.french`).

``ngettext`` here is flask_babel's, but choosing the form by the French rule
(0 and 1 take the singular) rather than gettext's « n == 1 » fallback, which
applies while the app has no catalogue (its source strings are French).  The
same rule drives ``ngettext`` in the templates (:func:`init_app`).  The
number filters write a decimal comma and non-breaking spaces.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import get_translations

from livret.store import french


def _form(num: float) -> int:
    """The number gettext's plural choice sees: 1 for a French singular, 2 otherwise."""
    return 1 if french.singular(num) else 2


def ngettext(singular: str, plural: str, num: float, **variables) -> str:
    """flask_babel's ``ngettext`` (same signature) with the French plural rule; ``%(num)d`` is the real count."""
    variables.setdefault("num", num)
    return get_translations().ungettext(singular, plural, _form(num)) % variables


def init_app(app: Flask) -> None:
    """The templates' ``ngettext`` follows the French rule; ``number``, ``size``, ``hours`` filters."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda msg: get_translations().ugettext(msg),
        ngettext=lambda one, many, n: get_translations().ungettext(one, many, _form(n)),
        newstyle=True,
        pgettext=lambda ctx, msg: get_translations().upgettext(ctx, msg),
        npgettext=lambda ctx, one, many, n: get_translations().unpgettext(ctx, one, many, _form(n)),
    )
    app.add_template_filter(french.number, "number")
    app.add_template_filter(french.size, "filesize")
    app.add_template_filter(french.hours, "hours")
