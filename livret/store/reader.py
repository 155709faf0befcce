"""Reading single files of the store (organisation, frameworks, profiles, entries), cached by (mtime, size).

Reading never raises for a bad file: problems are collected per file, with
the line of the offending key.  A file is read without following a
symbolic link (:mod:`.nofollow`) and up to :data:`MAX_TEXT_BYTES`; whatever
goes wrong while reading one file (even an unexpected exception) becomes a
problem of that file, never an error of the caller (:func:`isolated`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from . import nofollow
from .errors import FieldError, Problem, from_validation_error, problems_for
from .history import History
from .records import (
    FRAMEWORKS_DIR,
    GROUPS_DIR,
    ORGANISATION_FILE,
    PEOPLE_FILE,
    PROFILE_FILE,
    StoreError,
    UnknownLearner,
    regular_files,
    scan_folder,
    valid_learner_id,
)
from .schema import (
    ENTRY_ADAPTER,
    GROUP_ID_RE,
    LEARNER_ID_RE,
    MAX_BODY,
    SESSIONS_DIR,
    USERNAME_RE,
    EntryBase,
    Framework,
    Group,
    LearnerProfile,
    Organisation,
)
from .validation import reserved_key_errors
from .yamlio import Document, FrontMatterError, load_yaml, parse_front_matter

log = logging.getLogger("livret.store")
T = TypeVar("T")

#: The largest text file of the store read (an entry: 100,000 characters of text and its front matter).
MAX_TEXT_BYTES = 4 * 1024 * 1024


def isolated(failure: Callable[[Problem], Any]):
    """Run a parser of one file so that any exception becomes a problem of that file.

    ``failure`` turns the problem into the parser's answer for an unreadable
    file.  A bug or a hostile file then costs one line in ``livret check``
    and one invalid file, never the dashboard of every learner.
    """
    def wrap(parse):
        @functools.wraps(parse)
        def run(self: "FileReader", path: Path):
            try:
                return parse(self, path)
            except Exception as exc:  # noqa: BLE001 - reported as a problem of the file, with its cause logged
                log.warning("lecture de %s impossible", path, exc_info=True)
                return failure(Problem(self._rel(path), None, unreadable_message(exc)))
        return run
    return wrap


def unreadable_message(exc: BaseException) -> str:
    """The French problem line of a file that could not be read at all."""
    if isinstance(exc, (nofollow.UnsafeFile, nofollow.FileTooBig)):
        return exc.message
    if isinstance(exc, RecursionError):
        return "fichier illisible : structure imbriquée trop profonde"
    if isinstance(exc, OSError):
        return f"fichier illisible ({exc.strerror or exc.__class__.__name__})"
    return f"fichier illisible ({exc.__class__.__name__})"


class FileReader:
    """Paths, the parse cache and the parsers of each kind of file."""

    def __init__(self, root: Path, *, display_root: Path | None = None):
        self.root = Path(root).resolve()
        self.display_root = Path(display_root).resolve() if display_root else self.root.parent
        self.history = History(self.root)
        self._cache: dict[Path, tuple[tuple[int, int], Any]] = {}
        self._cache_lock = threading.Lock()

    # ------------------------------------------------------------------ paths

    def _rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.display_root).as_posix()
        except ValueError:
            return path.as_posix()

    def unsafe_problem(self, path: Path, kind: str) -> Problem:
        """The problem of a symbolic link or special file of the store (never followed, never read)."""
        return Problem(self._rel(path), None,
                       nofollow.LINK_MESSAGE if kind == nofollow.LINK else nofollow.SPECIAL_MESSAGE)

    def writable_folder(self, learner_id: str, *folders: str) -> None:
        """Raise StoreError unless each ``<learner>/<folder>`` is a real folder (or absent, created on write).

        A write never goes through a link: the file would land wherever it points.
        """
        for folder in folders:
            kind = nofollow.kind(self.root, f"{learner_id}/{folder}")
            if kind not in (None, nofollow.DIR):
                message = nofollow.LINK_MESSAGE if kind == nofollow.LINK else nofollow.SPECIAL_MESSAGE
                raise StoreError(f"{learner_id}/{folder} : {message} ; rien n'a été enregistré")

    def learner_dir(self, learner_id: str) -> Path:
        if not valid_learner_id(learner_id):
            raise UnknownLearner(f"identifiant d'apprenant·e invalide : {learner_id!r}")
        return self.root / learner_id

    def _folders(self) -> list[str]:
        """The folders at the top of the store (a link to a folder is not one), dot names left out."""
        return [name for name, _, _, kind in nofollow.scan(self.root, "") if kind == nofollow.DIR]

    def _has_profile(self, learner_id: str) -> bool:
        """Whether ``<learner_id>/learner.md`` is there, whatever it is (a link is an invalid profile)."""
        return nofollow.kind(self.root, f"{learner_id}/{PROFILE_FILE}") is not None

    def learner_ids(self) -> list[str]:
        """Folders that hold a learner profile, sorted (a folder that is a link is none)."""
        return [name for name in self._folders() if valid_learner_id(name) and self._has_profile(name)]

    def stray_dirs(self) -> list[Path]:
        """Folders that are neither a learner, nor reserved, nor hidden."""
        return [self.root / name for name in self._folders()
                if name not in (FRAMEWORKS_DIR, GROUPS_DIR, SESSIONS_DIR) and not (valid_learner_id(name) and self._has_profile(name))]

    # ------------------------------------------------------------------ cache

    def _cached(self, path: Path, parse, key: tuple[int, int] | None = None):
        """Parse ``path`` once per (mtime, size); ``key``: those, when the caller just read them."""
        if key is None:
            try:
                st = path.lstat()
                key = (st.st_mtime_ns, st.st_size)
            except OSError:  # gone, or behind a link: the parser says what is wrong
                key = (-1, -1)
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
        """The text of a file of the store; never through a link, never more than :data:`MAX_TEXT_BYTES`."""
        try:
            raw = nofollow.read_bytes(self.root, path.relative_to(self.root).as_posix(), limit=MAX_TEXT_BYTES)
        except (nofollow.UnsafeFile, nofollow.FileTooBig) as exc:
            raise FrontMatterError(exc.message, None) from None
        except OSError as exc:
            raise FrontMatterError(unreadable_message(exc), None) from None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise FrontMatterError("le fichier n'est pas encodé en UTF-8", line) from None

    def organisation(self) -> tuple[Organisation, list[Problem]]:
        path = self.root / ORGANISATION_FILE
        if nofollow.kind(self.root, ORGANISATION_FILE) is None:
            return Organisation(), []
        return self._cached(path, self._parse_organisation)

    @isolated(lambda problem: (Organisation(), [problem]))
    def _parse_organisation(self, path: Path) -> tuple[Organisation, list[Problem]]:
        rel = self._rel(path)
        try:
            doc = load_yaml(self._read_text(path))
        except FrontMatterError as exc:
            return Organisation(), [Problem(rel, exc.line, exc.message)]
        try:
            return Organisation.model_validate(doc.data), []
        except ValidationError as exc:
            return Organisation(), file_problems(rel, doc, from_validation_error(exc))

    def settings(self) -> Organisation:
        return self.organisation()[0]

    def people(self) -> tuple[dict[str, str], list[Problem]]:
        """``_people.yml`` (optional): username -> name, for pages; the valid pairs and the problems."""
        if nofollow.kind(self.root, PEOPLE_FILE) is None:
            return {}, []
        return self._cached(self.root / PEOPLE_FILE, self._parse_people)

    def people_names(self) -> dict[str, str]:
        """The valid pairs of ``_people.yml`` (empty when there is none)."""
        return self.people()[0]

    @isolated(lambda problem: ({}, [problem]))
    def _parse_people(self, path: Path) -> tuple[dict[str, str], list[Problem]]:
        rel = self._rel(path)
        try:
            doc = load_yaml(self._read_text(path))
        except FrontMatterError as exc:
            return {}, [Problem(rel, exc.line, exc.message)]
        if doc.data is None:
            return {}, []
        if not isinstance(doc.data, dict):
            return {}, [Problem(rel, doc.line_of(()), "une liste « identifiant: Nom Prénom » est attendue")]
        names: dict[str, str] = {}
        problems: list[Problem] = []
        for key, value in doc.data.items():
            line = doc.line_of((key,))
            if not isinstance(key, str) or not USERNAME_RE.match(key):
                problems.append(Problem(rel, line, f"{key} : identifiant invalide (minuscules, chiffres, . _ -)"))
            elif not isinstance(value, str) or not value.strip() or len(value.strip()) > 200:
                problems.append(Problem(rel, line, f"{key} : un nom de 1 à 200 caractères est attendu"))
            else:
                names[key] = value.strip()
        return names, problems

    def framework_ids(self) -> list[str]:
        """The ``.yml`` names of ``_frameworks/`` (a link among them is listed, then refused when read)."""
        return [name[:-4] for name, _, _, kind in nofollow.scan(self.root, FRAMEWORKS_DIR)
                if name.endswith(".yml") and kind != nofollow.DIR]

    def framework(self, framework_id: str) -> tuple[Framework | None, list[Problem]]:
        if not LEARNER_ID_RE.match(framework_id or ""):
            return None, []
        path = self.root / FRAMEWORKS_DIR / f"{framework_id}.yml"
        if nofollow.kind(self.root, f"{FRAMEWORKS_DIR}/{framework_id}.yml") in (None, nofollow.DIR):
            return None, []
        return self._cached(path, self._parse_framework)

    def _parse_model(self, path: Path, model: type[T],
                     misnamed: Callable[[T, Path], str | None]) -> tuple[T | None, list[Problem]]:
        """A YAML file holding one ``model``; ``misnamed(value, path)`` says (at the ``id`` line) why the
        file's name does not match its content, or None."""
        rel = self._rel(path)
        try:
            doc = load_yaml(self._read_text(path))
        except FrontMatterError as exc:
            return None, [Problem(rel, exc.line, exc.message)]
        try:
            value = model.model_validate(doc.data)
        except ValidationError as exc:
            return None, file_problems(rel, doc, from_validation_error(exc))
        problem = misnamed(value, path)
        if problem is not None:
            return None, [Problem(rel, doc.line_of(("id",)), problem)]
        return value, []

    def _parse_named(self, path: Path, model: type[T]) -> tuple[T | None, list[Problem]]:
        """A YAML file holding one ``model`` whose ``id`` is the file's name (a framework, a group)."""
        return self._parse_model(path, model, lambda value, p: None if value.id == p.stem else
                                 f"id : « {value.id} » ne correspond pas au nom du fichier ({p.stem})")

    @isolated(lambda problem: (None, [problem]))
    def _parse_framework(self, path: Path) -> tuple[Framework | None, list[Problem]]:
        return self._parse_named(path, Framework)

    def frameworks(self) -> dict[str, Framework]:
        out = {}
        for fid in self.framework_ids():
            fw, _ = self.framework(fid)
            if fw is not None:
                out[fid] = fw
        return out

    def group_ids(self) -> list[str]:
        """The ``.yml`` names of ``_groups/`` (a link among them is listed, then refused when read)."""
        return [name[:-4] for name, _, _, kind in nofollow.scan(self.root, GROUPS_DIR)
                if name.endswith(".yml") and kind != nofollow.DIR]

    def group(self, group_id: str) -> tuple[Group | None, list[Problem]]:
        if not GROUP_ID_RE.match(group_id or ""):
            return None, []
        if nofollow.kind(self.root, f"{GROUPS_DIR}/{group_id}.yml") in (None, nofollow.DIR):
            return None, []
        return self._cached(self.root / GROUPS_DIR / f"{group_id}.yml", self._parse_group)

    @isolated(lambda problem: (None, [problem]))
    def _parse_group(self, path: Path) -> tuple[Group | None, list[Problem]]:
        return self._parse_named(path, Group)

    def groups(self) -> dict[str, Group]:
        """The valid groups, by id, sorted by name."""
        found = [g for g in (self.group(gid)[0] for gid in self.group_ids()) if g is not None]
        return {g.id: g for g in sorted(found, key=lambda g: (g.name.casefold(), g.id))}

    def groups_of(self, learner_id: str) -> list[Group]:
        return [g for g in self.groups().values() if learner_id in g.members]

    def revision(self, rel: str) -> str | None:
        """A fingerprint of a file of the store (SHA-256 of its bytes), None when it is absent.

        A form carries the revision it was filled from; a save whose file has
        another revision by then (a hand edit, another admin) is refused with
        :class:`~livret.store.records.StaleWrite` instead of overwriting it.
        """
        try:
            raw = nofollow.read_bytes(self.root, rel, limit=MAX_TEXT_BYTES)
        except FileNotFoundError:
            return None
        except (nofollow.UnsafeFile, nofollow.FileTooBig, OSError):
            return "unreadable"
        return hashlib.sha256(raw).hexdigest()

    @isolated(lambda problem: (None, "", [problem]))
    def _parse_profile(self, path: Path) -> tuple[LearnerProfile | None, str, list[Problem]]:
        rel = self._rel(path)
        try:
            doc = parse_front_matter(self._read_text(path))
        except FrontMatterError as exc:
            return None, "", [Problem(rel, exc.line, exc.message)]
        try:
            profile = LearnerProfile.model_validate(doc.data)
        except ValidationError as exc:
            return None, doc.body, file_problems(rel, doc, from_validation_error(exc))
        if profile.id != path.parent.name:
            return None, doc.body, [
                Problem(rel, doc.line_of(("id",)),
                        f"id : « {profile.id} » ne correspond pas au dossier ({path.parent.name})")
            ]
        return profile, doc.body, []

    @isolated(lambda problem: (None, "", None, [problem]))
    def _parse_entry(self, path: Path) -> tuple[EntryBase | None, str, Document | None, list[Problem]]:
        rel = self._rel(path)
        try:
            doc = parse_front_matter(self._read_text(path))
        except FrontMatterError as exc:
            return None, "", None, [Problem(rel, exc.line, exc.message)]
        errors = reserved_key_errors(doc.data)
        if errors:
            return None, doc.body, doc, file_problems(rel, doc, errors)
        try:
            entry = ENTRY_ADAPTER.validate_python(doc.data)
        except ValidationError as exc:
            return None, doc.body, doc, file_problems(rel, doc, from_validation_error(exc))
        if len(doc.body) > MAX_BODY:
            return None, doc.body, doc, [Problem(rel, doc.line_of(()), f"texte trop long (plus de {MAX_BODY} caractères)")]
        return entry, doc.body, doc, []

    def entry_paths(self, learner_id: str) -> list[Path]:
        d = self.learner_dir(learner_id) / "entries"
        return [d / name for name in regular_files(scan_folder(self.root, d))]

    def file_names(self, learner_id: str) -> list[str]:
        d = self.learner_dir(learner_id) / "files"
        return [f"files/{name}" for name in regular_files(scan_folder(self.root, d))]

    def _profile_path(self, learner_id: str) -> Path:
        """``<learner>/learner.md``; raise UnknownLearner when there is none (or the folder is a link)."""
        ldir = self.learner_dir(learner_id)
        if nofollow.kind(self.root, learner_id) != nofollow.DIR or not self._has_profile(learner_id):
            raise UnknownLearner(f"apprenant·e inconnu·e : {learner_id}")
        return ldir / PROFILE_FILE

    def profile(self, learner_id: str) -> LearnerProfile | None:
        """Only the learner's profile (None if invalid): cheap, for access checks on every request."""
        return self._cached(self._profile_path(learner_id), self._parse_profile)[0]



def file_problems(rel: str, doc: Document, errors: Iterable[FieldError]) -> list[Problem]:
    return problems_for(rel, errors, doc.line_of)


def key_line(path: Path, key: str) -> int | None:
    """The line of ``key:`` in a file (read without following a link), None when not found."""
    try:
        text = nofollow.read_bytes(path.parent, path.name, limit=MAX_TEXT_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for i, line in enumerate(text.split("\n"), 1):
        if line.startswith(f"{key}:"):
            return i
    return None
