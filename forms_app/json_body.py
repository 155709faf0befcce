"""Reading a JSON request body within limits: its size, and how deep arrays and objects nest.

Python's parser recurses once per level: a body of 100,000 ``[`` makes it
raise ``RecursionError``, and a body just under the interpreter's limit would
make every later step (validation, YAML) recurse as deep.  The depth is
therefore read before parsing, on the bracket characters outside strings,
and a body deeper than :data:`MAX_DEPTH` is refused naming the body.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: No entry nests deeper than a few levels (a list of competencies, each an object).
MAX_DEPTH = 32
#: An entry's text is at most 100,000 characters: 2 MB of JSON holds it, escaped.
MAX_BYTES = 2 * 1024 * 1024

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_OPENING = frozenset(b"[{")


class BodyError(ValueError):
    """A body refused before or while parsing: the HTTP status and a French detail naming the body."""

    def __init__(self, status: int, detail: str):
        self.status, self.detail = status, detail
        super().__init__(detail)


def nesting_depth(data: bytes, limit: int = MAX_DEPTH) -> int:
    """How deep arrays and objects nest in JSON text ``data`` (counting stops past ``limit``)."""
    depth = deepest = 0
    for char in _NOT_BRACKET.sub(b"", _STRING.sub(b"", data)):
        if char in _OPENING:
            depth += 1
            deepest = max(deepest, depth)
            if depth > limit:
                break
        else:
            depth -= 1
    return deepest


def parse(data: bytes) -> Any:
    """The JSON value of a request body; raise :class:`BodyError` (413, 400) when it cannot be taken."""
    if len(data) > MAX_BYTES:
        raise BodyError(413, f"corps JSON trop volumineux (au plus {MAX_BYTES // (1024 * 1024)} Mo) : "
                             "rien n'a été enregistré")
    if not data.strip():
        raise BodyError(400, "corps JSON absent : rien n'a été enregistré")
    if nesting_depth(data) > MAX_DEPTH:
        raise BodyError(400, f"corps JSON imbriqué sur plus de {MAX_DEPTH} niveaux (tableaux, objets) : "
                             "rien n'a été enregistré")
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise BodyError(400, "corps JSON illisible (syntaxe JSON en UTF-8 attendue) : "
                             "rien n'a été enregistré") from None
