"""One reminder to a learner who has not signed a session by the end of its window (docs/attendance.md).

When ``attendance.remind`` is on (``_organisation.yml``, the default), for
every session whose signing window (:func:`livret.views.attendance.signing_window`)
closed within the last :data:`REMIND_WITHIN`, each expected learner with
neither their own signature nor a trainer's mark gets **one** reminder:

- a mail through the one mail path (:class:`livret.mail.outbox.Outbox`,
  :func:`livret.mail.messages.attendance_reminder`, subject « Émargement
  manquant : <title> du <date> ») telling them to contact the session's
  trainer, when they have an address (their account's, else their
  profile's) and did not unsubscribe from this kind of mail;
- otherwise a notice kept in the instance database (table
  ``signin_notices``) that the app shows once, on the page after their next
  sign-in (:func:`take_notices`).

Once per learner and session, across rounds and processes: the key
``attendance:<chain id>:<learner id>`` goes into the scheduler's table
``notices`` in the same transaction as the mail or the notice (``INSERT OR
IGNORE``: of two processes, one writes).  A reminder carries the session's
title, date, times and trainer only: never a mark, a note or anyone else's
state.  Run by the scheduler (:func:`livret.planning.scheduler.run_scheduler`,
which registers the ``notices`` table): the app's scheduler thread every hour,
and ``livret notify``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ..instance import db as instance_db
from ..instance.accounts import Accounts
from ..mail import messages
from ..mail.outbox import Outbox
from ..mail.preferences import MailPreferences, address_subject, user_subject
from ..store.french_dates import fr_date
from ..views import attendance as av
from ..views.progress import effective

log = logging.getLogger("livret.attendance")

instance_db.register("signin_notices", [
    """
    CREATE TABLE signin_notices (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL,
        key TEXT NOT NULL UNIQUE,
        text TEXT NOT NULL,
        created TEXT NOT NULL,
        shown TEXT
    );
    CREATE INDEX signin_notices_waiting ON signin_notices (username, shown);
    """,
])

#: A session whose window closed longer ago than this gets no reminder (a server stopped for days
#: does not remind anyone of last week's sessions when it starts again).
REMIND_WITHIN = dt.timedelta(hours=24)
#: The kind of mail preference (livret.mail.preferences) these reminders obey.
KIND = "attendance-reminder"
#: The learner's list of their sessions (forms_app.attendance).
MY_SESSIONS_PATH = "/mes-seances"


@dataclass
class Missing:
    """A learner expected at a session whose window closed, with neither a signature nor a mark."""

    chain: av.Chain
    learner_id: str
    name: str
    account: str | None
    email: str | None  # the profile's address
    closed: dt.datetime


@dataclass
class Reminder:
    """One reminder sent (or that would be, with ``dry_run``): ``how`` is ``mail`` or ``notice``."""

    learner_id: str
    name: str
    session: str  # chain id
    title: str
    how: str
    to: str  # the address, or the account of a notice
    mail_id: int | None = None


@dataclass
class Round:
    sent: list[Reminder] = field(default_factory=list)
    #: (learner, why) left out: neither an address nor an account.
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat()


def notice_key(chain_id: str, learner_id: str) -> str:
    return f"attendance:{chain_id}:{learner_id}"


def missing(store, now: dt.datetime, within: dt.timedelta = REMIND_WITHIN) -> list[Missing]:
    """Who has neither signed nor been marked at a session whose window closed in ``(now - within, now]``."""
    org = store.settings()
    settings, tz = org.attendance, org.timezone
    local = now.astimezone(ZoneInfo(tz))
    chains = av.load_chains(store, (local - within).date() - dt.timedelta(days=1), local.date())
    closing = []
    for chain in chains.values():
        if chain.cancelled:
            continue
        _, closes = av.signing_window(chain.session, settings, tz)
        if now - within < closes <= now:
            closing.append((chain, closes))
    if not closing:
        return []
    groups = store.groups()
    records = {r.id: r for r in store.valid_records()}
    profiles = {lid: r.profile for lid, r in records.items()}
    convened = {lid: av.convocations(r.entries) for lid, r in records.items()}
    found: list[Missing] = []
    for chain, closes in closing:
        for lid in av.expected_learners(chain, groups, profiles, convened):
            done = av.session_records(effective(records[lid].entries)).get(chain.id, {})
            if done.get("signature") or done.get("mark"):
                continue
            profile = profiles[lid]
            found.append(Missing(chain, lid, profile.name, profile.account, profile.email, closes))
    return found


def _when(session) -> str:
    return f"{fr_date(session.date)}, de {session.start} à {session.end}"


def notice_text(item: Missing, trainer_name: str) -> str:
    s = item.chain.session
    return (f"Vous n'avez pas émargé la séance « {s.title} » du {_when(s)}. Contactez votre formateur·rice, "
            f"{trainer_name}, pour régulariser votre présence.")


def run_round(project, *, base_url: str | None = None, now: dt.datetime | None = None,
              dry_run: bool = False) -> Round:
    """One round: a mail or a sign-in notice to each learner in :func:`missing`, once each.

    ``base_url`` (else the organisation's ``public_url``) starts the links of a mail; ValueError when a
    mail is due and neither is known.  With ``dry_run``, nothing is written: the round says what would be.
    """
    store = project.store
    org = store.settings()
    result = Round()
    if not org.attendance.remind:
        return result
    now = (now or dt.datetime.now(ZoneInfo(org.timezone))).astimezone(ZoneInfo(org.timezone))
    due = missing(store, now)
    if not due:
        return result
    db = instance_db.InstanceDB.for_project(project)
    conn = db.connect()
    try:
        done = {r[0] for r in conn.execute("SELECT key FROM notices WHERE kind = ?", (KIND,))}
    finally:
        conn.close()
    due = [m for m in due if notice_key(m.chain.id, m.learner_id) not in done]
    if not due:
        return result
    accounts = Accounts(db)
    preferences = MailPreferences(db)
    people = store.people_names()
    base = (base_url or org.public_url or "").rstrip("/")
    for item in due:
        s = item.chain.session
        trainer = s.trainer_name or people.get(s.trainer) or s.trainer
        user = accounts.get(item.account) if item.account else None
        usable = user is not None and not user.disabled
        address, subject = None, None
        if usable and user.email:
            address, subject = user.email, user_subject(user.username)
        elif item.email:
            address, subject = item.email, address_subject(item.email)
        if address and not preferences.wants(subject, KIND):
            address = None  # unsubscribed from these mails: the notice on sign-in still tells them
        if address is None and not usable:
            why = "ni adresse e-mail ni compte actif"
            if (item.name, why) not in result.skipped:
                result.skipped.append((item.name, why))
            continue
        if address and not base:
            raise ValueError("adresse publique de l'application inconnue : réglez public_url dans "
                             "_organisation.yml ou donnez --base-url")
        reminder = Reminder(item.learner_id, item.name, item.chain.id, s.title, "mail" if address else "notice",
                            address or user.username)
        if not dry_run:
            key = notice_key(item.chain.id, item.learner_id)
            if address:
                message = messages.attendance_reminder(
                    org, person_name=item.name, to=address, title=s.title, day=s.date, start=s.start, end=s.end,
                    trainer_name=trainer, url=base + MY_SESSIONS_PATH,
                    unsubscribe_url=preferences.unsubscribe_url(base, subject, KIND))
            with db.transaction() as conn:
                if not conn.execute("INSERT OR IGNORE INTO notices (key, kind, recipient, created) "
                                    "VALUES (?, ?, ?, ?)", (key, KIND, reminder.to, _iso(now))).rowcount:
                    continue  # another process was faster
                if address:
                    reminder.mail_id = Outbox(db).enqueue(message, conn=conn)
                    conn.execute("UPDATE notices SET mail_id = ? WHERE key = ?", (reminder.mail_id, key))
                else:
                    conn.execute("INSERT OR IGNORE INTO signin_notices (username, key, text, created) "
                                 "VALUES (?, ?, ?, ?)", (user.username, key, notice_text(item, trainer), _iso(now)))
            log.info("relance d'émargement (%s) : %s, séance %s", reminder.how, item.learner_id, item.chain.id)
        result.sent.append(reminder)
    return result


def take_notices(db: instance_db.InstanceDB, username: str, now: dt.datetime | None = None) -> list[str]:
    """The notices waiting for ``username``, oldest first, marked shown (each is shown once)."""
    moment = _iso(now or dt.datetime.now(dt.timezone.utc))
    shown = []
    with db.transaction() as conn:
        rows = conn.execute("SELECT id, text FROM signin_notices WHERE username = ? AND shown IS NULL ORDER BY id",
                            (username,)).fetchall()
        for row_id, text in rows:  # two sign-ins at once: each notice reaches one of them
            if conn.execute("UPDATE signin_notices SET shown = ? WHERE id = ? AND shown IS NULL",
                            (moment, row_id)).rowcount:
                shown.append(text)
    return shown
