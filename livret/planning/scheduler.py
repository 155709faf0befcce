"""The scheduler: the mails that are due at a given moment, queued once each.

:func:`run_scheduler` looks at the store and the clock (the organisation's
time zone) and queues, through the one mail path (:class:`livret.mail.outbox.Outbox`):

- **meeting reminders**: from ``notify.reminder_hour`` the day before a
  planned meeting until it starts, one mail to every participant with an
  address — the learner (``with_learner``: their account's address, else
  their profile's), each company tutor (``with_company``), the ``others``,
  and the tutor who planned it (the latest record's author) — with the
  plan's ``.ics`` (same ``UID`` and ``SEQUENCE`` as the feeds) joined;
- **the weekly digest** to each tutor with an address, from
  ``notify.digest_weekday`` at ``notify.digest_hour``: the week's meetings,
  the follow-ups due or overdue, the number of open alerts per learner
  (never their text), the sign-offs waiting for them;
- **escalations** to each administrator with an address, when a follow-up is
  overdue by ``followup.escalate_after_days`` days or more;
- the attendance reminders (:func:`livret.attendance.reminders.run_round`:
  one mail or sign-in notice to a learner who did not sign a session by the
  end of its window; report ``rounds["attendance"]``);
- and the rounds passed in ``extra_rounds`` (the app and ``livret notify``
  pass the sign-off reminders, :func:`livret.signoff.reminders.run_round`):
  one scheduler, one thread, one command.

Idempotent: each notice has a unique key in the table ``notices`` —
``reminder:<plan chain>:<sequence>:<address>``, ``digest:<username>:<ISO
week>``, ``escalation:<learner>:<rule>:<due>:<username>``,
``attendance:<session chain>:<learner>`` — written in the
same transaction as its mail, so running twice (or two processes at once)
sends nothing twice, and a failed round leaves neither.  A moved plan has a
new sequence: a new reminder for its new time.

Each recipient's preferences (:mod:`livret.mail.preferences`) are obeyed,
and every mail carries its one-click unsubscribe link.  Staff entries never
produce a mail: a plan with a staff record is left out, an alert is a count.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ..attendance import reminders as attendance_reminders
from ..instance import db as instance_db
from ..instance.accounts import Accounts
from ..jobs.periodic import PeriodicRounds
from ..mail import messages
from ..mail.outbox import Outbox
from ..mail.preferences import MailPreferences, address_subject, user_subject
from ..store import french
from ..store.french_dates import fr_date
from ..store.schema import MEETING_KINDS, MODALITIES
from ..store.visibility import visible_ids
from ..views import followup as fv
from ..views import plans as pv
from ..views import progress as pg
from ..views import signoffs as sv
from . import ics
from .feeds import learner_name

log = logging.getLogger("livret.planning")

instance_db.register("notices", [
    """
    CREATE TABLE notices (
        key TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        recipient TEXT NOT NULL,
        created TEXT NOT NULL,
        mail_id INTEGER
    );
    """,
])

#: Seconds between two rounds of the app's scheduler thread.
INTERVAL = 3600.0
DASHBOARD_PATH = "/tableau-de-bord"
#: extra round: (name, function(project, *, base_url, now, dry_run) -> report)
ExtraRound = tuple[str, Callable]


@dataclass
class Notice:
    """One mail queued (or that would be, with ``dry_run``)."""

    kind: str  # reminder | digest | escalation
    to: str
    name: str
    keys: list[str]
    summary: str
    mail_id: int | None = None


@dataclass
class SchedulerReport:
    queued: list[Notice] = field(default_factory=list)
    #: (who, why) left out: no address, unsubscribed, disabled.
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: The extra rounds' own reports, by name; or the French reason they did not run.
    rounds: dict[str, object] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class _Learner:
    id: str
    profile: object
    name: str
    entries: list
    shared: set[str]
    plans: list
    items: list


@dataclass
class _Recipient:
    address: str
    name: str
    subject: str


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat()


def _learners(project, now: dt.datetime, today: dt.date) -> list[_Learner]:
    store = project.store
    org = store.settings()
    rules = org.followup.rules
    groups = list(store.groups().values()) if rules else []
    out = []
    for record in store.valid_records():
        lid = record.id
        items = fv.to_do(fv.learner_items(record.profile, record.entries, groups, rules, today, now=now)) \
            if rules and record.profile.status == "en-cours" else []
        out.append(_Learner(lid, record.profile, learner_name(record.profile), record.entries,
                            visible_ids((e.meta for e in record.entries), "shared"),
                            pv.plan_states(record.entries, now), items))
    return out


class _Run:
    """One run's shared state: accounts, preferences, existing notices."""

    def __init__(self, project, now: dt.datetime, base: str, dry_run: bool, report: SchedulerReport):
        self.project = project
        self.org = project.store.settings()
        self.zone = ZoneInfo(self.org.timezone)
        self.now = now
        self.base = base
        self.dry_run = dry_run
        self.report = report
        self.db = instance_db.InstanceDB.for_project(project)
        self.accounts = Accounts(self.db)
        self.preferences = MailPreferences(self.db)
        conn = self.db.connect()
        try:
            self.done = {r[0] for r in conn.execute("SELECT key FROM notices")}
        finally:
            conn.close()
        self._users = {u.username: u for u in self.accounts.list()}

    def user(self, username: str | None):
        return self._users.get(username) if username else None

    def account_recipient(self, username: str | None, kind: str) -> _Recipient | None:
        user = self.user(username)
        if user is None or user.disabled or not user.email:
            if username:
                why = ("compte inconnu" if user is None else "compte désactivé" if user.disabled
                       else "pas d'adresse e-mail")
                self.skip(username, why)
            return None
        subject = user_subject(user.username)
        if not self.preferences.wants(subject, kind):
            self.skip(username, f"désabonné·e ({kind})")
            return None
        return _Recipient(user.email, user.name, subject)

    def address_recipient(self, address: str, name: str, kind: str) -> _Recipient | None:
        subject = address_subject(address)
        if not self.preferences.wants(subject, kind):
            self.skip(address, f"désabonné·e ({kind})")
            return None
        return _Recipient(address, name, subject)

    def skip(self, who: str, why: str) -> None:
        if (who, why) not in self.report.skipped:
            self.report.skipped.append((who, why))

    def require_base(self) -> None:
        if not self.base:
            raise ValueError("adresse publique de l'application inconnue : réglez public_url dans "
                             "_organisation.yml ou donnez --base-url")

    def unsubscribe(self, recipient: _Recipient, kind: str) -> str:
        return self.preferences.unsubscribe_url(self.base, recipient.subject, kind)

    def queue(self, kind: str, recipient: _Recipient, keys: list[str], summary: str,
              build: Callable[[], messages.Message]) -> None:
        """Queue the mail of ``keys`` not sent yet (one transaction: the notices and the mail)."""
        fresh = [k for k in keys if k not in self.done]
        if not fresh:
            return
        self.require_base()
        notice = Notice(kind, recipient.address, recipient.name, fresh, summary)
        if not self.dry_run:
            message = build()  # before the transaction (the unsubscribe key may be written once)
            with self.db.transaction() as conn:
                inserted = 0
                for key in fresh:
                    inserted += conn.execute("INSERT OR IGNORE INTO notices (key, kind, recipient, created) "
                                             "VALUES (?, ?, ?, ?)", (key, kind, recipient.address,
                                                                     _iso(self.now))).rowcount
                if not inserted:  # another process was faster
                    return
                notice.mail_id = Outbox(self.db).enqueue(message, conn=conn)
                conn.execute(f"UPDATE notices SET mail_id = ? WHERE key IN ({','.join('?' * len(fresh))})",
                             (notice.mail_id, *fresh))
            log.info("courriel programmé : %s (%s)", kind, ", ".join(fresh))
        self.done.update(fresh)
        self.report.queued.append(notice)

    def record_empty(self, key: str, kind: str, recipient: str) -> None:
        """A notice decided without a mail (an empty digest): not reconsidered this week."""
        if key in self.done or self.dry_run:
            return
        with self.db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO notices (key, kind, recipient, created) VALUES (?, ?, ?, ?)",
                         (key, kind, recipient, _iso(self.now)))
        self.done.add(key)


