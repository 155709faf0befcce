"""Operational data in SQLite: ``<project>/instance/livret.sqlite3``.

Accounts, share links, API tokens and the access log are not portfolio
content: they change often, hold secrets (password hashes, token hashes) and
must never reach git or a built site.  They live in one SQLite database in the
project's instance folder (git-ignored, outside ``portfolios/``).

Connections
    :meth:`InstanceDB.connect` opens a new connection in autocommit mode
    with WAL journaling (readers never block the writer), a busy timeout
    (writers from several threads and processes wait for each other instead
    of failing with "database is locked") and foreign keys on.  Open one
    connection per unit of work (``with db.transaction() as conn:``): a
    connection is then never shared between threads.

Migrations
    Each module that owns tables registers them once, at import time, as an
    append-only list of SQL scripts::

        from livret.instance import db as instance_db

        instance_db.register("share_links", [
            # version 1
            '''CREATE TABLE share_links (token_hash TEXT PRIMARY KEY, ...);''',
            # version 2 (added later; never edit a released step)
            '''ALTER TABLE share_links ADD COLUMN label TEXT;''',
        ])

    The ``migrations`` table records, per component, how many steps were
    applied.  Every connection applies the missing steps of every registered
    component inside one ``BEGIN IMMEDIATE`` transaction, so two processes
    starting together never apply a step twice, and a failed step leaves the
    database as it was.  Components are independent: a new module adds its
    tables without touching anyone else's numbering.

Full disk
    A write refused by the disk (full, read-only, failing) or a lock held
    too long is not a bug: :func:`unavailable_message` turns it into the
    French message the app answers with (HTTP 503), from the store's own
    mapping of disk errors (:func:`livret.store.writer.storage_cause`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..store.writer import storage_cause

DB_NAME = "livret.sqlite3"
BUSY_TIMEOUT_MS = 10_000
#: How the messages name the folder of the database.
PLACE = "le dossier instance/"
#: SQLite primary result codes that say the disk refused a write, as the errno they amount to.
_SQLITE_ERRNO = {
    sqlite3.SQLITE_FULL: errno.ENOSPC,
    sqlite3.SQLITE_READONLY: errno.EROFS,
    sqlite3.SQLITE_PERM: errno.EPERM,
    sqlite3.SQLITE_IOERR: errno.EIO,
    sqlite3.SQLITE_CANTOPEN: errno.EACCES,
}
_SQLITE_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)

_registry: dict[str, tuple[str, ...]] = {}
_registry_lock = threading.Lock()
#: (database path, component, version) already checked by this process.
_migrated: set[tuple[str, str, int]] = set()


class InstanceDBError(RuntimeError):
    """The instance database cannot be opened or migrated."""


def unavailable_message(exc: BaseException) -> str | None:
    """The French message for an error that says the database cannot be used *now* — a full,
    read-only or failing disk, a lock held too long — else None (a bug stays a bug).

    Takes an :class:`sqlite3.Error`, an :class:`OSError`, or an :class:`InstanceDBError`
    raised from one of them.
    """
    if isinstance(exc, InstanceDBError):
        exc = exc.__cause__ or exc.__context__
    if isinstance(exc, sqlite3.Error):
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF  # extended codes keep the primary one
        if code in _SQLITE_BUSY:
            return "base de données occupée : rien n'a été enregistré, réessayez dans un instant"
        if code not in _SQLITE_ERRNO:
            return None
        exc = OSError(_SQLITE_ERRNO[code], os.strerror(_SQLITE_ERRNO[code]))
    cause = storage_cause(exc, PLACE) if isinstance(exc, OSError) else None
    if cause is None:
        return None
    return f"{cause} : rien n'a été enregistré ; réessayez plus tard ou prévenez l'administrateur"


def register(component: str, steps: Sequence[str]) -> None:
    """Declare the tables of ``component``: step *i* brings it from version *i* to *i + 1*.

    Registering again with a longer list (same prefix) is allowed, so a module
    reloaded in tests does not fail; changing a step already registered is not.
    """
    steps = tuple(steps)
    with _registry_lock:
        known = _registry.get(component, ())
        if steps[: len(known)] != known[: len(steps)]:
            raise InstanceDBError(f"migrations of {component!r} changed after registration")
        if len(steps) >= len(known):
            _registry[component] = steps


def registered() -> dict[str, int]:
    """Component -> number of registered steps (its target version)."""
    with _registry_lock:
        return {name: len(steps) for name, steps in _registry.items()}


def split_statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (``executescript`` would commit)."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                out.append(current.strip())
            current = ""
    if current.strip():
        raise InstanceDBError(f"incomplete SQL statement in a migration: {current.strip()[:60]!r}")
    return out


class InstanceDB:
    """The instance database of one project."""

    def __init__(self, instance_dir: Path | str):
        self.instance_dir = Path(instance_dir)
        self.path = self.instance_dir / DB_NAME
        self._anchor: sqlite3.Connection | None = None

    @classmethod
    def for_project(cls, project) -> InstanceDB:
        return cls(project.instance)

    def keep_open(self) -> None:
        """Hold one idle connection open for as long as this object lives (the app's lifetime).

        SQLite removes the ``-wal`` and ``-shm`` files when the last connection
        closes, and the next connection must create them again: on a full disk
        that fails, and every request (which reads the session's account)
        would fail with it.  While one connection stays open the files stay,
        and new connections only open them.
        """
        if self._anchor is None:
            self._anchor = self.connect(check_same_thread=False)

    def connect(self, *, check_same_thread: bool = True) -> sqlite3.Connection:
        """A new migrated connection (autocommit; use :meth:`transaction` to group writes)."""
        try:
            self.instance_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=check_same_thread)
        except (OSError, sqlite3.Error) as exc:
            raise InstanceDBError(f"base de données {self.path} inaccessible : {exc}") from exc
        try:
            os.chmod(self.path, 0o600)
        except OSError:
            pass
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        self._migrate(conn)
        return conn

    @contextlib.contextmanager
    def transaction(self, *, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        """A connection inside one transaction, committed on success, rolled back on error.

        ``immediate`` takes the write lock at the start, so a read-then-write
        (count attempts, then insert) is not raced by another process.
        """
        conn = self.connect()
        try:
            conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            try:
                yield conn
            except BaseException:
                _rollback(conn)
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def _migrate(self, conn: sqlite3.Connection) -> None:
        with _registry_lock:
            wanted = dict(_registry)
        key = str(self.path.resolve())
        if all((key, name, len(steps)) in _migrated for name, steps in wanted.items()):
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS migrations ("
                " component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            versions = {row[0]: row[1] for row in conn.execute("SELECT component, version FROM migrations")}
            for name, steps in sorted(wanted.items()):
                current = versions.get(name, 0)
                if current > len(steps):
                    raise InstanceDBError(
                        f"la base {self.path} a été créée par une version plus récente de livret "
                        f"({name} v{current}, connue : v{len(steps)})"
                    )
                for step in steps[current:]:
                    for statement in split_statements(step):
                        conn.execute(statement)
                if current < len(steps):
                    conn.execute(
                        "INSERT INTO migrations (component, version) VALUES (?, ?) "
                        "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                        (name, len(steps)),
                    )
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
        for name, steps in wanted.items():
            _migrated.add((key, name, len(steps)))


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back what is left: SQLite already rolled back after some errors (a full disk), and
    a second ROLLBACK would hide the error that matters under "no transaction is active"."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")
