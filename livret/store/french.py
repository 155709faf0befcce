"""Numbers, sizes, hours and plurals written the French way, for messages of every layer.

Through Babel's French locale (CLDR): a decimal comma, a narrow non-breaking
space between thousands (« 12 345,5 »), a non-breaking space before a unit
(« 11,4 Mo », « 3,5 h », « 1 h 30 ») and the French plural rule, under which
0 and 1 take the singular (« 0 compétence acquise », « 2 compétences
acquises »).  Written once, here at the bottom, so that the store's errors,
the views, the sites, the CLI and the app say numbers the same way; the app's
``ngettext`` follows :func:`singular` too (forms_app.french).

No string of the project writes « compétence(s) »: a count goes through
:func:`count` (or ``ngettext`` in the app) with both forms spelled out.
"""

from __future__ import annotations

from babel import Locale
from babel.numbers import format_decimal

LOCALE = Locale.parse("fr_FR")
NBSP = "\u00a0"  # between a number and its unit: « 3,5 h » never breaks across lines

_MIB = 1024 * 1024


def singular(n: float) -> bool:
    """True when French takes the singular for ``n`` (0 and 1, and 1,5: CLDR's « one »)."""
    return LOCALE.plural_form(abs(n)) == "one"


def number(value: float, digits: int = 1) -> str:
    """``11,4``, ``12 345``, ``0,25`` (``digits`` decimals at most, no trailing zero)."""
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=LOCALE)


def count(n: float, one: str, many: str) -> str:
    """``3 compétences acquises``: the number and the form its French plural asks."""
    return f"{number(n)} {one if singular(n) else many}"


def size(num_bytes: int) -> str:
    """``11,4 Mo``, ``512 Ko``, ``800 o``: a file size (binary multiples, French units)."""
    for unit, scale in (("Go", 1024 * _MIB), ("Mo", _MIB), ("Ko", 1024)):
        if num_bytes >= scale:
            return f"{number(num_bytes / scale)}{NBSP}{unit}"
    return f"{num_bytes}{NBSP}o"


def megabytes(num_bytes: int) -> str:
    """``10 Mo``: a limit stated in megabytes (a whole number when it is one)."""
    return f"{number(num_bytes / _MIB)}{NBSP}Mo"


def hours(value: float) -> str:
    """``3,5 h``, ``12 h``: a number of hours (two decimals at most)."""
    return f"{number(value, 2)}{NBSP}h"


def duration(minutes: int) -> str:
    """``45 min``, ``1 h 30``, ``2 h``: a length of time in hours and minutes."""
    h, m = divmod(int(minutes), 60)
    if not h:
        return f"{m}{NBSP}min"
    return f"{number(h)}{NBSP}h{NBSP}{m:02d}" if m else f"{number(h)}{NBSP}h"


def seconds(value: float) -> str:
    """``2,4 s``: a measured time."""
    return f"{number(value)}{NBSP}s"


def percent(value: float | None) -> str:
    """``67 %`` for 0.67; ``—`` for no value."""
    return "—" if value is None else f"{round(100 * value)}{NBSP}%"
