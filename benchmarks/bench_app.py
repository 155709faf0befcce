"""App figures, through ``livret serve`` (waitress) on loopback and real HTTP.

- submit-to-visible: a tutor posts the meeting form; the clock stops when
  the new entry's page is served in the learner's portfolio
  (``/portfolio/<id>/entrees/<entry id>/``), i.e. after the background
  rebuild.
- append: 16 clients at once (each its own session and connection) post
  entries for the same and different learners; throughput, latency, and
  "zero lost": every acknowledged entry has its file and its commit.
- dashboard: the dashboard page with 1,000 learners in the store.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from forms_app.dashboard import PAGE_SIZE
from livret.instance.accounts import Accounts
from livret.store.project import Project

from .figures import Figure, Target
from .live_app import Client, Served, meeting_form, post_entry
from .measure import percentile

PASSWORD = "Quartz-Violet-2026!"


def create_accounts(project: Project, *, tutors: bool = True, admin: bool = True) -> dict[str, list[str]]:
    """Accounts for the store's tutors (and an admin); returns tutor -> assigned learners."""
    accounts = Accounts.for_project(project)
    assigned: dict[str, list[str]] = {}
    for lid in project.store.learner_ids():
        for tutor in project.store.profile(lid).tutors:
            assigned.setdefault(tutor, []).append(lid)
    wanted = [(t, "tutor") for t in assigned] if tutors else []
    if admin:
        wanted.append(("admin.bench", "admin"))
    for name, role in wanted:
        if accounts.get(name) is None:
            accounts.add(name, role, PASSWORD)
    return assigned


def signed_in(served: Served, username: str) -> Client:
    client = Client(served)
    client.login(username, PASSWORD)
    return client


def submit_to_visible(project: Project, served: Served, assigned: dict[str, list[str]], submits: int) -> list[Figure]:
    """Post, then poll the learner's portfolio until the new entry's page is served."""
    pairs = [(tutor, lid) for tutor, lids in assigned.items() for lid in lids[:2]]
    clients = {tutor: signed_in(served, tutor) for tutor, _ in pairs}
    try:
        times = [_submit_and_wait(clients[tutor], lid, n)
                 for n, (tutor, lid) in ((n, pairs[n % len(pairs)]) for n in range(submits))]
    finally:
        for client in clients.values():
            client.close()
    return [
        Figure("submit_visible_p50_s", "de la soumission à l'entrée visible, p50", percentile(times, 50), "s",
               None, len(times)),
        Figure("submit_visible_p95_s", "de la soumission à l'entrée visible, p95", percentile(times, 95), "s",
               Target("<=", 3), len(times), "POST du formulaire, reconstruction en arrière-plan, page servie"),
    ]


def _submit_and_wait(client: Client, lid: str, n: int) -> float:
    start = time.perf_counter()
    response, entry_id = post_entry(client, lid, "meeting", meeting_form(n))
    if entry_id is None:
        raise RuntimeError(f"soumission refusée ({response.status}) : {response.body[:500]}")
    page = f"/portfolio/{lid}/entrees/{entry_id.lower()}/"
    deadline = start + 120
    while client.get(page).status != 200:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{page} toujours absent après 120 s")
        time.sleep(0.02)
    return time.perf_counter() - start


def append_load(project: Project, served: Served, assigned: dict[str, list[str]], clients: int,
                per_client: int) -> list[Figure]:
    """``clients`` concurrent sessions post ``per_client`` entries each; then count files and commits."""
    store = project.store
    head_before = int(store.history.git("rev-list", "--count", "HEAD").stdout)
    tutors = sorted(assigned)
    sessions = [(signed_in(served, tutors[i % len(tutors)]), tutors[i % len(tutors)]) for i in range(clients)]
    latencies: list[float] = []
    statuses: Counter = Counter()
    acknowledged: list[tuple[str, str]] = []
    guard = threading.Lock()
    barrier = threading.Barrier(clients)

    def client_loop(i: int) -> None:
        client, tutor = sessions[i]
        learners = assigned[tutor][:3]  # a few learners per tutor: same and different learners
        barrier.wait()
        for n in range(per_client):
            lid = learners[n % len(learners)]
            start = time.perf_counter()
            response, entry_id = post_entry(client, lid, "meeting", meeting_form(i * 1000 + n))
            elapsed = time.perf_counter() - start
            with guard:
                latencies.append(elapsed)
                statuses[response.status] += 1
                if entry_id:
                    acknowledged.append((lid, entry_id))

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    for client, _ in sessions:
        client.close()
    lost = _lost(project, acknowledged)
    commits = int(store.history.git("rev-list", "--count", "HEAD").stdout) - head_before
    errors = sum(n for status, n in statuses.items() if status >= 500)
    return [
        Figure("append_per_s", f"ajouts concurrents ({clients} clients) : débit", len(acknowledged) / wall,
               "entrées/s", Target(">=", 50), 1, f"{len(acknowledged)} entrées en {wall:.1f} s, git activé"),
        Figure("append_p50_ms", "ajouts concurrents : latence p50", percentile(latencies, 50) * 1000, "ms", None, 1),
        Figure("append_p99_ms", "ajouts concurrents : latence p99", percentile(latencies, 99) * 1000, "ms",
               Target("<=", 500), 1),
        Figure("append_lost", "ajouts acquittés perdus (sans fichier ou sans commit)", lost + abs(commits - len(
            acknowledged)), "entrées", Target("==", 0), 1,
               f"réponses : {dict(sorted(statuses.items()))} ; {commits} commits pour {len(acknowledged)} acquittements"),
        Figure("append_5xx", "ajouts concurrents : réponses 5xx", errors, "réponses", Target("==", 0), 1),
    ]


def _lost(project: Project, acknowledged: list[tuple[str, str]]) -> int:
    store = project.store
    lost = 0
    for lid, entry_id in acknowledged:
        entry = store.load_learner(lid).entry(entry_id)
        if entry is None or store.history.git("log", "--format=%H", "--", entry.path).stdout.strip() == b"":
            lost += 1
    return lost


def dashboard(project: Project, served: Served, requests: int, learners: int) -> list[Figure]:
    """The dashboard page of a tutor (the issue's target), and of an admin who sees every learner."""
    assigned = create_accounts(project)
    tutor = sorted(assigned)[0]
    out = []
    for key, who, username in (("tutor", "tuteur·rice", tutor), ("admin", "administrateur·rice", "admin.bench")):
        with signed_in(served, username) as client:
            client.get("/tableau-de-bord")  # warm: the first request parses the store
            times = []
            for _ in range(requests):
                start = time.perf_counter()
                response = client.get("/tableau-de-bord")
                times.append(time.perf_counter() - start)
                if response.status != 200:
                    raise RuntimeError(f"tableau de bord : {response.status}")
        rows = response.body.count("<tr") - 1
        label = f"tableau de bord {who}, {learners} apprenant·es"
        target = Target("<=", 300) if key == "tutor" else None
        note = f"{rows} lignes affichées" + ("" if target else f" (pages de {PAGE_SIZE}) ; pour information (la "
                                                                  "cible de l'issue porte sur le tableau de bord "
                                                                  "d'un·e tuteur·rice)")
        out += [Figure(f"dashboard_{key}_p50_ms", f"{label} : p50", percentile(times, 50) * 1000, "ms", None,
                       len(times)),
                Figure(f"dashboard_{key}_p95_ms", f"{label} : p95", percentile(times, 95) * 1000, "ms", target,
                       len(times), note)]
    return out
