"""User accounts: username, role, password hash, disabled flag.

Accounts live in the instance database (:mod:`livret.instance.db`), never in
the store: a password hash must not reach git or a built site.  *Which
learners* a user may act on is not here but in each learner's profile
(``account``, ``tutors``, ``company_tutors``), so assignments are versioned
with the portfolio; see :mod:`livret.instance.access`.

Passwords are hashed with scrypt (memory-hard; ``hashlib.scrypt``, no extra
dependency).  The parameters are stored with each hash, so they can be raised
later without invalidating existing passwords.

Failed sign-ins are recorded in the database, per username and per client
address, so the limit holds across threads, processes and restarts.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets
import time

from ..store.schema import ROLE_LABELS, USERNAME_RE
from . import db as instance_db
from .access import ROLES

instance_db.register("accounts", [
    """
    CREATE TABLE users (
        username TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created TEXT NOT NULL,
        stamp TEXT NOT NULL
    );
    CREATE TABLE login_failures (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX login_failures_key_at ON login_failures (key, at);
    """,
])

#: scrypt cost: N=2**15, r=8, p=1 uses 32 MiB and ~0.1 s per hash on one core.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSWORD = 10
MAX_PASSWORD = 1024

#: Rate limiting of failed sign-ins: at most this many failures in the window.
WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 30


class AccountError(ValueError):
    """Refused account operation; the message is French and names the problem."""


class LoginRefused(AccountError):
    """Sign-in refused; ``retry_after`` (seconds) is set when rate-limited."""

    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclasses.dataclass(frozen=True)
class User:
    username: str
    role: str
    disabled: bool
    created: str
    #: Changes when the password changes or the account is disabled: sessions
    #: carry it, so changing it signs every other session out.
    stamp: str

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=128 * SCRYPT_N * SCRYPT_R * 2, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        n_, r_, p_ = int(n), int(r), int(p)
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=n_, r=r_, p=p_,
                                maxmem=128 * n_ * r_ * 2, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


#: Verified against when the username is unknown, so timing does not tell which usernames exist.
_DUMMY_HASH = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def random_password() -> str:
    """A random password of 16 URL-safe characters (96 bits), never starting with "-"
    (it would read as an option when pasted on a command line)."""
    while True:
        password = secrets.token_urlsafe(12)
        if not password.startswith("-"):
            return password


def check_username(username: str) -> None:
    if not USERNAME_RE.match(username or ""):
        raise AccountError(
            f"nom d'utilisateur invalide : {username!r} (minuscules, chiffres, « . », « _ », « - » ; "
            "64 caractères au plus, ex. marie.durand)"
        )


def check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"rôle inconnu : {role!r} (attendu : {', '.join(ROLES)})")


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"mot de passe trop court : au moins {MIN_PASSWORD} caractères")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"mot de passe trop long : au plus {MAX_PASSWORD} caractères")


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _user(row) -> User:
    return User(row["username"], row["role"], bool(row["disabled"]), row["created"], row["stamp"])


class Accounts:
    """The accounts of one project (its instance database)."""

    def __init__(self, db: instance_db.InstanceDB, *, max_failures_per_user: int = MAX_FAILURES_PER_USER,
                 max_failures_per_client: int = MAX_FAILURES_PER_CLIENT):
        self.db = db
        self.max_failures_per_user = max_failures_per_user
        self.max_failures_per_client = max_failures_per_client

    @classmethod
    def for_project(cls, project) -> Accounts:
        return cls(instance_db.InstanceDB.for_project(project))

    # ------------------------------------------------------------------ reading

    def get(self, username: str) -> User | None:
        conn = self.db.connect()
        try:
            row = conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        finally:
            conn.close()
        return _user(row) if row else None

    def list(self) -> list[User]:
        conn = self.db.connect()
        try:
            rows = conn.execute("SELECT * FROM users ORDER BY role, username").fetchall()
        finally:
            conn.close()
        return [_user(r) for r in rows]

    # ------------------------------------------------------------------ writing

    def add(self, username: str, role: str, password: str) -> User:
        check_username(username)
        check_role(role)
        check_password(password)
        encoded = hash_password(password)
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
                raise AccountError(f"le compte {username} existe déjà")
            conn.execute(
                "INSERT INTO users (username, role, password_hash, disabled, created, stamp) "
                "VALUES (?, ?, ?, 0, ?, ?)",
                (username, role, encoded, _now(), secrets.token_hex(8)),
            )
        user = self.get(username)
        assert user is not None
        return user

    def set_password(self, username: str, password: str) -> None:
        check_password(password)
        encoded = hash_password(password)
        with self.db.transaction() as conn:
            done = conn.execute(
                "UPDATE users SET password_hash = ?, stamp = ? WHERE username = ?",
                (encoded, secrets.token_hex(8), username),
            )
            if done.rowcount == 0:
                raise AccountError(f"compte inconnu : {username}")
            conn.execute("DELETE FROM login_failures WHERE key = ?", (f"user:{username}",))

    def set_disabled(self, username: str, disabled: bool = True) -> None:
        with self.db.transaction() as conn:
            done = conn.execute(
                "UPDATE users SET disabled = ?, stamp = ? WHERE username = ?",
                (int(disabled), secrets.token_hex(8), username),
            )
            if done.rowcount == 0:
                raise AccountError(f"compte inconnu : {username}")

    # ------------------------------------------------------------------ sign-in

    def authenticate(self, username: str, password: str, *, client: str = "") -> User:
        """The user if the password matches; raise :class:`LoginRefused` otherwise.

        The same message is given for an unknown user, a wrong password and a
        disabled account, so sign-in does not reveal which accounts exist.
        """
        now = time.time()
        limits = {f"user:{username}": self.max_failures_per_user}
        if client:
            limits[f"client:{client}"] = self.max_failures_per_client
        # Count and record the attempt as a failure in one write transaction
        # (pessimistic), so parallel attempts cannot slip past the limit; a
        # success then removes the records.
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM login_failures WHERE at < ?", (now - WINDOW_SECONDS,))
            for key, limit in limits.items():
                rows = conn.execute(
                    "SELECT at FROM login_failures WHERE key = ? ORDER BY at DESC LIMIT ?", (key, limit)
                ).fetchall()
                if len(rows) >= limit:
                    retry = int(rows[-1]["at"] + WINDOW_SECONDS - now) + 1
                    minutes = max(1, (retry + 59) // 60)
                    raise LoginRefused(
                        f"Trop de tentatives de connexion échouées. Réessayez dans {minutes} minute(s).",
                        retry_after=retry,
                    )
            ids = [conn.execute("INSERT INTO login_failures (key, at) VALUES (?, ?)", (key, now)).lastrowid
                   for key in limits]
            row = conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        ok = verify_password(password, row["password_hash"] if row else _dummy_hash())
        if ok and row and not row["disabled"]:
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM login_failures WHERE key = ?", (f"user:{username}",))
                conn.executemany("DELETE FROM login_failures WHERE id = ?", [(i,) for i in ids])
            return _user(row)
        raise LoginRefused("Identifiant ou mot de passe incorrect, ou compte désactivé.")
