"""A tutor's calendar feed with 50 learners (issue 16: ≤ 200 ms).

``python benchmarks/bench_feeds.py [--learners 50] [--others 200] [--requests 30]``, or
``python benchmarks/run.py --only feeds``.

1. An organisation of ``--learners`` learners followed by one tutor plus ``--others`` followed by
   other tutors (the feed must skip them), each with a work-study calendar, six planned meetings
   (one moved, one cancelled, one held and written up), a few meetings, an alert, and the
   follow-up rules of the demo (welcome, positioning, company check-in, company visit, contact):
   files written as a person would, committed once.
2. The app (``create_app``, the production code path) answers ``GET /agenda/<token>.ics`` for the
   tutor: the first request (cold: every learner read from the disk) and ``--requests`` more (warm:
   the store's cache, as in a running server) are timed; p50 and p95 of the warm ones against the
   target, the cold one reported; then a conditional request (``If-None-Match``: 304).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.figures import Figure, Target, table  # noqa: E402
from benchmarks.measure import machine  # noqa: E402

PARIS = dt.timezone(dt.timedelta(hours=1))
RULES = {"rules": [{"id": "accueil", "what": "welcome", "within_days": 7},
                   {"id": "positionnement", "what": "positioning", "within_days": 15},
                   {"id": "periode-essai", "what": "company-checkin", "presence_days": 45,
                    "contracts": ["apprentissage"]},
                   {"id": "visite", "what": "company-visit", "every_months": 3},
                   {"id": "contact", "what": "contact", "every_days": 30}],
         "escalate_after_days": 7}
FRAMEWORK = {"id": "mini", "title": "Référentiel", "scale": {"values": [{"value": "1", "label": "Débutant"},
                                                                         {"value": "2", "label": "Acquis"}],
                                                              "acquired": "2"},
             "blocks": [{"code": "A", "title": "Bloc A", "competencies": [{"code": "A1", "title": "Compétence"}]}]}


def _ulid(n: int, k: int) -> str:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    value = n * 1000 + k
    tail = ""
    for _ in range(10):
        value, r = divmod(value, 32)
        tail = alphabet[r] + tail
    return "01JBENCHFEED0000" + tail


def generate(root: Path, *, learners: int, others: int, today: dt.date) -> object:
    """The organisation (files written directly, one commit); the Project."""
    from livret.store.history import History
    from livret.store.project import Project
    from livret.store.yamlio import dump_yaml, render_front_matter

    pf = root / "portfolios"
    (pf / "_frameworks").mkdir(parents=True)
    (pf / "_frameworks" / "mini.yml").write_text(dump_yaml(FRAMEWORK), encoding="utf-8")
    (pf / "_organisation.yml").write_text(dump_yaml({"name": "OF de mesure", "followup": RULES,
                                                     "public_url": "https://livret.example.fr"}), encoding="utf-8")
    start = today - dt.timedelta(days=60)
    for n in range(learners + others):
        lid = f"app{n:04d}"
        tutor = "tina" if n < learners else f"tuteur{n % 10}"
        calendar = []
        for week in range(0, 26, 2):
            monday = start + dt.timedelta(days=7 * week - start.weekday())
            calendar.append({"start": monday.isoformat(), "end": (monday + dt.timedelta(days=4)).isoformat(),
                             "kind": "centre"})
            calendar.append({"start": (monday + dt.timedelta(days=7)).isoformat(),
                             "end": (monday + dt.timedelta(days=11)).isoformat(), "kind": "entreprise"})
        profile = {"id": lid, "first_name": f"Prénom{n}", "last_name": f"Nom{n}", "programme": "BTS de mesure",
                   "framework": "mini", "start": start.isoformat(), "end": (start + dt.timedelta(days=700)).isoformat(),
                   "work_study": True, "contract": "apprentissage", "company": {"name": "Entreprise"},
                   "email": f"{lid}@example.fr", "account": lid, "tutors": [tutor], "company_tutors": ["carl"],
                   "calendar": calendar}
        (pf / lid / "entries").mkdir(parents=True)
        (pf / lid / "files").mkdir()
        (pf / lid / "learner.md").write_text(render_front_matter(profile, "Objectifs."), encoding="utf-8")
        recorded = dt.datetime.combine(start, dt.time(9), PARIS)
        entries = []
        for k in range(6):
            when = dt.datetime.combine(today + dt.timedelta(days=7 * k - 14), dt.time(10 + k), PARIS)
            entries.append({"id": _ulid(n, k), "type": "planned-meeting", "date": when, "kind": "suivi",
                            "modality": "presentiel", "place": "Salle 2", "duration": 60, "title": f"Plan {k}",
                            "with_company": k == 3})
        entries.append({**entries[1], "id": _ulid(n, 10), "updates": _ulid(n, 1), "reason": "Déplacé",
                        "date": entries[1]["date"] + dt.timedelta(days=1)})
        entries.append({**entries[2], "id": _ulid(n, 11), "updates": _ulid(n, 2), "reason": "Annulé",
                        "status": "cancelled"})
        for k in range(4):
            entries.append({"id": _ulid(n, 20 + k), "type": "meeting", "kind": "accueil" if k == 0 else "suivi",
                            "modality": "presentiel", "duration": 45, "title": f"Entretien {k}",
                            "date": dt.datetime.combine(start + dt.timedelta(days=3 + 20 * k), dt.time(10), PARIS),
                            **({"about": _ulid(n, 0)} if k == 3 else {})})
        entries.append({"id": _ulid(n, 30), "type": "alert", "category": "personnelle", "severity": "haute",
                        "title": "Alerte", "visibility": "staff",
                        "date": dt.datetime.combine(start + dt.timedelta(days=10), dt.time(10), PARIS)})
        for i, data in enumerate(entries):
            meta = {**data, "date": data["date"].isoformat(), "recorded": recorded.isoformat(), "author": tutor,
                    "role": "tutor"}
            name = f"{data['date'].date().isoformat()}-{data['type']}-{i:02d}.md"
            (pf / lid / "entries" / name).write_text(render_front_matter(meta, "Texte."), encoding="utf-8")
    History(pf).init()
    return Project.at(root)


def feed_figures(work: Path, *, learners: int = 50, others: int = 200, requests: int = 30,
                 log=lambda _m: None) -> list[Figure]:
    from forms_app import create_app
    from livret.instance.accounts import Accounts
    from livret.planning.feeds import FeedTokens

    today = dt.date.today()
    began = time.perf_counter()
    project = generate(work / "feeds", learners=learners, others=others, today=today)
    problems = project.store.check()
    if problems:
        raise SystemExit(f"organisation de mesure invalide : {problems[:3]}")
    log(f"{learners + others} apprenant·es générés en {time.perf_counter() - began:.1f} s")
    Accounts.for_project(project).add("tina", "tutor", display_name="Tina Durand", email="tina@example.fr")
    token = FeedTokens.for_project(project).issue("tina")
    app = create_app(project.root, testing=True)
    client = app.test_client()
    path = f"/agenda/{token}.ics"
    t0 = time.perf_counter()
    first = client.get(path)
    cold = (time.perf_counter() - t0) * 1000
    assert first.status_code == 200, first.status_code
    events = first.data.count(b"BEGIN:VEVENT")
    times = []
    for _ in range(requests):
        t0 = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        assert answer.status_code == 200
    t0 = time.perf_counter()
    cached = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    conditional = (time.perf_counter() - t0) * 1000
    assert cached.status_code == 304
    p95 = statistics.quantiles(times, n=20)[18] if len(times) >= 20 else max(times)
    note = (f"{learners} apprenant·es suivis (+{others} d'autres tuteurs), {events} évènements, "
            f"{len(first.data) // 1024} Kio ; {requests} requêtes")
    return [
        Figure("feed_tutor50_p50_ms", "flux agenda d'un tuteur (50 apprenant·es) : p50", statistics.median(times),
               "ms", Target("<=", 200), runs=requests, note=note),
        Figure("feed_tutor50_p95_ms", "flux agenda d'un tuteur (50 apprenant·es) : p95", p95, "ms",
               Target("<=", 200), runs=requests),
        Figure("feed_tutor50_cold_ms", "flux agenda : première requête (lecture du disque)", cold, "ms"),
        Figure("feed_tutor50_304_ms", "flux agenda : requête conditionnelle (304)", conditional, "ms"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Flux agenda d'un tuteur (issue 16).")
    parser.add_argument("--learners", type=int, default=50)
    parser.add_argument("--others", type=int, default=200)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="livret-bench-feeds-"))
    try:
        figures = feed_figures(work, learners=args.learners, others=args.others, requests=args.requests,
                               log=lambda m: print(m, file=sys.stderr))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(table(figures, machine(), "livret — flux agenda (issue 16)"))
    return 0 if all(f.holds is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
