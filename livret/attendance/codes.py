"""Personal codes: how a learner without a phone proves who they are on the trainer's device.

A learner sets a 6-digit code on their account page, or a tutor or an
administrator generates one and shows it once.  Codes are hashed like
passwords (scrypt, :func:`livret.instance.accounts.hash_password`) in the
instance database; a wrong code counts as a failed sign-in of the learner's
account from the device's address, under the same limits as passwords
(:meth:`livret.instance.accounts.Accounts.refuse_if_throttled`).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time

from ..instance.accounts import Accounts, LoginRefused, hash_password, origin_key, verify_password
from ..instance.passwords import COMMON_DIGITS
from ..store.errors import FieldError, InvalidInput
from . import tables  # noqa: F401 - registers the tables

CODE_RE = re.compile(r"^[0-9]{6}$")
#: The one refusal of a wrong code (unknown account, no code set, wrong digits alike).
WRONG = "Code personnel incorrect."


def _weak(code: str) -> bool:
    return len(set(code)) == 1 or code in COMMON_DIGITS or code in "01234567890" or code in "9876543210"


def check_code(code: str) -> None:
    """Refuse (:class:`InvalidInput`, field ``code``) what is not 6 digits, or too easy to guess."""
    if not CODE_RE.match(code or ""):
        raise InvalidInput([FieldError(("code",), "code personnel : 6 chiffres attendus")])
    if _weak(code):
        raise InvalidInput([FieldError(("code",), "code personnel : trop facile à deviner (suite ou répétition)")])


class PersonalCodes:
    """The personal codes of one instance."""

    def __init__(self, accounts: Accounts):
        self.accounts = accounts
        self.db = accounts.db

    def set(self, username: str, code: str, *, by: str) -> None:
        check_code(code)
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO attendance_codes (username, code_hash, set_by, set_at) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (username) DO UPDATE SET code_hash = excluded.code_hash, "
                         "set_by = excluded.set_by, set_at = excluded.set_at",
                         (username, hash_password(code), by, now))

    def generate(self, username: str, *, by: str) -> str:
        """A new random code for ``username`` (replacing theirs), to show once."""
        while True:
            code = f"{secrets.randbelow(10**6):06d}"
            if not _weak(code):
                break
        self.set(username, code, by=by)
        return code

    def has_code(self, username: str) -> bool:
        conn = self.db.connect()
        try:
            return conn.execute("SELECT 1 FROM attendance_codes WHERE username = ?", (username,)).fetchone() is not None
        finally:
            conn.close()

    def verify(self, username: str, code: str, *, origin: str) -> None:
        """Pass when ``code`` is ``username``'s code; else raise :class:`LoginRefused` (a failure counted,
        or the limits of failed sign-ins reached)."""
        origin = origin_key(origin)
        now = time.time()
        conn = self.db.connect()
        try:
            self.accounts.refuse_if_throttled(conn, username, origin, now)
            row = conn.execute("SELECT c.code_hash FROM attendance_codes c JOIN users u ON u.username = c.username "
                               "WHERE c.username = ? AND u.disabled = 0", (username,)).fetchone()
        finally:
            conn.close()
        ok = bool(CODE_RE.match(code or "")) and row is not None and verify_password(code, row[0])
        with self.db.transaction() as conn:
            self.accounts.refuse_if_throttled(conn, username, origin, now)
            if not ok:
                self.accounts.record_failure(conn, username, origin, now)
        if not ok:
            raise LoginRefused(WRONG)
