"""New identifiers of the store: short, opaque, never derived from a name.

A learner's id appears in URLs, logs, commits, feeds and the seal's
journal, and a name can change (or must be erased): so a new learner gets
eight random characters, and keeps them.  Existing ids (made from names by
earlier versions or by hand) are kept as they are.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Container

#: Lower-case letters and digits a person cannot misread (no 0/o, 1/l/i, u/v).
LETTERS = "abcdefghjkmnpqrstwxyz"
ALPHABET = LETTERS + "23456789"
LENGTH = 8  # 29**8 ≈ 5·10^11: a collision is retried, never silently reused


def new_learner_id(taken: Container[str] = ()) -> str:
    """A fresh learner id (``[a-z0-9]{8}``, starting with a letter) not in ``taken``."""
    while True:
        candidate = secrets.choice(LETTERS) + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH - 1))
        if candidate not in taken:
            return candidate


def slug(text: str, *, taken: Container[str] = (), default: str = "groupe") -> str:
    """A readable id from a label (for groups, which are no personal data): « BTS MCO 2026 » → bts-mco-2026."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:56] or default
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate
