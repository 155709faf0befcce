"""Learners from a CSV file (an ERP's export, a spreadsheet): read, preview, then one commit.

:func:`plan_import` reads the whole file and validates every row in memory
against the store as it is (one read of the profiles and groups, no git):
the result, an :class:`ImportPlan`, says row by row what would be created,
updated or left unchanged, and every error (row, column as named in the
file, French message).  Nothing is written until :func:`apply_import`,
which writes every valid row in **one** commit (``Store.write_changes``),
and refuses while any row is broken unless the caller explicitly asks for
the valid rows alone.

The file: UTF-8 (with or without a BOM) or Windows-1252 (French Excel's
"CSV (séparateur : point-virgule)"), cells separated by ``;`` or ``,``, a
header row whose titles are read without regard to case, accents or
punctuation, with French aliases (:data:`COLUMNS`).  Dates are
``JJ/MM/AAAA`` or ``AAAA-MM-JJ``; yes/no is ``oui``/``non``; several values
(tutors, groups) are separated by ``|`` or ``,``.  A row whose
``identifiant`` names an existing learner updates that learner (only the
non-empty cells change); any other row creates one, with a new opaque id
unless the row gives one.

The helpers shared with the administration pages (:func:`parse_date`,
:func:`context_errors`) live here, the lower of the two layers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from ..store import Store, french
from ..store.errors import FieldError, InvalidInput, from_validation_error
from ..store.ids import new_learner_id
from ..store.records import GROUPS_DIR, PROFILE_FILE
from ..store.schema import (
    CONTRACTS,
    LEARNER_ID_RE,
    LEARNER_STATUSES,
    PROGRAMME_MODALITIES,
    ROLE_LABELS,
    USERNAME_RE,
    Group,
    LearnerProfile,
)
from ..store.writer import GroupChange, ProfileChange
from .csv_files import Undecodable, decode_utf8_or_cp1252, read_records, sniff_delimiter

#: Largest file read (an ERP export of 20,000 learners is about 4 MB).
MAX_BYTES = 5 * 1024 * 1024
#: Most data rows read.
MAX_ROWS = 20_000

#: Column key -> (title used in messages when the file has no such column, aliases).
#: Aliases are compared folded (:func:`fold_header`): case, accents and punctuation do not matter.
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "id": ("identifiant", ("identifiant", "id", "identifiant livret", "id livret", "learner id")),
    "first_name": ("prénom", ("prenom", "first name", "firstname", "prenom apprenant", "prenom de l apprenant")),
    "last_name": ("nom", ("nom", "nom de famille", "nom d usage", "last name", "lastname", "nom apprenant",
                          "nom de l apprenant")),
    "email": ("e-mail", ("email", "e mail", "courriel", "mail", "adresse e mail", "adresse email",
                         "adresse electronique")),
    "programme": ("formation", ("formation", "programme", "intitule de la formation", "intitule formation")),
    "framework": ("référentiel", ("referentiel", "referentiel de competences", "framework")),
    "start": ("début", ("debut", "date de debut", "date debut", "debut de formation", "date d entree",
                        "entree", "start")),
    "end": ("fin", ("fin", "date de fin", "date fin", "fin prevue", "date de fin prevue", "fin de formation",
                    "end")),
    "modality": ("modalité", ("modalite", "modalite de formation", "modality")),
    "work_study": ("alternance", ("alternance", "en alternance", "work study")),
    "contract": ("contrat", ("contrat", "type de contrat", "contract")),
    "company": ("entreprise", ("entreprise", "employeur", "raison sociale", "entreprise d accueil", "company")),
    "city": ("ville", ("ville", "ville entreprise", "ville de l entreprise", "company city", "city")),
    "contact": ("contact entreprise", ("contact entreprise", "contact", "company contact")),
    "tutors": ("tuteurs", ("tuteurs", "tuteur", "tuteur referent", "tuteurs referents", "referent", "tutors",
                           "tutor")),
    "company_tutors": ("tuteurs entreprise", ("tuteurs entreprise", "tuteur entreprise",
                                              "maitre d apprentissage", "maitres d apprentissage",
                                              "company tutors", "company tutor")),
    "status": ("statut", ("statut", "status", "etat")),
    "status_date": ("date de sortie", ("date de sortie", "date statut", "date du statut",
                                       "date de fin ou d abandon", "status date")),
    "status_reason": ("motif", ("motif", "motif de sortie", "motif du statut", "status reason")),
    "groups": ("groupes", ("groupes", "groupe", "groups", "group", "promotion", "promo", "cohorte")),
    "body": ("objectifs", ("objectifs", "objectifs contexte", "contexte", "notes")),
}
#: Columns a row needs to create a learner.
CREATE_KEYS = ("first_name", "last_name", "programme", "framework", "start")
#: Profile keys by column key (the company's three columns are merged into ``company``).
_COMPANY_KEYS = {"company": "name", "city": "city", "contact": "contact"}

_ALIASES = {alias: key for key, (_, aliases) in COLUMNS.items() for alias in aliases}


# --------------------------------------------------------------------------
# Small parsers shared with the administration pages
# --------------------------------------------------------------------------


def fold(text: str) -> str:
    """Text compared without case or accents: « Élodie  Martin » == « elodie martin »."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(ascii_text.casefold().split())


