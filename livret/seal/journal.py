"""The witness journal: every commit livret makes, in a hash chain outside the store.

A git history proves nothing to someone who can rewrite it.  The journal
lives in the instance database (outside ``portfolios/``) and records, for
each commit livret makes, its id and tree id, the server time and the author
as a salted hash, each record holding the hash of the one before.  ``livret
verify`` then checks the history against it (:mod:`livret.seal.check`).

Records hold no personal data: ids, hashes and times.  An explanation (why a
foreign commit was accepted, why an erasure rewrote history) is kept beside
the chain, in ``journal_notes``; the chain holds only its SHA-256, so that a
note can be erased without breaking the chain.

Kinds of record:

``genesis``
    where the journal starts: the head of the history at that moment (the
    commits before it are the baseline, not witnessed);
``commit``
    a commit livret made (the after-commit hook of every write path);
``foreign``
    a commit found in the history that livret did not make (a hand edit
    committed with git), recorded by ``verify`` and reported until accepted;
``accepted``
    an admin's acknowledgement of a foreign commit, with a reason.

The local write is part of the append: when the database refuses it (a full
or read-only disk, a lock held too long), the record goes to an fsynced spool
file (``instance/seal/spool.jsonl``) and is replayed, in order, before the
next record; only when both fail does the write itself fail.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import subprocess
import threading
import weakref
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from ..instance import db as instance_db
from ..store import Commit, StoreError, atomic
from ..store.history import History

KINDS = ("genesis", "commit", "foreign", "accepted")
#: ``prev`` of the first record.
ORIGIN = "0" * 64
SEAL_DIR = "seal"
SALT_FILE = "salt"
SPOOL_FILE = "spool.jsonl"
#: How far before the last record :meth:`Journal.catch_up` looks for commits livret left unrecorded.
CATCH_UP_WINDOW = dt.timedelta(minutes=10)

instance_db.register("seal_journal", [
    """
    CREATE TABLE journal (
        seq INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        commit_id TEXT NOT NULL,
        tree_id TEXT NOT NULL,
        recorded TEXT NOT NULL,
        author TEXT NOT NULL,
        note TEXT NOT NULL,
        prev TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE
    );
    CREATE INDEX journal_commit ON journal (commit_id);
    CREATE TABLE journal_notes (
        seq INTEGER PRIMARY KEY,
        text TEXT NOT NULL
    );
    """,
])


class JournalError(StoreError):
    """The journal could not record a commit (database and spool both refused).

    A :class:`~livret.store.StoreError`: the write that caused it is answered
    as failed (503 in the app).  Its commit, already made, is recorded at the
    next start (:meth:`Journal.catch_up`).
    """


@dataclass(frozen=True)
class Record:
    """One record of the chain; ``hash`` covers every other field."""

    seq: int
    kind: str
    commit_id: str  # "" for a genesis on a store without history
    tree_id: str
    recorded: str  # server time, UTC, ISO 8601
    author: str  # HMAC-SHA256 of the username with the instance's salt, hex ("" when none)
    note: str  # SHA-256 of the note, hex ("" when none)
    prev: str
    hash: str

    def expected_hash(self) -> str:
        return record_hash(self.seq, self.kind, self.commit_id, self.tree_id, self.recorded, self.author,
                           self.note, self.prev)

    def to_json(self) -> dict:
        return asdict(self)


def record_hash(seq: int, kind: str, commit_id: str, tree_id: str, recorded: str, author: str, note: str,
                prev: str) -> str:
    """The SHA-256 of a record's fields in a canonical form (a JSON array, no spaces)."""
    fields = [seq, kind, commit_id, tree_id, recorded, author, note, prev]
    return hashlib.sha256(json.dumps(fields, separators=(",", ":")).encode("utf-8")).hexdigest()


def chain_problems(records: Iterable[Record]) -> list[str]:
    """What is wrong with a sequence of records as a chain (empty when intact)."""
    problems = []
    prev, expected_seq = ORIGIN, 1
    for record in records:
        if record.seq != expected_seq:
            problems.append(f"enregistrement n° {expected_seq} manquant (le suivant est le n° {record.seq})")
        if record.kind not in KINDS:
            problems.append(f"enregistrement n° {record.seq} : nature inconnue « {record.kind} »")
        if record.prev != prev:
            problems.append(f"enregistrement n° {record.seq} : ne suit pas le précédent (chaîne rompue)")
        if record.hash != record.expected_hash():
            problems.append(f"enregistrement n° {record.seq} : modifié après coup (empreinte incorrecte)")
        prev, expected_seq = record.hash, record.seq + 1
    return problems


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


