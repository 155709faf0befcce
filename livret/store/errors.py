"""Problems found in input, as values (never as exceptions out of a scan).

A :class:`FieldError` names a field (a key path such as
``("competencies", 1, "level")``) and says what is wrong in French: the forms
show it next to the field, the API returns it as one RFC 9457 item, the
checker prints it as ``path:line: message``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from pydantic import ValidationError

from .french import count

__all__ = ["FieldError", "Problem", "InvalidInput", "from_validation_error", "format_loc"]


@dataclass(frozen=True)
class FieldError:
    loc: tuple[Any, ...]
    message: str

    @property
    def field(self) -> str:
        return format_loc(self.loc)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.loc else self.message


@dataclass(frozen=True)
class Problem:
    """A problem in a file of the store; ``path`` is relative to the project root.

    An error makes the file invalid (left out of the record and the sites);
    a warning (``warning=True``) leaves it readable and only asks a person to
    look (an implausible date in a hand-edited file).
    """

    path: str
    line: int | None
    message: str
    warning: bool = False

    def __str__(self) -> str:
        level = "avertissement : " if self.warning else ""
        return f"{self.path}:{self.line or 1}: {level}{self.message}"


class InvalidInput(ValueError):
    """Raised by store writes when input is rejected; nothing was written."""

    def __init__(self, errors: Iterable[FieldError]):
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))

    def by_field(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for e in self.errors:
            out.setdefault(e.field, []).append(e.message)
        return out


def format_loc(loc: tuple[Any, ...]) -> str:
    """``("competencies", 1, "level")`` -> ``competencies[1].level``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _expected(ctx: dict[str, Any] | None) -> str:
    raw = (ctx or {}).get("expected", "")
    return str(raw).replace(" or ", " ou ")


DATETIME_EXPECTED = "date et heure attendues, par exemple 2026-03-02T14:00:00+01:00"

_MESSAGES = {
    "missing": lambda e: "clé obligatoire manquante",
    "extra_forbidden": lambda e: "clé inconnue (faute de frappe ?)",
    "literal_error": lambda e: f"valeur non permise : attendu {_expected(e.get('ctx'))}",
    "string_type": lambda e: "texte attendu",
    "string_unicode": lambda e: "caractère invalide (demi-paire de substitution) : ce texte ne peut pas être enregistré",
    "string_too_short": lambda e: "ne doit pas être vide",
    "string_too_long": lambda e: f"trop long (au plus {e['ctx']['max_length']} caractères)",
    "string_pattern_mismatch": lambda e: "format invalide",
    "int_type": lambda e: "nombre entier attendu",
    "int_parsing": lambda e: "nombre entier attendu",
    "int_from_float": lambda e: "nombre entier attendu",
    "float_type": lambda e: "nombre attendu",
    "float_parsing": lambda e: "nombre attendu",
    "bool_type": lambda e: "true ou false attendu",
    "bool_parsing": lambda e: "true ou false attendu",
    "list_type": lambda e: "liste attendue",
    "dict_type": lambda e: "dictionnaire de clés attendu",
    "model_type": lambda e: "dictionnaire de clés attendu",
    "model_attributes_type": lambda e: "dictionnaire de clés attendu",
    "too_short": lambda e: f"au moins {count(e['ctx']['min_length'], 'élément', 'éléments')}",
    "too_long": lambda e: f"au plus {count(e['ctx']['max_length'], 'élément', 'éléments')}",
    "greater_than": lambda e: f"doit être supérieur à {e['ctx']['gt']}",
    "greater_than_equal": lambda e: f"doit être au moins {e['ctx']['ge']}",
    "less_than": lambda e: f"doit être inférieur à {e['ctx']['lt']}",
    "less_than_equal": lambda e: f"doit être au plus {e['ctx']['le']}",
    "date_type": lambda e: "date attendue au format AAAA-MM-JJ",
    "date_parsing": lambda e: "date attendue au format AAAA-MM-JJ",
    "date_from_datetime_parsing": lambda e: "date attendue au format AAAA-MM-JJ",
    "date_from_datetime_inexact": lambda e: "date attendue au format AAAA-MM-JJ (sans heure)",
    "datetime_type": lambda e: DATETIME_EXPECTED,
    "datetime_parsing": lambda e: DATETIME_EXPECTED,
    "datetime_from_date_parsing": lambda e: DATETIME_EXPECTED,
    "timezone_aware": lambda e: "le fuseau horaire manque (ex. +01:00 ou Z)",
    "union_tag_invalid": lambda e: f"type inconnu « {e['ctx']['tag']} » : attendu l'un de "
    + str(e["ctx"].get("expected_tags", "")).replace(" or ", " ou "),
    "union_tag_not_found": lambda e: "clé obligatoire manquante",
}


def _describe_input(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return ""
    text = repr(value)
    return f" (lu : {text[:60]})"


def from_validation_error(exc: ValidationError, *, prefix: tuple[Any, ...] = ()) -> list[FieldError]:
    """French field errors from a pydantic error."""
    out = []
    for err in exc.errors(include_url=False):
        kind = err["type"]
        loc = tuple(err["loc"])
        # Discriminated unions put the tag in the location: drop it.
        if loc and isinstance(loc[0], str) and loc[0] in _TAGS:
            loc = loc[1:]
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            loc = loc + ("type",)
        if kind == "value_error":
            cause = err.get("ctx", {}).get("error")
            message = str(cause if cause is not None else err["msg"])
            loc = loc + tuple(getattr(cause, "loc", ()))  # FieldValueError names its field
        elif kind in _MESSAGES:
            message = _MESSAGES[kind](err)
            if kind not in ("missing", "extra_forbidden", "union_tag_not_found", "union_tag_invalid"):
                message += _describe_input(err.get("input"))
        else:
            message = err["msg"]
        out.append(FieldError(prefix + loc, message))
    return out


def problems_for(path: str, errors: Iterable[FieldError], line_of) -> list[Problem]:
    """File problems from field errors; ``line_of`` maps a location to a line."""
    out = []
    for e in errors:
        msg = f"{e.field} : {e.message}" if e.loc else e.message
        out.append(Problem(path, line_of(e.loc), msg))
    return out


# Filled by livret.store.schema's entry types (the discriminator tags).
_TAGS: set[str] = {
    "positioning",
    "meeting",
    "feedback",
    "evidence",
    "reflection",
    "assessment",
    "action-plan",
    "attendance",
    "alert",
    "company-feedback",
    "observation",
    "signature",
    "planned-meeting",
    "mission",
    "attendance-mark",
    "convocation",
    "distance-work",
}
