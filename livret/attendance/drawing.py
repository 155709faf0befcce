"""A drawn signature: pointer strokes in, a small SVG built by the server out.

The browser posts the strokes as JSON: a list of strokes, each a list of
``[x, y]`` points in a 1000 × 400 box (:data:`WIDTH`, :data:`HEIGHT`).  The
server checks them (bounded: at most :data:`MAX_STROKES` strokes and
:data:`MAX_POINTS` points in all, every point inside the box) and writes
its own SVG: one ``<path>`` of integer coordinates, no script, no style
sheet, no external reference.  SVG markup sent by a client is never stored.

:func:`strokes_from_svg` reads back only this module's own format (the PDF
documents draw the signature from it); anything else is refused.
"""

from __future__ import annotations

import json
import math
import re

from ..store.errors import FieldError, InvalidInput

WIDTH, HEIGHT = 1000, 400
MAX_STROKES = 50
MAX_POINTS = 2000
#: The JSON of the largest drawing accepted is far below this (a bound before parsing).
MAX_JSON = 64 * 1024
#: The form field the strokes come in, as refusals name it.
FIELD = "strokes"
LABEL = "signature dessinée"

_HEAD = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH // 4}" '
         f'height="{HEIGHT // 4}"><path fill="none" stroke="#14213d" stroke-width="8" stroke-linecap="round" '
         'stroke-linejoin="round" d="')
_TAIL = '"/></svg>\n'
_STROKE = re.compile(r"M(\d+) (\d+)((?:L\d+ \d+)+)")
_POINT = re.compile(r"L(\d+) (\d+)")

Stroke = list[tuple[int, int]]


def _refuse(message: str) -> InvalidInput:
    return InvalidInput([FieldError((FIELD,), f"{LABEL} : {message}")])


def parse_strokes(raw: str | bytes | list | None) -> list[Stroke]:
    """The strokes of a posted drawing (JSON text or already decoded), checked and rounded to integers.

    Raises :class:`InvalidInput` naming the field (« signature dessinée ») for
    an empty, malformed, oversized or out-of-box drawing.
    """
    if raw is None or raw == "" or raw == b"":
        raise _refuse("le dessin est vide : signez dans le cadre, ou saisissez votre nom")
    if isinstance(raw, str | bytes):
        if len(raw) > MAX_JSON:
            raise _refuse("dessin trop volumineux")
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            raise _refuse("dessin illisible") from None
    if not isinstance(raw, list):
        raise _refuse("dessin illisible (liste de traits attendue)")
    if len(raw) > MAX_STROKES:
        raise _refuse(f"trop de traits (au plus {MAX_STROKES})")
    strokes: list[Stroke] = []
    total = 0
    for stroke in raw:
        if not isinstance(stroke, list):
            raise _refuse("dessin illisible (un trait est une liste de points)")
        total += len(stroke)
        if total > MAX_POINTS:
            raise _refuse(f"dessin trop détaillé (au plus {MAX_POINTS} points)")
        points: Stroke = []
        for point in stroke:
            if (not isinstance(point, list) or len(point) != 2
                    or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)
                    or not all(math.isfinite(v) for v in point)):
                raise _refuse("dessin illisible (un point est [x, y])")
            x, y = point
            if not (0 <= x <= WIDTH and 0 <= y <= HEIGHT):
                raise _refuse(f"un point sort du cadre ({WIDTH} × {HEIGHT})")
            p = (round(x), round(y))
            if not points or points[-1] != p:
                points.append(p)
        if points:
            strokes.append(points)
    if sum(len(s) for s in strokes) < 2:
        raise _refuse("le dessin est vide : signez dans le cadre, ou saisissez votre nom")
    return strokes


def svg_from_strokes(strokes: list[Stroke]) -> bytes:
    """Our SVG of checked strokes (:func:`parse_strokes`): one path; a dot is drawn as a zero-length line."""
    parts = []
    for stroke in strokes:
        points = stroke if len(stroke) > 1 else stroke * 2
        (x0, y0), rest = points[0], points[1:]
        parts.append(f"M{x0} {y0}" + "".join(f"L{x} {y}" for x, y in rest))
    return (_HEAD + "".join(parts) + _TAIL).encode("ascii")


def drawing_svg(raw: str | bytes | list | None) -> bytes:
    """Posted strokes -> our SVG (:func:`parse_strokes` then :func:`svg_from_strokes`)."""
    return svg_from_strokes(parse_strokes(raw))


def strokes_from_svg(svg: bytes) -> list[list[tuple[int, int]]]:
    """The strokes of an SVG this module wrote, in the 1000 × 400 box; ValueError for anything else
    (a file edited by hand, another format)."""
    try:
        text = svg.decode("ascii")
    except UnicodeDecodeError:
        raise ValueError("not a livret signature drawing") from None
    if not (text.startswith(_HEAD) and text.endswith(_TAIL)):
        raise ValueError("not a livret signature drawing")
    data = text[len(_HEAD):-len(_TAIL)]
    strokes = []
    pos = 0
    while pos < len(data):
        match = _STROKE.match(data, pos)
        if match is None:
            raise ValueError("not a livret signature drawing")
        points = [(int(match.group(1)), int(match.group(2)))]
        points += [(int(x), int(y)) for x, y in _POINT.findall(match.group(3))]
        if any(x > WIDTH or y > HEIGHT for x, y in points):
            raise ValueError("a point outside the box")
        strokes.append(points)
        pos = match.end()
    if not strokes:
        raise ValueError("an empty drawing")
    return strokes
