"""Rules that need context: the learner's framework, other entries, files.

These are pure functions over already schema-valid data; the store, the
checker, the forms and the API all call them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import TypeAdapter, ValidationError

from .errors import FieldError
from .schema import ENTRY_MODELS, REFERENCE_KEYS, CompetencyRating, EntryBase, Framework, LearnerProfile
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


def check_plan_chain(entry: EntryBase, others: Mapping[str, EntryBase]) -> list[FieldError]:
    """A move or cancellation of a planned meeting (``updates``) names the FIRST plan of its chain,
    and a chain already cancelled takes no further record (docs/planning.md).

    "Already": a cancellation recorded before this record (a file read later sees the whole folder).
    """
    if entry.type != "planned-meeting" or getattr(entry, "updates", None) is None:
        return []
    target = others.get(entry.updates)
    if target is None or target.type != entry.type:
        return []  # check_references names it
    if getattr(target, "updates", None) is not None:
        return [FieldError(("updates",), f"le rendez-vous {target.id} déplace ou annule déjà {target.updates} : "
                                         f"nommez le premier rendez-vous de la série ({target.updates})")]
    for other in others.values():
        if (other.id != entry.id and other.type == entry.type and getattr(other, "updates", None) == target.id
                and getattr(other, "status", None) == "cancelled"
                and (other.recorded, other.id) < (entry.recorded, entry.id)):
            return [FieldError(("updates",), f"le rendez-vous {target.id} est déjà annulé : "
                                             "planifiez-en un nouveau")]
    return []


@dataclass(frozen=True)
class PlanContacts:
    """The addresses a planned meeting's reminders go to, as the caller knows them.

    ``learner_email``: the learner's (profile or account); ``company_emails``:
    each company tutor's account address (username -> address or None), None
    when the caller does not know the accounts (the store alone: only the
    profile's address is checked).
    """

    learner_email: str | None
    company_emails: Mapping[str, str | None] | None = None


def check_plan_people(entry: EntryBase, profile: LearnerProfile | None,
                      contacts: PlanContacts | None = None) -> list[FieldError]:
    """A plan that stands (status ``planned``) can take place and its reminders reach everyone.

    A visit (``visite-entreprise``, ``entretien-tripartite``) is for a learner in work-study; a plan with
    the company tutor needs one in the profile; the learner and the company tutors who take part need an
    address.  Checked when a plan is written (a profile may change later: files are not re-judged).
    """
    if entry.type != "planned-meeting" or getattr(entry, "status", None) != "planned" or profile is None:
        return []
    errors: list[FieldError] = []
    if entry.kind in ("visite-entreprise", "entretien-tripartite") and not profile.work_study:
        errors.append(FieldError(("kind",), f"{profile.name} n'est pas en alternance : une visite en entreprise "
                                            "ou un entretien tripartite n'a pas lieu d'être (profil : Alternance)"))
    if entry.with_company and not profile.company_tutors:
        errors.append(FieldError(("with_company",), f"{profile.name} n'a pas de tuteur ou tutrice entreprise : "
                                                    "ajoutez-le au profil, ou planifiez sans l'entreprise"))
    learner_email = contacts.learner_email if contacts is not None else profile.email
    if entry.with_learner and not learner_email:
        errors.append(FieldError(("with_learner",), f"{profile.name} n'a pas d'adresse e-mail pour recevoir le "
                                                    "rappel : ajoutez-la à son profil ou à son compte"))
    if entry.with_company and profile.company_tutors and contacts is not None and contacts.company_emails is not None:
        missing = [u for u in profile.company_tutors if not contacts.company_emails.get(u)]
        if missing:
            errors.append(FieldError(("with_company",), "sans adresse e-mail pour recevoir le rappel : tuteur "
                                                        f"ou tutrice entreprise {', '.join(missing)} (son compte)"))
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
        + check_plan_chain(entry, others)
        + check_attachments(entry, files)
    )
