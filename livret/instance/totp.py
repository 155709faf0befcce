"""The second factor: time-based one-time codes (TOTP, RFC 6238) and recovery codes.

Everyone may turn it on (« Sécurité du compte »); an organisation can
require it of admins and of every role that reads staff entries
(``security.require_totp`` in ``_organisation.yml``).

- Enrolment: :meth:`SecondFactor.begin` draws a secret (160 bits, base32)
  kept as *pending*; the person scans it (QR code) or types it into an
  authenticator app, and :meth:`SecondFactor.confirm` turns the factor on
  only when a code computed from it is given back.  Ten recovery codes are
  drawn then and shown once.
- Codes: six digits, 30-second steps, one step of drift either way
  accepted; a code works once: the last step used is stored, and a code of
  that step or an earlier one is refused.
- Recovery codes: ten single-use codes (60 random bits each), stored as
  keyed hashes (HMAC-SHA-256 with the instance's key); one used is spent.
- Secrets at rest: the TOTP secret is encrypted (AES-256-GCM, the username
  as associated data) with a key kept in ``instance/totp_key`` (mode 0600,
  created on first use), never shown again once enrolment is confirmed.  A
  copy of the database alone gives neither the secrets nor a way to test
  recovery codes offline; a copy of the whole instance folder gives both
  (keep backups of it as private as the server).
- Failures: a wrong code counts as a failed sign-in of the account from
  that origin (:mod:`livret.instance.accounts`: same table, same limits),
  and a correct password no longer forgets them for an account with a
  second factor: only a correct code does.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

import pyotp
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .access import audience_for
from .accounts import AccountError, Accounts, LoginRefused, User, origin_key, user_from_row

KEY_FILE = "totp_key"
RECOVERY_CODES = 10
#: Recovery codes are drawn from these 31 characters (no 0/o, 1/l/i confusion): 12 of them, ~59 bits.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_GROUPS, RECOVERY_GROUP_SIZE = 3, 4
STEP_SECONDS = 30
DIGITS = 6
#: Steps of drift accepted on either side (pyotp's ``valid_window=1``).
DRIFT = 1
WRONG_CODE = "Code incorrect ou déjà utilisé."


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def load_key(instance_dir: Path) -> bytes:
    """The instance's 256-bit key (``instance/totp_key``), created on first use (mode 0600)."""
    path = Path(instance_dir) / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip() or "00")
        if len(key) != 32:
            raise AccountError(f"{path} est illisible : la clé du second facteur doit faire 64 chiffres "
                               "hexadécimaux (sans elle, les seconds facteurs enregistrés sont perdus)") from None
        return key
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def encrypt(key: bytes, username: str, secret: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, secret.encode("ascii"), username.encode("utf-8"))
    return "v1:" + base64.b64encode(nonce + sealed).decode("ascii")


def decrypt(key: bytes, username: str, stored: str) -> str:
    try:
        scheme, payload = stored.split(":", 1)
        if scheme != "v1":
            raise ValueError(scheme)
        raw = base64.b64decode(payload)
        return AESGCM(key).decrypt(raw[:12], raw[12:], username.encode("utf-8")).decode("ascii")
    except Exception as exc:  # noqa: BLE001 - a wrong key, a damaged value: the factor is unusable
        raise AccountError("second facteur illisible (clé du dossier instance changée ?) : "
                           "un administrateur doit le réinitialiser") from exc


def new_recovery_code() -> str:
    """``abcd-ef23-ghjk``: at least one letter, so it never reads as a TOTP code."""
    while True:
        groups = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_GROUP_SIZE))
                  for _ in range(RECOVERY_GROUPS)]
        code = "-".join(groups)
        if not normalise_code(code).isdigit():
            return code


def looks_like_code(text: str) -> bool:
    """Whether ``text`` has the shape of a TOTP code (6 digits) or of a recovery code."""
    typed = normalise_code(text)
    if typed.isdigit():
        return len(typed) == DIGITS
    return (len(typed) == RECOVERY_GROUPS * RECOVERY_GROUP_SIZE and all(c in RECOVERY_ALPHABET for c in typed)
            and len((text or "").strip()) <= len(typed) + RECOVERY_GROUPS + 2)


