"""Reading a CSV file saved by a spreadsheet: its encoding and its delimiter.

Shared by the framework importers (:mod:`.frameworks`, :mod:`.moodle`) and
the learner import (:mod:`.learners_csv`); each turns what goes wrong into
its own French messages.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence


class Undecodable(ValueError):
    """Neither UTF-8 nor Windows-1252; ``line`` is the line of the first byte that is not."""

    def __init__(self, line: int):
        self.line = line
        super().__init__(f"ni UTF-8 ni Windows-1252 (ligne {line})")


def decode_utf8_or_cp1252(data: bytes) -> tuple[str, int | None]:
    """(text, None) for UTF-8 (a BOM dropped); else (text, line of the first non-UTF-8 byte) read as Windows-1252.

    French Excel saves "CSV (séparateur : point-virgule)" in Windows-1252; a
    UTF-8 file never decodes as anything else, so the guess is safe.  Bytes
    Windows-1252 does not define raise :class:`Undecodable`.
    """
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise Undecodable(data[: exc.start].count(b"\n") + 1) from None
    return text, data[:first_bad].count(b"\n") + 1


def first_record(text: str, delimiter: str) -> list[str]:
    """The first record of ``text`` split on ``delimiter`` ([] if it is not CSV)."""
    try:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error:
        return []


def read_records(text: str, delimiter: str, max_rows: int,
                 too_many: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(header, [(line number, cells)]): cells stripped, blank lines skipped; ValueError (French) past
    ``max_rows`` data rows (``too_many``) or for unreadable CSV (naming the line)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    number = 0
    try:
        for record in reader:
            number += 1
            cells = [c.strip() for c in record]
            if header is None:
                header = cells
                continue
            if not any(cells):
                continue
            if len(rows) >= max_rows:
                raise ValueError(too_many)
            rows.append((number, cells))
    except csv.Error as exc:
        raise ValueError(f"ligne {number + 1} : CSV illisible ({exc})") from None
    return header or [], rows


def sniff_delimiter(text: str, candidates: Sequence[str], known: Callable[[list[str]], int]) -> str:
    """The candidate whose header has the most titles ``known`` counts, then the most columns (the first on a tie)."""
    def score(d: str) -> tuple[int, int]:
        header = first_record(text, d)
        return known(header), len(header)
    return max(candidates, key=score)
