"""Issue 17's attendance figures: a half-day signed by 300 learners through the real server, and the month's
attendance sheets of a group of 30.

``python benchmarks/run.py --only attendance [--size S|M|L]`` (or ``python -m benchmarks.bench_attendance
[--size S]``).  Size S is a quick run (60 learners in 30 s; a group of 10 over 20 half-days); M and L
measure the issue's sizes.

- **signing** (target: 0 lost, p95 ≤ 300 ms): 300 learners of one group, each with an account, are
  signed in to ``livret serve`` (waitress in a subprocess, real HTTP, one client each) before the timed
  phase; then, spread evenly over 2 minutes by a pool of 10 threads, each opens the session's « Émarger »
  page (its CSRF token) and posts the typed-name signature.  Figures: the signatures found in the store
  afterwards (must be all of them), the lost ones (refused or missing), the p50 / p95 / max latency of the
  POST, the commits written.  The session starts a few minutes after the run starts (today, the real
  clock: the server's), so its window is open.
- **documents** (target ≤ 5 s): a group of 30 with 40 half-days in March 2026, signed through the
  attendance service (drawings, a few absences and late arrivals: benchmarks/attendance_month.py), then
  every session's feuille d'émargement and every learner's month (:mod:`livret.attendance.documents`),
  timed from a fresh store (cold caches) and again warm.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.attendance_month import Outcome, fixed_clock, local, sign_month, write_sessions  # noqa: E402
from benchmarks.figures import Figure, Target, table  # noqa: E402
from benchmarks.live_app import Client, serve, stop  # noqa: E402
from benchmarks.measure import machine, median, percentile  # noqa: E402
from livret.instance.accounts import Accounts, hash_password  # noqa: E402
from livret.store.history import History  # noqa: E402
from livret.store.project import Project  # noqa: E402
from livret.store.schema import Group, LearnerProfile  # noqa: E402
from livret.store.writer import GroupChange, profile_text  # noqa: E402
from livret.store.yamlio import dump_yaml  # noqa: E402
from livret.views import attendance as va  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TZ = "Europe/Paris"
PASSWORD = "Quartz-Violet-2026!"
TRAINER = "formateur.bench"
#: size -> (learners signing, seconds they sign over, group of the documents, half-days of the month)
SIZES = {"S": (60, 30, 10, 20), "M": (300, 120, 30, 40), "L": (300, 120, 30, 40)}
THREADS = 10
MONTH = "2026-03"


def _project(root: Path, learners: int, start: dt.date, prefix: str) -> Project:
    """A project with ``learners`` learners (accounts named after them) in one group ``promo``; no git yet."""
    pf = root / "portfolios"
    (pf / "_frameworks").mkdir(parents=True)
    for fw in (REPO / "livret" / "scaffold" / "portfolios" / "_frameworks").glob("*.yml"):
        shutil.copy(fw, pf / "_frameworks" / fw.name)
    framework = next((pf / "_frameworks").glob("*.yml")).stem
    (pf / "_organisation.yml").write_text(dump_yaml({"name": "Organisme de formation (mesures)", "timezone": TZ,
                                                     "attendance": {"remind": False}}), encoding="utf-8")
    ids = [f"{prefix}-{i:03d}" for i in range(learners)]
    for i, lid in enumerate(ids):
        profile = LearnerProfile(id=lid, first_name=f"Prénom{i:03d}", last_name=f"Nom{i:03d}", programme="Formation",
                                 framework=framework, start=start, end=start + dt.timedelta(days=330), account=lid,
                                 tutors=[TRAINER])
        (pf / lid / "entries").mkdir(parents=True)
        (pf / lid / "files").mkdir()
        (pf / lid / "learner.md").write_bytes(profile_text(profile, ""))
    History(pf).init()
    project = Project.at(root)
    project.store.write_changes((), [GroupChange(Group(id="promo", name="Promotion", members=ids), "*")],
                                author=TRAINER, message="groupe")
    return project


def _accounts(project: Project, learners: list[str]) -> None:
    """The trainer and every learner, sharing one password hash (hashing 300 times would take minutes)."""
    accounts = Accounts.for_project(project)
    encoded = hash_password(PASSWORD)
    accounts.add(TRAINER, "tutor", display_name="Formatrice Mesures")
    for lid in learners:
        accounts.add(lid, "learner", display_name=lid)
    with accounts.db.transaction() as conn:
        for username in [TRAINER, *learners]:
            accounts.store_password(conn, username, encoded)


def _commits(project: Project) -> int:
    out = subprocess.run(["git", "-C", str(project.portfolios), "rev-list", "--count", "HEAD"], check=True,
                         capture_output=True, text=True)
    return int(out.stdout)


# --------------------------------------------------------------------------
# (a) 300 learners sign the same half-day through the real server
# --------------------------------------------------------------------------


def signing(work: Path, learners: int = 300, seconds: float = 120, log=print) -> list[Figure]:
    zone = ZoneInfo(TZ)
    now = dt.datetime.now(zone)
    start = (now + dt.timedelta(minutes=14)).replace(second=0, microsecond=0)  # open now, for 45 min
    if start.hour >= 23 or start.date() != now.date():
        raise SystemExit("la mesure d'émargement ouvre une séance aujourd'hui : lancez-la avant 23 h")
    end = min(start + dt.timedelta(hours=3), start.replace(hour=23, minute=59))
    project = _project(work / "signing", learners, now.date() - dt.timedelta(days=30), "app")
    ids = project.store.learner_ids()
    _accounts(project, ids)
    [session] = write_sessions(project.store, [{
        "date": start.date().isoformat(), "half_day": "matin" if start.hour < 13 else "apres-midi",
        "start": f"{start:%H:%M}", "end": f"{end:%H:%M}", "title": "Séance des mesures", "trainer": TRAINER}],
        group="promo", author=TRAINER, author_name="Formatrice Mesures", now=now)
    before = _commits(project)
    served = serve(project.root, work / "signing-serve.log", startup_build=False)
    clients: dict[str, Client] = {}
    try:
        log(f"  {learners} connexions (avant la mesure)")
        lock = threading.Lock()

        def sign_in(lid: str) -> None:
            client = Client(served)
            client.login(lid, PASSWORD)
            with lock:
                clients[lid] = client

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(sign_in, ids))
        for client in clients.values():  # the server closes idle connections: each opens its own again
            client.close()
        path = f"/seances/{session.id}/emarger"
        latencies: list[float] = []
        refused: list[str] = []
        t0 = time.monotonic()
        spacing = seconds / learners

        def sign(index: int) -> None:
            lid = ids[index]
            delay = t0 + index * spacing - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            client = clients[lid]
            try:
                client.read_token(path)
                began = time.perf_counter()
                answer = client.post(path, {"signed_as": "typed-name", "name": f"Prénom{index:03d} Nom{index:03d}"})
            except (OSError, RuntimeError) as exc:  # counted as lost: the store says what was written
                with lock:
                    refused.append(f"{lid}: {exc}"[:120])
                return
            took = (time.perf_counter() - began) * 1000
            with lock:
                latencies.append(took)
                if answer.status != 303:
                    refused.append(f"{lid}: {answer.status}")

        log(f"  {learners} émargements en {seconds:g} s ({THREADS} fils)")
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(sign, range(learners)))
        elapsed = time.monotonic() - t0
    finally:
        for client in clients.values():
            client.close()
        stop(served)
    fresh = Project.at(project.root).store
    signed = sum(1 for r in va.session_sheet(fresh, session.id, start).rows if r[1].signature is not None)
    commits = _commits(project) - before
    note = f"{learners} apprenant·es en {elapsed:.0f} s, {THREADS} fils ; refus : {', '.join(refused[:3]) or 'aucun'}"
    return [
        Figure("attendance_signed", "Émargements enregistrés (magasin)", signed, "", Target("==", learners),
               note=note),
        Figure("attendance_lost", "Émargements perdus", learners - signed, "", Target("==", 0)),
        Figure("attendance_sign_p50", "Émargement (POST), médiane", percentile(latencies, 50), "ms"),
        Figure("attendance_sign_p95", "Émargement (POST), 95e centile", percentile(latencies, 95), "ms",
               Target("<=", 300)),
        Figure("attendance_sign_max", "Émargement (POST), maximum", max(latencies, default=float("nan")), "ms"),
        Figure("attendance_commits", "Commits écrits pendant la mesure", commits, ""),
    ]


# --------------------------------------------------------------------------
# (b) the month's sheets of a group of 30
# --------------------------------------------------------------------------


def month_slots(half_days: int) -> list[dict]:
    """``half_days`` sessions on the weekdays of March 2026, mornings and afternoons."""
    slots, day = [], dt.date(2026, 3, 2)
    while len(slots) < half_days:
        if day.weekday() < 5:
            slots.append({"date": day.isoformat(), "half_day": "matin", "start": "09:00", "end": "12:30",
                          "title": f"Module {len(slots) // 2 + 1}", "trainer": TRAINER, "place": "Salle 1"})
            slots.append({"date": day.isoformat(), "half_day": "apres-midi", "start": "13:30", "end": "17:00",
                          "title": f"Module {len(slots) // 2 + 1} (ateliers)", "trainer": TRAINER, "place": "Salle 1"})
        day += dt.timedelta(days=1)
    return slots[:half_days]


def outcome(learner_id: str, chain: va.Chain, n: int) -> Outcome:
    """Most draw; every seventh types their name; a few absences and late arrivals."""
    k = int(learner_id.rsplit("-", 1)[1])
    if (k + n) % 29 == 0:
        return Outcome(sign=False, mark="absent")
    if (k + n) % 31 == 0:
        return Outcome(early=-20, method="trainer-device", signed_as="typed-name", mark="late", minutes=20)
    return Outcome(signed_as="typed-name" if (k + n) % 7 == 0 else "drawing", early=1 + (k + n) % 12)


def month_group(work: Path, learners: int, half_days: int, log=print) -> Project:
    project = _project(work / "documents", learners, dt.date(2026, 1, 5), "grp")
    _accounts(project, [])
    store = project.store
    with fixed_clock() as at:
        write_sessions(store, month_slots(half_days), group="promo", author=TRAINER, author_name="Formatrice Mesures",
                       now=at(local(dt.date(2026, 2, 16), "10:00")))
        counts = sign_month(store, at, outcome, until=local(dt.date(2026, 4, 1), "00:00"),
                            names={TRAINER: "Formatrice Mesures"})
    log(f"  {counts}")
    return project


def documents(work: Path, learners: int = 30, half_days: int = 40, runs: int = 3, log=print) -> list[Figure]:
    from livret.attendance.documents import (
        learner_month_pdf,
        learner_months_pdf,
        month_sheets_pdf,
        session_sheet_pdf,
    )

    log(f"  groupe de {learners}, {half_days} demi-journées émargées (préparation, non chronométrée)")
    project = month_group(work, learners, half_days, log)
    now = local(dt.date(2026, 4, 2), "12:00")

    def produce(store) -> tuple[float, float, int]:
        t0 = time.perf_counter()
        chains = [c.id for c in va.load_chains(store).values()]
        size = sum(len(session_sheet_pdf(store, c, now)) for c in chains)
        t1 = time.perf_counter()
        size += sum(len(learner_month_pdf(store, lid, MONTH, now)) for lid in store.learner_ids())
        return t1 - t0, time.perf_counter() - t1, size

    # The month's documents of the group as a funder asks for them: every session sheet of the month in
    # one PDF, every learner's half-day grid in another (a fresh store: every file parsed).
    t0 = time.perf_counter()
    store = Project.at(project.root).store
    size = len(month_sheets_pdf(store, MONTH, "promo", now))
    t1 = time.perf_counter()
    size += len(learner_months_pdf(store, MONTH, "promo", now))
    batched = (t1 - t0, time.perf_counter() - t1)
    sheets, months, one_by_one = produce(Project.at(project.root).store)  # the same, one PDF per document
    warm_store = Project.at(project.root).store
    warm = [produce(warm_store) for _ in range(runs)]
    note = f"{half_days} feuilles + {learners} relevés mensuels, {size / 1e6:.1f} Mo de PDF"
    return [
        Figure("attendance_month_docs", "Documents du mois d'un groupe, en deux PDF (magasin neuf)", sum(batched),
               "s", Target("<=", 5), note=note),
        Figure("attendance_month_sheets", "  dont les feuilles d'émargement des séances", batched[0], "s"),
        Figure("attendance_month_grids", "  dont les relevés mensuels des apprenant·es", batched[1], "s"),
        Figure("attendance_docs_one_by_one", "Les mêmes, un PDF par document (magasin neuf)", sheets + months, "s",
               note=f"{half_days} + {learners} fichiers, {one_by_one / 1e6:.1f} Mo"),
        Figure("attendance_docs_one_by_one_warm", "Les mêmes, un PDF par document (caches chauds)",
               median([a + b for a, b, _ in warm]), "s", runs=runs),
    ]


def measure(work: Path, size: str = "M", log=print) -> list[Figure]:
    learners, seconds, group, half_days = SIZES[size]
    log(f"émargement : {learners} apprenant·es, une demi-journée, serveur réel")
    figures = signing(work, learners, seconds, log)
    log(f"feuilles d'émargement du mois : groupe de {group}, {half_days} demi-journées")
    return figures + documents(work, group, half_days, log=log)


def main(argv: list[str] | None = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(description="Mesures de l'émargement (issue 17).")
    parser.add_argument("--size", choices=sorted(SIZES), default="M")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="livret-bench-attendance-") as tmp:
        figures = measure(Path(tmp), args.size, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(table(figures, machine(), f"livret — émargement, taille {args.size}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