def fold_header(title: str) -> str:
    """A column title reduced to letters and digits: « Tuteur(s) entreprise » -> « tuteurs entreprise »."""
    spaced = re.sub(r"[^\w]+", " ", title.replace("(s)", "s"))  # ’ and « » are no letters either
    return " ".join(re.sub(r"[^a-z0-9]+", " ", fold(spaced)).split())


_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_FRENCH = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})$")


def parse_date(text: str) -> dt.date:
    """``JJ/MM/AAAA`` (also with ``-`` or ``.``) or ``AAAA-MM-JJ``; ValueError with a French message."""
    raw = text.strip()
    match = _ISO.match(raw)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = _FRENCH.match(raw)
        if not match:
            raise ValueError(f"date attendue au format JJ/MM/AAAA ou AAAA-MM-JJ (lu : {raw[:40]!r})")
        day, month, year = (int(g) for g in match.groups())
        if len(match.group(3)) != 4:
            raise ValueError(f"année sur quatre chiffres attendue (lu : {raw[:40]!r})")
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"date inexistante (lu : {raw[:40]!r})") from None


_YES = {"oui", "o", "yes", "y", "vrai", "true", "1", "x"}
_NO = {"non", "n", "no", "faux", "false", "0"}


def parse_bool(text: str) -> bool:
    value = fold(text)
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise ValueError(f"oui ou non attendu (lu : {text[:40]!r})")


def _choice(text: str, labels: Mapping[str, str], extra: Mapping[str, str] = {}) -> str:
    """A key of ``labels`` from its key, its French label or an alias, compared folded."""
    wanted = fold_header(text)
    for key, label in labels.items():
        if wanted in (fold_header(key), fold_header(label)):
            return key
    if wanted in extra:
        return extra[wanted]
    allowed = ", ".join(f"« {label} »" for label in labels.values())
    raise ValueError(f"valeur inconnue « {text[:60]} » (attendu : {allowed})")


_CONTRACT_ALIASES = {"contrat d apprentissage": "apprentissage", "apprenti": "apprentissage",
                     "contrat pro": "professionnalisation", "pro": "professionnalisation",
                     "contrat de professionnalisation": "professionnalisation", "sans": "aucun",
                     "sans contrat": "aucun", "aucun": "aucun", "convention de stage": "stage"}
_MODALITY_ALIASES = {"a distance": "distance", "foad": "distance", "mixte": "hybride", "blended": "hybride"}


def split_values(text: str) -> list[str]:
    """Several values of one cell: separated by ``|``, ``,`` or ``;``."""
    return [v.strip() for v in re.split(r"[|,;]", text) if v.strip()]


class UserLike(Protocol):
    username: str
    role: str
    disabled: bool


#: Which role each assignment key wants.
ASSIGNMENT_ROLES = {"tutors": "tutor", "company_tutors": "company"}


