"""Learners: create, edit, change status, assign tutors, from form-like data.

The web pages and the command line call these functions; nothing here reads
a request or touches a file.  Input is what a form posts (text values,
lists for the multiple choices); each function validates it with the
schema ``livret check`` uses plus the rules that need context (the
framework exists, a tutor is a tutor account: :func:`context_errors`) and
raises :class:`InvalidInput` whose locations are the **form's field names**
(``company_name``, ``contract_break_date``...), so each message goes next
to its input.  A write is one commit authored by the admin
(:meth:`Store.write_changes`), with the learner's group memberships in the
same commit; ``expected`` (the profile file's revision the form was filled
from) turns a hand edit made meanwhile into :class:`StaleWrite` instead of
overwriting it.

A new learner gets a short opaque id (:func:`livret.store.ids.new_learner_id`),
never derived from the name, and keeps it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ..interop.learners_csv import UserLike, context_errors, fold, parse_date, profile_data
from ..store import Store
from ..store.errors import FieldError, InvalidInput, from_validation_error
from ..store.ids import new_learner_id
from ..store.records import PROFILE_FILE, StaleWrite
from ..store.schema import LEARNER_STATUSES, LearnerProfile
from ..store.writer import ANY_REVISION, GroupChange, ProfileChange
from .groups import membership_changes
from .history import LABELS, profile_changes

#: The profile form's fields (the status has its own form, but a new learner's form has it too).
PROFILE_FIELDS = ("first_name", "last_name", "email", "programme", "framework", "start", "end", "modality",
                  "work_study", "contract", "company_name", "company_city", "company_contact", "tutors",
                  "company_tutors", "calendar")
STATUS_FIELDS = ("status", "status_date", "status_reason", "contract_break_date", "contract_break_reason")
#: Form field -> key of ``company`` / ``contract_break``.
COMPANY_FIELDS = {"company_name": "name", "company_city": "city", "company_contact": "contact"}
BREAK_FIELDS = {"contract_break_date": "date", "contract_break_reason": "reason"}
_DATE_FIELDS = ("start", "end", "status_date", "contract_break_date")
#: Assignment key -> the account role it wants.
ASSIGNMENTS = {"tutors": "tutor", "company_tutors": "company"}
#: How a commit message names each assignment.
ASSIGNMENT_LABELS = {"tutors": "tuteur·rice", "company_tutors": "tuteur·rice entreprise"}


def profile_rel(learner_id: str) -> str:
    return f"{learner_id}/{PROFILE_FILE}"


def profile_revision(store: Store, learner_id: str) -> str | None:
    """What an edit form carries: the profile file's revision."""
    return store.revision(profile_rel(learner_id))


def users_by_name(users: Iterable[UserLike]) -> dict[str, UserLike]:
    return {u.username: u for u in users}


def usernames_with_role(users: Iterable[UserLike], role: str) -> list[str]:
    """Enabled accounts of ``role``, sorted: the choices of an assignment."""
    return sorted(u.username for u in users if u.role == role and not u.disabled)


# --------------------------------------------------------------------------
# Form data <-> profile
# --------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value).replace("\r\n", "\n").strip()


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return _text(value).lower() in ("y", "yes", "on", "true", "1", "oui")


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return list(dict.fromkeys(_text(v) for v in value if _text(v)))


def profile_form_data(profile: LearnerProfile | None, body: str = "") -> dict[str, Any]:
    """A profile as its forms show it (text values, lists for the assignments)."""
    if profile is None:
        return {"body": body}
    data: dict[str, Any] = {}
    for name in ("first_name", "last_name", "email", "programme", "framework", "modality", "contract", "status",
                 "status_reason"):
        data[name] = _text(getattr(profile, name))
    for name in ("start", "end", "status_date"):
        value = getattr(profile, name)
        data[name] = value.isoformat() if value else ""
    data["work_study"] = profile.work_study
    company = profile.company
    for name, key in COMPANY_FIELDS.items():
        data[name] = _text(getattr(company, key)) if company else ""
    brk = profile.contract_break
    data["contract_break_date"] = brk.date.isoformat() if brk else ""
    data["contract_break_reason"] = _text(brk.reason) if brk else ""
    data["tutors"] = list(profile.tutors)
    data["company_tutors"] = list(profile.company_tutors)
    data["body"] = body
    return data


