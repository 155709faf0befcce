"""The portfolio store: reading, validating and appending to ``portfolios/``.

Layout (see docs/format.md)::

    portfolios/
      _organisation.yml                organisation settings (optional)
      _frameworks/<framework-id>.yml   competency frameworks
      <learner-id>/
        learner.md                     profile (front matter) + free text
        entries/<YYYY-MM-DD>-<type>-<short-id>.md
        files/<short-id>-<safe-name>   attachments

Reading never raises for a bad file: problems are collected per file, with
the line of the offending key, and every other file is still read.  Writing
appends only: a new entry is a new file, written atomically, never replacing
an existing one, and committed to the store's git history when there is one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from ulid import ULID

from . import atomic
from .attachments import ALLOWED_TYPES, AttachmentError, allowed_labels, sniff, stored_name
from .errors import FieldError, InvalidInput, Problem, from_validation_error, problems_for
from .history import History, HistoryError
from .schema import (
    ENTRY_ADAPTER,
    ENTRY_TYPES,
    LEARNER_ID_RE,
    MAX_BODY,
    SERVER_KEYS,
    EntryBase,
    Framework,
    LearnerProfile,
    Organisation,
    entry_to_data,
)
from .validation import check_entry, raw_rating_errors, reserved_key_errors
from .yamlio import Document, FrontMatterError, load_yaml, parse_front_matter, render_front_matter

FRAMEWORKS_DIR = "_frameworks"
ORGANISATION_FILE = "_organisation.yml"
PROFILE_FILE = "learner.md"
#: Values kept by ``Store.derived`` (a dashboard of 1,000 learners keeps 1,000 summaries per day and audience).
DERIVED_LIMIT = 8192
T = TypeVar("T")


class StoreError(RuntimeError):
    """A write could not be done (missing learner, disk full, read-only store...)."""


class UnknownLearner(StoreError):
    pass


@dataclass
class StoredEntry:
    """An entry as stored: its validated front matter, its body and its file."""

    meta: EntryBase
    body: str
    path: str  # relative to the store root: <learner>/entries/<name>.md

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def type(self) -> str:
        return self.meta.type

    @property
    def date(self) -> dt.datetime:
        return self.meta.date

    @property
    def visibility(self) -> str:
        return self.meta.visibility

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def to_data(self) -> dict[str, Any]:
        return entry_to_data(self.meta)

    def to_json(self) -> dict[str, Any]:
        return {**self.to_data(), "body": self.body}


@dataclass
class LearnerRecord:
    """Everything the store holds about one learner, valid parts only, plus problems."""

    id: str
    profile: LearnerProfile | None
    profile_body: str
    framework: Framework | None
    entries: list[StoredEntry]  # valid entries, in date order
    files: list[str]  # "files/<name>" present under the learner's folder
    problems: list[Problem] = field(default_factory=list)
    #: The state of the learner's files this record was read from (see ``Store.derived``).
    version: tuple = field(default=(), compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    def entry(self, entry_id: str) -> StoredEntry | None:
        for e in self.entries:
            if e.id == entry_id:
                return e
        return None


#: One item of a folder scan: (name, mtime in ns, size, is a regular file).
Scanned = tuple[str, int, int, bool]


class Signature(NamedTuple):
    """What a learner's record is made of (see ``Store._signature``); compared whole."""

    profile: tuple[int, int]  # mtime, size of learner.md
    framework: tuple  # (id, mtime, size) of its framework file, () when it has none
    entries: tuple[Scanned, ...]
    files: tuple[Scanned, ...]


def _scan(folder: Path) -> tuple[Scanned, ...]:
    """What ``folder`` holds, by name, dot files left out.

    One ``stat`` per item (``is_file`` comes with the directory listing); an
    item that vanishes or a broken link is left out.
    """
    out = []
    try:
        with os.scandir(folder) as items:
            for item in items:
                if item.name.startswith("."):
                    continue
                try:
                    st = item.stat()
                except OSError:
                    continue
                out.append((item.name, st.st_mtime_ns, st.st_size, item.is_file()))
    except (FileNotFoundError, NotADirectoryError):
        return ()
    return tuple(sorted(out))


def _file_names(scan: tuple[Scanned, ...]) -> list[str]:
    """The names of the regular files of a scan, in name order."""
    return [name for name, _, _, is_file in scan if is_file]


