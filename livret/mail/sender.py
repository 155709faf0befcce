"""The background sender: delivers the outbox, with retries and a growing delay between attempts.

Like the seal's upkeep (:mod:`livret.seal.upkeep`), a daemon thread that
never stands on a request's path: a server that is down costs the people
filling forms nothing, their mails wait in the outbox.  It wakes at least
every :data:`INTERVAL` seconds, and at once when :meth:`MailSender.wake`
is called (after an enqueue).  Each round (:meth:`MailSender.run_once`,
also what ``livret mail send-queued`` runs from cron) queues again the
mails of a sender that died mid-send, then claims due mails one by one and
sends them through one connection; when the server cannot be reached the
round stops (the next mails would fail alike; they are not charged an
attempt).  Several senders — threads or processes — may run at once:
claiming is atomic (:meth:`Outbox.claim`), a mail goes out once.

The SMTP settings and the sender address are read at every round, so a
configuration fixed by the administrator applies to mails already queued.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..store import french
from . import outbox as outbox_module
from .messages import to_email
from .outbox import Outbox, OutboxMail, utcnow
from .settings import MailConfigError, SmtpSettings, from_env, sender_of
from .transport import EmlTransport, MailFailure, PermanentFailure, transport_for

log = logging.getLogger("livret.mail")

#: Seconds between two rounds when nobody wakes the sender.
INTERVAL = 30.0
#: Delays before attempt 2, 3, ... (seconds): 1, 2, 5, 10, 30 min, then 1, 2, 4, 8, 10 h: ~26 h in all.
BACKOFF: tuple[float, ...] = (60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 36000)
#: At most this many mails per round (the next round goes on).
BATCH = 200

_FROM_ENV = object()


@dataclass
class RoundReport:
    """What one round did."""

    sent: list[int] = field(default_factory=list)
    postponed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    requeued: int = 0
    #: Why the round stopped early (the server unreachable, the configuration wrong), if it did.
    stopped: str | None = None

    @property
    def attempted(self) -> int:
        return len(self.sent) + len(self.postponed) + len(self.failed)


def delay_after(attempts: int, schedule: Sequence[float]) -> float | None:
    """Seconds to wait after ``attempts`` failed attempts, None when it is time to give up."""
    if attempts < 1 or attempts > len(schedule):
        return None
    return float(schedule[attempts - 1])


class MailSender:
    """Delivers one project's outbox in a daemon thread (``start``/``stop``) or on demand (``run_once``)."""

    def __init__(self, project, *, smtp=_FROM_ENV, backoff: Sequence[float] = BACKOFF,
                 interval: float = INTERVAL, outbox: Outbox | None = None):
        self.project = project
        #: ``SmtpSettings``, None (``.eml`` files), or read from the environment at each round.
        self._smtp = smtp
        self.backoff = tuple(float(d) for d in backoff)
        self.interval = interval
        self.outbox = outbox or Outbox.for_project(project)
        self.last_round: RoundReport | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="livret-mail", daemon=True)

    # ------------------------------------------------------------------ thread

    def start(self) -> MailSender:
        self._thread.start()
        outbox_module.wakers.append(self.wake)  # a mail queued anywhere in this process wakes it
        return self

    def stop(self, timeout: float | None = 10) -> None:
        with contextlib.suppress(ValueError):
            outbox_module.wakers.remove(self.wake)
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def wake(self) -> None:
        """Run a round now (called after an enqueue); cheap, never blocks."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            report = self.run_once()
            # The server unreachable or the configuration wrong: the due mails wait for the next
            # tick (or a new mail), instead of being tried one after the other at once.
            self._wake.wait(self.interval if report.stopped else self._next_wait())

    def _next_wait(self) -> float:
        """Until the next due mail, at most the interval."""
        try:
            conn = self.outbox.db.connect()
            try:
                row = conn.execute("SELECT MIN(next_attempt) FROM outbox WHERE state = 'queued'").fetchone()
            finally:
                conn.close()
        except Exception:  # noqa: BLE001 - the thread never dies
            return self.interval
        if not row or not row[0]:
            return self.interval
        due = (dt.datetime.fromisoformat(row[0]) - utcnow()).total_seconds()
        return min(self.interval, max(0.05, due))

    # ------------------------------------------------------------------ one round

    def smtp_settings(self) -> SmtpSettings | None:
        """The SMTP settings in force (MailConfigError when the environment's are wrong)."""
        return from_env() if self._smtp is _FROM_ENV else self._smtp

    def run_once(self, now: dt.datetime | None = None) -> RoundReport:
        """One round over the due mails; what it did.  Never raises."""
        report = RoundReport()
        with self._lock:
            try:
                self._round(report, now)
            except Exception as exc:  # noqa: BLE001 - a bug must not kill the thread; it is logged
                log.exception("envoi des courriels : tour interrompu")
                report.stopped = f"erreur interne : {type(exc).__name__}"
        self.last_round = report
        return report

    def _round(self, report: RoundReport, now: dt.datetime | None) -> None:
        moment = now or utcnow()
        report.requeued = self.outbox.requeue_interrupted(moment)
        if report.requeued:
            log.warning("courriels : %s remis en file",
                        french.count(report.requeued, "envoi interrompu", "envois interrompus"))
        try:
            smtp = self.smtp_settings()
            config_error = None
        except MailConfigError as exc:
            smtp, config_error = None, str(exc)
        transport = transport_for(self.project, smtp) if config_error is None else None
        label = "eml" if isinstance(transport, EmlTransport) else "smtp"
        sender = None
        if config_error is None:
            try:
                sender = sender_of(self.project.store.settings(), smtp=smtp is not None)
            except MailConfigError as exc:
                config_error = str(exc)
            except Exception as exc:  # noqa: BLE001 - an invalid _organisation.yml: livret check names it
                config_error = f"_organisation.yml illisible ou invalide ({type(exc).__name__}) : livret check"
        if transport is None:
            transport_cm = _Nothing()
        else:
            transport_cm = transport.open()
        with transport_cm:
            for _ in range(BATCH):
                mail = self.outbox.claim(now or utcnow())
                if mail is None:
                    return
                if config_error is not None:
                    self._temporary(mail, config_error, report, label, now)
                    report.stopped = config_error
                    return
                try:
                    email_message = to_email(mail.message, sender, message_id=mail.message_id)
                    if isinstance(transport, EmlTransport):
                        answer = transport.send(email_message, name=mail.eml_name)
                    else:
                        answer = transport.send(email_message)
                except PermanentFailure as exc:
                    self.outbox.fail(mail.id, str(exc), transport=label)
                    report.failed.append(mail.id)
                    log.warning("courriel n°%d (%s) refusé définitivement : %s", mail.id, mail.kind, exc)
                    if exc.connection:
                        report.stopped = str(exc)
                        return
                except MailFailure as exc:
                    self._temporary(mail, str(exc), report, label, now)
                    if exc.connection:
                        report.stopped = str(exc)
                        return
                else:
                    self.outbox.mark_sent(mail.id, answer, transport=label)
                    report.sent.append(mail.id)
                    log.info("courriel n°%d (%s) envoyé (%s)", mail.id, mail.kind, label)

    def _temporary(self, mail: OutboxMail, error: str, report: RoundReport, label: str,
                   now: dt.datetime | None) -> None:
        delay = delay_after(mail.attempts, self.backoff)
        if delay is None:
            self.outbox.fail(mail.id, error, transport=label)
            report.failed.append(mail.id)
            log.warning("courriel n°%d (%s) abandonné après %d tentatives : %s", mail.id, mail.kind,
                        mail.attempts, error)
            return
        self.outbox.postpone(mail.id, error, at=(now or utcnow()) + dt.timedelta(seconds=delay), transport=label)
        report.postponed.append(mail.id)
        log.info("courriel n°%d (%s) : nouvelle tentative dans %.0f s (%s)", mail.id, mail.kind, delay, error)

    def schedule_text(self) -> str:
        """The retry schedule for people (« 1 min, 2 min, 5 min… »)."""
        return ", ".join(_duration(d) for d in self.backoff) + f" ; puis échec ({len(self.backoff) + 1} tentatives)"


def _duration(seconds: float) -> str:
    return french.seconds(seconds) if seconds < 60 else french.duration(round(seconds / 60))


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def send_now(project, message, *, smtp=_FROM_ENV) -> str:
    """Send ``message`` at once, outside the outbox (``livret mail test``): the server's answer or the file.

    Raises :class:`MailConfigError` (settings, sender) or :class:`MailFailure` (refused, unreachable)."""
    settings = from_env() if smtp is _FROM_ENV else smtp
    sender = sender_of(project.store.settings(), smtp=settings is not None)
    transport = transport_for(project, settings)
    mail = to_email(message, sender)
    with transport.open():
        if isinstance(transport, EmlTransport):
            return transport.send(mail, name=f"{utcnow():%Y%m%d-%H%M%S}-{message.kind}")
        return transport.send(mail)
