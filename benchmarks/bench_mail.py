"""The outbox when the mail server is down (issue 15): nothing lost, nothing sent twice, forms never wait.

``python benchmarks/bench_mail.py [--mails 200] [--down-seconds 300] [--interval 1]``, or
``python benchmarks/run.py --only mail``.

1. A project whose organisation names a sender; its outbox's background
   sender (:class:`livret.mail.sender.MailSender`, the app's) is started on
   a loopback port where nothing listens.
2. N mails are queued one after the other, as forms would (each enqueue
   timed: p50 and p95 — a form's cost while the server is down).
3. The server stays down for ``--down-seconds``: the sender tries, fails
   (connection refused), backs off.
4. A real SMTP server (aiosmtpd) starts on that port; the time until every
   mail is delivered is measured, then what the server received is counted:
   mails lost (queued but never received) and duplicates (received twice)
   must both be 0; the attempts each mail took are read from the outbox.

The retry delays are a constructor argument of the sender: the default
schedule here is the production one with minutes read as seconds, so that a
5-minute outage walks through it; the printout says which one was used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email
import email.policy
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.figures import Figure, Target, table  # noqa: E402
from benchmarks.measure import machine  # noqa: E402
from livret.mail import messages  # noqa: E402
from livret.mail.outbox import Outbox  # noqa: E402
from livret.mail.sender import BACKOFF, MailSender  # noqa: E402
from livret.mail.settings import SmtpSettings  # noqa: E402
from livret.store.project import Project  # noqa: E402
from livret.store.yamlio import dump_yaml  # noqa: E402

#: The production schedule (1, 2, 5, 10, 30 min, 1, 2, 4, 8, 10 h) with each minute read as a second.
FAST_BACKOFF = tuple(d / 60 for d in BACKOFF)


class _Recorder:
    def __init__(self):
        self.ids: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.ids.append(message["Message-ID"])
        return "250 2.0.0 Ok"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _project(root: Path) -> Project:
    (root / "portfolios").mkdir(parents=True)
    (root / "portfolios" / "_organisation.yml").write_text(dump_yaml({
        "name": "OF de mesure", "public_url": "https://livret.example.fr",
        "mail": {"sender": "formation@example.fr"}}), encoding="utf-8")
    return Project.at(root)


def _duration(seconds: float) -> str:
    return f"{seconds:g} s" if seconds < 60 else f"{seconds / 60:g} min"


def outage(work: Path, *, mails: int = 200, down_seconds: float = 300, interval: float = 1.0,
           backoff: tuple[float, ...] = FAST_BACKOFF, log=print) -> list[Figure]:
    from aiosmtpd.controller import Controller

    project = _project(work / "mail-org")
    outbox = Outbox.for_project(project)
    port = _free_port()
    sender = MailSender(project, smtp=SmtpSettings("127.0.0.1", port, timeout=10), backoff=backoff,
                        interval=interval).start()
    org = project.store.settings()
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)
    latencies = []
    try:
        for n in range(mails):
            message = messages.invitation(org, person_name=f"Personne {n}", to=f"p{n}@example.fr",
                                          url=f"https://livret.example.fr/lien/{n:043d}", expires=expires)
            began = time.perf_counter()
            outbox.enqueue(message)
            latencies.append(time.perf_counter() - began)
        log(f"{mails} courriels en file ; serveur arrêté pendant {down_seconds:g} s")
        time.sleep(down_seconds)
        conn = outbox.db.connect()
        try:
            tried_down = conn.execute("SELECT SUM(attempts), COUNT(*) FROM outbox WHERE attempts > 0").fetchone()
        finally:
            conn.close()
        recorder = _Recorder()
        controller = Controller(recorder, hostname="127.0.0.1", port=port, ready_timeout=30)
        controller.start()
        up = time.perf_counter()
        log("serveur démarré")
        deadline = up + max(600.0, 4 * interval)
        while time.perf_counter() < deadline:
            counts = outbox.summary().counts
            if counts.get("sent", 0) + counts.get("failed", 0) >= mails:
                break
            time.sleep(0.05)
        all_delivered = time.perf_counter() - up
        sender.stop()
        time.sleep(0.2)
        controller.stop()
    finally:
        sender.stop()
    rows = outbox.list(limit=mails + 10)
    expected = {r.message_id for r in rows}
    received = recorder.ids
    lost = len(expected - set(received))
    duplicates = len(received) - len(set(received))
    attempts = [r.attempts for r in rows]
    failed = sum(1 for r in rows if r.state == "failed")
    schedule = ", ".join(_duration(d) for d in backoff)
    note = (f"{mails} courriels, serveur arrêté {down_seconds:g} s, tour toutes les {interval:g} s ; "
            f"délais entre tentatives : {schedule}")
    ms = [x * 1000 for x in latencies]
    return [
        Figure("mail_lost", "courriels perdus (serveur arrêté puis relancé)", lost, "", Target("==", 0), note=note),
        Figure("mail_duplicates", "courriels reçus en double", duplicates, "", Target("==", 0)),
        Figure("mail_failed", "courriels passés en échec", failed, "", Target("==", 0)),
        Figure("mail_delivery_s", "du serveur relancé à tous les courriels remis", all_delivered, "s"),
        Figure("mail_attempts_mean", "tentatives par courriel : moyenne", statistics.mean(attempts), ""),
        Figure("mail_attempts_max", "tentatives par courriel : maximum", max(attempts), ""),
        Figure("mail_attempts_down", "tentatives pendant la panne (toutes)", tried_down[0] or 0, ""),
        Figure("mail_enqueue_p50_ms", "mise en file pendant la panne : p50", statistics.median(ms), "ms"),
        Figure("mail_enqueue_p95_ms", "mise en file pendant la panne : p95",
               statistics.quantiles(ms, n=20)[18] if len(ms) >= 20 else max(ms), "ms", Target("<=", 100)),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="La file d'envoi des courriels quand le serveur est en panne.")
    parser.add_argument("--mails", type=int, default=200, help="Courriels mis en file (défaut : 200).")
    parser.add_argument("--down-seconds", type=float, default=300,
                        help="Durée de la panne du serveur, en secondes (défaut : 300 ; 5 pour un essai rapide).")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="Secondes entre deux tours de l'expéditeur sans réveil "
                             "(défaut : 1 ; 30 en production).")
    parser.add_argument("--backoff", type=float, nargs="+", default=list(FAST_BACKOFF), metavar="S",
                        help="Délais entre tentatives, en secondes (défaut : ceux de production, minutes lues "
                             "comme des secondes).")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="livret-bench-mail-"))
    try:
        figures = outage(work, mails=args.mails, down_seconds=args.down_seconds, interval=args.interval,
                         backoff=tuple(args.backoff), log=lambda m: print(f"[{time.strftime('%H:%M:%S')}] {m}",
                                                                          file=sys.stderr, flush=True))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(table(figures, machine(), "livret — courriels : panne du serveur SMTP"))
    return 0 if all(f.holds is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
