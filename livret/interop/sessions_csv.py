"""Import of training sessions from a CSV file (a planning exported from an ERP): read, preview, write.

Columns (titles compared without case, accents or punctuation; docs/attendance.md, « Sessions »):
``date``, ``debut``, ``fin``, ``intitule``, ``formateur`` (username or e-mail of a tutor or admin account),
``groupe``, ``modalite``, ``lieu``, ``competences``, and optionally ``referentiel`` and ``lien``.  Encoding:
UTF-8, else what charset-normalizer detects (a warning says which); delimiter ``;`` or ``,``.  A line
running over the lunch break plans two half-days.  :func:`plan_sessions` validates every line against the
store (nothing written; errors name the line and the column); :func:`apply_sessions` writes every
session of a plan without errors in one commit.  The plan carries the file's SHA-256: a confirmation
names it, so what is written is exactly what was previewed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from charset_normalizer import from_bytes

from ..attendance.schedule import FieldValueErrors, split, trainer_name
from ..store import Store, french
from ..store.errors import InvalidInput
from ..store.schema import SESSION_MODALITIES
from ..store.sessions import StoredSession
from .csv_files import read_records, sniff_delimiter
from .learners_csv import RowError, _choice, fold, fold_header, parse_date, split_values

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000

#: Column key -> (title in messages, aliases compared folded).
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "date": ("date", ("date", "jour", "date de la seance", "date seance")),
    "start": ("debut", ("debut", "heure de debut", "heure debut", "de", "start")),
    "end": ("fin", ("fin", "heure de fin", "heure fin", "a", "end")),
    "title": ("intitule", ("intitule", "module", "titre", "intitule du module", "cours", "title")),
    "trainer": ("formateur", ("formateur", "formatrice", "formateur rice", "intervenant", "trainer")),
    "group": ("groupe", ("groupe", "promotion", "promo", "classe", "group")),
    "modality": ("modalite", ("modalite", "modality")),
    "place": ("lieu", ("lieu", "salle", "place")),
    "competencies": ("competences", ("competences", "competence", "competencies")),
    "framework": ("referentiel", ("referentiel", "framework")),
    "video_link": ("lien", ("lien", "lien visio", "lien de la classe virtuelle", "video link")),
}
REQUIRED = ("date", "start", "end", "title", "trainer")
_ALIASES = {alias: key for key, (_, aliases) in COLUMNS.items() for alias in aliases}
_MODALITY_ALIASES = {"distance": "distance-synchrone", "a distance": "distance-synchrone",
                     "visio": "distance-synchrone", "classe virtuelle": "distance-synchrone",
                     "presentiel": "presentiel", "sur site": "presentiel"}
#: Session keys -> column key (the store's error locations back to the file's columns).
_KEY_COLUMNS = {"half_day": "start", "trainer_name": "trainer"}


@dataclass
class PlannedLine:
    """One line of the file: the sessions it plans (one per half-day) or its errors."""

    line: int
    items: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


@dataclass
class SessionImport:
    name: str
    sha256: str
    lines: list[PlannedLine] = field(default_factory=list)
    file_errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Column key -> title in the file.
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[RowError]:
        return self.file_errors + [e for line in self.lines for e in line.errors]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def items(self) -> list[dict[str, Any]]:
        return [item for line in self.lines for item in line.items]


def decode(data: bytes, name: str, warnings: list[str]) -> str:
    """UTF-8 (a BOM dropped), else the encoding charset-normalizer detects (with a warning)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise ValueError("encodage illisible : enregistrez le fichier en « CSV UTF-8 »")
    warnings.append(f"{name} : le fichier n'est pas en UTF-8 : lu comme {best.encoding} ; vérifiez les accents "
                    "dans l'aperçu")
    return str(best)


def _known(header: list[str]) -> int:
    return len({_ALIASES.get(fold_header(t)) for t in header} - {None})


