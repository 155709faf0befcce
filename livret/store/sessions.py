"""Training sessions (séances): ``portfolios/_sessions/<YYYY-MM>/<date>-<half-day>-<end of id>.yml``.

A session is a half-day of training for a group, or for learners convened
one by one; it names no learner (docs/attendance.md).  Session files are
append-only like entries: a change is a new file whose ``updates`` names the
first session of its chain.  :class:`SessionStore` is mixed into
:class:`~livret.store.api.Store`: reading (cached per file), checking, and
writing new sessions with the learners' ``convocation`` entries in one
commit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from ulid import ULID

from . import nofollow
from .errors import FieldError, InvalidInput, Problem, from_validation_error
from .reader import isolated
from .records import scan_folder
from .schema import (
    AFTERNOON_FROM,
    SERVER_KEYS,
    SESSIONS_DIR,
    EntryBase,
    TrainingSession,
    _minutes,
)
from .yamlio import dump_yaml

#: ``_sessions/<YYYY-MM>``: one folder per month.
MONTH_RE = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
#: A change moves a session by this many days at most (readers look that far for a chain's versions).
MAX_MOVE_DAYS = 92


@dataclass(frozen=True)
class StoredSession:
    """A session as stored: the validated record and its file (relative to the store root)."""

    session: TrainingSession
    path: str

    @property
    def id(self) -> str:
        return self.session.id


def session_file_name(session: TrainingSession) -> str:
    """``_sessions/<YYYY-MM>/<date>-<half-day>-<end of id>.yml``, relative to the store root."""
    d = session.date
    return f"{SESSIONS_DIR}/{d:%Y-%m}/{d.isoformat()}-{session.half_day}-{session.id[-8:].lower()}.yml"


def session_data(session: TrainingSession) -> dict[str, Any]:
    """The session's YAML data: JSON types, no empty optional keys, in the schema's order."""
    data = session.model_dump(mode="json")
    keep = {"id", "recorded", "author", "date", "half_day", "start", "end", "title", "trainer", "modality",
            "status"}
    return {k: v for k, v in data.items() if k in keep or v not in (None, [], "")}


def _misnamed_session(session: TrainingSession, path: Path) -> str | None:
    """Why a session file's folder and name do not match its date, half-day and id (None when they do)."""
    expected = session_file_name(session).rsplit("/", 1)[-1]
    if path.name == expected and path.parent.name == f"{session.date:%Y-%m}":
        return None
    return (f"nom de fichier : {path.parent.name}/{path.name} ne correspond pas à la séance "
            f"(attendu {session.date:%Y-%m}/{expected})")


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def half_days(start: str, end: str, lunch_start: str = "12:30", lunch_end: str = "13:30") -> list[tuple[str, str, str]]:
    """Split ``start``-``end`` (``HH:MM``) into half-days: ``[(half_day, start, end), ...]``.

    A session that starts in the morning and ends after ``lunch_end`` becomes
    a morning (up to ``lunch_start``) and an afternoon (from ``lunch_end``);
    each is signed on its own.  Raises ValueError when ``end`` is not after
    ``start``.
    """
    s, e = _minutes(start), _minutes(end)
    if e <= s:
        raise ValueError("la fin précède le début")
    noon, ls, le = _minutes(AFTERNOON_FROM), _minutes(lunch_start), _minutes(lunch_end)
    if s < noon and e > le and s < ls:
        return [("matin", start, _clock(ls)), ("apres-midi", _clock(le), end)]
    return [("matin" if s < noon else "apres-midi", start, end)]