class Journal:
    """The journal of one project (its instance database)."""

    def __init__(self, db: instance_db.InstanceDB, history: History):
        self.db = db
        self.history = history
        self.dir = db.instance_dir / SEAL_DIR
        self._lock = threading.Lock()
        #: The connection appends reuse (under ``_lock``), with the inode of the file it opened.
        self._writer: tuple[sqlite3.Connection, int] | None = None
        self._trees = _TreeReader(history)
        self._salt_bytes: bytes | None = None

    @classmethod
    def for_project(cls, project) -> Journal:
        return cls(instance_db.InstanceDB.for_project(project), project.store.history)

    # ------------------------------------------------------------------ reading

    def records(self) -> list[Record]:
        self.replay_spool()
        with contextlib.closing(self.db.connect()) as conn:
            rows = conn.execute("SELECT seq, kind, commit_id, tree_id, recorded, author, note, prev, hash "
                                "FROM journal ORDER BY seq").fetchall()
        return [Record(*row) for row in rows]

    def head(self) -> Record | None:
        with contextlib.closing(self.db.connect()) as conn:
            row = conn.execute("SELECT seq, kind, commit_id, tree_id, recorded, author, note, prev, hash "
                               "FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
        return Record(*row) if row else None

    def note(self, seq: int) -> str | None:
        with contextlib.closing(self.db.connect()) as conn:
            row = conn.execute("SELECT text FROM journal_notes WHERE seq = ?", (seq,)).fetchone()
        return row[0] if row else None

    def started(self) -> bool:
        return self.head() is not None

    # ------------------------------------------------------------------ writing

    def author_hash(self, username: str) -> str:
        """The author as the journal holds it: a salted hash, never the username."""
        if not username:
            return ""
        return hmac.new(self._salt(), username.encode("utf-8"), hashlib.sha256).hexdigest()

    def _salt(self) -> bytes:
        """The instance's salt for authors, made once (atomically: concurrent writers read the same one)."""
        if self._salt_bytes is None:
            path = self.dir / SALT_FILE
            try:
                _private_dir(self.dir)
                atomic.create_new(path, secrets.token_bytes(32))
            except FileExistsError:
                pass  # made by another thread or process, whole (create_new links a complete file)
            self._salt_bytes = path.read_bytes()
        return self._salt_bytes

    def start(self) -> Record | None:
        """Begin the journal at the history's current head (no-op if it has begun)."""
        if self.started():
            return None
        head = self.history.head() if self.history.enabled and self._has_commits() else ""
        tree = self.tree_of(head) if head else ""
        return self.append("genesis", head, tree, author="")

    def _has_commits(self) -> bool:
        return self.history.git("rev-parse", "--verify", "-q", "HEAD", check=False).returncode == 0

    def tree_of(self, commit_id: str) -> str:
        """The tree of a commit ("" when git does not know it)."""
        return self._trees.tree(commit_id)

    def catch_up(self) -> list[str]:
        """Journal the commits livret made but could not record (killed between the commit and the record).

        Only commits that look exactly like a livret write are taken: not
        known to the journal, committed by livret around the last record or
        since (a batch's hooks may run in any order, so a commit older than
        the last record can be the one left out), adding new files under a
        learner's ``entries/`` or ``files/`` and changing nothing else.
        Anything else stays unknown, for ``verify`` to report as foreign.
        Returns the commits recorded.
        """
        records = self.records()
        if not records or not self.history.enabled:
            return []
        known = {r.commit_id for r in records if r.commit_id}
        since = dt.datetime.fromisoformat(records[-1].recorded) - CATCH_UP_WINDOW
        span = f"{records[0].commit_id}..HEAD" if records[0].commit_id else "HEAD"
        done = self.history.git("log", "--reverse", f"--since={since.isoformat()}", "--format=%x01%H %T %ce %ct",
                                "--name-status", "--no-renames", span, check=False)
        if done.returncode != 0:
            return []  # no commit yet, or the genesis is gone: a rewrite, for verify to report
        recorded = []
        for block in done.stdout.decode("utf-8", errors="replace").split("\x01")[1:]:
            head, *changes = [line for line in block.splitlines() if line.strip()]
            commit_id, tree_id, committer, when = head.split(" ")
            made = dt.datetime.fromtimestamp(int(when), dt.timezone.utc)
            if commit_id in known or made < since or not committer.endswith("@livret.invalid") \
                    or not changes or not all(_added_store_file(change) for change in changes):
                continue
            self.append("commit", commit_id, tree_id, author=committer.rsplit("@", 1)[0],
                        note="journalisé au redémarrage (interruption entre le commit et le journal)")
            recorded.append(commit_id)
        return recorded

    def witness(self, commit: Commit) -> None:
        """The store's after-commit hook: record a commit livret just made."""
        if not commit.commit_id:
            return  # a store without history: nothing to witness
        self.append("commit", commit.commit_id, self.tree_of(commit.commit_id), author=commit.author)

    def append(self, kind: str, commit_id: str, tree_id: str, *, author: str, note: str | None = None,
               recorded: str | None = None) -> Record | None:
        """Add a record at the end of the chain; returns it (None when it went to the spool)."""
        if kind not in KINDS:
            raise ValueError(kind)
        pending = {"kind": kind, "commit_id": commit_id, "tree_id": tree_id, "recorded": recorded or _now(),
                   "author": self.author_hash(author), "note": note}
        with self._lock:
            try:
                return self._insert([*self._spooled(), pending])[-1]
            except (sqlite3.Error, instance_db.InstanceDBError, OSError) as exc:
                self._spool(pending, exc)
                return None

    def _insert(self, pendings: list[dict]) -> list[Record]:
        """Chain and write records in one transaction (all or none)."""
        records = []
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                last = conn.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (last[0], last[1]) if last else (0, ORIGIN)
                for pending in pendings:
                    seq += 1
                    note = pending["note"]
                    note_hash = hashlib.sha256(note.encode("utf-8")).hexdigest() if note else ""
                    fields = (seq, pending["kind"], pending["commit_id"], pending["tree_id"], pending["recorded"],
                              pending["author"], note_hash, prev)
                    record = Record(*fields, record_hash(*fields))
                    conn.execute("INSERT INTO journal (seq, kind, commit_id, tree_id, recorded, author, note, "
                                 "prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (*fields, record.hash))
                    if note:
                        conn.execute("INSERT INTO journal_notes (seq, text) VALUES (?, ?)", (seq, note))
                    records.append(record)
                    prev = record.hash
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        except BaseException:
            self._close_writer()  # opened again next time: the database may have been replaced or freed
            raise
        if len(pendings) > 1 or (self.dir / SPOOL_FILE).exists():
            (self.dir / SPOOL_FILE).unlink(missing_ok=True)  # every spooled record is now in the chain
        return records

    def _connection(self) -> sqlite3.Connection:
        """The appends' connection, opened again when the database file is not the one it opened."""
        try:
            inode = os.stat(self.db.path).st_ino
        except OSError:
            inode = -1
        if self._writer is not None and self._writer[1] != inode:
            self._close_writer()
        if self._writer is None:
            conn = self.db.connect(check_same_thread=False)
            conn.execute("PRAGMA synchronous = FULL")  # a witness must survive a power cut
            self._writer = (conn, os.stat(self.db.path).st_ino)
            weakref.finalize(self, conn.close)
        return self._writer[0]

    def _close_writer(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(sqlite3.Error):
                self._writer[0].close()
            self._writer = None

    # ------------------------------------------------------------------ spool

    def _spool(self, pending: dict, cause: BaseException) -> None:
        """Keep a record the database refused, fsynced, to be replayed in order."""
        try:
            _private_dir(self.dir)
            line = (json.dumps(pending, ensure_ascii=False) + "\n").encode("utf-8")
            fd = os.open(self.dir / SPOOL_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise JournalError(f"le journal des commits est indisponible ({cause}) et sa file d'attente "
                               f"aussi ({exc.strerror})") from exc

    def _spooled(self) -> list[dict]:
        path = self.dir / SPOOL_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def replay_spool(self) -> int:
        """Move spooled records into the chain (in order); returns how many."""
        with self._lock:
            pending = self._spooled()
            if not pending:
                return 0
            try:
                self._insert(pending)
            except (sqlite3.Error, instance_db.InstanceDBError, OSError):
                return 0
            return len(pending)


def _added_store_file(change: str) -> bool:
    """A ``--name-status`` line that adds a file under ``<learner>/entries/`` or ``<learner>/files/``."""
    status, _, path = change.partition("\t")
    parts = path.split("/")
    return status == "A" and len(parts) == 3 and parts[1] in ("entries", "files")


class _TreeReader:
    """Tree ids of commits from one long-running ``git cat-file --batch-check`` (a git process per
    append would cost more than the rest of the journal's work)."""

    def __init__(self, history: History):
        self.history = history
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def tree(self, commit_id: str) -> str:
        if not re.fullmatch(r"[0-9a-f]{40,64}", commit_id or ""):
            return ""
        with self._lock:
            try:
                proc = self._process()
                proc.stdin.write(f"{commit_id}^{{tree}}\n".encode("ascii"))
                proc.stdin.flush()
                answer = proc.stdout.readline().decode("ascii", errors="replace").strip()
            except (OSError, ValueError):
                self._stop()
                done = self.history.git("rev-parse", f"{commit_id}^{{tree}}", check=False)
                return done.stdout.decode().strip() if done.returncode == 0 else ""
        return answer if re.fullmatch(r"[0-9a-f]{40,64}", answer) else ""

    def _process(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                ["git", "cat-file", "--batch-check=%(objectname)"], cwd=self.history.root,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            weakref.finalize(self, _end, self._proc)
        return self._proc

    def _stop(self) -> None:
        if self._proc is not None:
            _end(self._proc)
            self._proc = None


def _end(proc: subprocess.Popen) -> None:
    """Let a ``cat-file`` process finish (its input closed) and reap it."""
    with contextlib.suppress(OSError, ValueError):
        proc.stdin.close()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    with contextlib.suppress(OSError, ValueError):
        proc.stdout.close()