def context_errors(profile: LearnerProfile, *, base: LearnerProfile | None, frameworks: Container[str],
                   users: Mapping[str, UserLike]) -> list[FieldError]:
    """The rules a profile's own schema cannot check: its framework exists, and every *newly* assigned
    tutor (company tutor) is an enabled account with the role tutor (company).

    Assignments already in ``base`` are left alone: an account disabled since
    never blocks an unrelated change of the profile.
    """
    errors = []
    if profile.framework not in frameworks:
        errors.append(FieldError(("framework",), f"référentiel introuvable : {profile.framework}"))
    for key, role in ASSIGNMENT_ROLES.items():
        before = set(getattr(base, key)) if base is not None else set()
        for username in getattr(profile, key):
            if username in before:
                continue
            user = users.get(username)
            if user is None:
                errors.append(FieldError((key,), f"compte inconnu : {username}"))
            elif user.role != role:
                errors.append(FieldError((key,), f"{username} n'est pas un compte {ROLE_LABELS[role].lower()} "
                                                 f"(rôle : {ROLE_LABELS.get(user.role, user.role).lower()})"))
            elif user.disabled:
                errors.append(FieldError((key,), f"le compte {username} est désactivé"))
    errors += status_errors(profile, base)
    return errors


def status_errors(profile: LearnerProfile, base: LearnerProfile | None) -> list[FieldError]:
    """An end (terminé) or an abandonment says when and why, once it is recorded or changed."""
    errors = []
    if profile.status != "en-cours":
        keys = ("status", "status_date", "status_reason")
        if base is None or any(getattr(base, k) != getattr(profile, k) for k in keys):
            if profile.status_date is None:
                errors.append(FieldError(("status_date",), "la date de fin ou d'abandon est obligatoire"))
            if not (profile.status_reason or "").strip():
                errors.append(FieldError(("status_reason",), "le motif de la fin ou de l'abandon est obligatoire"))
    if profile.contract_break is not None and (base is None or base.contract_break != profile.contract_break):
        if not (profile.contract_break.reason or "").strip():
            errors.append(FieldError(("contract_break", "reason"), "le motif de la rupture est obligatoire"))
    return errors


def profile_data(profile: LearnerProfile) -> dict[str, Any]:
    """A profile as its front matter holds it (JSON types, no empty value): what the history compares."""
    data = profile.model_dump(mode="json", exclude_none=True)
    return {k: v for k, v in data.items() if v != []}


# --------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------


class ImportRefused(ValueError):
    """:func:`apply_import` refused: the plan has errors and the valid rows alone were not asked for."""


@dataclass(frozen=True)
class RowError:
    """A problem of the file: ``row`` as a spreadsheet numbers it (the header is row 1; None: the whole
    file), ``column`` as the file titles it (or livret's title when the file has no such column)."""

    row: int | None
    column: str
    message: str

    def line(self, name: str) -> str:
        """``FILE:ROW: column: message`` (``FILE: message`` for the whole file)."""
        where = f"{name}:{self.row}:" if self.row is not None else f"{name}:"
        return f"{where} {self.column} : {self.message}" if self.column else f"{where} {self.message}"


Action = Literal["create", "update", "unchanged", "error"]
ACTION_LABELS = {"create": "création", "update": "mise à jour", "unchanged": "inchangé", "error": "erreur"}


@dataclass
class PlannedRow:
    row: int
    action: Action
    learner_id: str | None
    name: str
    #: The profile's front matter before (None for a new learner) and after (None when the row is broken).
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    #: Keys of the profile that change (``body`` when the free text does).
    changed: list[str] = field(default_factory=list)
    #: Groups the row adds the learner to (ids), those it is already in left out.
    groups: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    profile: LearnerProfile | None = None
    #: New free text, None to keep the current one.
    body: str | None = None
    #: Revision of the profile file the update was planned from (None: a new learner).
    expected: str | None = None
    #: Whether ``learner_id`` is a new id drawn for this row (shown only when the row is valid).
    generated: bool = False

    @property
    def shown_id(self) -> str | None:
        """The id to show: none for a new learner whose row is refused (the id would not be kept)."""
        return None if self.generated and self.errors else self.learner_id

    @property
    def action_label(self) -> str:
        return ACTION_LABELS[self.action]