def form_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A schema location as the form's field name: ``("company", "city")`` -> ``("company_city",)``."""
    if not loc:
        return ()
    head = loc[0]
    if head == "company":
        sub = loc[1] if len(loc) > 1 and isinstance(loc[1], str) else "name"
        return ({v: k for k, v in COMPANY_FIELDS.items()}.get(sub, "company_name"),)
    if head == "contract_break":
        sub = loc[1] if len(loc) > 1 and isinstance(loc[1], str) else "date"
        return ({v: k for k, v in BREAK_FIELDS.items()}.get(sub, "contract_break_date"),)
    return (head,)


def _located(errors: Iterable[FieldError]) -> list[FieldError]:
    return [FieldError(form_loc(e.loc), e.message) for e in errors]


def _apply_form(data: dict[str, Any], form: Mapping[str, Any], fields: Sequence[str],
                errors: list[FieldError]) -> None:
    """Set (or, when empty, remove) the profile keys of ``fields`` the form gives; the others are kept."""
    for name in fields:
        if name not in form or name in COMPANY_FIELDS or name in BREAK_FIELDS:
            continue
        if name == "work_study":
            data[name] = _truthy(form[name])
            continue
        if name in ("tutors", "company_tutors"):
            data[name] = _list(form[name])
            continue
        if name == "calendar":  # periods already read from the form's rows (livret.admin.calendar)
            data[name] = [p.model_dump(mode="json", exclude_none=True) if hasattr(p, "model_dump") else p
                          for p in form[name] or []]
            continue
        text = _text(form[name])
        if not text:
            data.pop(name, None)
        elif name in _DATE_FIELDS:
            try:
                data[name] = parse_date(text).isoformat()
            except ValueError as exc:
                errors.append(FieldError((name,), str(exc)))
        else:
            data[name] = text
    _apply_nested(data, form, "company", COMPANY_FIELDS, [f for f in fields if f in COMPANY_FIELDS], errors)
    _apply_nested(data, form, "contract_break", BREAK_FIELDS, [f for f in fields if f in BREAK_FIELDS], errors)


def _apply_nested(data: dict[str, Any], form: Mapping[str, Any], key: str, names: Mapping[str, str],
                  fields: Sequence[str], errors: list[FieldError]) -> None:
    if not any(name in form for name in fields):
        return
    nested = {}
    for name in fields:
        text = _text(form.get(name))
        if not text:
            continue
        if name in _DATE_FIELDS:
            try:
                text = parse_date(text).isoformat()
            except ValueError as exc:
                errors.append(FieldError((name,), str(exc)))
                continue
        nested[names[name]] = text
    first = next(iter(names))  # the required one: company's name, the break's date
    if nested and names[first] not in nested and not any(e.loc == (first,) for e in errors):
        what = ("le nom de l'entreprise est obligatoire quand une ville ou un contact est indiqué"
                if key == "company" else "la date de la rupture est obligatoire quand un motif est indiqué")
        errors.append(FieldError((first,), what))
    if nested:
        data[key] = nested
    else:
        data.pop(key, None)


def build_profile(form: Mapping[str, Any], *, learner_id: str, base: LearnerProfile | None,
                  frameworks: Iterable[str], users: Mapping[str, UserLike],
                  fields: Sequence[str] = PROFILE_FIELDS) -> LearnerProfile:
    """The profile ``base`` (or a new one) with the form's ``fields`` applied; InvalidInput at form fields.

    A field of ``fields`` left empty removes its value; keys outside
    ``fields`` (the learner's account, the status on the profile form) keep
    ``base``'s values.
    """
    data: dict[str, Any] = profile_data(base) if base is not None else {}
    data["id"] = learner_id
    errors: list[FieldError] = []
    _apply_form(data, form, fields, errors)
    if data.get("status", "en-cours") == "en-cours":
        data.pop("status_date", None)  # back in training (or still in it): no end date, no reason
        data.pop("status_reason", None)
    if errors:
        raise InvalidInput(errors)
    try:
        profile = LearnerProfile.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_located(from_validation_error(exc))) from None
    found = context_errors(profile, base=base, frameworks=set(frameworks), users=users)
    if found:
        raise InvalidInput(_located(found))
    return profile


