"""Rules that need context: the learner's framework, other entries, files.

These are pure functions over already schema-valid data; the store, the
checker, the forms and the API all call them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from pydantic import TypeAdapter, ValidationError

from .errors import FieldError
from .schema import ENTRY_MODELS, CompetencyRating, EntryBase, Framework

_RATINGS = TypeAdapter(list[CompetencyRating])

#: Keys a person might write by mistake, with a hint.
RESERVED_KEYS = {
    "content": "« content » est réservé : écrivez le texte de l'entrée sous l'en-tête, pas dans une clé",
    "body": "« body » est réservé : écrivez le texte de l'entrée sous l'en-tête, pas dans une clé",
}

#: How far an entry's date may be after the moment it was recorded.
DATE_SLACK = dt.timedelta(days=1)


def reserved_key_errors(data: Mapping) -> list[FieldError]:
    return [FieldError((k,), msg) for k, msg in RESERVED_KEYS.items() if k in data]


def check_ratings(
    ratings: Sequence[CompetencyRating], framework: Framework | None, levels: str
) -> list[FieldError]:
    """Codes exist in the framework, levels are on its scale (and present where required)."""
    errors: list[FieldError] = []
    if not ratings:
        return errors
    if framework is None:
        return [FieldError(("competencies",), "référentiel de l'apprenant·e introuvable")]
    scale = framework.scale
    known = {c.code for _, c in framework.competencies()}
    allowed = ", ".join(v.value for v in scale.values)
    for i, rating in enumerate(ratings):
        if rating.code not in known:
            errors.append(
                FieldError(("competencies", i, "code"),
                           f"compétence inconnue dans le référentiel {framework.id} : {rating.code}")
            )
        if rating.level is None:
            if levels == "required":
                errors.append(FieldError(("competencies", i, "level"), "niveau obligatoire"))
        elif scale.rank(rating.level) is None:
            errors.append(
                FieldError(("competencies", i, "level"),
                           f"niveau hors de l'échelle : {rating.level} (attendu : {allowed})")
            )
    return errors


def check_competencies(entry: EntryBase, framework: Framework | None) -> list[FieldError]:
    return check_ratings(entry.competencies, framework, entry.levels)


def raw_rating_errors(data: Mapping, framework: Framework | None) -> list[FieldError]:
    """The framework's verdict on the ratings of input that failed the schema elsewhere.

    So that a form shows every error at once, not the framework's in a second round.
    """
    model = ENTRY_MODELS.get(data.get("type"))
    try:
        ratings = _RATINGS.validate_python(data.get("competencies") or [])
    except ValidationError:
        return []  # the schema already reports malformed ratings
    return check_ratings(ratings, framework, model.levels if model else "optional")


def check_references(
    entry: EntryBase, others: Mapping[str, EntryBase]
) -> list[FieldError]:
    """``about``, ``corrects`` and ``updates`` point to entries of the same learner."""
    errors: list[FieldError] = []
    for key in ("about", "corrects", "updates"):
        target_id = getattr(entry, key, None)
        if target_id is None:
            continue
        if target_id == entry.id:
            errors.append(FieldError((key,), "une entrée ne peut pas se désigner elle-même"))
            continue
        target = others.get(target_id)
        if target is None:
            errors.append(FieldError((key,), f"aucune entrée {target_id} chez cet·te apprenant·e"))
        elif key in ("corrects", "updates") and target.type != entry.type:
            errors.append(
                FieldError((key,), f"l'entrée {target_id} est de type « {target.type} », "
                                   f"pas « {entry.type} »")
            )
    return errors


def check_attachments(entry: EntryBase, files: Iterable[str]) -> list[FieldError]:
    present = set(files)
    return [
        FieldError(("attachments", i), f"fichier absent du dossier files/ : {path}")
        for i, path in enumerate(entry.attachments)
        if path not in present
    ]


def check_dates(entry: EntryBase) -> list[FieldError]:
    if entry.date > entry.recorded + DATE_SLACK:
        return [FieldError(("date",), "date postérieure à l'enregistrement : une entrée décrit ce qui a eu lieu")]
    return []


def check_entry(
    entry: EntryBase,
    *,
    framework: Framework | None,
    others: Mapping[str, EntryBase],
    files: Iterable[str],
) -> list[FieldError]:
    """Every context rule for one entry."""
    return (
        check_competencies(entry, framework)
        + check_references(entry, others)
        + check_attachments(entry, files)
        + check_dates(entry)
    )
