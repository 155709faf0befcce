"""One-time links: one table for every link that works once (reset, invitation, company tutor...).

A link is ``/lien/<token>``; the token is 32 random bytes (43 URL-safe
characters) and only its SHA-256 is stored, with what the link is for:

- ``purpose``: ``reset`` (a new password, 24 h), ``invitation`` (the first
  password of an account an administrator created, 7 days), and later
  ``company`` (the company tutor's link); any lowercase word;
- ``subject``: the username (or what else the purpose names);
- ``created``, ``expires``, ``used_at``, ``revoked_at`` (UTC, ISO 8601),
  ``created_by`` and optional JSON ``data``.

Looking at a link (:meth:`OneTimeLinks.peek`, what a GET does) never uses
it: mail scanners and link previews open links.  Only
:meth:`OneTimeLinks.consume` (a button press, a POST) does, atomically: one
conditional update in a write transaction, so of two concurrent presses
exactly one wins, and what the link does (setting the password) can run
in that same transaction (``within``), all or nothing.  Issuing a new link
for a subject and purpose revokes its older unused ones (``replace``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import db as instance_db

instance_db.register("onetime", [
    """
    CREATE TABLE onetime_links (
        id INTEGER PRIMARY KEY,
        purpose TEXT NOT NULL,
        subject TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL,
        expires TEXT NOT NULL,
        used_at TEXT,
        revoked_at TEXT,
        created_by TEXT NOT NULL,
        data TEXT
    );
    CREATE INDEX onetime_links_subject ON onetime_links (subject, purpose);
    """,
])

#: Known purposes and how long their links live by default.
RESET_TTL = dt.timedelta(hours=24)
INVITATION_TTL = dt.timedelta(days=7)
#: The company tutor's link (livret.company): pressing its button opens a session on that device
#: for ``COMPANY_SESSION_DAYS`` days.
COMPANY_LINK_TTL = dt.timedelta(days=7)
COMPANY_SESSION_DAYS = 30
PURPOSE_RE = re.compile(r"^[a-z][a-z-]{0,31}$")
#: A token is 43 URL-safe characters; anything else names no link (and is not even hashed).
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class OneTimeError(ValueError):
    """A refused one-time link operation (French message)."""


@dataclass(frozen=True)
class OneTimeLink:
    id: int
    purpose: str
    subject: str
    created: str
    expires: str
    used_at: str | None
    revoked_at: str | None
    created_by: str
    data: dict[str, Any] | None

    @property
    def username(self) -> str:
        return self.subject


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _link(row: sqlite3.Row) -> OneTimeLink:
    data = json.loads(row["data"]) if row["data"] else None
    return OneTimeLink(row["id"], row["purpose"], row["subject"], row["created"], row["expires"],
                       row["used_at"], row["revoked_at"], row["created_by"], data)


def _usable(row: sqlite3.Row | None, now: dt.datetime) -> bool:
    return (row is not None and row["used_at"] is None and row["revoked_at"] is None
            and dt.datetime.fromisoformat(row["expires"]) > now)


class OneTimeLinks:
    """The one-time links of one project's instance database."""

    def __init__(self, db: instance_db.InstanceDB):
        self.db = db

    @classmethod
    def for_project(cls, project) -> OneTimeLinks:
        return cls(instance_db.InstanceDB.for_project(project))

    def issue(self, purpose: str, subject: str, *, ttl: dt.timedelta, created_by: str,
              data: dict[str, Any] | None = None, replace: bool = True,
              conn: sqlite3.Connection | None = None) -> str:
        """A new link; returns its token (the only place it exists: put it in the link, show it once).

        With ``replace`` (the default), the subject's older unused links of the
        same purpose stop working: only the latest reset link opens anything.
        With ``conn``, inside the caller's transaction (the mail that carries
        the link is queued in the same one: both exist, or neither).
        """
        if not PURPOSE_RE.match(purpose or ""):
            raise OneTimeError(f"usage de lien inconnu : {purpose!r}")
        if not subject:
            raise OneTimeError("lien sans destinataire")
        if ttl <= dt.timedelta(0):
            raise OneTimeError("durée de validité nulle ou négative")
        token = secrets.token_urlsafe(32)
        now = _utcnow()
        if conn is not None:
            self._insert(conn, purpose, subject, token, now, ttl, created_by, data, replace)
            return token
        with self.db.transaction() as own:
            self._insert(own, purpose, subject, token, now, ttl, created_by, data, replace)
        return token

    @staticmethod
    def _insert(conn: sqlite3.Connection, purpose: str, subject: str, token: str, now: dt.datetime,
                ttl: dt.timedelta, created_by: str, data: dict[str, Any] | None, replace: bool) -> None:
        if replace:
            conn.execute("UPDATE onetime_links SET revoked_at = ? WHERE subject = ? AND purpose = ? "
                         "AND used_at IS NULL AND revoked_at IS NULL", (_iso(now), subject, purpose))
        conn.execute(
            "INSERT INTO onetime_links (purpose, subject, token_hash, created, expires, created_by, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (purpose, subject, token_hash(token), _iso(now), _iso(now + ttl), created_by,
             json.dumps(data, ensure_ascii=False) if data is not None else None),
        )

    def _row(self, conn: sqlite3.Connection, token: str, purposes: tuple[str, ...]) -> sqlite3.Row | None:
        if not isinstance(token, str) or not TOKEN_RE.match(token):
            return None
        row = conn.execute("SELECT * FROM onetime_links WHERE token_hash = ?", (token_hash(token),)).fetchone()
        if row is None or (purposes and row["purpose"] not in purposes):
            return None
        return row

    def peek(self, token: str, purpose: str | None = None) -> OneTimeLink | None:
        """The link if it can still be used (known, of this purpose when given, not used, not
        revoked, not expired), else None; never uses it (a GET, a mail scanner)."""
        conn = self.db.connect()
        try:
            row = self._row(conn, token, (purpose,) if purpose else ())
        finally:
            conn.close()
        return _link(row) if _usable(row, _utcnow()) else None

    def consume(self, token: str, purpose: str | tuple[str, ...] | None = None, *,
                within: Callable[[sqlite3.Connection, OneTimeLink], Any] | None = None) -> OneTimeLink | None:
        """Use the link: the row if it was usable and is now used, else None.

        Atomic: of concurrent calls with one token, exactly one gets the row.
        ``within(conn, link)`` runs in the same transaction (set the password):
        if it raises, the link stays unused and the exception propagates.
        """
        purposes = (purpose,) if isinstance(purpose, str) else tuple(purpose or ())
        now = _utcnow()
        with self.db.transaction() as conn:
            row = self._row(conn, token, purposes)
            if not _usable(row, now):
                return None
            done = conn.execute("UPDATE onetime_links SET used_at = ? WHERE id = ? AND used_at IS NULL "
                                "AND revoked_at IS NULL", (_iso(now), row["id"]))
            if done.rowcount != 1:  # pragma: no cover - the write lock makes this the same row as read
                return None
            link = _link(conn.execute("SELECT * FROM onetime_links WHERE id = ?", (row["id"],)).fetchone())
            if within is not None:
                within(conn, link)
        return link

    def revoke_for(self, subject: str, purpose: str | None = None) -> int:
        """Revoke the subject's unused links (of one purpose, or all); returns how many."""
        now = _iso(_utcnow())
        with self.db.transaction() as conn:
            if purpose is None:
                done = conn.execute("UPDATE onetime_links SET revoked_at = ? WHERE subject = ? "
                                    "AND used_at IS NULL AND revoked_at IS NULL", (now, subject))
            else:
                done = conn.execute("UPDATE onetime_links SET revoked_at = ? WHERE subject = ? AND purpose = ? "
                                    "AND used_at IS NULL AND revoked_at IS NULL", (now, subject, purpose))
        return done.rowcount

    def pending(self, subject: str, purpose: str | None = None) -> list[OneTimeLink]:
        """The subject's links that still work (for the administration: « invitation en attente »)."""
        conn = self.db.connect()
        try:
            rows = conn.execute("SELECT * FROM onetime_links WHERE subject = ? AND used_at IS NULL "
                                "AND revoked_at IS NULL ORDER BY id", (subject,)).fetchall()
        finally:
            conn.close()
        now = _utcnow()
        return [_link(r) for r in rows if _usable(r, now) and (purpose is None or r["purpose"] == purpose)]

    def purge(self, older_than: dt.timedelta = dt.timedelta(days=90)) -> int:
        """Forget links that expired, were used or revoked more than ``older_than`` ago."""
        limit = _iso(_utcnow() - older_than)
        with self.db.transaction() as conn:
            done = conn.execute("DELETE FROM onetime_links WHERE expires < ? OR used_at < ? OR revoked_at < ?",
                                (limit, limit, limit))
        return done.rowcount
