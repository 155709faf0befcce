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

Version 3 adds what the administration pages show and the second factor:
a display name and an e-mail address, the last sign-in (UTC, ISO 8601),
and the TOTP columns and recovery codes of :mod:`livret.instance.totp`.
An account created by an administrator has no password until its owner
sets one through a one-time invitation link (:mod:`livret.instance.onetime`):
its hash is ``!``, which no password matches.  Passwords follow the CNIL's
recommendation (:mod:`livret.instance.passwords`).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import ipaddress
import re
import secrets
import time

from ..store import french
from ..store.schema import ROLE_LABELS, USERNAME_RE
from . import db as instance_db
from . import passwords
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
    # version 3: display name, e-mail, last sign-in; the second factor (TOTP secret encrypted with the
    # instance's key, see livret.instance.totp; the last time-step used, so a code works once) and its
    # recovery codes (keyed hashes, single use)
    """
    ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
    ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
    ALTER TABLE users ADD COLUMN last_login TEXT;
    ALTER TABLE users ADD COLUMN totp_secret TEXT;
    ALTER TABLE users ADD COLUMN totp_pending TEXT;
    ALTER TABLE users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
    CREATE TABLE recovery_codes (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL,
        code_hash TEXT NOT NULL,
        created TEXT NOT NULL,
        used_at TEXT
    );
    CREATE INDEX recovery_codes_username ON recovery_codes (username);
    """,
    # version 4: how a session was opened (``password``, or ``mail-link`` for the company tutor's link,
    # livret.company) and its revocation by the organisation: a revoked row is kept until it expires,
    # so the app answers 410 (access withdrawn) rather than treating the device as a stranger
    """
    ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
    ALTER TABLE sessions ADD COLUMN revoked_at REAL;
    """,
])

#: scrypt cost: N=2**15, r=8, p=1 uses 32 MiB and ~0.1 s per hash on one core.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MAX_PASSWORD = passwords.MAX_PASSWORD
#: The hash of an account whose owner has not chosen a password yet (no password matches it).
NO_PASSWORD = "!"
MAX_DISPLAY_NAME = 200
MAX_EMAIL = 200
#: As in a learner's profile (livret.store.schema), so a profile's address is always accepted here.
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")

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
    display_name: str = ""
    email: str = ""
    #: Last successful sign-in (UTC, ISO 8601), None if never.
    last_login: str | None = None
    #: The second factor (TOTP) is on.
    totp_enabled: bool = False
    #: False until the owner chose a password (an invitation not yet used).
    has_password: bool = True

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def name(self) -> str:
        """The display name, or the username when there is none."""
        return self.display_name or self.username


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


def random_password(username: str = "") -> str:
    """A random password of 20 URL-safe characters (120 bits) that the policy accepts, never
    starting with "-" (it would read as an option when pasted on a command line)."""
    while True:
        password = secrets.token_urlsafe(15)
        if not password.startswith("-") and passwords.weakness(password, username) is None:
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


def check_password(password: str, username: str = "") -> None:
    """Raise :class:`AccountError` saying what is missing unless ``password`` follows the policy
    (:mod:`livret.instance.passwords`: the CNIL's case 1)."""
    problem = passwords.weakness(password, username)
    if problem:
        raise AccountError(problem)


def clean_display_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if len(name) > MAX_DISPLAY_NAME:
        raise AccountError(f"nom affiché trop long : au plus {MAX_DISPLAY_NAME} caractères")
    if any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in name):
        raise AccountError("nom affiché : caractère non permis")
    return name


