"""Personal API tokens: created for a user, shown once, stored hashed, revocable.

A token is ``livret_`` followed by 43 URL-safe characters (256 random bits).
Only its SHA-256 is stored (a token is random and long: a slow hash adds
nothing, and the lookup must be fast on every API call), with a short prefix
so a person can tell their tokens apart in a list.  Checking a token compares
hashes in constant time; a revoked token, or one whose user is disabled or
gone, authenticates nobody.  ``last_used`` is kept to spot forgotten tokens;
recording it is best effort: when the database cannot take the write (a
full disk), the call is still answered and the problem logged once.

Tokens live in the instance database (:mod:`livret.instance.db`), never in
the store or a log line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
import sqlite3
from dataclasses import dataclass

from . import db as instance_db

instance_db.register("api_tokens", [
    """
    CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL,
        label TEXT NOT NULL DEFAULT '',
        prefix TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL,
        last_used TEXT,
        revoked TEXT
    );
    CREATE INDEX api_tokens_username ON api_tokens (username);
    """,
])

PREFIX = "livret_"
PREFIX_SHOWN = 8  # characters after "livret_" kept in clear to recognise a token
MAX_LABEL = 100
LAST_USED_STEP = dt.timedelta(minutes=1)
#: SQLite stores 64-bit signed integers: a larger id names no token.
MAX_ID = 2**63 - 1

log = logging.getLogger("livret.tokens")
#: Databases whose last-use record failed, logged once until a record succeeds again.
_last_use_failing: set[str] = set()


class TokenError(ValueError):
    """A token operation was refused (French message)."""


@dataclass(frozen=True)
class TokenInfo:
    id: int
    username: str
    label: str
    prefix: str
    created: str
    last_used: str | None
    revoked: str | None

    @property
    def active(self) -> bool:
        return self.revoked is None

    @property
    def shown(self) -> str:
        """What a list shows of the token: its first characters, never the secret."""
        return f"{PREFIX}{self.prefix}…"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _info(row) -> TokenInfo:
    return TokenInfo(row["id"], row["username"], row["label"], row["prefix"], row["created"],
                     row["last_used"], row["revoked"])


class Tokens:
    """The API tokens of one project."""

    def __init__(self, db: instance_db.InstanceDB):
        self.db = db

    @classmethod
    def for_project(cls, project) -> "Tokens":
        return cls(instance_db.InstanceDB.for_project(project))

    def create(self, username: str, label: str = "") -> tuple[TokenInfo, str]:
        """A new token for ``username``; returns its info and the secret (shown once)."""
        label = " ".join(label.split())
        if len(label) > MAX_LABEL:
            raise TokenError(f"libellé trop long (au plus {MAX_LABEL} caractères)")
        body = secrets.token_urlsafe(32)
        secret = PREFIX + body
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO api_tokens (username, label, prefix, token_hash, created) VALUES (?, ?, ?, ?, ?)",
                (username, label, body[:PREFIX_SHOWN], token_hash(secret), _now()),
            )
            row = conn.execute("SELECT * FROM api_tokens WHERE id = ?", (cur.lastrowid,)).fetchone()
        return _info(row), secret

    def list(self, username: str | None = None) -> list[TokenInfo]:
        conn = self.db.connect()
        try:
            if username is None:
                rows = conn.execute("SELECT * FROM api_tokens ORDER BY username, id").fetchall()
            else:
                rows = conn.execute("SELECT * FROM api_tokens WHERE username = ? ORDER BY id",
                                    (username,)).fetchall()
        finally:
            conn.close()
        return [_info(r) for r in rows]

    def revoke(self, token_id: int, *, username: str | None = None) -> TokenInfo:
        """Revoke a token (only one of ``username``'s when given); raise TokenError if unknown."""
        if not 0 < token_id <= MAX_ID:
            raise TokenError(f"jeton inconnu : {token_id}")
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM api_tokens WHERE id = ?", (token_id,)).fetchone()
            if row is None or (username is not None and row["username"] != username):
                raise TokenError(f"jeton inconnu : {token_id}")
            if row["revoked"] is None:
                conn.execute("UPDATE api_tokens SET revoked = ? WHERE id = ?", (_now(), token_id))
            row = conn.execute("SELECT * FROM api_tokens WHERE id = ?", (token_id,)).fetchone()
        return _info(row)

    def authenticate(self, secret: str) -> TokenInfo | None:
        """The active token matching ``secret`` (and its last use recorded), else None."""
        if not secret.startswith(PREFIX) or len(secret) > 200:
            return None
        wanted = token_hash(secret)
        conn = self.db.connect()
        try:
            row = conn.execute("SELECT * FROM api_tokens WHERE token_hash = ?", (wanted,)).fetchone()
            if row is None or not hmac.compare_digest(row["token_hash"], wanted) or row["revoked"]:
                return None
            now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
            last = dt.datetime.fromisoformat(row["last_used"]) if row["last_used"] else None
            if last is None or now - last >= LAST_USED_STEP:
                # One write a minute per token at most: a busy client does not
                # turn every read into a database write.
                self._record_use(conn, row["id"], now)
        finally:
            conn.close()
        return _info(row)

    def _record_use(self, conn: sqlite3.Connection, token_id: int, now: dt.datetime) -> None:
        """Best effort: a last use that cannot be written (full disk, lock held) never fails the call."""
        key = str(self.db.path)
        try:
            conn.execute("UPDATE api_tokens SET last_used = ? WHERE id = ? AND revoked IS NULL",
                         (now.isoformat(), token_id))
        except sqlite3.Error as exc:
            if key not in _last_use_failing:
                _last_use_failing.add(key)
                log.warning("dernière utilisation d'un jeton non enregistrée (%s) ; les appels continuent",
                            instance_db.unavailable_message(exc) or type(exc).__name__)
            return
        _last_use_failing.discard(key)