class SessionStore:
    """Reading, checking and writing training sessions; mixed into the Store."""

    root: Path

    # ------------------------------------------------------------------ reading

    def session_months(self) -> list[str]:
        """The ``YYYY-MM`` folders of ``_sessions/``, sorted."""
        return sorted(name for name, _, _, kind in nofollow.scan(self.root, SESSIONS_DIR)
                      if kind == nofollow.DIR and re.match(MONTH_RE, name))

    def _session_paths(self, month: str) -> list[Path]:
        folder = self.root / SESSIONS_DIR / month
        return [folder / name for name, _, _, kind in scan_folder(self.root, folder)
                if kind == nofollow.FILE and name.endswith(".yml")]

    @isolated(lambda problem: (None, [problem]))
    def _parse_session(self, path: Path) -> tuple[TrainingSession | None, list[Problem]]:
        return self._parse_model(path, TrainingSession, _misnamed_session)

    def _month_sessions(self, month: str) -> list[tuple[Path, TrainingSession | None, list[Problem]]]:
        out = []
        for path in self._session_paths(month):
            session, problems = self._cached(path, self._parse_session)
            out.append((path, session, problems))
        return out

    def sessions(self, start: dt.date | None = None, end: dt.date | None = None) -> list[StoredSession]:
        """Every valid session file (changes included) dated ``start``..``end`` (inclusive), by date and time."""
        months = self.session_months()
        if start is not None:
            months = [m for m in months if m >= f"{start:%Y-%m}"]
        if end is not None:
            months = [m for m in months if m <= f"{end:%Y-%m}"]
        out = []
        for month in months:
            for path, session, _ in self._month_sessions(month):
                if session is None:
                    continue
                if (start and session.date < start) or (end and session.date > end):
                    continue
                out.append(StoredSession(session, path.relative_to(self.root).as_posix()))
        out.sort(key=lambda s: (s.session.date, s.session.start, s.session.recorded, s.id))
        return out

    def session(self, session_id: str) -> StoredSession | None:
        """One session file by id (a change is its own file, with its own id)."""
        suffix = session_id[-8:].lower() + ".yml"
        for month in reversed(self.session_months()):
            for path in self._session_paths(month):
                if not path.name.endswith(suffix):
                    continue
                session, _ = self._cached(path, self._parse_session)
                if session is not None and session.id == session_id:
                    return StoredSession(session, path.relative_to(self.root).as_posix())
        return None

    def session_problems(self) -> list[Problem]:
        """Problems of the session files: parse errors, unknown group or framework, a broken chain, ids twice."""
        problems: list[Problem] = []
        valid: list[tuple[Path, TrainingSession]] = []
        for month in self.session_months():
            for path, session, found in self._month_sessions(month):
                problems += found
                if session is not None:
                    valid.append((path, session))
        top = self.root / SESSIONS_DIR
        for name, _, _, kind in scan_folder(self.root, top):
            if kind == nofollow.FILE or (kind == nofollow.DIR and name not in self.session_months()):
                problems.append(Problem(self._rel(top / name), None,
                                        "inattendu : les séances sont rangées par mois (_sessions/AAAA-MM/)"))
        by_id: dict[str, tuple[Path, TrainingSession]] = {}
        for path, session in valid:
            if session.id in by_id:
                problems.append(Problem(self._rel(path), None,
                                        f"id : identifiant déjà utilisé par {self._rel(by_id[session.id][0])}"))
            by_id.setdefault(session.id, (path, session))
        groups = set(self.group_ids())
        for path, session in valid:
            for error in self._session_reference_errors(session, by_id, groups):
                key = error.loc[0] if error.loc else "id"
                problems.append(Problem(self._rel(path), None, f"{key} : {error.message}"))
        return problems

    def check(self) -> list[Problem]:
        return super().check() + self.session_problems()  # type: ignore[misc]

    # ------------------------------------------------------------------ rules

    def _session_reference_errors(self, session: TrainingSession,
                                  others: Mapping[str, tuple[Any, TrainingSession]],
                                  groups: Iterable[str]) -> list[FieldError]:
        errors: list[FieldError] = []
        if session.group is not None and session.group not in groups:
            errors.append(FieldError(("group",), f"groupe inconnu : {session.group} (_groups/{session.group}.yml)"))
        if session.framework is not None:
            framework, _ = self.framework(session.framework)
            if framework is None:
                errors.append(FieldError(("framework",), f"référentiel introuvable : {session.framework}"))
            else:
                known = {c.code for b in framework.blocks for c in b.competencies}
                for i, code in enumerate(session.competencies):
                    if code not in known:
                        errors.append(FieldError(("competencies", i),
                                                 f"compétence inconnue dans {session.framework} : {code}"))
        if session.updates is not None:
            target = others.get(session.updates)
            if target is None:
                errors.append(FieldError(("updates",), f"aucune séance {session.updates}"))
            elif target[1].updates is not None:
                errors.append(FieldError(("updates",), "une modification nomme la première séance de la chaîne "
                                                       f"({target[1].updates})"))
        return errors

    # ------------------------------------------------------------------ writing

    def prepare_session(self, fields: Mapping[str, Any], *, author: str, author_name: str | None = None,
                        now: dt.datetime | None = None) -> TrainingSession:
        """Validate user fields as a new session file (server keys added); raise :class:`InvalidInput`."""
        errors = [FieldError((k,), "défini par le serveur : ne pas le fournir")
                  for k in (*SERVER_KEYS, "id") if k in fields and k != "role"]
        if "role" in fields:
            errors.append(FieldError(("role",), "clé inconnue"))
        if errors:
            raise InvalidInput(list(dict.fromkeys(errors)))
        settings = self.settings()
        now = now or dt.datetime.now(ZoneInfo(settings.timezone)).replace(microsecond=0)
        data = dict(fields)
        data.update(id=str(ULID()), recorded=now.isoformat(), author=author)
        if author_name and author_name.strip():
            data["author_name"] = author_name.strip()[:200]
        try:
            session = TrainingSession.model_validate(data)
        except ValidationError as exc:
            raise InvalidInput(from_validation_error(exc)) from None
        chain = {s.id: (s.path, s.session) for s in self.sessions()} if session.updates else {}
        errors = self._session_reference_errors(session, chain, self.group_ids())
        if session.updates and not errors:
            latest = max((s for _, s in chain.values() if s.chain == session.updates),
                         key=lambda s: (s.recorded, s.id))
            if latest.status == "cancelled":
                errors.append(FieldError(("updates",), "cette séance est annulée : elle ne se modifie plus"))
            first = chain[session.updates][1]
            if abs((session.date - first.date).days) > MAX_MOVE_DAYS:
                errors.append(FieldError(("date",), f"une séance se déplace de {MAX_MOVE_DAYS} jours au plus : "
                                                    "annulez-la et planifiez-en une nouvelle"))
        if errors:
            raise InvalidInput(errors)
        return session

    def write_sessions(self, items: Sequence[Mapping[str, Any]], *, author: str, author_name: str | None = None,
                       convocations: Mapping[int, Sequence[str]] | None = None, message: str,
                       now: dt.datetime | None = None) -> list[StoredSession]:
        """Write new session files, and each ``convocations[i]`` learner's convocation to session ``i``,
        in one commit: all validated first (errors located ``sessions.<i>.<field>`` and
        ``convocations.<i>.<j>``), all written, or nothing.
        """
        from .writer import NewEntry  # the writer mixes this class in; imported here to avoid a cycle

        convocations = convocations or {}
        prepared: list[TrainingSession] = []
        errors: list[FieldError] = []
        for i, fields in enumerate(items):
            try:
                prepared.append(self.prepare_session(fields, author=author, author_name=author_name, now=now))
            except InvalidInput as exc:
                errors += [FieldError(("sessions", i, *e.loc), e.message) for e in exc.errors]
        if errors:
            raise InvalidInput(errors)
        entries: list[tuple[tuple[int, int], NewEntry]] = []
        known = set(self.learner_ids())
        for i, learners in convocations.items():
            for j, learner_id in enumerate(learners):
                if learner_id not in known:
                    errors.append(FieldError(("convocations", i, j), f"apprenant·e inconnu·e : {learner_id}"))
                    continue
                s = prepared[i]
                # dated when it was written (an entry records what happened; the session says when)
                entries.append(((i, j), NewEntry(learner_id, {
                    "type": "convocation",
                    "date": (now or prepared[i].recorded).isoformat(),
                    "title": f"Convocation : {s.title} ({s.date:%d/%m/%Y}, {s.start})"[:200],
                    "session": s.id,
                })))
        checked: list[tuple[Any, EntryBase]] = []
        for loc, item in entries:
            try:
                checked.append((item, self.prepare_entry(item.learner_id, item.fields, author=author, role="tutor",
                                                         now=now, author_name=author_name, internal=True)))
            except InvalidInput as exc:
                errors += [FieldError(("convocations", *loc, *e.loc), e.message) for e in exc.errors]
        if errors:
            raise InvalidInput(errors)
        files = [(self.root / session_file_name(s), dump_yaml(session_data(s)).encode("utf-8")) for s in prepared]
        entry_files: list[tuple[Path, bytes]] = []
        for item, entry in checked:
            self.writable_folder(item.learner_id, "entries")
            entry, path, text = self._entry_file(self.learner_dir(item.learner_id), entry, "")
            entry_files.append((path, text))
        for path, _ in files:
            path.parent.mkdir(parents=True, exist_ok=True)
        with self.history.writing():
            written = self._create_new(files + entry_files)
            learner_ids = tuple(dict.fromkeys(item.learner_id for item, _ in checked))
            self._commit_or_undo(learner_ids[0] if len(learner_ids) == 1 else None, written, author=author,
                                 message=message, learner_ids=learner_ids if len(learner_ids) > 1 else (),
                                 affected=self._expected_somewhere(prepared))
        return [StoredSession(s, session_file_name(s)) for s in prepared]

    def _expected_somewhere(self, sessions: Sequence[TrainingSession]) -> tuple[str, ...]:
        """Learners who may be expected at these sessions: their groups' members and, for a change of a
        session planned one by one, those convened to it (their attendance pages change)."""
        out: dict[str, None] = {}
        chains = {s.chain for s in sessions if s.updates}
        for s in sessions:
            if s.group:
                group, _ = self.group(s.group)
                out.update(dict.fromkeys(group.members if group else ()))
        if chains:
            for record in self.valid_records():
                if any(e.type == "convocation" and e.meta.session in chains for e in record.entries):
                    out[record.id] = None
        return tuple(out)


def latest_versions(stored: Iterable[StoredSession]) -> dict[str, StoredSession]:
    """The latest file of each session chain, by the chain's first id."""
    out: dict[str, StoredSession] = {}
    for s in sorted(stored, key=lambda s: (s.session.recorded, s.id)):
        out[s.session.chain] = s
    return out