def clean_email(email: str | None) -> str:
    email = (email or "").strip()
    if not email:
        return ""
    if len(email) > MAX_EMAIL:
        raise AccountError(f"adresse e-mail trop longue : au plus {MAX_EMAIL} caractères")
    if not EMAIL_RE.match(email) or any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in email):
        raise AccountError(f"adresse e-mail invalide : {email!r} (ex. marie.durand@exemple.fr)")
    return email


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
    return User(row["username"], row["role"], bool(row["disabled"]), row["created"], row["stamp"],
                display_name=row["display_name"], email=row["email"], last_login=row["last_login"],
                totp_enabled=bool(row["totp_enabled"]), has_password=row["password_hash"] != NO_PASSWORD)


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
        """Every account, by role then username (display name, e-mail, last sign-in, 2FA included)."""
        conn = self.db.connect()
        try:
            rows = conn.execute("SELECT * FROM users ORDER BY role, username").fetchall()
        finally:
            conn.close()
        return [user_from_row(r) for r in rows]

    def active_admins(self) -> list[str]:
        """Usernames of the enabled administrators."""
        conn = self.db.connect()
        try:
            rows = conn.execute("SELECT username FROM users WHERE role = 'admin' AND disabled = 0 "
                                "ORDER BY username").fetchall()
        finally:
            conn.close()
        return [r[0] for r in rows]

    # ------------------------------------------------------------------ writing

    def add(self, username: str, role: str, password: str | None = None, *, display_name: str = "",
            email: str = "") -> User:
        """A new account.  Without ``password`` it has none until its owner sets one through a
        one-time invitation link (nobody can sign in with it meanwhile)."""
        check_username(username)
        check_role(role)
        display_name, email = clean_display_name(display_name), clean_email(email)
        if password is not None:
            check_password(password, username)
        encoded = hash_password(password) if password is not None else NO_PASSWORD
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
                raise AccountError(f"le compte {username} existe déjà")
            conn.execute(
                "INSERT INTO users (username, role, password_hash, disabled, created, stamp, display_name, email) "
                "VALUES (?, ?, ?, 0, ?, ?, ?, ?)",
                (username, role, encoded, _now(), secrets.token_hex(8), display_name, email),
            )
        user = self.get(username)
        assert user is not None
        return user

    def remove(self, username: str) -> None:
        """Delete an account that was just created, when what went with it failed (its assignments
        could not be written): the history of a used account is kept by disabling it instead."""
        with self.db.transaction() as conn:
            conn.execute(END_SESSIONS_SQL, (username,))
            conn.execute("DELETE FROM recovery_codes WHERE username = ?", (username,))
            conn.execute("DELETE FROM users WHERE username = ? AND last_login IS NULL", (username,))

    def set_profile(self, username: str, display_name: str, email: str) -> User:
        """Change the display name and the e-mail address (sessions go on)."""
        display_name, email = clean_display_name(display_name), clean_email(email)
        with self.db.transaction() as conn:
            done = conn.execute("UPDATE users SET display_name = ?, email = ? WHERE username = ?",
                                (display_name, email, username))
            if done.rowcount == 0:
                raise AccountError(f"compte inconnu : {username}")
        user = self.get(username)
        assert user is not None
        return user

    def set_password(self, username: str, password: str) -> None:
        """Change the password; every session of the account ends (the app opens a new one for
        the person who changed it) and its failed sign-ins are forgotten."""
        check_password(password, username)
        self._change(username, "password_hash = ?", hash_password(password), forget_failures=True)

    def store_password(self, conn, username: str, encoded: str) -> None:
        """Inside a caller's transaction (a one-time link consumed in the same one): the new hash,
        a new stamp, every session ended, failures forgotten."""
        done = conn.execute("UPDATE users SET password_hash = ?, stamp = ? WHERE username = ? AND disabled = 0",
                            (encoded, secrets.token_hex(8), username))
        if done.rowcount == 0:
            raise AccountError(f"compte inconnu ou désactivé : {username}")
        conn.execute(END_SESSIONS_SQL, (username,))
        conn.execute("DELETE FROM signin_failures WHERE username = ?", (username,))

    def record_login(self, username: str) -> None:
        """The account signed in now (shown in the administration's list)."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE users SET last_login = ? WHERE username = ?", (_now(), username))

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
            if ok and not current["totp_enabled"]:
                # Signed in: failures forgotten, the sign-in recorded.  With a second factor, both
                # wait for the code (livret.instance.totp): a correct password alone must not
                # reset the count of wrong codes.
                conn.execute("DELETE FROM signin_failures WHERE username = ? AND origin = ?", (username, origin))
                conn.execute("UPDATE users SET last_login = ? WHERE username = ?", (_now(), username))
                current = conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
            elif not ok:
                self.record_failure(conn, username, origin, now)
        if ok:
            return user_from_row(current)
        raise LoginRefused("Identifiant ou mot de passe incorrect, ou compte désactivé.")

    @staticmethod
    def record_failure(conn, username: str, origin: str, now: float) -> None:
        """One failed attempt (a wrong password or a wrong second-factor code) of ``origin`` on ``username``."""
        conn.execute("INSERT INTO signin_failures (username, origin, at) VALUES (?, ?, ?)", (username, origin, now))

    def refuse_if_throttled(self, conn, username: str, origin: str, now: float) -> None:
        """Public name of the limits' check, for the second factor's step (same counts, same limits)."""
        self._refuse_if_throttled(conn, username, origin, now)

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
                    "Trop de tentatives de connexion échouées. Réessayez dans "
                    f"{french.count(minutes, 'minute', 'minutes')}.",
                    retry_after=retry,
                )