def _twin(store: Store, profile: LearnerProfile) -> LearnerProfile | None:
    """An existing learner with the same first name, last name and start (a duplicate, most likely)."""
    key = (fold(profile.first_name), fold(profile.last_name), profile.start)
    for lid in store.learner_ids():
        other = store.profile(lid)
        if other is not None and other.id != profile.id and \
                (fold(other.first_name), fold(other.last_name), other.start) == key:
            return other
    return None


def _changed_labels(before: LearnerProfile | None, after: LearnerProfile) -> list[str]:
    old = profile_data(before) if before is not None else None
    return [c.label.lower() for c in profile_changes(old, profile_data(after))]


def _write(store: Store, profiles: Sequence[ProfileChange], groups: Sequence[GroupChange], *, author: str,
           message: str) -> str | None:
    try:
        return store.write_changes(profiles, groups, author=author, message=message)
    except InvalidInput as exc:
        located = []
        for e in exc.errors:
            if e.loc[:1] == ("groups",):
                located.append(FieldError(("groups",), e.message))
            else:
                located.append(FieldError(form_loc(e.loc[2:]), e.message))
        raise InvalidInput(located) from None


def _expected(expected: str | None) -> str:
    """A form's revision; None (the form saw no file, yet there is one now) can only be stale."""
    return expected if expected is not None else ""


# --------------------------------------------------------------------------
# Operations
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    """What a save did: the learner, and the commit (None when nothing changed)."""

    learner_id: str
    commit_id: str | None


def create_learner(store: Store, form: Mapping[str, Any], *, users: Mapping[str, UserLike], author: str,
                   groups: Sequence[str] = (), body: str = "", allow_homonym: bool = False) -> Saved:
    """A new learner (new opaque id) in the given groups, one commit.

    Refused (InvalidInput at ``last_name``) when a learner with the same
    names and start exists, unless ``allow_homonym`` (another person).
    """
    learner_id = new_learner_id(set(store.learner_ids()))
    fields = PROFILE_FIELDS + (("status", "status_date", "status_reason") if "status" in form else ())
    profile = build_profile(form, learner_id=learner_id, base=None, frameworks=store.framework_ids(),
                            users=users, fields=fields)
    twin = None if allow_homonym else _twin(store, profile)
    if twin is not None:
        raise InvalidInput([FieldError(("last_name",), f"doublon : {twin.name} ({twin.id}) a les mêmes nom, "
                                                       "prénom et date de début ; s'il s'agit d'une autre "
                                                       "personne, cochez « homonyme » et enregistrez")])
    changes = membership_changes(store, learner_id, groups, add_only=True)
    commit = _write(store, [ProfileChange(profile, _text(body), None)], changes, author=author,
                    message=f"{learner_id} : nouveau profil ({author})")
    return Saved(learner_id, commit)


def update_learner(store: Store, learner_id: str, form: Mapping[str, Any], *, users: Mapping[str, UserLike],
                   author: str, expected: str | None, groups: Sequence[str] | None = None,
                   body: str | None = None) -> Saved:
    """Apply the profile form to an existing learner (id kept); ``groups``: exactly these (None: unchanged).

    Nothing is written when nothing changed.  StaleWrite when the profile
    (or a group) changed since ``expected``.
    """
    record = store.load_learner(learner_id)  # UnknownLearner for an unknown id
    base = record.profile
    profile = build_profile(form, learner_id=learner_id, base=base, frameworks=store.framework_ids(), users=users)
    changes = membership_changes(store, learner_id, groups)
    new_body = None if body is None else _text(body)
    same_body = new_body is None or new_body == record.profile_body.strip()
    unchanged = base is not None and profile == base and same_body
    if unchanged and not changes:
        if expected != profile_revision(store, learner_id):
            raise StaleWrite(profile_rel(learner_id))  # nothing to save, but what the form showed is outdated
        return Saved(learner_id, None)
    what = _changed_labels(base, profile) + ([LABELS["body"].lower()] if not same_body else [])
    what += ["groupes"] if changes else []
    message = f"{learner_id} : profil modifié" + (f" ({', '.join(what)})" if what else "") + f" ({author})"
    profiles = [] if unchanged else [ProfileChange(profile, new_body, _expected(expected))]
    commit = _write(store, profiles, changes, author=author, message=message)
    return Saved(learner_id, commit)


