"""Dates written the French way (« 1er mars 2026 »), for messages of every layer.

Here, at the bottom, so that the store's own error messages (the allowed
range of an entry's date) and the views' pages write dates the same way.
"""

from __future__ import annotations

import datetime as dt

MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre"]


def fr_date(value: dt.date | dt.datetime | None) -> str:
    """``1er mars 2026``; ``—`` for no date.  A date-time gives its own calendar day."""
    if value is None:
        return "—"
    day = value.date() if isinstance(value, dt.datetime) else value
    d = "1er" if day.day == 1 else str(day.day)
    return f"{d} {MONTHS[day.month - 1]} {day.year}"
