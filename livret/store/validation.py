"""Rules that need context: the learner's framework, other entries, files.

These are pure functions over already schema-valid data; the store, the
checker, the forms and the API all call them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pydantic import TypeAdapter, ValidationError

from .errors import FieldError
from .schema import ENTRY_MODELS, REFERENCE_KEYS, CompetencyRating, EntryBase, Framework
from .visibility import reference_refusal

_RATINGS = TypeAdapter(list[CompetencyRating])

#: Keys a person might write by mistake, with a hint.
RESERVED_KEYS = {
    "content": "« content » est réservé : écrivez le texte de l'entrée sous l'en-tête, pas dans une clé",
    "body": "« body » est réservé : écrivez le texte de l'entrée sous l'en-tête, pas dans une clé",
}


def reserved_key_errors(data: Mapping) -> list[FieldError]:
    return [FieldError((k,), msg) for k, msg in RESERVED_KEYS.items() if k in data]


def unencodable_errors(fields: Mapping, body: object = "") -> list[FieldError]:
    """Text a UTF-8 file cannot hold, in any key or text value of ``fields`` and in ``body``.

    A lone surrogate (``"\\ud800"`` in JSON) is a Python string but no
    UTF-8 text: refused here, once for every writer, naming the field,
    before anything else reads the input (a key is named with the character
    escaped).
    """
    errors: list[FieldError] = []
    stack: list[tuple[tuple, object]] = [(("body",), body), ((), fields)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, str):
            bad = _unencodable(value)
            if bad is not None:
                errors.append(FieldError(loc, f"caractère invalide (U+{ord(bad):04X}, demi-paire de substitution) : "
                                              "ce texte ne peut pas être enregistré"))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                name = key.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(key, str) else key
                if isinstance(key, str) and name != key:
                    errors.append(FieldError(loc + (name,), "nom de clé invalide (demi-paire de substitution)"))
                    continue
                stack.append((loc + (name,), item))
        elif isinstance(value, (list, tuple)):
            stack += [(loc + (i,), item) for i, item in enumerate(value)]
    return sorted(errors, key=lambda e: str(e.loc))


def _unencodable(text: str) -> str | None:
    """The first character of ``text`` that UTF-8 cannot encode (a lone surrogate), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return text[exc.start]
    return None


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
    return check_ratings(entry.competencies, framework, entry.levels) + check_not_observed(entry, framework)


def check_not_observed(entry: EntryBase, framework: Framework | None) -> list[FieldError]:
    """The codes of an observation grid's « non vu en entreprise » exist in the framework."""
    codes = getattr(entry, "not_observed", None) or []
    if not codes:
        return []
    if framework is None:
        return [FieldError(("not_observed",), "référentiel de l'apprenant·e introuvable")]
    known = {c.code for _, c in framework.competencies()}
    return [FieldError(("not_observed", i), f"compétence inconnue dans le référentiel {framework.id} : {code}")
            for i, code in enumerate(codes) if code not in known]


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
    """``about``, ``corrects`` and ``updates`` point to entries of the same learner,
    that the entry's writer may name (:func:`livret.store.visibility.reference_refusal`).

    A new entry gets only the entries its writer sees as ``others``
    (:func:`livret.store.visibility.nameable`), so a ``staff`` id is refused
    in the same words as an unknown one.
    """
    errors: list[FieldError] = []
    for key in REFERENCE_KEYS:
        target_id = getattr(entry, key, None)
        if target_id is None:
            continue
        if target_id == entry.id:
            errors.append(FieldError((key,), "une entrée ne peut pas se désigner elle-même"))
            continue
        target = others.get(target_id)
        refusal = reference_refusal(key, target_id, target, role=entry.role, author=entry.author)
        if refusal is not None:
            errors.append(FieldError((key,), refusal))
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


def check_entry(
    entry: EntryBase,
    *,
    framework: Framework | None,
    others: Mapping[str, EntryBase],
    files: Iterable[str],
) -> list[FieldError]:
    """Every context rule for one entry.

    Dates are not here: their range depends on the learner's programme and
    on the day, refused on write and only warned about in files
    (:mod:`livret.store.date_range`).
    """
    return (
        check_competencies(entry, framework)
        + check_references(entry, others)
        + check_attachments(entry, files)
    )
