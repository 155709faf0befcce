"""The outbox: every mail livret sends is first a row of the instance database.

The request that causes a mail (an invitation, a reset, a company link, a
reminder) only *enqueues* it — inside its own transaction when it passes
``conn``, so the mail exists if and only if the change that caused it was
committed — and never waits for a server.  The background sender
(:mod:`livret.mail.sender`) delivers it later:

- a row is ``queued`` (due at ``next_attempt``), ``sending`` (claimed by
  one sender: claiming is one conditional update in a write transaction,
  so of several senders — threads or processes — exactly one gets it; a
  ``sending`` row older than a few minutes was interrupted by a crash and is
  queued again), ``sent`` or ``failed``;
- a temporary refusal (4xx, server down or slow) queues it again after a
  growing delay (the sender's schedule); a permanent one (5xx, recipient
  refused) or too many attempts mark it ``failed`` with the server's last
  answer in ``last_error``; an administrator can :meth:`Outbox.retry` it;
- attachments (a meeting's ``.ics``) are kept as JSON (base64 contents) with
  the one-click unsubscribe link of a scheduled mail (``List-Unsubscribe``);
- once sent, the bodies (which carry one-time links), the attachments and the
  unsubscribe link are erased; kind,
  recipient, subject, times, Message-ID and the server's answer remain,
  until :meth:`Outbox.purge`.

Times are UTC, ISO 8601 with microseconds (fixed width: they compare as text).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from ..instance import db as instance_db
from ..store import french
from .messages import Message, new_message_id

instance_db.register("outbox", [
    """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        recipient TEXT NOT NULL,
        recipient_name TEXT NOT NULL DEFAULT '',
        subject TEXT NOT NULL,
        text TEXT NOT NULL,
        html TEXT NOT NULL,
        created TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'queued',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt TEXT NOT NULL,
        claimed_at TEXT,
        last_error TEXT,
        answer TEXT,
        sent_at TEXT,
        message_id TEXT NOT NULL,
        transport TEXT
    );
    CREATE INDEX outbox_due ON outbox (state, next_attempt);
    CREATE INDEX outbox_created ON outbox (created);
    """,
    # version 2: attachments (JSON list of [name, mimetype, base64]) and the unsubscribe link (issue 16)
    """
    ALTER TABLE outbox ADD COLUMN attachments TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN unsubscribe_url TEXT NOT NULL DEFAULT '';
    """,
])

STATES = {"queued": "en attente", "sending": "en cours d'envoi", "sent": "envoyé", "failed": "en échec"}
KINDS = {"invitation": "invitation", "reset": "nouveau mot de passe", "company-link": "lien entreprise",
         "signoff-reminder": "rappel de signature", "test": "test", "meeting-reminder": "rappel de rendez-vous",
         "weekly-digest": "récapitulatif hebdomadaire", "followup-escalation": "suivi en retard",
         "attendance-reminder": "émargement manquant"}
#: A ``sending`` row older than this was interrupted (a crash, a kill): it is queued again.
STALE_SENDING = dt.timedelta(minutes=10)
#: The admin pages warn when the oldest queued mail waits longer than this.
LATE_AFTER = dt.timedelta(minutes=15)
#: One-time link tokens in a text (masked on the admin pages).
TOKEN_IN_LINK = re.compile(r"(/lien/)([A-Za-z0-9_-]{39})([A-Za-z0-9_-]{4})(?![A-Za-z0-9_-])")
_MAX_ID = 2**63 - 1

#: Called after each enqueue (the app's sender wakes up); never raise.
wakers: list[Callable[[], None]] = []


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def parse_time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def dump_attachments(attachments) -> str:
    """The outbox column of a message's attachments: JSON of [name, mimetype, base64] ('' for none)."""
    if not attachments:
        return ""
    return json.dumps([[name, mimetype, base64.b64encode(content).decode("ascii")]
                       for name, mimetype, content in attachments])


def load_attachments(text: str | None) -> tuple:
    if not text:
        return ()
    return tuple((name, mimetype, base64.b64decode(data)) for name, mimetype, data in json.loads(text))


def mask_tokens(text: str) -> str:
    """``…/lien/<43 characters>`` -> ``…/lien/…XXXX``: what an admin page may show of a link."""
    return TOKEN_IN_LINK.sub(lambda m: f"{m.group(1)}…{m.group(3)}", text or "")


