"""Cells and CSV text for spreadsheets: every CSV livret writes goes through here.

A spreadsheet runs a cell as a formula when its text starts with ``=``,
``+``, ``-`` or ``@`` (a tab or a carriage return in front changes nothing
for some of them), so a learner named ``=HYPERLINK(...)`` or a framework
title starting with ``=`` would become a live formula in the auditor's
Excel or LibreOffice ("CSV injection").  :func:`safe_cell` prefixes such a
cell with an apostrophe, which every spreadsheet reads as "this is text".

The check looks at the first *visible* character: blanks and invisible
characters in front (spaces, no-break spaces, zero-width characters, a
byte-order mark, control characters) do not hide a formula.  A value such
as ``-3`` is prefixed too (``'-3``): it stays readable, as text, and no
value is ever evaluated.

:func:`restore_cell` undoes the prefix exactly, for livret's own importers
(a framework exported to Moodle and imported back gives the same titles).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Sequence

#: What makes a spreadsheet run a cell (OWASP "CSV injection").
FORMULA_START = frozenset("=+-@\t\r")
#: Prefix that makes a spreadsheet read a cell as text.
TEXT_PREFIX = "'"
#: French Excel opens a CSV by double-click if it is ``;``-separated (``,`` is the
#: decimal separator) and starts with a UTF-8 byte-order mark.
EXCEL_DELIMITER = ";"
EXCEL_LINE_END = "\r\n"
BOM = "\ufeff"


def _first_visible(text: str) -> str:
    for char in text:
        if char in FORMULA_START:
            return char
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp"):
            continue
        return char
    return ""


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet could run ``text`` as a formula."""
    return _first_visible(text) in FORMULA_START


def safe_cell(value: object) -> str:
    """The cell's text, prefixed with an apostrophe when a spreadsheet would run it.

    Idempotent: a cell already prefixed is left as it is.
    """
    text = "" if value is None else str(value)
    return TEXT_PREFIX + text if is_formula_like(text) else text


def restore_cell(text: str) -> str:
    """The original text of a cell :func:`safe_cell` prefixed (any other text unchanged)."""
    if text.startswith(TEXT_PREFIX) and is_formula_like(text[len(TEXT_PREFIX):]):
        return text[len(TEXT_PREFIX):]
    return text


def csv_text(rows: Iterable[Sequence[object]], *, delimiter: str = EXCEL_DELIMITER,
             lineterminator: str = EXCEL_LINE_END, bom: bool = False) -> str:
    """The CSV text of ``rows``, every cell through :func:`safe_cell` (header rows too)."""
    out = io.StringIO()
    if bom:
        out.write(BOM)
    writer = csv.writer(out, delimiter=delimiter, lineterminator=lineterminator)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()
