"""Progression charts as inline SVG strings (no JavaScript, nothing loaded).

Each chart carries its own text alternative (``<title>`` and ``<desc>``,
referenced by ``aria-labelledby``) and writes values as text next to the
marks, so that no information is carried by colour alone.  The pages also
print the data as a table under each chart.  Only elements and attributes
allowed by :func:`livret.publish.markdown.sanitize_page` are used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from ...views.progress import BlockView, Progress, fr_date, percent
from .text import h

_SERIES = (
    ("positioning", "Positionnement", "#9e9e9e"),
    ("self_assessed", "Auto-évaluation", "#1e88e5"),
    ("assessed", "Évaluation", "#2e7d32"),
)
MONTHS_SHORT = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
                "nov.", "déc."]


def _svg(chart_id: str, width: int, height: int, title: str, desc: str, body: str) -> str:
    return (
        f'<svg class="livret-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{h(title)}</title>'
        f'<desc id="{chart_id}-desc">{h(desc)}</desc>{body}</svg>'
    )


def progress_bar(value: Progress, chart_id: str = "progress") -> str:
    """A horizontal bar: competencies acquired out of the total, with the figures written."""
    width, height, bar = 480, 34, 300
    filled = round(bar * value.share)
    label = f"{value.acquired} sur {value.total} ({percent(value.share)})"
    body = (
        f'<rect class="livret-track" x="0" y="6" width="{bar}" height="20" rx="3" fill="#e0e0e0"/>'
        f'<rect class="livret-bar-acquired" x="0" y="6" width="{filled}" height="20" rx="3" fill="#2e7d32"/>'
        f'<text x="{bar + 8}" y="21" font-size="13">{h(label)}</text>'
    )
    return _svg(chart_id, width, height, "Compétences acquises",
                f"{value.acquired} compétences acquises sur {value.total}, soit {percent(value.share)}.", body)


def _ticks(top: int) -> list[int]:
    if top <= 10:
        return list(range(0, top + 1))
    step = max(1, round(top / 5))
    return list(range(0, top + 1, step))


def acquired_chart(points: Sequence[tuple[dt.date, int]], total: int, start: dt.date, end: dt.date,
                   chart_id: str = "acquired") -> str:
    """Step line: number of competencies acquired after each assessment, from ``start`` to ``end``."""
    width, height = 640, 260
    left, right, top_m, bottom = 44, 16, 16, 40
    plot_w, plot_h = width - left - right, height - top_m - bottom
    end = max(end, start + dt.timedelta(days=1), *(d for d, _ in points))
    start = min([start, *(d for d, _ in points)])
    span = (end - start).days or 1
    top = max(total, 1)

    def x(day: dt.date) -> float:
        return round(left + plot_w * (day - start).days / span, 1)

    def y(count: int) -> float:
        return round(top_m + plot_h * (1 - count / top), 1)

    parts = []
    for tick in _ticks(top):
        parts.append(f'<line x1="{left}" y1="{y(tick)}" x2="{width - right}" y2="{y(tick)}" '
                     f'stroke="#e0e0e0" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4}" text-anchor="end" font-size="11">{tick}</text>')
    month = dt.date(start.year, start.month, 1)
    labels = 0
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    every = max(1, -(-months // 8))
    while month <= end:
        if month >= start and labels % every == 0:
            parts.append(f'<line x1="{x(month)}" y1="{top_m}" x2="{x(month)}" y2="{top_m + plot_h}" '
                         f'stroke="#f0f0f0" stroke-width="1"/>')
            text = MONTHS_SHORT[month.month - 1] + (f" {month.year}" if month.month == 1 or labels == 0 else "")
            parts.append(f'<text x="{x(month)}" y="{height - bottom + 16}" text-anchor="middle" '
                         f'font-size="11">{h(text)}</text>')
        if month >= start:
            labels += 1
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    steps = [(start, 0)]
    for day, count in points:
        steps.append((day, steps[-1][1]))
        steps.append((day, count))
    steps.append((end, steps[-1][1]))
    coords = " ".join(f"{x(d)},{y(c)}" for d, c in steps)
    parts.append(f'<polyline class="livret-line" points="{coords}" fill="none" stroke="#2e7d32" '
                 f'stroke-width="2.5"/>')
    for day, count in points:
        parts.append(f'<circle cx="{x(day)}" cy="{y(count)}" r="4" fill="#2e7d32"/>')
        parts.append(f'<text x="{x(day)}" y="{y(count) - 8}" text-anchor="middle" font-size="11" '
                     f'font-weight="bold">{count}</text>')
    parts.append(f'<line x1="{left}" y1="{top_m + plot_h}" x2="{width - right}" y2="{top_m + plot_h}" '
                 f'stroke="#757575" stroke-width="1"/>')
    if points:
        desc = "; ".join(f"{c} le {fr_date(d)}" for d, c in points)
        desc = f"Compétences acquises (sur {total}) après chaque évaluation : {desc}."
    else:
        desc = f"Aucune compétence évaluée pour l'instant (0 sur {total})."
    return _svg(chart_id, width, height, "Compétences acquises au fil du temps", desc, "".join(parts))


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, cut between words (a longer word stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def blocks_chart(blocks: Sequence[BlockView], chart_id: str = "blocks") -> str:
    """Per block, its full name (wrapped), then four labelled bars: the share of its competencies acquired
    (the bar is what its figures say) and the mean positioning, self-assessed and assessed levels (share of
    the scale).  Drawn narrow (360 units) so that a 390 px phone shows it at about its own size."""
    width, label_w, bar_w, line_h, bar_h, row_h = 360, 104, 160, 16, 12, 18
    parts = []
    lines = []
    y = 0
    for block in blocks:
        for text in _wrap(f"{block.code} — {block.title}", 46):
            y += line_h
            parts.append(f'<text x="0" y="{y}" font-size="13" font-weight="bold">{h(text)}</text>')
        y += 6
        share = block.acquired / block.total if block.total else 0.0
        rows = [("Acquises", share, f"{block.acquired} sur {block.total}", "#00695c")]
        rows += [(name, getattr(block, key), None, colour) for key, name, colour in _SERIES]
        values = []
        for name, value, figure, colour in rows:
            text = figure or (percent(value) if value is not None else "non renseigné")
            parts.append(f'<text x="0" y="{y + 11}" font-size="12">{h(name)}</text>')
            parts.append(f'<rect x="{label_w}" y="{y + 1}" width="{bar_w}" height="{bar_h}" fill="#f0f0f0" '
                         f'stroke="#9e9e9e" stroke-width="0.5"/>')
            if value:
                parts.append(f'<rect x="{label_w}" y="{y + 1}" width="{round(bar_w * value, 1)}" height="{bar_h}" '
                             f'fill="{colour}"/>')
            parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 11}" font-size="12">{h(text)}</text>')
            values.append(f"{name.lower()} {text}")
            y += row_h
        y += 12
        lines.append(f"{block.code} {block.title} : {', '.join(values)}")
    desc = ("Par bloc, la part des compétences acquises puis le niveau moyen (positionnement, auto-évaluation, "
            "évaluation), en part du niveau le plus haut de l'échelle. " + " ; ".join(lines) + ".")
    return _svg(chart_id, width, max(y, 20), "Compétences acquises et niveaux par bloc", desc, "".join(parts))


__all__ = ["progress_bar", "acquired_chart", "blocks_chart"]
