"""Reading single files of the store (organisation, frameworks, profiles, entries), cached by (mtime, size).

Reading never raises for a bad file: problems are collected per file, with
the line of the offending key.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import FieldError, Problem, from_validation_error, problems_for
from .history import History
from .records import (
    FRAMEWORKS_DIR,
    ORGANISATION_FILE,
    PROFILE_FILE,
    UnknownLearner,
    regular_files,
    scan_folder,
    valid_learner_id,
)
from .schema import (
    ENTRY_ADAPTER,
    LEARNER_ID_RE,
    MAX_BODY,
    EntryBase,
    Framework,
    LearnerProfile,
    Organisation,
)
from .validation import reserved_key_errors
from .yamlio import Document, FrontMatterError, load_yaml, parse_front_matter


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
            return Organisation(), file_problems(rel, doc, from_validation_error(exc))

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
            return None, file_problems(rel, doc, from_validation_error(exc))
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
            return None, doc.body, file_problems(rel, doc, from_validation_error(exc))
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
        return [d / name for name in regular_files(scan_folder(d))]

    def file_names(self, learner_id: str) -> list[str]:
        return [f"files/{name}" for name in regular_files(scan_folder(self.learner_dir(learner_id) / "files"))]

    def profile(self, learner_id: str) -> LearnerProfile | None:
        """Only the learner's profile (None if invalid): cheap, for access checks on every request."""
        path = self.learner_dir(learner_id) / PROFILE_FILE
        if not path.is_file():
            raise UnknownLearner(f"apprenant·e inconnu·e : {learner_id}")
        return self._cached(path, self._parse_profile)[0]



def file_problems(rel: str, doc: Document, errors: Iterable[FieldError]) -> list[Problem]:
    return problems_for(rel, errors, doc.line_of)


def key_line(path: Path, key: str) -> int | None:
    try:
        for i, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
            if line.startswith(f"{key}:"):
                return i
    except (OSError, UnicodeDecodeError):
        return None
    return None