def normalise_code(code: str) -> str:
    """What a person typed, without spaces and dashes, lowercase."""
    return "".join(c for c in (code or "").lower() if c not in " -\t")[:64]


def current_step(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // STEP_SECONDS)


def code_at_step(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(step * STEP_SECONDS)


def matching_step(secret: str, code: str, *, after: int | None, at: float | None = None) -> int | None:
    """The time step ``code`` belongs to (now, or one step either side), if later than ``after``."""
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = current_step(at)
    for step in range(now - DRIFT, now + DRIFT + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(code_at_step(secret, step), code):
            return step
    return None


def required_for(role: str, settings) -> bool:
    """Whether the organisation (``security.require_totp``) requires the second factor of ``role``:
    admins and every role that reads staff entries (health and personal notes)."""
    return bool(settings.security.require_totp) and (role == "admin" or audience_for(role) == "staff")


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=username, issuer_name=issuer)


class SecondFactor:
    """TOTP and recovery codes of the accounts of one instance database."""

    def __init__(self, accounts: Accounts):
        self.accounts = accounts
        self.db = accounts.db
        self._key: bytes | None = None

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = load_key(self.db.instance_dir)
        return self._key

    def _code_hash(self, username: str, code: str) -> str:
        return hmac.new(self.key, f"{username}\0{normalise_code(code)}".encode("utf-8"), hashlib.sha256).hexdigest()

    def _user_row(self, conn, username: str):
        row = conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        if row is None:
            raise AccountError(f"compte inconnu : {username}")
        return row

    # ------------------------------------------------------------------ enrolment

    def begin(self, username: str) -> str:
        """A new pending secret for ``username`` (returned to show once); the factor stays as it was
        until :meth:`confirm`."""
        secret = pyotp.random_base32(32)
        with self.db.transaction() as conn:
            self._user_row(conn, username)
            conn.execute("UPDATE users SET totp_pending = ? WHERE username = ?",
                         (encrypt(self.key, username, secret), username))
        return secret

    def pending(self, username: str) -> str | None:
        """The pending secret (enrolment started, not confirmed), to show the QR code again."""
        conn = self.db.connect()
        try:
            row = self._user_row(conn, username)
        finally:
            conn.close()
        return decrypt(self.key, username, row["totp_pending"]) if row["totp_pending"] else None

    def confirm(self, username: str, code: str) -> list[str]:
        """Turn the factor on if ``code`` comes from the pending secret; returns the ten recovery
        codes (shown once).  Raise :class:`AccountError` otherwise (nothing changes)."""
        codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
        with self.db.transaction() as conn:
            row = self._user_row(conn, username)
            if not row["totp_pending"]:
                raise AccountError("aucune activation en cours : recommencez")
            secret = decrypt(self.key, username, row["totp_pending"])
            step = matching_step(secret, normalise_code(code), after=None)
            if step is None:
                raise AccountError("code incorrect : vérifiez l'heure du téléphone et saisissez le code "
                                   "affiché maintenant par l'application")
            conn.execute("UPDATE users SET totp_secret = ?, totp_pending = NULL, totp_enabled = 1, "
                         "totp_last_step = ? WHERE username = ?", (row["totp_pending"], step, username))
            self._store_codes(conn, username, codes)
        return codes

    def _store_codes(self, conn, username: str, codes: list[str]) -> None:
        conn.execute("DELETE FROM recovery_codes WHERE username = ?", (username,))
        now = _now_iso()
        conn.executemany("INSERT INTO recovery_codes (username, code_hash, created) VALUES (?, ?, ?)",
                         [(username, self._code_hash(username, c), now) for c in codes])

    def regenerate_codes(self, username: str) -> list[str]:
        """Ten new recovery codes; the old ones stop working."""
        codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
        with self.db.transaction() as conn:
            row = self._user_row(conn, username)
            if not row["totp_enabled"]:
                raise AccountError("le second facteur n'est pas activé")
            self._store_codes(conn, username, codes)
        return codes

    def remaining_codes(self, username: str) -> int:
        conn = self.db.connect()
        try:
            return conn.execute("SELECT COUNT(*) FROM recovery_codes WHERE username = ? AND used_at IS NULL",
                                (username,)).fetchone()[0]
        finally:
            conn.close()

    def disable(self, username: str) -> None:
        """Turn the factor off (its owner, after proving it): secret and recovery codes forgotten."""
        with self.db.transaction() as conn:
            self._user_row(conn, username)
            self._clear(conn, username)

    def reset(self, username: str) -> None:
        """An administrator turns someone's factor off (a lost phone): secret and codes forgotten and
        every session of the account ended; its owner signs in with the password and enrols again."""
        with self.db.transaction() as conn:
            self._user_row(conn, username)
            self._clear(conn, username)
            conn.execute("UPDATE users SET stamp = ? WHERE username = ?", (secrets.token_hex(8), username))
            conn.execute("DELETE FROM sessions WHERE username = ?", (username,))

    @staticmethod
    def _clear(conn, username: str) -> None:
        conn.execute("UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_enabled = 0, "
                     "totp_last_step = NULL WHERE username = ?", (username,))
        conn.execute("DELETE FROM recovery_codes WHERE username = ?", (username,))

    # ------------------------------------------------------------------ checking

    def check(self, username: str, code: str) -> str | None:
        """Whether ``code`` (TOTP or recovery) proves the factor now, without the sign-in limits (the
        security page asks for one to turn the factor off); spends it.  Returns ``"totp"`` or
        ``"recovery"``, or None."""
        with self.db.transaction() as conn:
            row = self._user_row(conn, username)
            return self._spend(conn, row, code) if row["totp_enabled"] else None

    def _spend(self, conn, row, code: str) -> str | None:
        username = row["username"]
        typed = normalise_code(code)
        if not typed:
            return None
        if typed.isdigit():
            if not row["totp_secret"]:
                return None
            step = matching_step(decrypt(self.key, username, row["totp_secret"]), typed,
                                 after=row["totp_last_step"])
            if step is None:
                return None
            done = conn.execute("UPDATE users SET totp_last_step = ? WHERE username = ? AND "
                                "(totp_last_step IS NULL OR totp_last_step < ?)", (step, username, step))
            return "totp" if done.rowcount == 1 else None
        done = conn.execute("UPDATE recovery_codes SET used_at = ? WHERE id = (SELECT id FROM recovery_codes "
                            "WHERE username = ? AND code_hash = ? AND used_at IS NULL LIMIT 1)",
                            (_now_iso(), username, self._code_hash(username, typed)))
        return "recovery" if done.rowcount == 1 else None

    def verify(self, username: str, code: str, *, origin: str = "", stamp: str | None = None,
               sign_in: bool = True) -> tuple[User, str]:
        """The second step of a sign-in: (the user, ``"totp"`` or ``"recovery"``) if ``code`` is right.

        Limited like passwords (a wrong code is a failed sign-in of this
        account from this origin); a right one forgets the failures and
        records the sign-in (unless ``sign_in`` is false: a code asked to
        confirm an action).  ``stamp`` (the account's stamp when the password
        was checked): refused if the account changed since.  Raise
        :class:`LoginRefused` otherwise.
        """
        origin = origin_key(origin)
        now = time.time()
        with self.db.transaction() as conn:
            self.accounts.refuse_if_throttled(conn, username, origin, now)
            row = conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
            valid = (row is not None and not row["disabled"] and row["totp_enabled"]
                     and (stamp is None or row["stamp"] == stamp))
            how = self._spend(conn, row, code) if valid else None
            if how is None:
                self.accounts.record_failure(conn, username, origin, now)
            else:
                conn.execute("DELETE FROM signin_failures WHERE username = ? AND origin = ?", (username, origin))
                if sign_in:
                    conn.execute("UPDATE users SET last_login = ? WHERE username = ?", (_now_iso(), username))
                row = conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        if how is None:
            raise LoginRefused(WRONG_CODE)
        return user_from_row(row), how