def change_status(store: Store, learner_id: str, form: Mapping[str, Any], *, author: str,
                  expected: str | None) -> Saved:
    """The status (en cours / terminé / abandon, with its date and reason) and the break of the contract.

    Ending or abandoning needs a date and a reason; a break needs a date and
    a reason and an apprenticeship or professionalisation contract.
    """
    base = store.profile(learner_id)
    if base is None:
        raise InvalidInput([FieldError(("status",), "le profil est invalide : corrigez-le d'abord "
                                                    "(modifier le profil, ou livret check)")])
    status = _text(form.get("status")) or base.status
    if status not in LEARNER_STATUSES:
        raise InvalidInput([FieldError(("status",), "statut inconnu")])
    profile = build_profile({**form, "status": status}, learner_id=learner_id, base=base, frameworks=[base.framework],
                            users={}, fields=STATUS_FIELDS)
    if profile == base:
        return Saved(learner_id, None)
    parts = []
    if (profile.status, profile.status_date, profile.status_reason) != (base.status, base.status_date,
                                                                        base.status_reason):
        parts.append(f"statut « {LEARNER_STATUSES[profile.status]} »")
    if profile.contract_break != base.contract_break:
        parts.append("rupture du contrat" if profile.contract_break else "rupture du contrat retirée")
    commit = _write(store, [ProfileChange(profile, None, _expected(expected))], (), author=author,
                    message=f"{learner_id} : {', '.join(parts)} ({author})")
    return Saved(learner_id, commit)


def _assignable(store: Store, learner_id: str, key: str) -> LearnerProfile:
    """The profile an assignment (``key``: ``tutors`` or ``company_tutors``) changes; InvalidInput if invalid."""
    if key not in ASSIGNMENTS:
        raise ValueError(key)
    base = store.profile(learner_id)
    if base is None:
        raise InvalidInput([FieldError((key,), f"le profil de {learner_id} est invalide : corrigez-le d'abord")])
    return base


def assign(store: Store, learner_id: str, username: str, *, key: str, users: Mapping[str, UserLike], author: str,
           expected: str | None = ANY_REVISION) -> Saved:
    """Add ``username`` to the learner's ``tutors`` or ``company_tutors`` (checked against its role)."""
    base = _assignable(store, learner_id, key)
    if username in getattr(base, key):
        return Saved(learner_id, None)
    form = {key: [*getattr(base, key), username]}
    profile = build_profile(form, learner_id=learner_id, base=base, frameworks=[base.framework], users=users,
                            fields=(key,))
    label = ASSIGNMENT_LABELS[key]
    commit = _write(store, [ProfileChange(profile, None, expected)], (), author=author,
                    message=f"{learner_id} : affectation de {username} ({label}) ({author})")
    return Saved(learner_id, commit)


def unassign(store: Store, learner_id: str, username: str, *, key: str, author: str,
             expected: str | None = ANY_REVISION) -> Saved:
    """Remove ``username`` from the learner's ``tutors`` or ``company_tutors``."""
    base = _assignable(store, learner_id, key)
    if username not in getattr(base, key):
        return Saved(learner_id, None)
    profile = base.model_copy(update={key: [u for u in getattr(base, key) if u != username]})
    label = ASSIGNMENT_LABELS[key]
    commit = _write(store, [ProfileChange(profile, None, expected)], (), author=author,
                    message=f"{learner_id} : fin de l'affectation de {username} ({label}) ({author})")
    return Saved(learner_id, commit)
