"""Reminders: one mail, once, to each signer whose signature waits for more than N days.

``signoff.remind_after_days`` (``_organisation.yml``, default 7) after an
entry that waits for a signature was recorded, each expected signer with an
e-mail address gets one reminder listing everything of theirs that waits
that long (one mail per person per round).  A reminder is sent once per
signer and entry: the table ``signoff_reminders`` of the instance database
remembers it, written in the same transaction as the mail's place in the
outbox (:class:`livret.mail.outbox.Outbox`), so a failed round leaves
neither.  A company tutor's mail carries a fresh company link (they have no
password); the others' a link to the sign-in page.  Staff entries never
produce a reminder (nothing of them reaches a mail).

A signer who unsubscribed (:mod:`livret.mail.preferences`, kind
``signoff-reminder``) is left out; every reminder carries its unsubscribe link.
``livret notify`` runs one round with the other scheduled mails
(:func:`livret.planning.scheduler.run_scheduler`, which the app runs every hour
in its one scheduler thread, ``LIVRET_REMINDERS``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ..instance import db as instance_db
from ..instance.accounts import Accounts
from ..instance.onetime import COMPANY_LINK_TTL, OneTimeLinks
from ..jobs.periodic import PeriodicRounds
from ..mail import messages
from ..mail.outbox import Outbox
from ..mail.preferences import MailPreferences, user_subject
from ..store import french
from ..store.visibility import visible_ids
from ..views import signoffs as sv

log = logging.getLogger("livret.signoff")

instance_db.register("signoff_reminders", [
    """
    CREATE TABLE signoff_reminders (
        learner_id TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        username TEXT NOT NULL,
        sent TEXT NOT NULL,
        PRIMARY KEY (learner_id, entry_id, username)
    );
    """,
])

#: Seconds between two rounds of the app's thread.
INTERVAL = 3600.0
#: The purpose of a company tutor's one-time link (:mod:`livret.company`).
COMPANY_PURPOSE = "company"
SIGN_IN_PATH = "/connexion"
#: The kind of mail preference (livret.mail.preferences) these reminders obey.
KIND = "signoff-reminder"


@dataclass
class Reminder:
    """One reminder mail (sent, or that would be with ``--dry-run``)."""

    username: str
    name: str
    email: str
    role: str
    items: list[sv.Pending] = field(default_factory=list)
    mail_id: int | None = None


@dataclass
class Round:
    """What one round did."""

    sent: list[Reminder] = field(default_factory=list)
    #: Signers left out (no e-mail address, disabled, unknown account), with why: for the command's output.
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat()


def due(project, today: dt.date) -> list[sv.Pending]:
    """Every shared entry waiting for a signature for at least ``remind_after_days`` days."""
    store = project.store
    settings = store.settings().signoff
    if not settings.rules:
        return []
    out = []
    for record in store.valid_records():
        lid = record.id
        shared = visible_ids((e.meta for e in record.entries), "shared")
        for p in sv.pending_signoffs(record.profile, record.entries, settings.rules, learner_id=lid):
            if p.entry_id in shared and p.days(today) >= settings.remind_after_days:
                out.append(p)
    return out


def already_reminded(db: instance_db.InstanceDB) -> set[tuple[str, str, str]]:
    conn = db.connect()
    try:
        rows = conn.execute("SELECT learner_id, entry_id, username FROM signoff_reminders")
        return {(r[0], r[1], r[2]) for r in rows}
    finally:
        conn.close()


def run_round(project, *, base_url: str | None = None, now: dt.datetime | None = None,
              dry_run: bool = False) -> Round:
    """One round of reminders; with ``dry_run``, what it would send (nothing written, no link issued).

    ``base_url`` (else the organisation's ``public_url``) starts every link.
    """
    store = project.store
    org = store.settings()
    now = now or dt.datetime.now(ZoneInfo(org.timezone))
    today = now.astimezone(ZoneInfo(org.timezone)).date()
    base = (base_url or org.public_url or "").rstrip("/")
    db = instance_db.InstanceDB.for_project(project)
    accounts = Accounts(db)
    preferences = MailPreferences(db)
    done = already_reminded(db)
    by_person: dict[str, Reminder] = {}
    result = Round()
    for p in due(project, today):
        for username in p.signers:
            if (p.learner_id, p.entry_id, username) in done:
                continue
            reminder = by_person.get(username)
            if reminder is None:
                user = accounts.get(username)
                unsubscribed = user is not None and not preferences.wants(user_subject(username), KIND)
                if user is None or user.disabled or not user.email or unsubscribed:
                    why = ("compte inconnu" if user is None else "compte désactivé" if user.disabled
                           else "pas d'adresse e-mail" if not user.email else "désabonné·e de ces relances")
                    if (username, why) not in result.skipped:
                        result.skipped.append((username, why))
                    continue
                reminder = by_person[username] = Reminder(username, user.name, user.email, user.role)
            reminder.items.append(p)
    if by_person and not base:
        raise ValueError("adresse publique de l'application inconnue : réglez public_url dans _organisation.yml "
                         "ou donnez --base-url")
    for reminder in by_person.values():
        if not dry_run:
            reminder.mail_id = _send(db, org, reminder, base, now)
        result.sent.append(reminder)
    return result


def _send(db: instance_db.InstanceDB, org, reminder: Reminder, base: str, now: dt.datetime) -> int | None:
    """The reminder's rows and its mail (and a company tutor's link) in one transaction; the mail id,
    None when another round already reminded every item."""
    items = [(p.learner_name, p.entry_title, p.since) for p in reminder.items]
    unsubscribe = MailPreferences(db).unsubscribe_url(base, user_subject(reminder.username), KIND)
    with db.transaction() as conn:
        fresh = 0
        for p in reminder.items:
            fresh += conn.execute("INSERT OR IGNORE INTO signoff_reminders (learner_id, entry_id, username, sent) "
                                  "VALUES (?, ?, ?, ?)", (p.learner_id, p.entry_id, reminder.username,
                                                          _iso(now))).rowcount
        if not fresh:
            return None
        if reminder.role == "company":
            learners = sorted({p.learner_id for p in reminder.items})
            token = OneTimeLinks(db).issue(COMPANY_PURPOSE, reminder.username, ttl=COMPANY_LINK_TTL,
                                           created_by="livret", data={"reminder": True, "learners": learners},
                                           replace=False, conn=conn)
            url = messages.link_url(base, token)
        else:
            url = base + SIGN_IN_PATH
        message = messages.signoff_reminder(org, person_name=reminder.name, to=reminder.email, items=items, url=url,
                                            unsubscribe_url=unsubscribe)
        mail_id = Outbox(db).enqueue(message, conn=conn)
    log.info("relance de signature : %s (%s)", reminder.username,
             french.count(len(reminder.items), "entrée", "entrées"))
    return mail_id


class ReminderThread(PeriodicRounds):
    """The app's reminder rounds: one at start, then every :data:`INTERVAL` seconds; never raises."""

    thread_name = "livret-reminders"

    def __init__(self, project, *, interval: float = INTERVAL, base_url: Callable[[], str | None] | None = None):
        super().__init__(interval)
        self.project = project
        self.base_url = base_url

    def run_once(self) -> Round | None:
        try:
            return run_round(self.project, base_url=self.base_url() if self.base_url else None)
        except ValueError as exc:
            log.warning("relances de signature reportées : %s", exc)
        except Exception:  # noqa: BLE001 - a round that fails is retried at the next one
            log.exception("relances de signature : la tournée a échoué")
        return None