@dataclass(frozen=True)
class OutboxMail:
    id: int
    kind: str
    recipient: str
    recipient_name: str
    subject: str
    text: str
    html: str
    created: dt.datetime
    state: str
    attempts: int
    next_attempt: dt.datetime
    claimed_at: dt.datetime | None
    last_error: str | None
    answer: str | None
    sent_at: dt.datetime | None
    message_id: str
    transport: str | None
    attachments: tuple = ()
    unsubscribe_url: str = ""

    @property
    def state_label(self) -> str:
        return STATES.get(self.state, self.state)

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def message(self) -> Message:
        return Message(to=self.recipient, subject=self.subject, text=self.text, html=self.html, kind=self.kind,
                       to_name=self.recipient_name, attachments=self.attachments,
                       unsubscribe_url=self.unsubscribe_url)

    @property
    def eml_name(self) -> str:
        """The file name stem in embedded mode: creation time, id, kind."""
        return f"{self.created:%Y%m%d-%H%M%S}-{self.id:06d}-{self.kind}"


def _mail(row: sqlite3.Row) -> OutboxMail:
    return OutboxMail(
        id=row["id"], kind=row["kind"], recipient=row["recipient"], recipient_name=row["recipient_name"],
        subject=row["subject"], text=row["text"], html=row["html"], created=parse_time(row["created"]),
        state=row["state"], attempts=row["attempts"], next_attempt=parse_time(row["next_attempt"]),
        claimed_at=parse_time(row["claimed_at"]), last_error=row["last_error"], answer=row["answer"],
        sent_at=parse_time(row["sent_at"]), message_id=row["message_id"], transport=row["transport"],
        attachments=load_attachments(row["attachments"]), unsubscribe_url=row["unsubscribe_url"] or "")