# --------------------------------------------------------------------------
# Reminders
# --------------------------------------------------------------------------


def reminder_time(state, zone: ZoneInfo, hour: int) -> dt.datetime:
    """``hour`` o'clock (local) the day before the plan's start."""
    day = state.start.astimezone(zone).date() - dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour), zone)


def _participants(run: _Run, learner: _Learner, state) -> list[tuple[_Recipient, str]]:
    """(recipient, role) of everyone a plan's reminder goes to, each address once."""
    meta, profile = state.latest, learner.profile
    found: list[tuple[_Recipient | None, str]] = []
    if meta.with_learner:
        account = run.user(profile.account)
        if account is not None and account.email and not account.disabled:
            found.append((run.account_recipient(profile.account, "reminder"), "learner"))
        elif profile.email:
            found.append((run.address_recipient(profile.email, learner.name, "reminder"), "learner"))
        else:
            run.skip(learner.name, "pas d'adresse e-mail")
    if meta.with_company:
        for username in profile.company_tutors:
            found.append((run.account_recipient(username, "reminder"), "company"))
    for other in meta.others:
        found.append((run.address_recipient(other.email, other.name, "reminder"), "other"))
    found.append((run.account_recipient(meta.author, "reminder"), "tutor"))
    seen: set[str] = set()
    out = []
    for recipient, role in found:
        if recipient is None or recipient.address.lower() in seen:
            continue
        seen.add(recipient.address.lower())
        out.append((recipient, role))
    return out


