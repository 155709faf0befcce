"""Work-study calendar periods from a CSV file (docs/planning.md).

Columns (a header line, in any order; case and accents ignored): ``debut``,
``fin``, ``lieu``, ``precision`` (optional).  Dates ``JJ/MM/AAAA`` or
``AAAA-MM-JJ``; ``lieu`` is ``centre``, ``entreprise`` or ``absence``.
Encoding UTF-8 or Windows-1252 (French Excel), delimiter ``;``, ``,`` or a
tab (:mod:`.csv_files`).  Errors read ``ligne N, colonne : message``; the
file is taken whole or not at all.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from pydantic import ValidationError

from ..store.errors import from_validation_error
from ..store.schema import PERIOD_KINDS, CalendarPeriod
from .csv_files import Undecodable, decode_utf8_or_cp1252, sniff_delimiter
from .learners_csv import fold, parse_date

MAX_BYTES = 1_000_000
MAX_ROWS = 2_000
COLUMNS = {"debut": "start", "fin": "end", "lieu": "kind", "precision": "label"}
REQUIRED = ("debut", "fin", "lieu")
#: Schema key -> the column that holds it (to name a schema error).
COLUMN_OF = {v: k for k, v in COLUMNS.items()}


@dataclass
class CalendarFile:
    periods: list[CalendarPeriod] = field(default_factory=list)
    #: « ligne N, colonne : message » (« fichier : ... » for the file as a whole).
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _column(title: str) -> str:
    return fold(title).replace("é", "e").replace(" ", "").strip()


def parse_calendar_csv(data: bytes) -> CalendarFile:
    """The periods of a CSV file, or every error found (then ``periods`` is not to be written)."""
    out = CalendarFile()
    if len(data) > MAX_BYTES:
        out.errors.append(f"fichier : trop volumineux (plus de {MAX_BYTES // 1_000_000} Mo)")
        return out
    try:
        text, _ = decode_utf8_or_cp1252(data)
    except Undecodable as exc:
        out.errors.append(f"ligne {exc.line}, fichier : encodage illisible (ni UTF-8 ni Windows-1252)")
        return out
    delimiter = sniff_delimiter(text, (";", ",", "\t"), lambda header: sum(_column(h) in COLUMNS for h in header))
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        out.errors.append(f"fichier : CSV illisible ({exc})")
        return out
    records = [r for r in records if any(cell.strip() for cell in r)]
    if not records:
        out.errors.append("fichier : vide (une ligne d'en-tête debut;fin;lieu;precision est attendue)")
        return out
    header = [_column(h) for h in records[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        out.errors.append(f"ligne 1, en-tête : {'colonne manquante' if len(missing) == 1 else 'colonnes manquantes'} : "
                          f"{', '.join(missing)} "
                          "(attendu : debut;fin;lieu;precision)")
        return out
    if len(records) - 1 > MAX_ROWS:
        out.errors.append(f"fichier : plus de {MAX_ROWS} périodes")
        return out
    index = {name: header.index(name) for name in COLUMNS if name in header}
    line_of = _line_numbers(text, delimiter)
    for n, record in enumerate(records[1:], start=1):
        line = line_of[n] if n < len(line_of) else n + 1
        cells = {name: (record[i].strip() if i < len(record) else "") for name, i in index.items()}
        data_row: dict[str, str] = {}
        bad = False
        for name in ("debut", "fin"):
            if not cells[name]:
                out.errors.append(f"ligne {line}, {name} : date obligatoire")
                bad = True
                continue
            try:
                data_row[COLUMNS[name]] = parse_date(cells[name]).isoformat()
            except ValueError as exc:
                out.errors.append(f"ligne {line}, {name} : {exc}")
                bad = True
        kind = fold(cells["lieu"])
        if kind not in PERIOD_KINDS:
            out.errors.append(f"ligne {line}, lieu : « {cells['lieu'][:40]} » inconnu (centre, entreprise ou absence)")
            bad = True
        data_row["kind"] = kind
        if cells.get("precision"):
            data_row["label"] = cells["precision"]
        if bad:
            continue
        try:
            out.periods.append(CalendarPeriod.model_validate(data_row))
        except ValidationError as exc:
            for err in from_validation_error(exc):
                column = COLUMN_OF.get(str(err.loc[0]) if err.loc else "", "debut")
                out.errors.append(f"ligne {line}, {column} : {err.message}")
    if not out.errors:
        out.errors += overlap_errors(
            out.periods, lambda i: f"ligne {line_of[i + 1] if i + 1 < len(line_of) else i + 2}")
    return out


def overlap_errors(periods: list[CalendarPeriod], where) -> list[str]:
    """Centre and company periods never overlap (absences may): « <where(i)>, debut : ... » per overlap."""
    placed = sorted(((i, p) for i, p in enumerate(periods) if p.kind != "absence"), key=lambda ip: ip[1].start)
    out = []
    for (_, before), (j, after) in zip(placed, placed[1:]):
        if after.start <= before.end:
            out.append(f"{where(j)}, debut : chevauche la période du {before.start.strftime('%d/%m/%Y')} au "
                       f"{before.end.strftime('%d/%m/%Y')} (une période en centre et une en entreprise ne se "
                       "recouvrent jamais ; une absence peut)")
    return out


def _line_numbers(text: str, delimiter: str) -> list[int]:
    """The file line where each non-empty record starts (records may span lines in quotes)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out = []
    start = 1
    for record in reader:
        if any(cell.strip() for cell in record):
            out.append(start)
        start = reader.line_num + 1
    return out