@dataclass
class ImportPlan:
    name: str
    rows: list[PlannedRow] = field(default_factory=list)
    #: Problems of the whole file (size, encoding, header): nothing can be imported.
    file_errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Column key -> title in the file.
    columns: dict[str, str] = field(default_factory=dict)
    #: Groups the valid rows add learners to: id -> (the group, the revision it was read at).
    groups: dict[str, tuple[Group, str | None]] = field(default_factory=dict)
    #: Every group the groups column names (ids, in order), members already or not.
    named_groups: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[RowError]:
        return self.file_errors + [e for r in self.rows for e in r.errors]

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def writable_rows(self) -> list[PlannedRow]:
        return [r for r in self.rows if r.action in ("create", "update")]

    def fingerprint(self) -> str:
        """What the plan would do, as a digest: a confirmation made from one preview is refused if the
        file or the store changed since (new ids of created learners are left out: drawn anew)."""
        digest = hashlib.sha256()
        for r in self.rows:
            after = dict(r.after or {})
            if r.generated:
                after.pop("id", None)
            item = [r.row, r.action, None if r.generated else r.learner_id, after, r.body, r.groups,
                    r.expected, [(e.column, e.message) for e in r.errors]]
            digest.update(json.dumps(item, sort_keys=True, ensure_ascii=False).encode() + b"\n")
        digest.update(json.dumps([(e.column, e.message) for e in self.file_errors], ensure_ascii=False).encode())
        return digest.hexdigest()[:32]


# --------------------------------------------------------------------------
# Reading the file
# --------------------------------------------------------------------------


def decode(data: bytes, warnings: list[str], name: str) -> str:
    """UTF-8 (a BOM dropped), else Windows-1252 with a warning; ValueError when neither."""
    try:
        text, row = decode_utf8_or_cp1252(data)
    except Undecodable as exc:
        raise ValueError(f"le fichier n'est ni en UTF-8 ni en Windows-1252 (ligne {exc.line}) : enregistrez-le "
                         "en « CSV UTF-8 »") from None
    if row is not None:
        warnings.append(f"{name} : le fichier n'est pas en UTF-8 (ligne {row}) : lu comme Windows-1252 "
                        "(l'encodage d'Excel en français) ; vérifiez les accents dans l'aperçu")
    return text


def _known_titles(header: list[str]) -> int:
    return len({_ALIASES.get(fold_header(t)) for t in header} - {None})


def _delimiter(text: str) -> str:
    """``;`` or ``,``: the one whose header has the most known titles, then the most columns."""
    return sniff_delimiter(text, (";", ","), _known_titles)