def _reminders(run: _Run, learners: list[_Learner]) -> None:
    hour = run.org.notify.reminder_hour
    for learner in learners:
        for state in learner.plans:
            if state.status != "planned" or state.id not in learner.shared or state.latest.id not in learner.shared:
                continue
            if not reminder_time(state, run.zone, hour) <= run.now < state.start:
                continue
            recipients = _participants(run, learner, state)
            names = [r.name for r, _ in recipients]
            meta = state.latest
            event = ics.plan_event(state, learner.name, tz=run.org.timezone)
            attachment = ics.calendar_for([event], run.org.timezone, name=run.org.name)
            for recipient, _role in recipients:
                key = f"reminder:{state.id}:{state.sequence}:{recipient.address.lower()}"
                others = [n for n in names if n != recipient.name]

                def build(recipient=recipient, others=others):
                    return messages.meeting_reminder(
                        run.org, person_name=recipient.name, to=recipient.address,
                        kind_label=MEETING_KINDS.get(meta.kind, meta.kind), learner_name=learner.name,
                        when=state.start, duration=meta.duration,
                        modality_label=MODALITIES.get(meta.modality, meta.modality), place=meta.place or "",
                        video_link=meta.video_link or "", participants=others, ics=attachment,
                        unsubscribe_url=run.unsubscribe(recipient, "reminder"))

                moment = messages.fr_moment(state.start, run.org.timezone)
                summary = f"{ics.meeting_summary(meta.kind, learner.name)}, {moment}"
                run.queue("reminder", recipient, [key], summary, build)


# --------------------------------------------------------------------------
# The weekly digest
# --------------------------------------------------------------------------


def digest_time(now: dt.datetime, zone: ZoneInfo, weekday: int, hour: int) -> dt.datetime:
    local = now.astimezone(zone)
    monday = local.date() - dt.timedelta(days=local.weekday())
    return dt.datetime.combine(monday + dt.timedelta(days=weekday), dt.time(hour), zone)


def _digests(run: _Run, learners: list[_Learner]) -> None:
    notify = run.org.notify
    if run.now < digest_time(run.now, run.zone, notify.digest_weekday, notify.digest_hour):
        return
    local = run.now.astimezone(run.zone)
    year, week, _ = local.isocalendar()
    monday = local.date() - dt.timedelta(days=local.weekday())
    sunday = monday + dt.timedelta(days=6)
    signoff_rules = run.org.signoff.rules
    for user in run._users.values():
        if user.role != "tutor":
            continue
        key = f"digest:{user.username}:{year}-W{week:02d}"
        if key in run.done:
            continue
        recipient = run.account_recipient(user.username, "digest")
        if recipient is None:
            continue
        mine = [lr for lr in learners if user.username in lr.profile.tutors]
        meetings, followups, alerts, signoffs = [], [], [], []
        for lr in mine:
            for state in lr.plans:
                day = state.start.astimezone(run.zone).date()
                if (state.status in ("planned", "to-complete") and monday <= day <= sunday
                        and state.id in lr.shared and state.latest.id in lr.shared):
                    meetings.append((state.start, {"when": messages.fr_moment(state.start, run.org.timezone),
                                                   "kind": MEETING_KINDS.get(state.latest.kind, state.latest.kind),
                                                   "learner": lr.name}))
            for item in lr.items:
                followups.append((item.due or dt.date.max, {
                    "learner": lr.name, "label": item.label, "state": item.state_label,
                    "due": fr_date(item.due) if item.due else ""}))
            open_alerts = sum(1 for a in pg.tutor_alerts(lr.entries) if a.status == "open")
            if open_alerts:
                alerts.append((lr.name, open_alerts))
            for p in sv.pending_signoffs(lr.profile, lr.entries, signoff_rules, learner_id=lr.id):
                if user.username in p.signers and p.entry_id in lr.shared:
                    signoffs.append({"learner": lr.name, "title": p.entry_title, "since": fr_date(p.since)})
        if not (meetings or followups or alerts or signoffs):
            run.record_empty(key, "digest", recipient.address)
            continue
        meetings = [m for _, m in sorted(meetings, key=lambda x: x[0])]
        followups = [f for _, f in sorted(followups, key=lambda x: x[0])]
        week_label = f"du {fr_date(monday)} au {fr_date(sunday)}"

        def build(recipient=recipient, meetings=meetings, followups=followups, alerts=alerts, signoffs=signoffs):
            return messages.weekly_digest(run.org, person_name=recipient.name, to=recipient.address,
                                          week_label=week_label, meetings=meetings, followups=followups,
                                          alerts=alerts, signoffs=signoffs, url=run.base + DASHBOARD_PATH,
                                          unsubscribe_url=run.unsubscribe(recipient, "digest"))

        summary = (f"{len(meetings)} rendez-vous, {french.count(len(followups), 'suivi', 'suivis')}, "
                   f"{french.count(sum(c for _, c in alerts), 'alerte', 'alertes')}, "
                   f"{french.count(len(signoffs), 'signature', 'signatures')}")
        run.queue("digest", recipient, [key], summary, build)


