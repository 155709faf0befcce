"""Figures, targets and the printed table.

A :class:`Figure` is one measured number (already the median, or a
percentile, of several runs) with its unit and, when the issue sets one, its
target.  The table is plain text, French, one line per figure, and ends with
``targets: N/M hold``.
"""

from __future__ import annotations

import math
import operator
from dataclasses import asdict, dataclass

OPS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq}


@dataclass(frozen=True)
class Target:
    op: str  # "<=", ">=" or "=="
    bound: float

    def holds(self, value: float) -> bool:
        return not math.isnan(value) and OPS[self.op](value, self.bound)

    def __str__(self) -> str:
        return f"{self.op.replace('<=', '≤').replace('>=', '≥').replace('==', '=')} {_num(self.bound)}"


@dataclass
class Figure:
    key: str  # stable name, for the JSON output and the docs
    label: str  # French, for people
    value: float
    unit: str
    target: Target | None = None
    runs: int = 1
    note: str = ""

    @property
    def holds(self) -> bool | None:
        return None if self.target is None else self.target.holds(self.value)

    def to_json(self) -> dict:
        data = asdict(self)
        data["target"] = None if self.target is None else str(self.target)
        data["holds"] = self.holds
        data["value"] = None if math.isnan(self.value) else self.value
        return data


def _num(value: float) -> str:
    if math.isnan(value):
        return "—"
    if value == int(value) and abs(value) >= 10:
        return f"{int(value):,}".replace(",", " ")
    if abs(value) >= 100:
        return f"{value:,.0f}".replace(",", " ")
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(figures: list[Figure], machine: dict, title: str) -> str:
    """The whole report: the machine, one line per figure, the closing count."""
    lines = [title, "",
             f"machine : {machine['cores']} cœurs ({machine['cpu']}), {machine['memory_gb']} Go de mémoire, "
             f"{machine['system']}",
             f"logiciels : Python {machine['python']}, livret {machine['livret']}, MkDocs {machine['mkdocs']}, "
             f"Material {machine['mkdocs-material']}, waitress {machine['waitress']}, git {machine['git']}",
             f"charge moyenne (1, 5, 15 min) au début : {machine['load_average']}"
             + (f", à la fin : {machine['load_average_end']}" if "load_average_end" in machine else ""),
             ""]
    rows = [("mesure", "valeur", "unité", "cible", "tenue", "exécutions")]
    for f in figures:
        holds = {True: "oui", False: "NON", None: ""}[f.holds]
        rows.append((f.label, _num(f.value), f.unit, str(f.target or ""), holds, str(f.runs)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), row[1].rjust(widths[1])] + [c.ljust(w) for c, w in zip(row[2:], widths[2:])]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [f"- {f.label} : {f.note}" for f in figures if f.note]
    if notes:
        lines += ["", "notes :"] + notes
    judged = [f for f in figures if f.target is not None]
    lines += ["", f"targets: {sum(1 for f in judged if f.holds)}/{len(judged)} hold"]
    return "\n".join(lines)


def markdown_table(figures: list[Figure]) -> str:
    """The same figures as a Markdown table (for docs/performance.md)."""
    out = ["| mesure | valeur | unité | cible | tenue |", "| --- | ---: | --- | --- | --- |"]
    for f in figures:
        holds = {True: "oui", False: "**non**", None: ""}[f.holds]
        out.append(f"| {f.label} | {_num(f.value)} | {f.unit} | {f.target or ''} | {holds} |")
    return "\n".join(out)
