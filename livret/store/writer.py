"""Appending to the store: new entries (atomic, never replacing a file, one commit), profiles, recovery."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from ulid import ULID

from . import atomic, nofollow
from .date_range import calendar_day, check_date_window, date_window
from .errors import FieldError, InvalidInput, from_validation_error
from .history import HistoryError
from .records import (
    FRAMEWORKS_DIR,
    GROUPS_DIR,
    PROFILE_FILE,
    LearnerRecord,
    StaleWrite,
    StoredEntry,
    StoreError,
)
from .schema import (
    ENTRY_ADAPTER,
    ENTRY_MODELS,
    ENTRY_TYPES,
    MAX_BODY,
    SERVER_KEYS,
    EntryBase,
    Group,
    LearnerProfile,
    entry_to_data,
)
from .validation import (
    PlanContacts,
    check_entry,
    check_plan_people,
    raw_rating_errors,
    reserved_key_errors,
    unencodable_errors,
)
from .visibility import nameable
from .yamlio import dump_yaml, render_front_matter

log = logging.getLogger("livret.store")


@dataclass(frozen=True)
class Commit:
    """A write that reached the store (and its git history, when it has one)."""

    learner_id: str | None  # None for a write outside learners' folders (a framework...)
    paths: tuple[str, ...]  # relative to the store root
    author: str
    message: str
    #: The git commit, None when the store has no history.
    commit_id: str | None = None
    #: Every learner the commit touched, when it touched several (a CSV import, a bulk entry).
    learner_ids: tuple[str, ...] = ()
    #: Learners whose derived pages change although their folder does not (a session planned, moved or
    #: cancelled changes the attendance page of everyone expected at it).
    affected: tuple[str, ...] = ()

    @property
    def learners(self) -> tuple[str, ...]:
        """The learners whose folder the commit changed (none for a framework or a group)."""
        if self.learner_ids:
            return self.learner_ids
        return (self.learner_id,) if self.learner_id else ()


#: ``expected`` of a change that replaces whatever is there (a command-line tool, a migration).
ANY_REVISION = "*"


@dataclass(frozen=True)
class ProfileChange:
    """A learner profile to write.  ``expected``: the revision the change was made from
    (:meth:`~livret.store.reader.FileReader.revision`), None for a new learner (refused if
    the folder exists), :data:`ANY_REVISION` to replace without looking."""

    profile: LearnerProfile
    body: str | None = None  # None: keep the profile's current text
    expected: str | None = ANY_REVISION


@dataclass(frozen=True)
class GroupChange:
    """A group to write (or, with ``delete``, to remove); ``expected`` as for :class:`ProfileChange`."""

    group: Group
    expected: str | None = ANY_REVISION
    delete: bool = False


@dataclass(frozen=True)
class NewEntry:
    """One entry of a write to several learners at once (:meth:`EntryWriter.append_entries`)."""

    learner_id: str
    fields: dict[str, Any]
    body: str = ""
    #: A planned meeting's reminder addresses as the app knows them (see :meth:`EntryWriter.prepare_entry`).
    contacts: PlanContacts | None = None


#: Why a type that is not ``direct`` is refused on the generic paths (forms, API, imports).
NOT_DIRECT = {"signature": "une signature ne s'écrit pas comme une entrée : elle s'enregistre avec le bouton "
                           "« Signer » de l'entrée à signer (le serveur calcule ce qui est signé)",
              "attendance-mark": "un relevé de présence s'enregistre depuis la page de la séance (formateur·rice "
                                 "ou administrateur·rice)",
              "convocation": "une convocation s'enregistre en planifiant la séance"}

#: What upper layers register in ``Store.after_commit``.
AfterCommit = Callable[[Commit], None]


def _now(tz: str) -> dt.datetime:
    return dt.datetime.now(ZoneInfo(tz)).replace(microsecond=0)



class EntryWriter:
    """Writes; mixed into :class:`~livret.store.api.Store` with the readers."""

    after_commit: list[AfterCommit]

    def _witnessed(self, commit: Commit) -> None:
        """Tell every after-commit hook; a durable write is never undone by what watches it."""
        for hook in list(self.after_commit):
            try:
                hook(commit)
            except StoreError:
                raise  # a witness that cannot record (the seal's journal): the write is answered as failed
            except Exception:  # noqa: BLE001 - a follower's failure (a rebuild...) is logged, the write stands
                log.exception("après écriture : %s a échoué (%s)", getattr(hook, "__qualname__", hook),
                              commit.learner_id)

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
        author_name: str | None = None,
        internal: bool = False,
        contacts: PlanContacts | None = None,
    ) -> EntryBase:
        """Validate user fields as a new entry (server keys added); raise InvalidInput.

        ``author_name``: the writer's name at write time (pages show people by
        name).  A type that is not ``direct`` (a signature) is refused unless
        ``internal``: only its own service writes it (livret.signoff).
        ``contacts``: the addresses a planned meeting's reminders would go to,
        as the app knows them (default: the profile's only,
        :func:`livret.store.validation.check_plan_people`).
        """
        errors = [FieldError((k,), "défini par le serveur : ne pas le fournir")
                  for k in SERVER_KEYS if k in fields]
        errors += reserved_key_errors(fields) + unencodable_errors(fields, body)
        if not isinstance(body, str):
            errors.append(FieldError(("body",), "texte attendu"))
        elif len(body) > MAX_BODY:
            errors.append(FieldError(("body",), f"texte trop long (au plus {MAX_BODY} caractères)"))
        if errors:
            raise InvalidInput(errors)
        settings = self.settings()
        now = now or _now(settings.timezone)
        data = dict(fields)
        given = data.get("attachments")
        if given is not None and not isinstance(given, list):
            raise InvalidInput([FieldError(("attachments",), "liste de fichiers attendue (files/<nom>)")])
        data["attachments"] = list(given or []) + list(attachments)
        if not data["attachments"]:
            del data["attachments"]
        data.update(id=str(ULID()), recorded=now.isoformat(), author=author, role=role)
        if author_name and author_name.strip():
            data["author_name"] = author_name.strip()[:200]
        if "type" not in data:
            raise InvalidInput([FieldError(("type",), "clé obligatoire manquante")])
        if data.get("type") not in ENTRY_TYPES:
            raise InvalidInput([FieldError(("type",), f"type inconnu : {data.get('type')!r}")])
        if not internal and not ENTRY_MODELS[data["type"]].direct:
            raise InvalidInput([FieldError(("type",), NOT_DIRECT.get(data["type"], "type écrit par livret seulement"))])
        record = record or self.load_learner(learner_id)
        try:
            entry = ENTRY_ADAPTER.validate_python(data)
        except ValidationError as exc:
            errors = from_validation_error(exc)
            seen = {e.loc for e in errors}
            errors += [e for e in raw_rating_errors(data, record.framework) if e.loc not in seen]
            raise InvalidInput(errors) from None
        # Only what the writer sees may be named: a staff entry is an unknown id to a learner.
        others = nameable({e.id: e.meta for e in record.entries}, role)
        files = set(record.files) | set(attachments)
        errors = check_entry(entry, framework=record.framework, others=others, files=files)
        errors += check_plan_people(entry, record.profile, contacts)
        # One range for every date, from the learner's programme; "today" is the organisation's.
        window = date_window(record.profile, settings.dates, calendar_day(now, settings.timezone))
        errors += check_date_window(entry, window, settings.timezone)
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
        author_name: str | None = None,
        internal: bool = False,
        message: str | None = None,
        contacts: PlanContacts | None = None,
        generated: Sequence[tuple[str, bytes]] = (),
    ) -> StoredEntry:
        """Validate and write a new entry (and its uploaded files) in one commit.

        ``author_name`` and ``internal``: see :meth:`prepare_entry`; ``message``
        replaces the commit's default message.  ``generated``: files livret
        made itself, never a user's bytes (a drawn signature's SVG, built by
        livret.attendance), as ``(files/<name>, bytes)``: stored under the
        name given (which the caller may seal), not sniffed.  Raises
        :class:`InvalidInput` (nothing written) or :class:`StoreError`.
        """
        record = self.load_learner(learner_id)
        ldir = self.learner_dir(learner_id)
        planned = [self._plan_upload(name, data, i) for i, (name, data) in enumerate(uploads)] + list(generated)
        prepared = self.prepare_entry(
            learner_id, fields, body, author=author, role=role, now=now,
            attachments=[p for p, _ in planned], record=record, author_name=author_name, internal=internal,
            contacts=contacts,
        )
        self.writable_folder(learner_id, "entries", *(["files"] if planned else []))
        prepared, path, text = self._entry_file(ldir, prepared, body)
        with self.history.writing():  # new names, never replacing a file: no lock needed until the commit
            written = self._create_new([*((ldir / rel_file, data) for rel_file, data in planned), (path, text)])
            message = message or f"{learner_id} : {prepared.label.lower()} « {prepared.title} » ({author})"
            self._commit_or_undo(learner_id, written, author=author, message=message)
        return StoredEntry(prepared, body.strip("\r\n"), path.relative_to(self.root).as_posix())

    @staticmethod
    def _entry_file(ldir: Path, entry: EntryBase, body: str) -> tuple[EntryBase, Path, bytes]:
        """The entry's file (``entries/<date>-<type>-<end of id>.md``) and text; a new id if the name is
        taken (two entries of one day whose ids end alike)."""
        for _ in range(5):
            path = ldir / "entries" / f"{entry.date.date().isoformat()}-{entry.type}-{entry.id[-8:].lower()}.md"
            if not path.exists():
                break
            entry = entry.model_copy(update={"id": str(ULID())})
        return entry, path, render_front_matter(entry_to_data(entry), body).encode("utf-8")

    def _create_new(self, files: Sequence[tuple[Path, bytes]]) -> list[Path]:
        """Create each file (never replacing one); all or nothing: on failure those created are removed
        and StoreError says why."""
        written: list[Path] = []
        try:
            for path, data in files:
                atomic.create_new(path, data)
                written.append(path)
        except FileExistsError:
            self._undo(written)
            raise StoreError("un fichier du même nom existe déjà : réessayez") from None
        except OSError as exc:
            self._undo(written)
            raise StoreError(os_message(exc)) from None
        return written

    def _commit_or_undo(self, learner_id: str | None, written: list[Path], *, author: str, message: str,
                        learner_ids: tuple[str, ...] = (), affected: tuple[str, ...] = ()) -> None:
        """Commit files just written (grouped with other threads' commits); if git fails
        (a full disk...), remove them: all or nothing.  Then tell the after-commit hooks."""
        rel_paths = [p.relative_to(self.root).as_posix() for p in written]
        try:
            commit_id = self.history.commit_grouped(rel_paths, author=author, message=message)
        except HistoryError as exc:
            self._undo(written)
            with self.history.lock():
                self.history.git("reset", "-q", "--", *rel_paths, check=False)  # unstage what git add staged
            raise StoreError(history_message(exc)) from None
        self._witnessed(Commit(learner_id, tuple(rel_paths), author, message, commit_id, learner_ids, affected))

    def _undo(self, written: Iterable[Path]) -> None:
        for p in written:
            p.unlink(missing_ok=True)

    def write_profile(self, profile: LearnerProfile, body: str | None, *, author: str, message: str,
                      expected: str | None = ANY_REVISION) -> str | None:
        """Create or replace one learner's profile (profiles are not entries: they may change); one commit.

        Errors are located at the profile's fields (``framework``...)."""
        try:
            return self.write_changes([ProfileChange(profile, body, expected)], author=author, message=message)
        except InvalidInput as exc:
            raise InvalidInput([FieldError(e.loc[2:], e.message) for e in exc.errors]) from None

    def write_changes(self, profiles: Sequence[ProfileChange] = (), groups: Sequence[GroupChange] = (), *,
                      author: str, message: str) -> str | None:
        """Write profiles and groups together: all validated, all written, one commit, or nothing.

        Refuses (:class:`InvalidInput`, locations ``profiles.<i>.<field>`` /
        ``groups.<i>.<field>``) an unknown framework, a new learner whose
        folder exists, the same learner twice, a group member who is no
        learner; refuses with :class:`StaleWrite` a file that changed since
        its ``expected`` revision.  Files whose bytes would not change are
        left alone; when none changes, nothing is committed (returns None).
        Returns the commit id.
        """
        errors: list[FieldError] = []
        frameworks = set(self.framework_ids())
        seen: set[str] = set()
        for i, change in enumerate(profiles):
            p = change.profile
            if p.framework not in frameworks:
                errors.append(FieldError(("profiles", i, "framework"), f"référentiel introuvable : {p.framework}"))
            if p.id in seen:
                errors.append(FieldError(("profiles", i, "id"), f"{p.id} figure deux fois"))
            seen.add(p.id)
            if change.expected is None and nofollow.kind(self.root, p.id) is not None:
                errors.append(FieldError(("profiles", i, "id"), f"l'apprenant·e {p.id} existe déjà"))
        learners = set(self.learner_ids()) | seen
        for i, change in enumerate(groups):
            if change.delete:
                continue
            for j, member in enumerate(change.group.members):
                if member not in learners:
                    errors.append(FieldError(("groups", i, "members", j), f"apprenant·e inconnu·e : {member}"))
        if errors:
            raise InvalidInput(errors)
        files: list[tuple[Path, bytes | None, str | None]] = []  # (path, new bytes or None to remove, expected)
        for change in profiles:
            path = self.learner_dir(change.profile.id) / PROFILE_FILE
            body = change.body
            if body is None:
                # the free text kept as it is: the profile's own parse, not the learner's whole record
                body = (self._cached(self._profile_path(change.profile.id), self._parse_profile)[1]
                        if change.expected is not None else "")
            files.append((path, profile_text(change.profile, body), change.expected))
        for change in groups:
            path = self.root / GROUPS_DIR / f"{change.group.id}.yml"
            text = None if change.delete else dump_yaml(group_data(change.group)).encode("utf-8")
            files.append((path, text, change.expected))
        learner_ids = tuple(c.profile.id for c in profiles)
        with self.history.writing(), self.history.lock():
            for path, _, expected in files:
                rel = path.relative_to(self.root).as_posix()
                if expected != ANY_REVISION and self.revision(rel) != expected:
                    raise StaleWrite(rel)
            for change in profiles:
                self.writable_folder(change.profile.id)
            previous: list[tuple[Path, bytes | None]] = []
            try:
                for path, text, _ in files:
                    rel = path.relative_to(self.root).as_posix()
                    old = nofollow.read_bytes(self.root, rel, limit=None) if path.is_file() else None
                    if old == text:
                        continue  # unchanged (or absent and removed): nothing to write or commit
                    previous.append((path, old))
                    if text is None:
                        path.unlink(missing_ok=True)
                    else:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        atomic.replace(path, text)
                rels = [p.relative_to(self.root).as_posix() for p, _ in previous]
                commit_id = self.history.commit(rels, author=author, message=message) if rels else None
            except (OSError, HistoryError) as exc:
                self._restore(previous)
                changed = [p.relative_to(self.root).as_posix() for p, _ in previous]
                if changed:
                    self.history.git("reset", "-q", "--", *changed, check=False)
                if isinstance(exc, HistoryError):
                    raise StoreError(history_message(exc)) from None
                raise StoreError(os_message(exc)) from None
            finally:
                with self._cache_lock:
                    for path, _, _ in files:
                        self._cache.pop(path, None)
        if rels:
            single = learner_ids[0] if len(learner_ids) == 1 else None
            self._witnessed(Commit(single, tuple(rels), author, message, commit_id,
                                   learner_ids if len(learner_ids) > 1 else ()))
        return commit_id

    def _restore(self, previous: Iterable[tuple[Path, bytes | None]]) -> None:
        """Put back the files a failed write changed (an absent one removed)."""
        for path, old in previous:
            try:
                if old is None:
                    path.unlink(missing_ok=True)
                else:
                    atomic.replace(path, old)
            except OSError:  # pragma: no cover - the disk refuses even that: recover() and verify say so
                log.exception("restauration impossible de %s", path)

    def append_entries(self, items: Sequence[NewEntry], *, author: str, role: str, message: str,
                       now: dt.datetime | None = None, author_name: str | None = None,
                       internal: bool = False) -> list[StoredEntry]:
        """The same kind of write to several learners at once: one new file per learner, one commit.

        Every entry is validated first (errors located ``entries.<i>.<field>``);
        nothing is written unless all are valid.  ``internal``: see :meth:`prepare_entry`
        (a trainer's countersignature of a session's sheet).
        """
        prepared: list[tuple[NewEntry, EntryBase]] = []
        errors: list[FieldError] = []
        for i, item in enumerate(items):
            try:
                prepared.append((item, self.prepare_entry(item.learner_id, item.fields, item.body, author=author,
                                                          role=role, now=now, author_name=author_name,
                                                          contacts=item.contacts, internal=internal)))
            except InvalidInput as exc:
                errors += [FieldError(("entries", i, *e.loc), e.message) for e in exc.errors]
        if errors:
            raise InvalidInput(errors)
        files: list[tuple[Path, bytes]] = []
        stored: list[StoredEntry] = []
        for item, entry in prepared:
            self.writable_folder(item.learner_id, "entries")
            entry, path, text = self._entry_file(self.learner_dir(item.learner_id), entry, item.body)
            files.append((path, text))
            stored.append(StoredEntry(entry, item.body.strip("\r\n"), path.relative_to(self.root).as_posix()))
        with self.history.writing():
            written = self._create_new(files)
            learner_ids = tuple(dict.fromkeys(item.learner_id for item, _ in prepared))
            self._commit_or_undo(learner_ids[0] if len(learner_ids) == 1 else None, written, author=author,
                                 message=message, learner_ids=learner_ids if len(learner_ids) > 1 else ())
        return stored

    def write_framework(self, framework_id: str, data: dict, *, author: str, message: str,
                        force: bool = False, expected: str | None = ANY_REVISION) -> Path:
        """Write ``_frameworks/<id>.yml`` atomically (YAML from ``data``) and commit it, witnessed like every write.

        Refuses to replace an existing framework unless ``force``; raises
        :class:`StoreError` with a French message.  With ``force``,
        ``expected`` is the revision the replacement was decided on (a
        preview): :class:`StaleWrite` if the file changed since.
        """
        path = self.root / FRAMEWORKS_DIR / f"{framework_id}.yml"
        text = dump_yaml(data).encode("utf-8")
        rel = path.relative_to(self.root).as_posix()
        with self.history.writing(), self.history.lock():
            if force and expected != ANY_REVISION and self.revision(rel) != expected:
                raise StaleWrite(rel)
            try:
                if force and path.is_file() and path.read_bytes() == text:
                    return path  # the same framework: nothing to write, nothing to commit
                if force:
                    atomic.replace(path, text)
                else:
                    atomic.create_new(path, text)
            except FileExistsError:
                raise StoreError(f"le référentiel {framework_id} existe déjà ({rel}) : "
                                 "choisissez un autre --id ou ajoutez --force pour le remplacer") from None
            except OSError as exc:
                raise StoreError(f"écriture impossible de {rel} : {exc.strerror}") from None
            commit_id = self.history.commit([rel], author=author, message=message)
            with self._cache_lock:
                self._cache.pop(path, None)
            self._witnessed(Commit(None, (rel,), author, message, commit_id))
        return path

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
                kind = nofollow.kind(self.root, rel)
                if kind is None:  # staged, then removed by a failed write
                    self.history.git("reset", "-q", "--", rel, check=False)
                    continue
                parts = rel.split("/")
                if len(parts) != 3 or parts[1] not in ("entries", "files") or parts[2].startswith("."):
                    continue
                if kind != nofollow.FILE:
                    continue  # a link is never livret's: ``check`` reports it, nothing commits it
                author = "livret"
                if parts[1] == "entries":
                    entry, _, _, probs = self._parse_entry(self.root / rel)
                    if entry is None:
                        continue
                    author = entry.author
                message = f"{parts[0]} : reprise après interruption ({rel})"
                commit_id = self.history.commit([rel], author=author, message=message)
                recovered.append(Commit(parts[0], (rel,), author, message, commit_id))
        atomic.clean_temporary(self.root)
        for commit in recovered:
            self._witnessed(commit)
        return [commit.paths[0] for commit in recovered]



def storage_cause(exc: OSError, place: str = "le dépôt des portfolios") -> str | None:
    """What a failed write says about the disk, in French (« disque plein », « <place> est en
    lecture seule »); None when it is not a disk condition (a bug, a bad path...).

    One mapping for every layer: the store's writes, the instance database, the build.
    """
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disque plein"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"{place} est en lecture seule"
    if exc.errno == errno.EIO:
        return f"erreur d'entrée-sortie du disque ({place})"
    return None


def os_message(exc: OSError) -> str:
    cause = storage_cause(exc) or f"écriture impossible ({exc.strerror})"
    if cause == "disque plein":
        return f"{cause} : l'entrée n'a pas été enregistrée, rien n'a été modifié"
    return f"{cause} : l'entrée n'a pas été enregistrée"


def history_message(exc: HistoryError) -> str:
    import errno

    text = str(exc)
    if any(s in text for s in ("No space left", "Out of diskspace", "Disk quota")):
        return os_message(OSError(errno.ENOSPC, text))
    if "Read-only file system" in text or "Permission denied" in text:
        return os_message(OSError(errno.EROFS, text))
    return f"{text} : l'entrée n'a pas été enregistrée"




def profile_text(profile: LearnerProfile, body: str) -> bytes:
    """A profile file: its front matter (YAML dumper, empty values left out) and its text."""
    data = profile.model_dump(mode="json", exclude_none=True)
    data = {k: v for k, v in data.items() if v != []}
    return render_front_matter(data, body).encode("utf-8")


def group_data(group: Group) -> dict[str, Any]:
    return {k: v for k, v in group.model_dump(mode="json", exclude_none=True).items() if v != []}
