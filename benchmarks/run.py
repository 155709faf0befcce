"""The benchmark: ``python benchmarks/run.py [--size S|M|L] [--runs N] [--only NAME...]``.

Generates a synthetic organisation (benchmarks/synth.py, deterministic),
measures every figure of issue 7 on it, prints one table (median of the
runs, target, whether it holds) headed by the machine, and ends with
``targets: N/M hold``.  The same figures are written as JSON and as a
Markdown table under benchmarks/out/ (git-ignored).

Figures (``--only`` names): build (full build, ms per page, peak memory),
disk, naive (the naive way vs livret build), noop (no-change rebuild), one
(one learner's rebuild in the warm worker), submit (submit-to-visible),
append (16 concurrent clients), dashboard (1,000 learners), seal (the witness
journal's cost per append, ``livret verify``), import (1,000 learners from a
CSV), filters (the admin's filtered dashboard and its CSV export, 1,000
learners), mail (the outbox while the SMTP server is down, issue 15:
benchmarks/bench_mail.py), planning (the follow-up rules for 1,000 learners, issue 16:
benchmarks/bench_planning.py), feeds (a tutor's calendar feed with 50 learners, issue 16:
benchmarks/bench_feeds.py), attendance (300 learners sign one half-day through the real server, the month's
attendance sheets of a group of 30, issue 17: benchmarks/bench_attendance.py).

Runs from a fresh clone after ``pip install -e '.[test]'``: nothing else is
needed (no psutil, no HTTP library: /proc and the standard library).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import (  # noqa: E402
    bench_admin,
    bench_app,
    bench_attendance,
    bench_build,
    bench_feeds,
    bench_mail,
    bench_planning,
    bench_seal,
)
from benchmarks.figures import Figure, markdown_table, table  # noqa: E402
from benchmarks.live_app import serve, stop  # noqa: E402
from benchmarks.measure import machine, run_measured  # noqa: E402
from benchmarks.synth import SIZES, generate  # noqa: E402

NAMES = ("build", "disk", "naive", "noop", "one", "submit", "append", "dashboard", "seal", "import", "filters",
         "mail", "planning", "feeds", "attendance")
OUT = Path(__file__).resolve().parent / "out"
DASHBOARD_LEARNERS = 1000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Mesures de performance de livret (issue 7).")
    parser.add_argument("--size", choices=sorted(SIZES), default="M",
                        help="Taille de l'organisation : S = 10×20, M = 100×40, L = 1000×100 (défaut : M).")
    parser.add_argument("--runs", type=int, default=None,
                        help="Exécutions de chaque construction (médiane) ; défaut : 3, 1 pour L.")
    parser.add_argument("--only", nargs="+", choices=NAMES, default=list(NAMES), metavar="NOM",
                        help=f"Seulement ces mesures, parmi : {', '.join(NAMES)}.")
    parser.add_argument("--naive-sample", type=int, default=20,
                        help="Apprenant·es construits à la manière naïve (0 : tous) ; défaut : 20.")
    parser.add_argument("--submits", type=int, default=30, help="Soumissions chronométrées (défaut : 30).")
    parser.add_argument("--clients", type=int, default=16, help="Clients simultanés (défaut : 16).")
    parser.add_argument("--per-client", type=int, default=20, help="Entrées par client (défaut : 20).")
    parser.add_argument("--dashboard-entries", type=int, default=None,
                        help="Entrées par apprenant·e du magasin de 1000 apprenant·es (défaut : celles de la taille).")
    parser.add_argument("--mail-down-seconds", type=float, default=300,
                        help="Panne du serveur SMTP simulée par la mesure mail, en secondes (défaut : 300).")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=None, help="Dossier de travail (défaut : temporaire, effacé).")
    return parser.parse_args(argv)


def step(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure_builds(args, project, size: str, runs: int, work: Path) -> list[Figure]:
    figures: list[Figure] = []
    only = set(args.only)
    if "build" in only or "naive" in only:
        step(f"construction complète {size} × {runs}")
        built = bench_build.full_build(project, runs, size)
        figures += built
        if "naive" in only:
            step("manière naïve (mkdocs build par site)")
            figures += bench_build.naive_vs_livret(project, work / "naive", built[0].value, built[1].value,
                                                   args.naive_sample or None)
        if "build" not in only:
            figures = [f for f in figures if not f.key.startswith("build_")]
    elif only & {"disk", "noop", "one", "submit", "append"}:
        step("construction initiale (non chronométrée)")
        run_measured([sys.executable, "-m", "livret", "build", "--root", str(project.root)])
    if "disk" in only:
        figures += bench_build.disk(project, size)
    if "noop" in only:
        step("reconstruction sans changement")
        figures += bench_build.no_change_rebuild(project, runs, size)
    if "one" in only:
        step("reconstruction d'un·e apprenant·e (worker chaud)")
        figures += bench_build.one_learner_rebuild(project, max(runs, 5), size)
    return figures


def measure_app(args, project, work: Path) -> list[Figure]:
    figures: list[Figure] = []
    if not {"submit", "append"} & set(args.only):
        return figures
    assigned = bench_app.create_accounts(project)
    served = serve(project.root, work / "serve.log")
    try:
        if "submit" in args.only:
            step(f"de la soumission à l'entrée visible × {args.submits}")
            figures += bench_app.submit_to_visible(project, served, assigned, args.submits)
        if "append" in args.only:
            step(f"ajouts concurrents : {args.clients} clients × {args.per_client}")
            figures += bench_app.append_load(project, served, assigned, args.clients, args.per_client)
    finally:
        stop(served)
    return figures


def measure_dashboard(args, size: str, work: Path, project) -> list[Figure]:
    if not {"dashboard", "filters"} & set(args.only):
        return []
    per_learner = args.dashboard_entries or SIZES[size][1]
    if size == "L":
        big = project
    else:
        step(f"magasin de {DASHBOARD_LEARNERS} apprenant·es × {per_learner} entrées")
        big = generate(work / "dashboard", learners=DASHBOARD_LEARNERS, entries=per_learner, seed=args.seed,
                       git=False, attachments=False).project
    if "filters" in args.only:
        bench_admin.add_groups(big)
    served = serve(big.root, work / "serve-dashboard.log", startup_build=False)
    figures = []
    try:
        if "dashboard" in args.only:
            step("tableau de bord")
            figures += bench_app.dashboard(big, served, 30, DASHBOARD_LEARNERS)
        if "filters" in args.only:
            step("tableau de bord filtré et export CSV")
            figures += bench_admin.filtered_dashboard(big, served, 30, DASHBOARD_LEARNERS)
    finally:
        stop(served)
    return figures


def measure_import(args, work: Path) -> list[Figure]:
    if "import" not in args.only:
        return []
    step(f"import CSV de {bench_admin.IMPORT_ROWS} apprenant·es")
    return bench_admin.import_learners(work)


def measure_seal(args, size: str, work: Path, project) -> list[Figure]:
    if "seal" not in args.only:
        return []
    step("journal témoin : surcoût par ajout")
    figures = bench_seal.journal_cost(project, work)
    step("livret verify")
    return figures + bench_seal.verify_time(project, size)


def measure_mail(args, work: Path) -> list[Figure]:
    if "mail" not in args.only:
        return []
    step(f"courriels : serveur SMTP arrêté {args.mail_down_seconds:g} s")
    return bench_mail.outage(work, down_seconds=args.mail_down_seconds, log=step)


def measure_planning(args, work: Path) -> list[Figure]:
    if "planning" not in args.only:
        return []
    step("planification : règles de suivi de 1000 apprenant·es")
    return bench_planning.measure(work, log=step)


def measure_feeds(args, work: Path) -> list[Figure]:
    if "feeds" not in args.only:
        return []
    step("flux agenda : un tuteur, 50 apprenant·es")
    return bench_feeds.feed_figures(work, log=step)


def measure_attendance(args, size: str, work: Path) -> list[Figure]:
    if "attendance" not in args.only:
        return []
    return bench_attendance.measure(work, size, log=step)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    size = args.size
    runs = args.runs or (1 if size == "L" else 3)
    info = machine()
    work = args.work or Path(tempfile.mkdtemp(prefix="livret-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        learners, entries = SIZES[size]
        step(f"organisation synthétique {size} : {learners} apprenant·es × {entries} entrées (graine {args.seed})")
        report = generate(work / "org", learners=learners, entries=entries, seed=args.seed)
        step(f"  {report.entries} entrées, {report.attachments} pièces jointes en {report.seconds:.1f} s")
        project = report.project
        figures = measure_builds(args, project, size, runs, work)
        figures += measure_app(args, project, work)
        figures += measure_dashboard(args, size, work, project)
        figures += measure_seal(args, size, work, project)
        figures += measure_import(args, work)
        figures += measure_mail(args, work)
        figures += measure_planning(args, work)
        figures += measure_feeds(args, work)
        figures += measure_attendance(args, size, work)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    title = (f"livret — mesures de performance, taille {size} ({learners} apprenant·es × {entries} entrées, "
             f"{report.entries} entrées, {report.attachments} pièces jointes), "
             f"{dt.datetime.now():%Y-%m-%d %H:%M}, {time.perf_counter() - started:.0f} s")
    text = table(figures, info, title)
    print(text)
    OUT.mkdir(exist_ok=True)
    stamp = f"{dt.datetime.now():%Y%m%d-%H%M%S}-{size}"
    (OUT / f"{stamp}.json").write_text(json.dumps(
        {"size": size, "machine": info, "figures": [f.to_json() for f in figures]}, ensure_ascii=False, indent=2),
        encoding="utf-8")
    (OUT / f"{stamp}.md").write_text(markdown_table(figures) + "\n", encoding="utf-8")
    print(f"\n(écrit : {OUT / stamp}.json et .md)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
