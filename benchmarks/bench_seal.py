"""The seal's costs (issue 13): what the witness journal adds to an append, and ``livret verify``.

- journal: appends through the store API on a copy of the synthetic store,
  one after the other, first with no after-commit hook, then with the
  journal registered (the same number of each, alternated in rounds so that
  the machine's load hits both alike); the figure is the difference of the
  medians;
- verify: ``livret verify`` on the synthetic store whose journal started
  before its last appends (a subprocess, wall time).
"""

from __future__ import annotations

import datetime as dt
import shutil
import statistics
import sys
import time
from pathlib import Path

from benchmarks.figures import Figure, Target
from benchmarks.measure import run_measured
from livret.seal import witnessed
from livret.store.project import Project

ROUNDS = 5


def _entry(n: int) -> dict:
    return {"type": "meeting", "date": "2026-11-20T10:00:00+01:00", "title": f"Mesure {n}",
            "kind": "suivi", "modality": "presentiel", "duration": 30}


def _timed_appends(project: Project, learner: str, count: int, start: int) -> list[float]:
    now = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.timezone.utc)
    times = []
    for n in range(start, start + count):
        began = time.perf_counter()
        project.store.append_entry(learner, _entry(n), "Texte.", author="bench.tuteur", role="tutor", now=now)
        times.append(time.perf_counter() - began)
    return times


def journal_cost(project: Project, work: Path, appends: int = 200) -> list[Figure]:
    copy = work / "seal-journal"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(project.root, copy, symlinks=True, ignore=shutil.ignore_patterns("build", "instance"))
    plain, sealed = Project.at(copy), Project.at(copy)
    learner = plain.store.learner_ids()[0]
    witnessed(sealed)
    per_round = max(1, appends // ROUNDS)
    without, with_journal = [], []
    for r in range(ROUNDS):
        without += _timed_appends(plain, learner, per_round, 2 * r * per_round)
        with_journal += _timed_appends(sealed, learner, per_round, (2 * r + 1) * per_round)
    p50_without = statistics.median(without) * 1000
    p50_with = statistics.median(with_journal) * 1000
    shutil.rmtree(copy, ignore_errors=True)
    return [
        Figure("append_store_p50_ms", "ajout par l'API du magasin, sans journal : p50", p50_without, "ms",
               None, len(without)),
        Figure("append_sealed_p50_ms", "ajout par l'API du magasin, avec journal témoin : p50", p50_with, "ms",
               None, len(with_journal)),
        Figure("seal_journal_ms", "surcoût du journal témoin par ajout (p50)", p50_with - p50_without, "ms",
               Target("<=", 5), len(with_journal)),
    ]


def verify_time(project: Project, size: str) -> list[Figure]:
    witnessed(project)
    project.store.append_entry(project.store.learner_ids()[0], _entry(0), "Texte.", author="bench.tuteur",
                               role="tutor")
    run = run_measured([sys.executable, "-m", "livret", "verify", "--root", str(project.root)])  # raises on exit 1
    return [Figure(f"verify_{size}_s", f"livret verify ({size})", run.wall, "s",
                   Target("<=", 30) if size == "M" else None, 1)]