# --------------------------------------------------------------------------
# Escalations
# --------------------------------------------------------------------------


def _escalations(run: _Run, learners: list[_Learner], today: dt.date) -> None:
    days = run.org.followup.escalate_after_days
    late = [(lr, item) for lr in learners for item in lr.items
            if item.state == "overdue" and item.due is not None and (today - item.due).days >= days]
    if not late:
        return
    for user in run._users.values():
        if user.role != "admin":
            continue
        wanted = [(lr, item) for lr, item in late
                  if f"escalation:{lr.id}:{item.rule_id}:{item.due.isoformat()}:{user.username}" not in run.done]
        if not wanted:
            continue
        recipient = run.account_recipient(user.username, "escalation")
        if recipient is None:
            continue
        keys = [f"escalation:{lr.id}:{item.rule_id}:{item.due.isoformat()}:{user.username}" for lr, item in wanted]
        rows = [{"learner": lr.name, "label": item.label, "due": fr_date(item.due),
                 "tutors": ", ".join(run.user(t).name if run.user(t) else t for t in lr.profile.tutors)}
                for lr, item in wanted]

        def build(recipient=recipient, rows=rows):
            return messages.followup_escalation(run.org, person_name=recipient.name, to=recipient.address, days=days,
                                                items=rows, url=run.base + DASHBOARD_PATH,
                                                unsubscribe_url=run.unsubscribe(recipient, "escalation"))

        run.queue("escalation", recipient, keys, french.count(len(rows), "suivi en retard", "suivis en retard"), build)


# --------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------


def run_scheduler(project, *, now: dt.datetime | None = None, base_url: str | None = None, dry_run: bool = False,
                  extra_rounds: Sequence[ExtraRound] = ()) -> SchedulerReport:
    """Queue every scheduled mail due at ``now`` (default: now), once; what it queued.

    ``base_url`` (else the organisation's ``public_url``) starts every link; ValueError when a mail is due
    and neither is known.  With ``dry_run``, nothing is written or queued: the report says what would be.
    """
    org = project.store.settings()
    zone = ZoneInfo(org.timezone)
    now = (now or dt.datetime.now(zone)).astimezone(zone)
    today = now.date()
    base = (base_url or org.public_url or "").rstrip("/")
    report = SchedulerReport()
    run = _Run(project, now, base, dry_run, report)
    learners = _learners(project, now, today)
    _reminders(run, learners)
    _digests(run, learners)
    _escalations(run, learners, today)
    rounds = [("attendance", attendance_reminders.run_round), *extra_rounds]
    for name, round_ in rounds:
        try:
            report.rounds[name] = round_(project, base_url=base_url, now=now, dry_run=dry_run)
        except ValueError as exc:
            report.errors[name] = str(exc)
    return report


class SchedulerThread(PeriodicRounds):
    """The app's one scheduler thread: a run at start, then every :data:`INTERVAL` seconds; never raises."""

    thread_name = "livret-scheduler"

    def __init__(self, project, *, extra_rounds: Sequence[ExtraRound] = (), interval: float = INTERVAL,
                 base_url: Callable[[], str | None] | None = None):
        super().__init__(interval)
        self.project = project
        self.extra_rounds = tuple(extra_rounds)
        self.base_url = base_url

    def run_once(self) -> SchedulerReport | None:
        try:
            report = run_scheduler(self.project, base_url=self.base_url() if self.base_url else None,
                                   extra_rounds=self.extra_rounds)
            for name, why in report.errors.items():
                log.warning("courriels programmés (%s) reportés : %s", name, why)
            return report
        except ValueError as exc:
            log.warning("courriels programmés reportés : %s", exc)
        except Exception:  # noqa: BLE001 - a run that fails is retried at the next one
            log.exception("courriels programmés : la tournée a échoué")
        return None
