"""Reading a learner's whole record, re-read only when its files change, and checking the store."""

from __future__ import annotations

import dataclasses
import os
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

from .errors import Problem
from .reader import FileReader, file_problems, key_line
from .records import (
    FRAMEWORKS_DIR,
    PROFILE_FILE,
    LearnerRecord,
    Signature,
    StoredEntry,
    UnknownLearner,
    regular_files,
    scan_folder,
    valid_learner_id,
)
from .schema import (
    EntryBase,
)
from .validation import check_entry
from .yamlio import Document

#: Values kept by ``Store.derived`` (a dashboard of 1,000 learners keeps 1,000 summaries per day and audience).
DERIVED_LIMIT = 8192
T = TypeVar("T")


class LearnerReader(FileReader):
    """Learner records, cached per state of their files, and values derived from them."""

    def __init__(self, root: Path, *, display_root: Path | None = None):
        super().__init__(root, display_root=display_root)
        #: learner id -> (signature of its files, record): see :meth:`load_learner`.
        self._records: dict[str, tuple[tuple, LearnerRecord]] = {}
        self._derived: OrderedDict[tuple, Any] = OrderedDict()

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
        return Signature((st.st_mtime_ns, st.st_size), framework, scan_folder(ldir / "entries"), scan_folder(ldir / "files"))

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
        files = [f"files/{name}" for name in regular_files(signature.files)]
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
                problems.append(Problem(self._rel(profile_path), key_line(profile_path, "framework"),
                                        f"framework : référentiel introuvable : {profile.framework}"))
        entries_dir = ldir / "entries"
        entries_scan = signature.entries if signature else scan_folder(entries_dir)
        files = [f"files/{name}" for name in regular_files(signature.files if signature else scan_folder(ldir / "files"))]
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
                problems += file_problems(self._rel(path), doc, errors)
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
                    problems.append(Problem(self._rel(path), key_line(path, "id"),
                                            f"id : identifiant déjà utilisé par {seen[e.id]}"))
                else:
                    seen[e.id] = self._rel(self.root / e.path)
        return problems

