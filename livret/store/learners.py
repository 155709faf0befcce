"""Reading a learner's whole record, re-read only when its files change, and checking the store."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from . import nofollow
from .date_range import EARLIEST_DATE, calendar_day, check_date_window, date_window
from .errors import Problem
from .french_dates import fr_date
from .reader import FileReader, file_problems, key_line, unreadable_message
from .records import (
    FRAMEWORKS_DIR,
    GROUPS_DIR,
    PROFILE_FILE,
    FolderState,
    LearnerRecord,
    StoredEntry,
    UnknownLearner,
    regular_files,
    scan_folder,
    unsafe_names,
    valid_learner_id,
)
from .schema import (
    EntryBase,
)
from .validation import check_entry
from .watch import TOP, WatchedValues, open_watch
from .yamlio import Document

#: Values kept by ``Store.derived`` (a dashboard of 1,000 learners keeps 1,000 summaries per day and audience).
DERIVED_LIMIT = 8192
T = TypeVar("T")
log = logging.getLogger("livret.store")


def claimed_id(entry: EntryBase | None, doc: Document | None) -> str | None:
    """The id an entry file claims, valid or not: two files never share one (see ``check``)."""
    if entry is not None:
        return entry.id
    value = doc.data.get("id") if doc is not None else None
    return value if isinstance(value, str) and value else None


class LearnerReader(FileReader):
    """Learner records, cached per state of their files, and values derived from them."""

    def __init__(self, root: Path, *, display_root: Path | None = None):
        super().__init__(root, display_root=display_root)
        #: learner id -> (signature of its files, record): see :meth:`load_learner`.
        self._records: dict[str, tuple[tuple, LearnerRecord]] = {}
        self._derived: OrderedDict[tuple, Any] = OrderedDict()
        #: With :meth:`watch_changes`: what is known not to have changed since it was read.
        self._kept: WatchedValues | None = None

    def watch_changes(self) -> bool:
        """Trust the kernel's change events (:mod:`livret.store.watch`) instead of scanning every
        learner's folders on every read; for long-running processes (the app).  False when the
        kernel cannot watch (then nothing changes: the reader scans)."""
        if self._kept is None:
            watch = open_watch(self.root)
            if watch is not None:
                self._kept = WatchedValues(watch)
        return self._kept is not None

    def _kept_value(self, name: str, key: str, compute: Callable[[], T]) -> T:
        kept = self._kept
        return compute() if kept is None else kept.get(name, key, compute)

    def learner_ids(self) -> list[str]:
        return list(self._kept_value(TOP, "ids", lambda: tuple(super(LearnerReader, self).learner_ids())))

    def profile(self, learner_id: str):
        return self._kept_value(learner_id, "profile", lambda: super(LearnerReader, self).profile(learner_id))

    def _signature(self, learner_id: str) -> FolderState | tuple[()]:
        """What a learner's record is made of: names, sizes and dates of its files and of its framework.

        Cheap (one directory scan per folder, no parsing), so that a page
        listing a thousand learners does not validate forty thousand entries
        again on every request.
        """
        ldir = self.learner_dir(learner_id)
        top = scan_folder(self.root, ldir)  # empty when the learner's folder is a link: no learner
        found = {name: (mtime, size, kind) for name, mtime, size, kind in top}
        if PROFILE_FILE not in found:
            return ()
        profile = None
        if found[PROFILE_FILE][2] == nofollow.FILE:
            profile = self._cached(ldir / PROFILE_FILE, self._parse_profile, found[PROFILE_FILE][:2])[0]
        framework: tuple = ()
        if profile is not None:
            try:
                fst = nofollow.lstat(self.root, f"{FRAMEWORKS_DIR}/{profile.framework}.yml")
                framework = (profile.framework, fst.st_mtime_ns, fst.st_size, nofollow.kind_of(fst.st_mode))
            except OSError:
                pass
        # The profile, and what the folder holds (not the folders' dates: a new entry changes those).
        state = (found[PROFILE_FILE], tuple((name, kind) for name, _, _, kind in top))
        return FolderState(state, framework, scan_folder(self.root, ldir / "entries"),
                         scan_folder(self.root, ldir / "files"))

    def load_learner(self, learner_id: str) -> LearnerRecord:
        """Profile, framework and valid entries (date order) of a learner, with every problem.

        Read again only when one of its files changed (see :meth:`_signature`);
        each caller gets its own lists.
        """
        signature = self._kept_value(learner_id, "signature", lambda: self._signature(learner_id))
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

    def valid_records(self, learner_ids: Iterable[str] | None = None) -> Iterator[LearnerRecord]:
        """The records of ``learner_ids`` (default: every learner) whose profile is valid, in order; a
        learner removed meanwhile or with an invalid profile is left out (``livret check`` reports it)."""
        for lid in self.learner_ids() if learner_ids is None else learner_ids:
            try:
                record = self.load_learner(lid)
            except UnknownLearner:
                continue
            if record.profile is not None:
                yield record

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
        if self._kept is not None:
            self._kept.forget(learner_id)
        with self._cache_lock:
            self._records.pop(learner_id, None)
            for key in [k for k in self._derived if k[0] == learner_id]:
                del self._derived[key]
            for path in [p for p in self._cache if ldir in p.parents]:
                del self._cache[path]

    def _extended(self, learner_id: str, previous: tuple[FolderState, LearnerRecord], signature: FolderState
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
        if unsafe_names(signature.entries) or unsafe_names(signature.files):
            return None  # a link or a special file: a problem, which a full read reports
        old_entries = set(old_signature.entries)
        if not old_entries.issubset(signature.entries) or not set(old_signature.files).issubset(signature.files):
            return None
        try:
            return self._with_added(learner_id, old, old_entries, signature)
        except Exception:  # noqa: BLE001 - the full read isolates what failed, file by file
            return None

    def _with_added(self, learner_id: str, old: LearnerRecord, old_entries: set, signature: FolderState
                    ) -> LearnerRecord | None:
        """:meth:`_extended` once the scans allow it: read and check the new entry files only."""
        files = [f"files/{name}" for name in regular_files(signature.files)]
        entries_dir = self.learner_dir(learner_id) / "entries"
        in_store = self._stored_prefix(entries_dir)
        others: dict[str, EntryBase] = {e.id: e.meta for e in old.entries}
        added: list[StoredEntry] = []
        for name, mtime, size, kind in signature.entries:
            if (name, mtime, size, kind) in old_entries:
                continue
            path = entries_dir / name
            if kind != nofollow.FILE or path.suffix != ".md":
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

    def _load_learner(self, learner_id: str, signature: FolderState | tuple[()] = ()) -> LearnerRecord:
        """Read a learner's folder; with its ``signature``, the folder scans it holds are reused.

        A link or a special file in the folder, ``entries/`` or ``files/`` is
        a problem and is absent from the record (never read, never listed).
        """
        ldir = self.learner_dir(learner_id)
        signature = signature or self._signature(learner_id)
        if not signature:
            raise UnknownLearner(f"apprenant·e inconnu·e : {learner_id}")
        problems: list[Problem] = []
        profile_path = ldir / PROFILE_FILE
        for name, kind in signature.profile[1]:
            if kind in (nofollow.LINK, nofollow.SPECIAL):
                problems.append(self.unsafe_problem(ldir / name, kind))
        for folder, scan in (("entries", signature.entries), ("files", signature.files)):
            problems += [self.unsafe_problem(ldir / folder / name, kind) for name, kind in unsafe_names(scan)]
        profile, profile_body = None, ""
        if signature.profile[0][2] == nofollow.FILE:
            profile, profile_body, pprobs = self._cached(profile_path, self._parse_profile, signature.profile[0][:2])
            problems += pprobs
        framework = None
        if profile is not None:
            framework, fprobs = self.framework(profile.framework)
            if framework is None and not fprobs:
                problems.append(Problem(self._rel(profile_path), key_line(profile_path, "framework"),
                                        f"framework : référentiel introuvable : {profile.framework}"))
        entries_dir = ldir / "entries"
        files = [f"files/{name}" for name in regular_files(signature.files)]
        listed = [(entries_dir / name, (mtime, size)) for name, mtime, size, kind in signature.entries
                  if kind == nofollow.FILE]

        # Every file claims its id, valid or not: a second file with the same id is reported and left out.
        parsed: list[tuple[Path, EntryBase, str, Document]] = []
        claimed: dict[str, Path] = {}
        for path, key in listed:
            if path.suffix != ".md":
                problems.append(Problem(self._rel(path), None,
                                        "fichier inattendu dans entries/ (seuls les .md sont lus)"))
                continue
            entry, body, doc, eprobs = self._cached(path, self._parse_entry, key)
            problems += eprobs
            entry_id = claimed_id(entry, doc)
            if entry_id is not None:
                if entry_id in claimed:
                    problems.append(Problem(self._rel(path), doc.line_of(("id",)),
                                            f"id : identifiant déjà utilisé par {self._rel(claimed[entry_id])}"))
                    continue
                claimed[entry_id] = path
            if entry is not None:
                parsed.append((path, entry, body, doc))

        by_id: dict[str, EntryBase] = {entry.id: entry for _, entry, _, _ in parsed}
        entries: list[StoredEntry] = []
        in_store = self._stored_prefix(entries_dir)  # once, not per entry
        for path, entry, body, doc in parsed:
            try:
                errors = check_entry(entry, framework=framework, others=by_id, files=files)
            except Exception as exc:  # noqa: BLE001 - one file's failure is that file's problem
                log.warning("vérification de %s impossible", path, exc_info=True)
                problems.append(Problem(self._rel(path), None, unreadable_message(exc)))
                continue
            if errors:
                problems += file_problems(self._rel(path), doc, errors)
                continue
            entries.append(StoredEntry(entry, body, in_store + path.name))
        entries.sort(key=lambda e: (e.meta.date, e.meta.recorded, e.id))
        return LearnerRecord(learner_id, profile, profile_body, framework, entries, files, problems)

    def warnings(self, today: dt.date | None = None) -> list[Problem]:
        """What a person should look at in files that stay readable: dates outside the plausible range.

        The range is the one new entries must respect
        (:func:`livret.store.date_range.date_window`), with "today" the day the
        entry was recorded (a file's date after its recording is implausible),
        and never after ``today`` (default: today in the organisation's
        timezone).  Profiles dated before the absolute floor are named too.
        """
        settings = self.settings()
        today = today or dt.datetime.now(ZoneInfo(settings.timezone)).date()
        out: list[Problem] = []
        for lid in self.learner_ids():
            record = self.load_learner(lid)
            profile = record.profile
            if profile is not None:
                path = self.learner_dir(lid) / PROFILE_FILE
                for key in ("start", "end"):
                    value = getattr(profile, key)
                    if value is not None and value < EARLIEST_DATE:
                        out.append(Problem(self._rel(path), key_line(path, key),
                                           f"{key} : date invraisemblable ({fr_date(value)}) : "
                                           f"au plus tôt le {fr_date(EARLIEST_DATE)}", warning=True))
            for e in record.entries:
                recorded = min(calendar_day(e.meta.recorded, settings.timezone), today)
                window = date_window(profile, settings.dates, recorded)
                path = self.root / e.path
                for error in check_date_window(e.meta, window, settings.timezone, today_is="son enregistrement"):
                    key = error.loc[0]
                    out.append(Problem(self._rel(path), key_line(path, key), f"{key} : {error.message}",
                                       warning=True))
        return out

    def check(self) -> list[Problem]:
        """Every problem in the store; never raises for a bad file.  Warnings: :meth:`warnings`."""
        problems: list[Problem] = []
        problems += self.organisation()[1]
        problems += self.people()[1]
        for fid in self.framework_ids():
            problems += self.framework(fid)[1]
        fw_dir = self.root / FRAMEWORKS_DIR
        for name, _, _, kind in scan_folder(self.root, fw_dir):
            if kind == nofollow.FILE and not name.endswith(".yml"):
                problems.append(Problem(self._rel(fw_dir / name), None,
                                        "fichier inattendu (les référentiels sont des .yml)"))
        problems += self._group_problems()
        # Every link and special file, wherever it is (none is ever followed or read).
        problems += [self.unsafe_problem(self.root / rel, kind) for rel, kind in sorted(nofollow.unsafe_items(self.root))]
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
        seen: dict[str, tuple[str, str]] = {}  # id -> (learner, file) of its first holder
        for lid in self.learner_ids():
            try:
                problems += self.load_learner(lid).problems
                claims = self._claimed_ids(lid)
            except UnknownLearner:
                continue  # removed while checking
            except Exception as exc:  # noqa: BLE001 - one learner's failure never stops the check
                log.warning("lecture de %s impossible", lid, exc_info=True)
                problems.append(Problem(self._rel(self.learner_dir(lid) / PROFILE_FILE), None,
                                        unreadable_message(exc)))
                continue
            for path, entry_id, line in claims:
                first = seen.setdefault(entry_id, (lid, self._rel(path)))
                if first[0] != lid:  # (the same learner's twins are in its record's problems)
                    problems.append(Problem(self._rel(path), line, f"id : identifiant déjà utilisé par {first[1]}"))
        return list(dict.fromkeys(problems))

    def _group_problems(self) -> list[Problem]:
        """Each group file's own problems, a member that is no learner, a file that is no group."""
        problems: list[Problem] = []
        known = set(self.learner_ids())
        for gid in self.group_ids():
            group, found = self.group(gid)
            problems += found
            if group is None:
                continue
            path = self.root / GROUPS_DIR / f"{gid}.yml"
            for i, member in enumerate(group.members):
                if member not in known:
                    problems.append(Problem(self._rel(path), key_line(path, "members"),
                                            f"members[{i}] : apprenant·e inconnu·e : {member}"))
        groups_dir = self.root / GROUPS_DIR
        for name, _, _, kind in scan_folder(self.root, groups_dir):
            if kind == nofollow.FILE and not name.endswith(".yml"):
                problems.append(Problem(self._rel(groups_dir / name), None,
                                        "fichier inattendu (les groupes sont des .yml)"))
        return problems

    def _claimed_ids(self, learner_id: str) -> list[tuple[Path, str, int | None]]:
        """(file, id, line of the id) of every entry file of a learner that claims an id, valid or not."""
        entries_dir = self.learner_dir(learner_id) / "entries"
        out = []
        for name, mtime, size, kind in scan_folder(self.root, entries_dir):
            if kind != nofollow.FILE or not name.endswith(".md"):
                continue
            path = entries_dir / name
            entry, _, doc, _ = self._cached(path, self._parse_entry, (mtime, size))
            entry_id = claimed_id(entry, doc)
            if entry_id is not None:
                out.append((path, entry_id, doc.line_of(("id",)) if doc is not None else None))
        return out

