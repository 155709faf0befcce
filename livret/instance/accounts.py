"""User accounts: username, role, password hash, disabled flag.

Accounts live in the instance database (:mod:`livret.instance.db`), never in
the store: a password hash must not reach git or a built site.  *Which
learners* a user may act on is not here but in each learner's profile
(``account``, ``tutors``, ``company_tutors``), so assignments are versioned
with the portfolio; see :mod:`livret.instance.access`.

Passwords are hashed with scrypt (memory-hard; ``hashlib.scrypt``, no extra
dependency).  The parameters are stored with each hash, so they can be raised
later without invalidating existing passwords.

Failed sign-ins are recorded in the database (so the limits hold across
threads, processes and restarts), with the account tried and the origin
(client address) they came from.  Two limits, over a sliding window:

- per account *and* origin: five wrong passwords from one origin stop that
  origin from trying that account, but never its owner signing in from
  anywhere else (a known username cannot be locked out by a stranger);
- per origin: an origin that tries many accounts is stopped for all of them.

The verdict is taken after the password is checked, in one write
transaction, so concurrent attempts are serialized: parallel wrong guesses
cannot get past the limit (those beyond it are refused whatever the
password), and concurrent *correct* sign-ins are never refused, since only
failures count.  A correct password resets its (account, origin) count.

Sessions (:mod:`livret.instance.sessions`) are rows of this component too:
changing a password, disabling an account or changing its role ends every
session of the account, in the same transaction.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import ipaddress
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
    # version 2: server-side sessions; failures by account and origin (the old table counted
    # per username whatever the origin, which let anyone lock an account out)
    """
    CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        role TEXT NOT NULL,
        stamp TEXT NOT NULL,
        origin TEXT NOT NULL,
        created REAL NOT NULL,
        last_seen REAL NOT NULL,
        expires REAL NOT NULL
    );
    CREATE INDEX sessions_username ON sessions (username);
    CREATE INDEX sessions_expires ON sessions (expires);
    DROP TABLE login_failures;
    CREATE TABLE signin_failures (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL,
        origin TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX signin_failures_account ON signin_failures (username, origin, at);
    CREATE INDEX signin_failures_origin ON signin_failures (origin, at);
    """,
])

#: scrypt cost: N=2**15, r=8, p=1 uses 32 MiB and ~0.1 s per hash on one core.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSWORD = 10
MAX_PASSWORD = 1024

#: Rate limiting of failed sign-ins: at most this many failures in the window.
WINDOW_SECONDS = 15 * 60
#: Wrong passwords for one account from one origin.
MAX_FAILURES_PER_ACCOUNT = 5
#: Wrong passwords from one origin, whatever the account.
MAX_FAILURES_PER_ORIGIN = 30
#: Ends every session of an account (in the transaction that changes it).
END_SESSIONS_SQL = "DELETE FROM sessions WHERE username = ?"


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
    #: Changes when the password, the role or the disabled flag changes; a
    #: session row records it, and one with another stamp is signed out.
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


def origin_key(address: str) -> str:
    """The origin failures are counted by: the client address, an IPv6 one reduced to its /64
    (one subscriber gets a whole /64: counting its addresses one by one would count nothing)."""
    address = (address or "").strip()
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def user_from_row(row) -> User:
    return User(row["username"], row["role"], bool(row["disabled"]), row["created"], row["stamp"])


class Accounts:
    """The accounts of one project (its instance database)."""

    def __init__(self, db: instance_db.InstanceDB, *, max_failures_per_account: int = MAX_FAILURES_PER_ACCOUNT,
                 max_failures_per_origin: int = MAX_FAILURES_PER_ORIGIN):
        self.db = db
        self.max_failures_per_account = max_failures_per_account
        self.max_failures_per_origin = max_failures_per_origin

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
        return user_from_row(row) if row else None

    def list(self) -> list[User]:
        conn = self.db.connect()
        try:
            rows = conn.execute("SELECT * FROM users ORDER BY role, username").fetchall()
        finally:
            conn.close()
        return [user_from_row(r) for r in rows]

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
        """Change the password; every session of the account ends (the app opens a new one for
        the person who changed it) and its failed sign-ins are forgotten."""
        check_password(password)
        self._change(username, "password_hash = ?", hash_password(password), forget_failures=True)

    def set_disabled(self, username: str, disabled: bool = True) -> None:
        """Disable (or enable again) the account; every session of the account ends."""
        self._change(username, "disabled = ?", int(disabled))

    def set_role(self, username: str, role: str) -> None:
        """Change the account's role; every session of the account ends (it must sign in again)."""
        check_role(role)
        self._change(username, "role = ?", role)

    def _change(self, username: str, assignment: str, value, *, forget_failures: bool = False) -> None:
        """One column of the account changed, a new stamp, and its sessions ended: one transaction."""
        with self.db.transaction() as conn:
            done = conn.execute(f"UPDATE users SET {assignment}, stamp = ? WHERE username = ?",
                                (value, secrets.token_hex(8), username))
            if done.rowcount == 0:
                raise AccountError(f"compte inconnu : {username}")
            conn.execute(END_SESSIONS_SQL, (username,))
            if forget_failures:
                conn.execute("DELETE FROM signin_failures WHERE username = ?", (username,))

    # ------------------------------------------------------------------ sign-in

    def authenticate(self, username: str, password: str, *, origin: str = "") -> User:
        """The user if the password matches; raise :class:`LoginRefused` otherwise.

        The same message is given for an unknown user, a wrong password and a
        disabled account, so sign-in does not reveal which accounts exist.
        ``origin`` is the client's address (see :func:`origin_key`).
        """
        origin = origin_key(origin)
        now = time.time()
        conn = self.db.connect()
        try:  # a throttled origin is refused before the (costly) hash
            self._refuse_if_throttled(conn, username, origin, now)
            row = conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        finally:
            conn.close()
        ok = verify_password(password, row["password_hash"] if row else _dummy_hash())
        # The verdict, serialized with every other attempt: parallel guesses beyond the limit are
        # refused whatever their password, so they learn nothing; a correct one counts no failure.
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM signin_failures WHERE at < ?", (now - WINDOW_SECONDS,))
            self._refuse_if_throttled(conn, username, origin, now)
            current = conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
            ok = (ok and row is not None and current is not None and not current["disabled"]
                  and current["password_hash"] == row["password_hash"])  # not changed meanwhile
            if ok:
                conn.execute("DELETE FROM signin_failures WHERE username = ? AND origin = ?", (username, origin))
            else:
                conn.execute("INSERT INTO signin_failures (username, origin, at) VALUES (?, ?, ?)",
                             (username, origin, now))
        if ok:
            return user_from_row(current)
        raise LoginRefused("Identifiant ou mot de passe incorrect, ou compte désactivé.")

    def _refuse_if_throttled(self, conn, username: str, origin: str, now: float) -> None:
        """Raise :class:`LoginRefused` (with ``retry_after``) when this origin reached a limit."""
        since = now - WINDOW_SECONDS
        checks = (
            ("username = ? AND origin = ?", (username, origin), self.max_failures_per_account),
            ("origin = ?", (origin,), self.max_failures_per_origin),
        )
        for where, args, limit in checks:
            rows = conn.execute(
                f"SELECT at FROM signin_failures WHERE {where} AND at >= ? ORDER BY at DESC LIMIT ?",
                (*args, since, limit),
            ).fetchall()
            if len(rows) >= limit:
                retry = int(rows[-1]["at"] + WINDOW_SECONDS - now) + 1
                minutes = max(1, (retry + 59) // 60)
                raise LoginRefused(
                    f"Trop de tentatives de connexion échouées. Réessayez dans {minutes} minute(s).",
                    retry_after=retry,
                )