@dataclass(frozen=True)
class Summary:
    """What the admin pages say about the outbox."""

    counts: dict[str, int]
    #: Creation time of the oldest mail not sent yet (queued or sending).
    oldest_waiting: dt.datetime | None

    def warnings(self, now: dt.datetime | None = None) -> list[str]:
        """French lines for the admin's banner (failed mails, a queue that does not move)."""
        now = now or utcnow()
        out = []
        failed = self.counts.get("failed", 0)
        if failed:
            out.append(f"{french.count(failed, 'courriel', 'courriels')} en échec : "
                       "le serveur les a refusés ou était injoignable trop "
                       "longtemps.")
        if self.oldest_waiting is not None and now - self.oldest_waiting > LATE_AFTER:
            minutes = int((now - self.oldest_waiting).total_seconds() // 60)
            out.append(f"Le plus ancien courriel en attente attend depuis {minutes} minutes : le serveur de "
                       "courriel est peut-être injoignable.")
        return out


class Outbox:
    """The outbox of one project's instance database."""

    def __init__(self, db: instance_db.InstanceDB):
        self.db = db

    @classmethod
    def for_project(cls, project) -> Outbox:
        return cls(instance_db.InstanceDB.for_project(project))

    # ------------------------------------------------------------------ writing

    def enqueue(self, message: Message, *, conn: sqlite3.Connection | None = None,
                now: dt.datetime | None = None) -> int:
        """Queue ``message``; its id.  With ``conn``, inside the caller's transaction (the mail exists iff
        the caller commits).  Never sends: the background sender does."""
        if not message.to or "\n" in message.to or "\r" in message.to:
            raise ValueError("destinataire de courriel invalide")
        now = now or utcnow()
        values = (message.kind, message.to, message.to_name or "", " ".join(message.subject.split()),
                  message.text, message.html, iso(now), iso(now), new_message_id(),
                  dump_attachments(message.attachments), message.unsubscribe_url or "")
        sql = ("INSERT INTO outbox (kind, recipient, recipient_name, subject, text, html, created, next_attempt, "
               "message_id, attachments, unsubscribe_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        if conn is not None:
            mail_id = conn.execute(sql, values).lastrowid
        else:
            with self.db.transaction() as own:
                mail_id = own.execute(sql, values).lastrowid
        for wake in list(wakers):
            try:
                wake()
            except Exception:  # noqa: BLE001 - a waker never breaks a write
                pass
        return int(mail_id)

    def requeue_interrupted(self, now: dt.datetime | None = None, stale_after: dt.timedelta = STALE_SENDING) -> int:
        """``sending`` rows claimed longer ago than ``stale_after``: queued again (their sender died)."""
        now = now or utcnow()
        with self.db.transaction() as conn:
            done = conn.execute("UPDATE outbox SET state = 'queued', claimed_at = NULL, next_attempt = ? "
                                "WHERE state = 'sending' AND claimed_at < ?", (iso(now), iso(now - stale_after)))
        return done.rowcount

    def claim(self, now: dt.datetime | None = None) -> OutboxMail | None:
        """The next due mail, now ``sending`` and counted as one more attempt; None when nothing is due.

        One write transaction: of concurrent senders, exactly one gets a given row."""
        now = now or utcnow()
        with self.db.transaction() as conn:
            row = conn.execute("SELECT id FROM outbox WHERE state = 'queued' AND next_attempt <= ? "
                               "ORDER BY next_attempt, id LIMIT 1", (iso(now),)).fetchone()
            if row is None:
                return None
            done = conn.execute("UPDATE outbox SET state = 'sending', claimed_at = ?, attempts = attempts + 1 "
                                "WHERE id = ? AND state = 'queued'", (iso(now), row["id"]))
            if done.rowcount != 1:  # pragma: no cover - the write lock makes this the row just read
                return None
            return _mail(conn.execute("SELECT * FROM outbox WHERE id = ?", (row["id"],)).fetchone())

    def mark_sent(self, mail_id: int, answer: str, *, transport: str, now: dt.datetime | None = None) -> None:
        """Delivered: the bodies (and the link they carry) are erased; the answer is kept."""
        now = now or utcnow()
        with self.db.transaction() as conn:
            conn.execute("UPDATE outbox SET state = 'sent', sent_at = ?, answer = ?, transport = ?, text = '', "
                         "html = '', attachments = '', unsubscribe_url = '', claimed_at = NULL, "
                         "last_error = NULL WHERE id = ?",
                         (iso(now), answer[:2000], transport, mail_id))

    def postpone(self, mail_id: int, error: str, *, at: dt.datetime, transport: str) -> None:
        """A temporary failure: queued again, due at ``at``, with the reason."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE outbox SET state = 'queued', next_attempt = ?, last_error = ?, claimed_at = NULL, "
                         "transport = ? WHERE id = ? AND state = 'sending'", (iso(at), error[:2000], transport,
                                                                              mail_id))

    def release(self, mail_id: int) -> None:
        """A mail claimed but not tried (the round stopped): queued again, the attempt not counted."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE outbox SET state = 'queued', claimed_at = NULL, attempts = MAX(0, attempts - 1) "
                         "WHERE id = ? AND state = 'sending'", (mail_id,))

    def fail(self, mail_id: int, error: str, *, transport: str) -> None:
        """Given up: ``failed`` with the server's last answer (an admin may retry it)."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE outbox SET state = 'failed', last_error = ?, claimed_at = NULL, transport = ? "
                         "WHERE id = ? AND state = 'sending'", (error[:2000], transport, mail_id))

    def retry(self, mail_id: int, now: dt.datetime | None = None) -> bool:
        """An admin's « Réessayer » on a failed mail: queued now, its attempts counted from zero."""
        if not 0 < mail_id <= _MAX_ID:
            return False
        now = now or utcnow()
        with self.db.transaction() as conn:
            done = conn.execute("UPDATE outbox SET state = 'queued', attempts = 0, next_attempt = ? "
                                "WHERE id = ? AND state = 'failed'", (iso(now), mail_id))
        if done.rowcount:
            for wake in list(wakers):
                try:
                    wake()
                except Exception:  # noqa: BLE001
                    pass
        return bool(done.rowcount)

    def purge(self, older_than: dt.timedelta = dt.timedelta(days=90), now: dt.datetime | None = None) -> int:
        """Forget sent and failed mails created more than ``older_than`` ago."""
        limit = iso((now or utcnow()) - older_than)
        with self.db.transaction() as conn:
            done = conn.execute("DELETE FROM outbox WHERE state IN ('sent', 'failed') AND created < ?", (limit,))
        return done.rowcount

    # ------------------------------------------------------------------ reading

    def get(self, mail_id: int) -> OutboxMail | None:
        if not 0 < mail_id <= _MAX_ID:
            return None
        conn = self.db.connect()
        try:
            row = conn.execute("SELECT * FROM outbox WHERE id = ?", (mail_id,)).fetchone()
        finally:
            conn.close()
        return _mail(row) if row else None

    def list(self, state: str | None = None, *, limit: int = 200) -> list[OutboxMail]:
        """Newest first (of one state when given)."""
        conn = self.db.connect()
        try:
            if state:
                rows = conn.execute("SELECT * FROM outbox WHERE state = ? ORDER BY id DESC LIMIT ?",
                                    (state, limit)).fetchall()
            else:
                rows = conn.execute("SELECT * FROM outbox ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        finally:
            conn.close()
        return [_mail(r) for r in rows]

    def summary(self) -> Summary:
        conn = self.db.connect()
        try:
            counts = {r[0]: r[1] for r in conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state")}
            oldest = conn.execute("SELECT MIN(created) FROM outbox WHERE state IN ('queued', 'sending')").fetchone()
        finally:
            conn.close()
        return Summary(counts, parse_time(oldest[0]) if oldest and oldest[0] else None)