def read_rows(data: bytes, name: str, warnings: list[str]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    if len(data) > MAX_BYTES:
        raise ValueError(f"fichier trop volumineux : au plus {MAX_BYTES // (1024 * 1024)} Mo")
    text = decode(data, name, warnings).replace("\x00", "")
    if not text.strip():
        raise ValueError("fichier vide : la première ligne donne les titres des colonnes")
    return read_records(text, sniff_delimiter(text, (";", ","), _known), MAX_ROWS,
                        f"trop de lignes : au plus {MAX_ROWS} séances par fichier")


class _Context:
    def __init__(self, store: Store, users: Iterable[Any]):
        self.settings = store.settings().attendance
        self.users = [u for u in users if u.role in ("tutor", "admin") and not u.disabled]
        self.groups = store.groups()
        self._profiles: dict[str, Any] = {}
        self.store = store

    def trainer(self, text: str) -> str:
        wanted = text.strip().casefold()
        for u in self.users:
            if wanted in (u.username.casefold(), (u.email or "").casefold()):
                return u.username
        raise ValueError(f"aucun compte formateur (tuteur ou administrateur actif) « {text[:80]} » : "
                         "nom d'utilisateur ou e-mail attendu")

    def group(self, text: str) -> str:
        for gid, g in self.groups.items():
            if fold(text) in (fold(gid), fold(g.name)):
                return gid
        raise ValueError(f"groupe inconnu « {text[:80]} » (identifiant ou nom d'un groupe attendu)")

    def group_framework(self, gid: str | None) -> str:
        """The one framework of the group's learners (for competencies given without ``referentiel``)."""
        group = self.groups.get(gid) if gid else None
        found = set()
        for lid in group.members if group else ():
            if lid not in self._profiles:
                try:
                    self._profiles[lid] = self.store.profile(lid)
                except Exception:  # a folder gone meanwhile: ``livret check`` names it
                    self._profiles[lid] = None
            if self._profiles[lid] is not None:
                found.add(self._profiles[lid].framework)
        if len(found) != 1:
            raise ValueError("indiquez le référentiel (colonne « referentiel ») : le groupe n'en a pas un seul")
        return found.pop()


def _columns(header: list[str], plan: SessionImport) -> dict[str, int]:
    columns: dict[str, int] = {}
    for i, title in enumerate(header):
        key = _ALIASES.get(fold_header(title))
        if key is None:
            plan.warnings.append(f"colonne ignorée : « {title[:60]} »")
        elif key in columns:
            plan.file_errors.append(RowError(None, title, "colonne en double"))
        else:
            columns[key] = i
            plan.columns[key] = title
    for key in REQUIRED:
        if key not in columns:
            plan.file_errors.append(RowError(None, COLUMNS[key][0], "colonne obligatoire absente"))
    return columns


def _line(number: int, cells: list[str], columns: Mapping[str, int], plan: SessionImport,
          ctx: _Context, store: Store, author: str) -> PlannedLine:
    out = PlannedLine(number)

    def title(key: str) -> str:
        return plan.columns.get(key) or COLUMNS[key][0]

    def cell(key: str) -> str:
        i = columns.get(key)
        return cells[i] if i is not None and i < len(cells) else ""

    fields: dict[str, Any] = {}
    converters = {
        "date": lambda t: parse_date(t).isoformat(),
        "trainer": ctx.trainer,
        "group": ctx.group,
        "modality": lambda t: _choice(t, SESSION_MODALITIES, _MODALITY_ALIASES),
        "competencies": split_values,
    }
    for key in COLUMNS:
        text = cell(key)
        if not text:
            if key in REQUIRED:
                out.errors.append(RowError(number, title(key), "valeur obligatoire"))
            continue
        try:
            fields[key] = converters.get(key, lambda t: t)(text)
        except ValueError as exc:
            out.errors.append(RowError(number, title(key), str(exc)))
    if fields.get("competencies") and "framework" not in fields and not out.errors:
        try:
            fields["framework"] = ctx.group_framework(fields.get("group"))
        except ValueError as exc:
            out.errors.append(RowError(number, title("framework"), str(exc)))
    if out.errors:
        return out
    name = trainer_name(ctx.users, fields["trainer"])
    if name:
        fields["trainer_name"] = name
    try:
        items = split(fields, ctx.settings.lunch_start, ctx.settings.lunch_end)
    except FieldValueErrors as exc:
        out.errors += [RowError(number, title(str(e.loc[0])), e.message) for e in exc.errors]
        return out
    for item in items:
        try:
            store.prepare_session(item, author=author)
        except InvalidInput as exc:
            for e in exc.errors:
                key = str(e.loc[0]) if e.loc else ""
                key = _KEY_COLUMNS.get(key, key)
                out.errors.append(RowError(number, title(key) if key in COLUMNS else key, e.message))
    if not out.errors:
        out.items = items
    return out


def plan_sessions(data: bytes, store: Store, users: Iterable[Any], *, name: str = "seances.csv",
                  author: str = "admin") -> SessionImport:
    """Read and validate a planning; nothing is written."""
    plan = SessionImport(name, hashlib.sha256(data).hexdigest())
    try:
        header, rows = read_rows(data, name, plan.warnings)
    except ValueError as exc:
        plan.file_errors.append(RowError(None, "", str(exc)))
        return plan
    columns = _columns(header, plan)
    if plan.file_errors:
        return plan
    ctx = _Context(store, users)
    plan.lines = [_line(number, cells, columns, plan, ctx, store, author) for number, cells in rows]
    if not plan.lines:
        plan.file_errors.append(RowError(None, "", "aucune séance dans le fichier"))
    return plan


class ImportRefused(ValueError):
    """The plan has errors, or its file is not the one previewed: nothing written."""


def apply_sessions(plan: SessionImport, store: Store, *, author: str, author_name: str | None = None,
                   sha256: str | None = None, now: dt.datetime | None = None) -> list[StoredSession]:
    """Write every session of a plan without errors, in one commit; ``sha256``: the file previewed."""
    if sha256 is not None and sha256 != plan.sha256:
        raise ImportRefused("ce fichier n'est pas celui de l'aperçu : rien n'a été écrit")
    if not plan.ok:
        raise ImportRefused(f"{french.count(len(plan.errors), 'erreur', 'erreurs')} dans le fichier : "
                            "rien n'a été écrit")
    return store.write_sessions(plan.items, author=author, author_name=author_name, now=now,
                                message=f"Séances importées de {plan.name} ({len(plan.items)} demi-journées)")


def item_line(item: Mapping[str, Any]) -> str:
    """One planned session for people: « 02/03/2026 matin 09:00-12:30 Module (formateur, groupe) »."""
    day = dt.date.fromisoformat(str(item["date"]))
    where = ", ".join(str(x) for x in (item.get("trainer_name") or item["trainer"], item.get("group")) if x)
    return f"{day:%d/%m/%Y} {item['half_day']} {item['start']}-{item['end']} {item['title']} ({where})"