def read_rows(data: bytes, name: str, warnings: list[str]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(header, [(row number, cells)]) with whitespace and NUL stripped; ValueError for an unreadable file."""
    if len(data) > MAX_BYTES:
        raise ValueError(f"fichier trop volumineux ({french.size(len(data))}) : au plus "
                         f"{french.megabytes(MAX_BYTES)} ; découpez-le en plusieurs fichiers")
    text = decode(data, warnings, name).replace("\x00", "")
    if not text.strip():
        raise ValueError("fichier vide : la première ligne donne les titres des colonnes")
    return read_records(text, _delimiter(text), MAX_ROWS, f"trop de lignes : au plus {MAX_ROWS} apprenant·es "
                        "par fichier ; découpez-le en plusieurs fichiers")


def _columns(header: list[str], plan: ImportPlan) -> dict[str, int]:
    """Column key -> index; unknown titles are warnings, a known one twice is an error of the file."""
    found: dict[str, int] = {}
    for i, title in enumerate(header):
        if not title:
            continue
        key = _ALIASES.get(fold_header(title))
        if key is None:
            plan.warnings.append(f"colonne « {title} » inconnue : ignorée")
        elif key in found:
            plan.file_errors.append(RowError(1, title, f"colonne en double : « {header[found[key]]} » "
                                                       f"donne déjà {COLUMNS[key][0]}"))
        else:
            found[key] = i
            plan.columns[key] = title
    if not found:
        plan.file_errors.append(RowError(1, "", "aucune colonne reconnue : la première ligne doit donner les "
                                                "titres (prénom, nom, formation, référentiel, début…)"))
    elif "id" not in found:
        missing = [COLUMNS[k][0] for k in CREATE_KEYS if k not in found]
        if missing:
            columns = "colonne manquante" if len(missing) == 1 else "colonnes manquantes"
            plan.file_errors.append(RowError(1, "", columns + " pour créer des apprenant·es : "
                                                    + ", ".join(f"« {m} »" for m in missing)))
    return found


# --------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------


@dataclass
class _Context:
    store: Store
    users: Mapping[str, UserLike]
    frameworks: dict[str, str]  # id -> title
    profiles: dict[str, LearnerProfile | None]
    groups: dict[str, Group]
    taken: set[str]
    #: (first, last, start) folded -> learner id or "ligne N"
    people: dict[tuple[str, str, str], str]


def _framework(text: str, ctx: _Context) -> str:
    if text in ctx.frameworks:
        return text
    wanted = fold(text)
    for fid, title in ctx.frameworks.items():
        if wanted in (fold(fid), fold(title)):
            return fid
    known = ", ".join(sorted(ctx.frameworks)) or "aucun"
    raise ValueError(f"référentiel inconnu : « {text[:80]} » (connus : {known})")


def _group(text: str, ctx: _Context) -> str:
    if text in ctx.groups:
        return text
    wanted = fold(text)
    for gid, group in ctx.groups.items():
        if wanted in (fold(gid), fold(group.name)):
            return gid
    raise ValueError(f"groupe inconnu : « {text[:80]} » (les groupes se créent d'abord, dans "
                     "Administration › Groupes)")


def _usernames(text: str) -> list[str]:
    names = [v.lower() for v in split_values(text)]
    bad = [n for n in names if not USERNAME_RE.match(n)]
    if bad:
        raise ValueError(f"nom d'utilisateur invalide : « {bad[0][:64]} »")
    return list(dict.fromkeys(names))


def _convert(key: str, text: str, ctx: _Context) -> Any:
    """One cell as profile input; ValueError with a French message."""
    if key in ("start", "end", "status_date"):
        return parse_date(text).isoformat()
    if key == "work_study":
        return parse_bool(text)
    if key == "modality":
        return _choice(text, PROGRAMME_MODALITIES, _MODALITY_ALIASES)
    if key == "contract":
        return _choice(text, CONTRACTS, _CONTRACT_ALIASES)
    if key == "status":
        return _choice(text, LEARNER_STATUSES, {"termine": "termine", "abandonne": "abandon", "en cours": "en-cours"})
    if key == "framework":
        return _framework(text, ctx)
    if key in ("tutors", "company_tutors"):
        return _usernames(text)
    if key == "groups":
        return list(dict.fromkeys(_group(v, ctx) for v in split_values(text)))
    if key == "body":
        return text.replace("\r\n", "\n")
    return text


def _column_of(loc: tuple[Any, ...]) -> str:
    """The column key of a schema error location (``("company", "city")`` -> ``city``)."""
    if not loc:
        return ""
    head = loc[0]
    if head == "company":
        sub = loc[1] if len(loc) > 1 else "name"
        return {"name": "company", "city": "city", "contact": "contact"}.get(sub, "company")
    if head == "contract_break":
        return "contract"
    if head == "account":
        return "id"
    return head if head in COLUMNS else ""


def _title(key: str, plan: ImportPlan) -> str:
    return plan.columns.get(key) or (COLUMNS[key][0] if key in COLUMNS else "")


def _name(data: Mapping[str, Any]) -> str:
    return " ".join(str(data[k]) for k in ("first_name", "last_name") if data.get(k))


def _plan_row(number: int, cells: list[str], columns: dict[str, int], plan: ImportPlan, ctx: _Context,
              ids_in_file: dict[str, int]) -> PlannedRow:
    given = {key: cells[i] for key, i in columns.items() if i < len(cells) and cells[i]}
    errors: list[RowError] = []

    def error(key: str, message: str) -> None:
        errors.append(RowError(number, _title(key, plan), message))

    values: dict[str, Any] = {}
    for key, text in given.items():
        if key == "id":
            continue
        try:
            values[key] = _convert(key, text, ctx)
        except ValueError as exc:
            error(key, str(exc))
    lid = given.get("id", "").lower() or None
    base: LearnerProfile | None = None
    expected: str | None = None
    if lid is not None:
        if not LEARNER_ID_RE.match(lid):
            error("id", f"identifiant invalide : « {lid[:64]} » (minuscules, chiffres et tirets, 64 au plus)")
            lid = None
        elif lid in ids_in_file:
            error("id", f"identifiant en double : déjà à la ligne {ids_in_file[lid]}")
        else:
            ids_in_file[lid] = number
    update = lid is not None and lid in ctx.profiles
    if update:
        rel = f"{lid}/{PROFILE_FILE}"
        expected = ctx.store.revision(rel)  # before reading it: a change in between is a stale write
        base = ctx.store.profile(lid)
        if base is None:
            error("id", f"le profil de {lid} est invalide : corrigez-le d'abord (livret check)")
    row = PlannedRow(number, "error", lid, _name({**(base.model_dump() if base else {}), **values}))
    row.errors = errors
    if errors:
        return row
    if update:
        assert base is not None
        data = profile_data(base)
    else:
        missing = [k for k in CREATE_KEYS if k not in values]
        for key in missing:
            error(key, "obligatoire pour créer un·e apprenant·e")
        if missing:
            return row
        if lid is None:
            lid = new_learner_id(ctx.taken)
            row.generated = True
        data = {"id": lid}
    ctx.taken.add(lid)
    row.learner_id = lid
    body = values.pop("body", None)
    groups = values.pop("groups", [])
    company = dict(data.get("company") or {})
    for key, sub in _COMPANY_KEYS.items():
        if key in values:
            company[sub] = values.pop(key)
    if company:
        if "name" not in company:
            error("company" if "company" in columns else ("city" if "city" in values else "company"),
                  "une ville ou un contact d'entreprise suppose le nom de l'entreprise (colonne entreprise)")
        data["company"] = company
    if values.get("contract") in ("apprentissage", "professionnalisation") and "work_study" not in values:
        values["work_study"] = True  # an apprenticeship or professionalisation contract is alternance
    if values.get("status") == "en-cours":
        data.pop("status_date", None)  # back in training: no end date any more
        data.pop("status_reason", None)
    data.update(values)
    if errors:
        return row
    try:
        profile = LearnerProfile.model_validate(data)
    except ValidationError as exc:
        for e in from_validation_error(exc):
            error(_column_of(e.loc), e.message)
        return row
    for e in context_errors(profile, base=base, frameworks=ctx.frameworks, users=ctx.users):
        error(_column_of(e.loc), e.message)
    if not update:
        key = (fold(profile.first_name), fold(profile.last_name), profile.start.isoformat())
        twin = ctx.people.get(key)
        if twin is not None and not given.get("id"):
            where = twin if twin.startswith("ligne") else f"l'apprenant·e {twin}"
            error("last_name", f"doublon : même prénom, nom et date de début que {where} ; pour modifier "
                               "un·e apprenant·e existant·e, indiquez son identifiant")
        ctx.people.setdefault(key, f"ligne {number}")
    if errors:
        return row
    row.name = profile.name
    row.profile = profile
    row.before = profile_data(base) if base is not None else None
    row.after = profile_data(profile)
    row.body = body
    row.expected = expected
    row.groups = [g for g in groups if lid not in ctx.groups[g].members]
    plan.named_groups += [g for g in groups if g not in plan.named_groups]
    before = row.before or {}
    row.changed = [k for k in dict.fromkeys([*before, *row.after]) if before.get(k) != row.after.get(k)]
    if body is not None and update:
        current = ctx.store.load_learner(lid).profile_body
        if body.strip() != current.strip():
            row.changed.append("body")
        else:
            row.body = None
    row.action = "create" if not update else ("update" if row.changed or row.groups else "unchanged")
    return row


def plan_import(data: bytes, store: Store, users: Iterable[UserLike], *, name: str = "import.csv") -> ImportPlan:
    """Read and validate the whole file against the store; writes nothing."""
    plan = ImportPlan(name)
    try:
        header, records = read_rows(data, name, plan.warnings)
    except ValueError as exc:
        plan.file_errors.append(RowError(None, "", str(exc)))
        return plan
    columns = _columns(header, plan)
    if plan.file_errors:
        return plan
    ids = store.learner_ids()
    profiles = {lid: store.profile(lid) for lid in ids}
    frameworks = {fid: fw.title for fid, fw in store.frameworks().items()}
    ctx = _Context(store, {u.username: u for u in users}, frameworks, profiles, dict(store.groups()),
                   set(ids), {})
    for lid, p in profiles.items():
        if p is not None:
            ctx.people.setdefault((fold(p.first_name), fold(p.last_name), p.start.isoformat()), lid)
    ids_in_file: dict[str, int] = {}
    for number, cells in records:
        plan.rows.append(_plan_row(number, cells, columns, plan, ctx, ids_in_file))
    touched = dict.fromkeys(g for r in plan.rows for g in r.groups)
    for gid in touched:
        revision = store.revision(f"{GROUPS_DIR}/{gid}.yml")  # before reading it again
        group = store.group(gid)[0]
        if group is None:  # removed since: every row naming it is refused
            for r in plan.rows:
                if gid in r.groups:
                    r.errors.append(RowError(r.row, _title("groups", plan), f"groupe introuvable : {gid}"))
                    r.action = "error"
            continue
        plan.groups[gid] = (group, revision)
    return plan


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


@dataclass
class ImportResult:
    commit_id: str | None
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    #: Groups learners were added to.
    groups: list[str] = field(default_factory=list)
    #: Rows left out because they had errors (``only_valid``).
    skipped: int = 0


def changes_for(plan: ImportPlan, rows: Sequence[PlannedRow]) -> tuple[list[ProfileChange], list[GroupChange]]:
    """The store changes of ``rows``: one profile each, and each group they join, once."""
    profiles = [ProfileChange(r.profile, r.body if r.body is not None else ("" if r.action == "create" else None),
                              r.expected) for r in rows if r.action in ("create", "update") and r.profile]
    joined: dict[str, list[str]] = {}
    for r in rows:
        for gid in r.groups:
            joined.setdefault(gid, []).append(r.learner_id)
    groups = []
    for gid, newcomers in joined.items():
        group, revision = plan.groups[gid]
        members = list(dict.fromkeys([*group.members, *newcomers]))
        groups.append(GroupChange(group.model_copy(update={"members": members}), revision))
    return profiles, groups


def apply_import(plan: ImportPlan, store: Store, *, author: str, only_valid: bool = False) -> ImportResult:
    """Write the plan's valid rows in one commit authored by ``author``.

    Raises :class:`ImportRefused` when the plan has errors (always for
    errors of the whole file; for row errors unless ``only_valid``),
    :class:`~livret.store.records.StaleWrite` when a profile or group changed
    since the plan was made, :class:`InvalidInput` if the store refuses.
    """
    if plan.file_errors:
        raise ImportRefused(f"{plan.name} ne peut pas être importé : {plan.file_errors[0].message}")
    broken = [r for r in plan.rows if r.errors]
    if broken and not only_valid:
        raise ImportRefused(f"{french.count(len(broken), 'ligne', 'lignes')} en erreur : rien n'a été écrit "
                            "(corrigez le fichier, "
                            "ou importez explicitement les lignes valides seules)")
    rows = [r for r in plan.writable_rows if not r.errors]
    profiles, groups = changes_for(plan, rows)
    result = ImportResult(None, [r.learner_id for r in rows if r.action == "create"],
                          [r.learner_id for r in rows if r.action == "update"],
                          [g.group.id for g in groups], skipped=len(broken))
    if not profiles and not groups:
        return result
    counts = []
    if result.created:
        counts.append(french.count(len(result.created), "création", "créations"))
    if result.updated:
        counts.append(french.count(len(result.updated), "mise à jour", "mises à jour"))
    message = f"Import d'apprenant·es ({plan.name[:80]}) : {', '.join(counts) or 'groupes'}"
    try:
        result.commit_id = store.write_changes(profiles, groups, author=author, message=message)
    except InvalidInput as exc:  # the store changed since the plan (a framework removed...)
        raise InvalidInput([_located(exc_error, profiles, groups) for exc_error in exc.errors]) from None
    return result


def _located(error: FieldError, profiles: list[ProfileChange], groups: list[GroupChange]) -> FieldError:
    """A store error named by the learner or group it is about."""
    if len(error.loc) >= 2 and error.loc[0] == "profiles":
        return FieldError(error.loc[2:], f"{profiles[error.loc[1]].profile.id} : {error.message}")
    if len(error.loc) >= 2 and error.loc[0] == "groups":
        return FieldError(error.loc[2:], f"groupe {groups[error.loc[1]].group.id} : {error.message}")
    return error