def valid_learner_id(learner_id: str) -> bool:
    return bool(LEARNER_ID_RE.match(learner_id or ""))


def _now(tz: str) -> dt.datetime:
    return dt.datetime.now(ZoneInfo(tz)).replace(microsecond=0)


class Store:
    """The store API.  Safe to share between threads."""

    def __init__(self, root: Path, *, display_root: Path | None = None):
        self.root = Path(root).resolve()
        self.display_root = Path(display_root).resolve() if display_root else self.root.parent
        self.history = History(self.root)
        self._cache: dict[Path, tuple[tuple[int, int], Any]] = {}
        self._cache_lock = threading.Lock()
        #: learner id -> (signature of its files, record): see :meth:`load_learner`.
        self._records: dict[str, tuple[tuple, LearnerRecord]] = {}
        self._derived: OrderedDict[tuple, Any] = OrderedDict()

    # ------------------------------------------------------------------ paths

    def _rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.display_root).as_posix()
        except ValueError:
            return path.as_posix()

    def learner_dir(self, learner_id: str) -> Path:
        if not valid_learner_id(learner_id):
            raise UnknownLearner(f"identifiant d'apprenant·e invalide : {learner_id!r}")
        return self.root / learner_id

    def learner_ids(self) -> list[str]:
        """Folders that hold a learner profile, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir()
            if p.is_dir() and valid_learner_id(p.name) and (p / PROFILE_FILE).is_file()
        )

    def stray_dirs(self) -> list[Path]:
        """Folders that are neither a learner, nor reserved, nor hidden."""
        if not self.root.is_dir():
            return []
        out = []
        for p in sorted(self.root.iterdir()):
            if p.name.startswith(".") or p.name == FRAMEWORKS_DIR or not p.is_dir():
                continue
            if not valid_learner_id(p.name) or not (p / PROFILE_FILE).is_file():
                out.append(p)
        return out

    # ------------------------------------------------------------------ cache

    def _cached(self, path: Path, parse, key: tuple[int, int] | None = None):
        """Parse ``path`` once per (mtime, size); ``key``: those, when the caller just read them."""
        if key is None:
            st = path.stat()
            key = (st.st_mtime_ns, st.st_size)
        with self._cache_lock:
            hit = self._cache.get(path)
            if hit and hit[0] == key:
                return hit[1]
        value = parse(path)
        with self._cache_lock:
            self._cache[path] = (key, value)
        return value

    # ------------------------------------------------------------------ reading

    def _read_text(self, path: Path) -> str:
        raw = path.read_bytes()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise FrontMatterError("le fichier n'est pas encodé en UTF-8", line) from None

    def organisation(self) -> tuple[Organisation, list[Problem]]:
        path = self.root / ORGANISATION_FILE
        if not path.exists():
            return Organisation(), []
        return self._cached(path, self._parse_organisation)

    def _parse_organisation(self, path: Path) -> tuple[Organisation, list[Problem]]:
        rel = self._rel(path)
        try:
            doc = load_yaml(self._read_text(path))
        except FrontMatterError as exc:
            return Organisation(), [Problem(rel, exc.line, exc.message)]
        try:
            return Organisation.model_validate(doc.data), []
        except ValidationError as exc:
            return Organisation(), _problems(rel, doc, from_validation_error(exc))

    def settings(self) -> Organisation:
        return self.organisation()[0]

    def framework_ids(self) -> list[str]:
        d = self.root / FRAMEWORKS_DIR
        if not d.is_dir():
            return []
        return sorted(p.stem for p in d.glob("*.yml") if not p.name.startswith("."))

    def framework(self, framework_id: str) -> tuple[Framework | None, list[Problem]]:
        if not LEARNER_ID_RE.match(framework_id or ""):
            return None, []
        path = self.root / FRAMEWORKS_DIR / f"{framework_id}.yml"
        if not path.is_file():
            return None, []
        return self._cached(path, self._parse_framework)

    def _parse_framework(self, path: Path) -> tuple[Framework | None, list[Problem]]:
        rel = self._rel(path)
        try:
            doc = load_yaml(self._read_text(path))
        except FrontMatterError as exc:
            return None, [Problem(rel, exc.line, exc.message)]
        try:
            fw = Framework.model_validate(doc.data)
        except ValidationError as exc:
            return None, _problems(rel, doc, from_validation_error(exc))
        if fw.id != path.stem:
            return None, [Problem(rel, doc.line_of(("id",)),
                                  f"id : « {fw.id} » ne correspond pas au nom du fichier ({path.stem})")]
        return fw, []

    def frameworks(self) -> dict[str, Framework]:
        out = {}
        for fid in self.framework_ids():
            fw, _ = self.framework(fid)
            if fw is not None:
                out[fid] = fw
        return out

    def _parse_profile(self, path: Path) -> tuple[LearnerProfile | None, str, list[Problem]]:
        rel = self._rel(path)
        try:
            doc = parse_front_matter(self._read_text(path))
        except FrontMatterError as exc:
            return None, "", [Problem(rel, exc.line, exc.message)]
        try:
            profile = LearnerProfile.model_validate(doc.data)
        except ValidationError as exc:
            return None, doc.body, _problems(rel, doc, from_validation_error(exc))
        if profile.id != path.parent.name:
            return None, doc.body, [
                Problem(rel, doc.line_of(("id",)),
                        f"id : « {profile.id} » ne correspond pas au dossier ({path.parent.name})")
            ]
        return profile, doc.body, []

    def _parse_entry(self, path: Path) -> tuple[EntryBase | None, str, Document | None, list[Problem]]:
        rel = self._rel(path)
        try:
            doc = parse_front_matter(self._read_text(path))
        except FrontMatterError as exc:
            return None, "", None, [Problem(rel, exc.line, exc.message)]
        errors = reserved_key_errors(doc.data)
        if errors:
            return None, doc.body, doc, _problems(rel, doc, errors)
        try:
            entry = ENTRY_ADAPTER.validate_python(doc.data)
        except ValidationError as exc:
            return None, doc.body, doc, _problems(rel, doc, from_validation_error(exc))
        if len(doc.body) > MAX_BODY:
            return None, doc.body, doc, [Problem(rel, doc.line_of(()), f"texte trop long (plus de {MAX_BODY} caractères)")]
        return entry, doc.body, doc, []

    def entry_paths(self, learner_id: str) -> list[Path]:
        d = self.learner_dir(learner_id) / "entries"
        return [d / name for name in _file_names(_scan(d))]

    def file_names(self, learner_id: str) -> list[str]:
        return [f"files/{name}" for name in _file_names(_scan(self.learner_dir(learner_id) / "files"))]

    def profile(self, learner_id: str) -> LearnerProfile | None:
        """Only the learner's profile (None if invalid): cheap, for access checks on every request."""
        path = self.learner_dir(learner_id) / PROFILE_FILE
        if not path.is_file():
            raise UnknownLearner(f"apprenant·e inconnu·e : {learner_id}")
        return self._cached(path, self._parse_profile)[0]

    def _signature(self, learner_id: str) -> Signature | tuple[()]:
        """What a learner's record is made of: names, sizes and dates of its files and of its framework.

        Cheap (one directory scan per folder, no parsing), so that a page
        listing a thousand learners does not validate forty thousand entries
        again on every request.
        """
        ldir = self.learner_dir(learner_id)
        try:
            st = os.stat(ldir / PROFILE_FILE)
        except FileNotFoundError:
            return ()
        profile = self._cached(ldir / PROFILE_FILE, self._parse_profile)[0]
        framework: tuple = ()
        if profile is not None:
            try:
                fst = os.stat(self.root / FRAMEWORKS_DIR / f"{profile.framework}.yml")
                framework = (profile.framework, fst.st_mtime_ns, fst.st_size)
            except OSError:
                pass
        return Signature((st.st_mtime_ns, st.st_size), framework, _scan(ldir / "entries"), _scan(ldir / "files"))

    def load_learner(self, learner_id: str) -> LearnerRecord:
        """Profile, framework and valid entries (date order) of a learner, with every problem.

        Read again only when one of its files changed (see :meth:`_signature`);
        each caller gets its own lists.
        """
        signature = self._signature(learner_id)
        with self._cache_lock:
            hit = self._records.get(learner_id)
        if hit is None or hit[0] != signature or not signature:
            extended = self._extended(learner_id, hit, signature) if hit is not None and signature else None
            hit = (signature, extended or self._load_learner(learner_id, signature))
            with self._cache_lock:
                self._records[learner_id] = hit
        record = hit[1]
        return dataclasses.replace(record, entries=list(record.entries), files=list(record.files),
                                   problems=list(record.problems), version=signature)

    def derived(self, record: LearnerRecord, key: Hashable, compute: Callable[[LearnerRecord], T]) -> T:
        """``compute(record)``, computed once per state of the learner's files.

        For pure functions of a record (a dashboard row's summary): ``key``
        must name the function and hold its other inputs (the day, the
        audience, the settings).  A record not read by :meth:`load_learner`
        is computed every time.
        """
        if not record.version:
            return compute(record)
        cache_key = (record.id, record.version, key)
        with self._cache_lock:
            if cache_key in self._derived:
                self._derived.move_to_end(cache_key)
                return self._derived[cache_key]
        value = compute(record)
        with self._cache_lock:
            self._derived[cache_key] = value
            while len(self._derived) > DERIVED_LIMIT:
                self._derived.popitem(last=False)
        return value

    def forget(self, learner_id: str) -> None:
        """Drop what is cached about one learner (its record, its parsed files)."""
        ldir = self.learner_dir(learner_id)
        with self._cache_lock:
            self._records.pop(learner_id, None)
            for key in [k for k in self._derived if k[0] == learner_id]:
                del self._derived[key]
            for path in [p for p in self._cache if ldir in p.parents]:
                del self._cache[path]

    def _extended(self, learner_id: str, previous: tuple[Signature, LearnerRecord], signature: Signature
                  ) -> LearnerRecord | None:
        """The previous record plus the entry files added since, or None when only a full read is right.

        What the app does all day (new entry files, maybe new attachments,
        nothing else touched, no problem before) then costs the new files,
        not a new check of every entry: the rules of an entry depend on it,
        the framework, the entries it points to and the attachments, and
        adding files takes none of those away.  Anything else (a file changed
        or removed, the profile or the framework changed, a problem in a new
        file, an id already used) is a full read.
        """
        old_signature, old = previous
        if not old_signature or old.problems or old_signature.profile != signature.profile \
                or old_signature.framework != signature.framework:
            return None
        old_entries = set(old_signature.entries)
        if not old_entries.issubset(signature.entries) or not set(old_signature.files).issubset(signature.files):
            return None
        files = [f"files/{name}" for name in _file_names(signature.files)]
        entries_dir = self.learner_dir(learner_id) / "entries"
        in_store = self._stored_prefix(entries_dir)
        others: dict[str, EntryBase] = {e.id: e.meta for e in old.entries}
        added: list[StoredEntry] = []
        for name, mtime, size, is_file in signature.entries:
            if (name, mtime, size, is_file) in old_entries:
                continue
            path = entries_dir / name
            if not is_file or path.suffix != ".md":
                return None
            entry, body, _, problems = self._cached(path, self._parse_entry, (mtime, size))
            if problems or entry is None or entry.id in others:
                return None
            others[entry.id] = entry
            added.append(StoredEntry(entry, body, in_store + name))
        if any(check_entry(e.meta, framework=old.framework, others=others, files=files) for e in added):
            return None
        entries = sorted(old.entries + added, key=lambda e: (e.meta.date, e.meta.recorded, e.id))
        return LearnerRecord(learner_id, old.profile, old.profile_body, old.framework, entries, files, [])

    def _stored_prefix(self, entries_dir: Path) -> str:
        """``StoredEntry.path`` of the files of ``entries_dir``, without the name."""
        return entries_dir.relative_to(self.root).as_posix() + "/"

    def _load_learner(self, learner_id: str, signature: Signature | tuple[()] = ()) -> LearnerRecord:
        """Read a learner's folder; with its ``signature``, the folder scans it holds are reused."""
        ldir = self.learner_dir(learner_id)
        problems: list[Problem] = []
        profile_path = ldir / PROFILE_FILE
        if not profile_path.is_file():
            raise UnknownLearner(f"apprenant·e inconnu·e : {learner_id}")
        profile, profile_body, pprobs = self._cached(profile_path, self._parse_profile)
        problems += pprobs
        framework = None
        if profile is not None:
            framework, fprobs = self.framework(profile.framework)
            if framework is None and not fprobs:
                problems.append(Problem(self._rel(profile_path), _line(profile_path, "framework"),
                                        f"framework : référentiel introuvable : {profile.framework}"))
        entries_dir = ldir / "entries"
        entries_scan = signature.entries if signature else _scan(entries_dir)
        files = [f"files/{name}" for name in _file_names(signature.files if signature else _scan(ldir / "files"))]
        listed = [(entries_dir / name, (mtime, size)) for name, mtime, size, is_file in entries_scan if is_file]

        parsed: list[tuple[Path, EntryBase, str, Document]] = []
        for path, key in listed:
            if path.suffix != ".md":
                problems.append(Problem(self._rel(path), None,
                                        "fichier inattendu dans entries/ (seuls les .md sont lus)"))
                continue
            entry, body, doc, eprobs = self._cached(path, self._parse_entry, key)
            problems += eprobs
            if entry is not None:
                parsed.append((path, entry, body, doc))

        by_id: dict[str, EntryBase] = {}
        first_path: dict[str, Path] = {}
        unique: list[tuple[Path, EntryBase, str, Document]] = []
        for item in parsed:
            path, entry, _, doc = item
            if entry.id in by_id:
                problems.append(Problem(self._rel(path), doc.line_of(("id",)),
                                        f"id : identifiant déjà utilisé par {self._rel(first_path[entry.id])}"))
                continue
            by_id[entry.id] = entry
            first_path[entry.id] = path
            unique.append(item)

        entries: list[StoredEntry] = []
        in_store = self._stored_prefix(entries_dir)  # once, not per entry
        for path, entry, body, doc in unique:
            errors = check_entry(entry, framework=framework, others=by_id, files=files)
            if errors:
                problems += _problems(self._rel(path), doc, errors)
                continue
            entries.append(StoredEntry(entry, body, in_store + path.name))
        entries.sort(key=lambda e: (e.meta.date, e.meta.recorded, e.id))
        return LearnerRecord(learner_id, profile, profile_body, framework, entries, files, problems)

    def check(self) -> list[Problem]:
        """Every problem in the store; never raises for a bad file."""
        problems: list[Problem] = []
        problems += self.organisation()[1]
        for fid in self.framework_ids():
            problems += self.framework(fid)[1]
        fw_dir = self.root / FRAMEWORKS_DIR
        if fw_dir.is_dir():
            for p in sorted(fw_dir.iterdir()):
                if p.is_file() and not p.name.startswith(".") and p.suffix != ".yml":
                    problems.append(Problem(self._rel(p), None, "fichier inattendu (les référentiels sont des .yml)"))
        for p in self.stray_dirs():
            if p.name.startswith("_"):
                problems.append(Problem(self._rel(p), None,
                                        "nom de dossier réservé (« _ » initial) : un dossier d'apprenant·e "
                                        "s'écrit en minuscules, chiffres et tirets (ex. marie-durand)"))
            elif not valid_learner_id(p.name):
                problems.append(Problem(self._rel(p), None,
                                        "nom de dossier invalide : minuscules, chiffres et tirets, "
                                        "sans « _ » initial (ex. marie-durand)"))
            else:
                problems.append(Problem(self._rel(p / PROFILE_FILE), None, "profil learner.md manquant"))
        seen: dict[str, str] = {}
        for lid in self.learner_ids():
            record = self.load_learner(lid)
            problems += record.problems
            for e in record.entries:
                if e.id in seen:
                    path = self.root / e.path
                    problems.append(Problem(self._rel(path), _line(path, "id"),
                                            f"id : identifiant déjà utilisé par {seen[e.id]}"))
                else:
                    seen[e.id] = self._rel(self.root / e.path)
        return problems

    # ------------------------------------------------------------------ writing

    def prepare_entry(
        self,
        learner_id: str,
        fields: dict[str, Any],
        body: str = "",
        *,
        author: str,
        role: str,
        now: dt.datetime | None = None,
        attachments: Sequence[str] = (),
        record: LearnerRecord | None = None,
    ) -> EntryBase:
        """Validate user fields as a new entry (server keys added); raise InvalidInput."""
        errors = [FieldError((k,), "défini par le serveur : ne pas le fournir")
                  for k in SERVER_KEYS if k in fields]
        errors += reserved_key_errors(fields)
        if not isinstance(body, str):
            errors.append(FieldError(("body",), "texte attendu"))
        elif len(body) > MAX_BODY:
            errors.append(FieldError(("body",), f"texte trop long (au plus {MAX_BODY} caractères)"))
        if errors:
            raise InvalidInput(errors)
        settings = self.settings()
        now = now or _now(settings.timezone)
        data = dict(fields)
        data["attachments"] = list(data.get("attachments") or []) + list(attachments)
        if not data["attachments"]:
            del data["attachments"]
        data.update(id=str(ULID()), recorded=now.isoformat(), author=author, role=role)
        if "type" not in data:
            raise InvalidInput([FieldError(("type",), "clé obligatoire manquante")])
        if data.get("type") not in ENTRY_TYPES:
            raise InvalidInput([FieldError(("type",), f"type inconnu : {data.get('type')!r}")])
        record = record or self.load_learner(learner_id)
        try:
            entry = ENTRY_ADAPTER.validate_python(data)
        except ValidationError as exc:
            errors = from_validation_error(exc)
            seen = {e.loc for e in errors}
            errors += [e for e in raw_rating_errors(data, record.framework) if e.loc not in seen]
            raise InvalidInput(errors) from None
        others = {e.id: e.meta for e in record.entries}
        files = set(record.files) | set(attachments)
        errors = check_entry(entry, framework=record.framework, others=others, files=files)
        if errors:
            raise InvalidInput(errors)
        return entry

    def append_entry(
        self,
        learner_id: str,
        fields: dict[str, Any],
        body: str = "",
        *,
        author: str,
        role: str,
        uploads: Sequence[tuple[str, bytes]] = (),
        now: dt.datetime | None = None,
    ) -> StoredEntry:
        """Validate and write a new entry (and its uploaded files) in one commit.

        Raises :class:`InvalidInput` (nothing written) or :class:`StoreError`.
        """
        record = self.load_learner(learner_id)
        ldir = self.learner_dir(learner_id)
        planned = [self._plan_upload(name, data, i) for i, (name, data) in enumerate(uploads)]
        prepared = self.prepare_entry(
            learner_id, fields, body, author=author, role=role, now=now,
            attachments=[p for p, _ in planned], record=record,
        )
        text = render_front_matter(entry_to_data(prepared), body)
        for _ in range(5):
            name = f"{prepared.date.date().isoformat()}-{prepared.type}-{prepared.id[-8:].lower()}.md"
            path = ldir / "entries" / name
            if not path.exists():
                break
            prepared = prepared.model_copy(update={"id": str(ULID())})
            text = render_front_matter(entry_to_data(prepared), body)
        written: list[Path] = []
        with self.history.writing():
            try:  # new names, never replacing a file: no lock needed until the commit
                for rel_file, data in planned:
                    target = ldir / rel_file
                    atomic.create_new(target, data)
                    written.append(target)
                atomic.create_new(path, text.encode("utf-8"))
                written.append(path)
            except FileExistsError:
                self._undo(written)
                raise StoreError("un fichier du même nom existe déjà : réessayez") from None
            except OSError as exc:
                self._undo(written)
                raise StoreError(_os_message(exc)) from None
            message = f"{learner_id} : {prepared.label.lower()} « {prepared.title} » ({author})"
            self._commit_or_undo(written, author=author, message=message)
        return StoredEntry(prepared, body.strip("\r\n"), path.relative_to(self.root).as_posix())

    def _plan_upload(self, name: str, data: bytes, index: int) -> tuple[str, bytes]:
        loc = ("attachments", index)
        limit = int(self.settings().uploads.max_mb * 1024 * 1024)
        if len(data) > limit:
            raise InvalidInput([FieldError(loc, f"fichier trop volumineux ({len(data) / 1048576:.1f} Mo ; "
                                                f"au plus {limit / 1048576:.0f} Mo)")])
        if not data:
            raise InvalidInput([FieldError(loc, "fichier vide")])
        try:
            mime = sniff(data)
            if mime is None:
                raise InvalidInput([FieldError(loc, f"type de fichier non accepté (acceptés : {allowed_labels()})")])
            stored = stored_name(name, mime)
        except AttachmentError as exc:
            raise InvalidInput([FieldError(loc, exc.error.message)]) from None
        short = str(ULID())[-8:].lower()
        return f"files/{short}-{stored}", data

    def save_attachment(self, learner_id: str, name: str, data: bytes, *, author: str) -> str:
        """Store one file on its own (API upload); returns ``files/<name>`` to cite in an entry."""
        self.load_learner(learner_id)
        rel_file, data = self._plan_upload(name, data, 0)
        target = self.learner_dir(learner_id) / rel_file
        with self.history.writing():
            try:
                atomic.create_new(target, data)
            except OSError as exc:
                raise StoreError(_os_message(exc)) from None
            self._commit_or_undo([target], author=author,
                                 message=f"{learner_id} : pièce jointe {rel_file} ({author})")
        return rel_file

    def _commit_or_undo(self, written: list[Path], *, author: str, message: str) -> None:
        """Commit files just written (grouped with other threads' commits); if git fails
        (a full disk...), remove them: all or nothing."""
        rel_paths = [p.relative_to(self.root).as_posix() for p in written]
        try:
            self.history.commit_grouped(rel_paths, author=author, message=message)
        except HistoryError as exc:
            self._undo(written)
            with self.history.lock():
                self.history.git("reset", "-q", "--", *rel_paths, check=False)  # unstage what git add staged
            raise StoreError(_history_message(exc)) from None

    def _undo(self, written: Iterable[Path]) -> None:
        for p in written:
            p.unlink(missing_ok=True)

    def write_profile(self, profile: LearnerProfile, body: str, *, author: str, message: str) -> None:
        """Create or replace a learner's profile (profiles are not entries: they may change)."""
        errors: list[FieldError] = []
        fw, _ = self.framework(profile.framework)
        if fw is None:
            errors.append(FieldError(("framework",), f"référentiel introuvable : {profile.framework}"))
        if errors:
            raise InvalidInput(errors)
        path = self.learner_dir(profile.id) / PROFILE_FILE
        data = profile.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
        data = {k: v for k, v in data.items() if v not in ([],)}
        with self.history.lock():
            try:
                atomic.replace(path, render_front_matter(data, body).encode("utf-8"))
            except OSError as exc:
                raise StoreError(_os_message(exc)) from None
            self.history.commit([path.relative_to(self.root).as_posix()], author=author, message=message)
        with self._cache_lock:
            self._cache.pop(path, None)

    def recover(self) -> list[str]:
        """Commit entry and attachment files a crash left written but not committed.

        Each entry is committed as its own author (from its front matter);
        returns the recovered paths.  Modified tracked files are left alone:
        that is tampering, for ``livret verify`` to report.
        """
        if not self.history.enabled:
            return []
        recovered = []
        with self.history.writing(exclusive=True), self.history.lock():
            self.history.clear_stale_locks()
            for rel in self.history.untracked():
                if not (self.root / rel).exists():  # staged, then removed by a failed write
                    self.history.git("reset", "-q", "--", rel, check=False)
                    continue
                parts = rel.split("/")
                if len(parts) != 3 or parts[1] not in ("entries", "files") or parts[2].startswith("."):
                    continue
                author = "livret"
                if parts[1] == "entries":
                    entry, _, _, probs = self._parse_entry(self.root / rel)
                    if entry is None:
                        continue
                    author = entry.author
                self.history.commit([rel], author=author, message=f"{parts[0]} : reprise après interruption ({rel})")
                recovered.append(rel)
        atomic.clean_temporary(self.root)
        return recovered


