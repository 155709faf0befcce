"""Which scheduled mails each person gets, and the one-click unsubscribe link of every such mail.

The scheduled mails (:mod:`livret.planning.scheduler`, :mod:`livret.signoff.reminders`) are of five
kinds (:data:`KINDS`); everyone gets them unless they said otherwise.  A choice belongs to a
*subject*: ``user:<username>`` for an account (the page « Mes courriels », ``/compte/courriels``),
``addr:<address>`` for someone without one (the « autres participants » of a planned meeting, a
learner known by their profile's address only).  Only refusals are stored (table
``mail_preferences``): a new kind reaches everyone until they refuse it.

Every scheduled mail carries an unsubscribe link ``/desabonnement/<token>`` (in its footer and in
the ``List-Unsubscribe`` header with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``, RFC
8058).  The token is signed (HMAC-SHA256 with a random key kept in the instance database, never in
the store): it names the subject and the kind, so following it needs no account and no password,
and it cannot be forged for someone else.  A GET shows a button; the POST (the button, or a mail
client's one-click request) records the refusal: mail scanners that fetch links do not unsubscribe
anyone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import sqlite3

from ..instance import db as instance_db

instance_db.register("mail_preferences", [
    """
    CREATE TABLE mail_preferences (
        subject TEXT NOT NULL,
        kind TEXT NOT NULL,
        changed TEXT NOT NULL,
        PRIMARY KEY (subject, kind)
    );
    CREATE TABLE mail_preferences_key (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        key BLOB NOT NULL
    );
    """,
])

#: kind -> what the page « Mes courriels » calls it.
KINDS = {
    "reminder": "Rappel la veille d'un rendez-vous (avec le fichier .ics)",
    "digest": "Récapitulatif hebdomadaire du suivi (tuteurs)",
    "escalation": "Suivis en retard signalés aux administrateurs",
    "signoff-reminder": "Relance des documents qui attendent votre signature",
    "attendance-reminder": "Relance d'une séance que vous n'avez pas émargée (apprenant·es)",
}
#: The kinds a role may receive (the page shows only these).
KINDS_BY_ROLE = {
    "tutor": ("reminder", "digest", "signoff-reminder"),
    "admin": ("reminder", "escalation", "signoff-reminder"),
    "learner": ("reminder", "signoff-reminder", "attendance-reminder"),
    "company": ("reminder", "signoff-reminder"),
    "auditor": (),
}
UNSUBSCRIBE_PATH = "/desabonnement/"


def user_subject(username: str) -> str:
    return f"user:{username}"


def address_subject(address: str) -> str:
    return f"addr:{address.strip().lower()}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class MailPreferences:
    """The preferences of one project's instance database."""

    def __init__(self, db: instance_db.InstanceDB):
        self.db = db
        self._key: bytes | None = None

    @classmethod
    def for_project(cls, project) -> MailPreferences:
        return cls(instance_db.InstanceDB.for_project(project))

    # ------------------------------------------------------------------ choices

    def refused(self, subject: str, *, conn: sqlite3.Connection | None = None) -> set[str]:
        """The kinds ``subject`` refused."""
        own = conn is None
        conn = conn or self.db.connect()
        try:
            return {r[0] for r in conn.execute("SELECT kind FROM mail_preferences WHERE subject = ?", (subject,))}
        finally:
            if own:
                conn.close()

    def wants(self, subject: str, kind: str, *, conn: sqlite3.Connection | None = None) -> bool:
        return kind not in self.refused(subject, conn=conn)

    def set(self, subject: str, kind: str, wanted: bool, *, now: str = "") -> None:
        if kind not in KINDS:
            raise ValueError(f"type de courriel inconnu : {kind}")
        with self.db.transaction() as conn:
            if wanted:
                conn.execute("DELETE FROM mail_preferences WHERE subject = ? AND kind = ?", (subject, kind))
            else:
                conn.execute("INSERT OR IGNORE INTO mail_preferences (subject, kind, changed) VALUES (?, ?, ?)",
                             (subject, kind, now or _now()))

    def choose(self, subject: str, wanted: dict[str, bool]) -> None:
        """Several choices at once (the page's form)."""
        for kind, value in wanted.items():
            self.set(subject, kind, value)

    # ------------------------------------------------------------------ unsubscribe links

    def key(self) -> bytes:
        if self._key is None:
            with self.db.transaction() as conn:
                conn.execute("INSERT OR IGNORE INTO mail_preferences_key (id, key) VALUES (1, ?)",
                             (secrets.token_bytes(32),))
                self._key = bytes(conn.execute("SELECT key FROM mail_preferences_key WHERE id = 1").fetchone()[0])
        return self._key

    def token(self, subject: str, kind: str) -> str:
        """The signed token of the link that unsubscribes ``subject`` from ``kind``."""
        payload = _b64(json.dumps([subject, kind], separators=(",", ":")).encode("utf-8"))
        signature = _b64(hmac.new(self.key(), payload.encode("ascii"), hashlib.sha256).digest())
        return f"{payload}.{signature}"

    def read_token(self, token: str) -> tuple[str, str] | None:
        """(subject, kind) of a valid token, None for anything else (never raises)."""
        if not isinstance(token, str) or len(token) > 1000 or token.count(".") != 1:
            return None
        payload, signature = token.split(".")
        try:
            expected = _b64(hmac.new(self.key(), payload.encode("ascii"), hashlib.sha256).digest())
            if not hmac.compare_digest(expected, signature):
                return None
            subject, kind = json.loads(_unb64(payload).decode("utf-8"))
        except (ValueError, TypeError, UnicodeError):
            return None
        if not isinstance(subject, str) or kind not in KINDS:
            return None
        return subject, kind

    def unsubscribe_url(self, base_url: str, subject: str, kind: str) -> str:
        return (base_url or "").rstrip("/") + UNSUBSCRIBE_PATH + self.token(subject, kind)


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
