"""Server-side sessions: the browser holds a random id, the instance database says whose it is.

The app's cookie (signed by Flask) carries only an opaque random session id
(and Flask-WTF's CSRF secret).  The row it names — the id's SHA-256, never
the id itself, then the username, the account's role and stamp at sign-in,
the origin, when it was created and last seen, when it expires — lives in
the ``sessions`` table (created by :mod:`livret.instance.accounts`, whose
changes end sessions), so every process serving the app sees the same
sessions, and ending one is immediate everywhere.

A request is signed in only while its row exists, has not expired, and the
account is still enabled with the same role and stamp.  Otherwise the row
is deleted and the request is anonymous: a cookie captured before sign-out,
a password change, a disable or a role change no longer opens anything.

Each session says how it was opened (``method``: ``password``, or
``mail-link`` for the company tutor's link, :mod:`livret.company`) and has
its own lifetime (12 hours by default; 30 days for a company tutor's
device).  The organisation may *revoke* sessions (:meth:`Sessions.revoke`):
the rows are marked, not deleted, until they expire, so the app can answer
such a device "access withdrawn" (410) instead of treating it as a stranger.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
import time
from dataclasses import dataclass, field

from . import db as instance_db
from .accounts import END_SESSIONS_SQL, User, user_from_row

log = logging.getLogger("livret.sessions")

#: How long a session lasts after sign-in (the cookie's lifetime too).
SESSION_LIFETIME = 12 * 3600
#: ``last_seen`` is written at most this often per session (not one write per request).
TOUCH_SECONDS = 60
#: How a session was opened: a password (with its second factor, if any), or a one-time link received by mail.
METHODS = ("password", "mail-link")


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SessionInfo:
    username: str
    role: str
    origin: str
    created: float
    last_seen: float
    expires: float
    method: str = "password"
    revoked: float | None = None


@dataclass(frozen=True)
class SessionState:
    """What a request's session id opens: a user (None when the session ended), how it was opened,
    and whether the organisation revoked it (then ``user`` is None)."""

    user: User | None
    method: str = "password"
    revoked: bool = False
    expires: float = field(default=0.0)


class Sessions:
    """The sessions of one project's instance database."""

    def __init__(self, db: instance_db.InstanceDB, *, lifetime: int = SESSION_LIFETIME):
        self.db = db
        self.lifetime = lifetime

    def start(self, user: User, origin: str = "", *, replacing: str | None = None, lifetime: int | None = None,
              method: str = "password") -> str:
        """A new session for ``user``; returns its id (for the cookie; only its hash is stored).

        ``replacing`` (the id the browser had before, if any) is ended in the
        same transaction: the id changes at every sign-in (no fixation).
        ``lifetime`` (seconds) overrides this instance's; ``method`` says how
        the person was identified (:data:`METHODS`).
        """
        if method not in METHODS:
            raise ValueError(f"unknown session method: {method!r}")
        session_id = secrets.token_urlsafe(32)
        now = time.time()
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE expires < ?", (now,))
            if replacing:
                conn.execute("DELETE FROM sessions WHERE id_hash = ?", (_hash(replacing),))
            conn.execute(
                "INSERT INTO sessions (id_hash, username, role, stamp, origin, created, last_seen, expires, method) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_hash(session_id), user.username, user.role, user.stamp, (origin or "")[:100], now, now,
                 now + (lifetime if lifetime is not None else self.lifetime), method),
            )
        return session_id

    def user(self, session_id: str) -> User | None:
        """The signed-in user of ``session_id``, or None — then the session is ended: unknown,
        expired, or its account disabled, removed, or changed (password, role) since sign-in."""
        return self.current(session_id).user

    def current(self, session_id: str) -> SessionState:
        """What ``session_id`` opens (see :meth:`user`); a revoked session opens nothing but says so
        (``revoked``) until it expires: its row is kept for that."""
        if not session_id or not isinstance(session_id, str):
            return SessionState(None)
        key, now = _hash(session_id), time.time()
        conn = self.db.connect()
        try:
            row = conn.execute(
                "SELECT s.role AS session_role, s.stamp AS session_stamp, s.expires, s.last_seen, s.method, "
                "s.revoked_at, u.* FROM sessions s LEFT JOIN users u ON u.username = s.username WHERE s.id_hash = ?",
                (key,),
            ).fetchone()
            if row is None:
                return SessionState(None)
            if row["revoked_at"] is not None and row["expires"] > now:
                return SessionState(None, row["method"], revoked=True, expires=row["expires"])
            valid = (row["expires"] > now and row["username"] is not None and not row["disabled"]
                     and row["role"] == row["session_role"] and row["stamp"] == row["session_stamp"]
                     and row["revoked_at"] is None)
            if not valid:
                _best_effort(conn, "DELETE FROM sessions WHERE id_hash = ?", (key,))
            elif now - row["last_seen"] > TOUCH_SECONDS:
                _best_effort(conn, "UPDATE sessions SET last_seen = ? WHERE id_hash = ?", (now, key))
        finally:
            conn.close()
        if not valid:
            return SessionState(None)
        return SessionState(user_from_row(row), row["method"], expires=row["expires"])

    def revoke(self, username: str, method: str | None = "mail-link") -> int:
        """The organisation withdraws access: every live session of ``username`` opened by ``method``
        (every session when None) is marked revoked (kept until it expires, for the 410 answer);
        returns how many."""
        now = time.time()
        with self.db.transaction() as conn:
            if method is None:
                done = conn.execute("UPDATE sessions SET revoked_at = ? WHERE username = ? AND revoked_at IS NULL "
                                    "AND expires > ?", (now, username, now))
            else:
                done = conn.execute("UPDATE sessions SET revoked_at = ? WHERE username = ? AND method = ? "
                                    "AND revoked_at IS NULL AND expires > ?", (now, username, method, now))
        return done.rowcount

    def info(self, session_id: str) -> SessionInfo | None:
        """What the database holds about a session (for tests and the administrator)."""
        conn = self.db.connect()
        try:
            row = conn.execute("SELECT * FROM sessions WHERE id_hash = ?", (_hash(session_id),)).fetchone()
        finally:
            conn.close()
        if row is None:
            return None
        return SessionInfo(row["username"], row["role"], row["origin"], row["created"], row["last_seen"],
                           row["expires"], row["method"], row["revoked_at"])

    def end(self, session_id: str | None) -> None:
        """Sign-out: this session ends (every process sees it at once)."""
        if session_id:
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM sessions WHERE id_hash = ?", (_hash(session_id),))

    def end_all(self, username: str) -> None:
        """Every session of ``username`` ends."""
        with self.db.transaction() as conn:
            conn.execute(END_SESSIONS_SQL, (username,))

    def count(self, username: str) -> int:
        conn = self.db.connect()
        try:
            return conn.execute("SELECT COUNT(*) FROM sessions WHERE username = ? AND expires > ? "
                                "AND revoked_at IS NULL", (username, time.time())).fetchone()[0]
        finally:
            conn.close()


def _best_effort(conn: sqlite3.Connection, sql: str, args: tuple) -> None:
    """A write that must not fail the request on a full disk or a busy database: the verdict
    stands without it (an invalid session is refused all the same; ``last_seen`` is informative)."""
    try:
        conn.execute(sql, args)
    except sqlite3.Error as exc:
        log.warning("session : écriture différée (%s)", exc)