def _os_message(exc: OSError) -> str:
    import errno

    if exc.errno == errno.ENOSPC:
        return "disque plein : l'entrée n'a pas été enregistrée, rien n'a été modifié"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "le dépôt des portfolios est en lecture seule : l'entrée n'a pas été enregistrée"
    return f"écriture impossible ({exc.strerror}) : l'entrée n'a pas été enregistrée"


def _history_message(exc: HistoryError) -> str:
    import errno

    text = str(exc)
    if any(s in text for s in ("No space left", "Out of diskspace", "Disk quota")):
        return _os_message(OSError(errno.ENOSPC, text))
    if "Read-only file system" in text or "Permission denied" in text:
        return _os_message(OSError(errno.EROFS, text))
    return f"{text} : l'entrée n'a pas été enregistrée"


def _problems(rel: str, doc: Document, errors: Iterable[FieldError]) -> list[Problem]:
    return problems_for(rel, errors, doc.line_of)


def _line(path: Path, key: str) -> int | None:
    try:
        for i, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
            if line.startswith(f"{key}:"):
                return i
    except (OSError, UnicodeDecodeError):
        return None
    return None


__all__ = [
    "Store",
    "StoreError",
    "UnknownLearner",
    "StoredEntry",
    "LearnerRecord",
    "valid_learner_id",
    "ALLOWED_TYPES",
]
