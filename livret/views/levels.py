"""How a competency level reads at a glance: a tone (colour) always shown with its label and a meter.

The app's learner page and the built sites draw the same marks: a level is a
chip carrying the scale's label (the text), a small meter of filled steps
(the shape, ``steps`` out of ``of``) and a tone class for the colour, so
that nothing is carried by colour alone.  Levels from the acquisition
threshold up share the « acquired » tone.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from ..store.schema import Scale

#: Tones from the lowest level to the highest below the acquisition threshold (« t0 » .. « t2 »),
#: then « acq » (acquired) and « top » (the highest level of the scale, when above the threshold).
_BELOW = ("t0", "t1", "t2")


@dataclass(frozen=True)
class LevelMark:
    label: str  # the scale's label, or « — » without a level
    tone: str  # "none", "t0".."t2", "acq", "top"
    steps: int  # filled steps of the meter (rank + 1; 0 without a level)
    of: int  # steps of the whole scale
    acquired: bool

    @property
    def css(self) -> str:
        return f"lvl lvl-{self.tone}"


def level_mark(scale: Scale, level: str | None) -> LevelMark:
    """The chip of ``level`` on ``scale`` (an unknown or missing level reads « — »)."""
    of = len(scale.values)
    rank = scale.rank(level)
    if rank is None:
        return LevelMark(scale.label(level) if level else "—", "none", 0, of, False)
    threshold = scale.rank(scale.acquired) or 0
    if rank >= threshold:
        tone = "top" if rank == of - 1 and rank > threshold else "acq"
    else:
        tone = _BELOW[min(len(_BELOW) - 1, rank * len(_BELOW) // max(threshold, 1))]
    return LevelMark(scale.label(level), tone, rank + 1, of, rank >= threshold)


def chip_html(mark: LevelMark) -> str:
    """The chip as HTML (the app and the sites): meter steps as empty ``<i>``, then the label."""
    if mark.tone == "none":
        return f'<span class="lvl lvl-none">{html.escape(mark.label)}</span>'
    steps = "".join('<i class="on"></i>' if i < mark.steps else "<i></i>" for i in range(mark.of))
    return (f'<span class="{mark.css}"><span class="lvl-meter" aria-hidden="true">{steps}</span>'
            f"{html.escape(mark.label)}</span>")


__all__ = ["LevelMark", "chip_html", "level_mark"]
