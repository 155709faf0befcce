"""Issue 16's planning figures: the follow-up rules evaluated for 1,000 learners (target ≤ 1 s).

``python benchmarks/run.py --only planning`` (or ``python -m benchmarks.bench_planning``).

The store: the synthetic organisation (:mod:`benchmarks.synth`, 1,000
learners, their meetings, positionings… over two years) under the issue's
rules — welcome within 7 days, positioning within 15, the company check-in
before the 45th day of presence, a company visit every 2 months, a contact
every 30 days — with the work-study learners in a group whose calendar
alternates centre and company weeks over the two years (one absence a month).

Figures:

- ``planning_rules``: every learner's items (:func:`livret.views.followup.learner_items`)
  from records already loaded — what the dashboard and the reports add; target ≤ 1 s;
- ``planning_rules_loaded``: the same from a cold store (every file parsed), and
  ``planning_rules_warm``: from the store's warm cache (what a running app has).

The calendar feed figure (a tutor's feed with 50 learners, target ≤ 200 ms) is in
benchmarks/bench_feeds.py (``--only feeds``).
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.figures import Figure, Target  # noqa: E402
from benchmarks.synth import REFERENCE, generate  # noqa: E402
from livret.store.api import Store  # noqa: E402
from livret.store.schema import Group  # noqa: E402
from livret.store.writer import GroupChange  # noqa: E402
from livret.store.yamlio import dump_yaml, load_yaml  # noqa: E402
from livret.views import followup as fv  # noqa: E402

LEARNERS = 1000
ENTRIES = 40
RUNS = 5
#: Cold loads (every file parsed) are slow and only informative: measured this many times.
COLD_RUNS = 1
RULES = [
    {"id": "accueil", "what": "welcome", "within_days": 7},
    {"id": "positionnement", "what": "positioning", "within_days": 15},
    {"id": "periode-essai", "what": "company-checkin", "presence_days": 45, "contracts": ["apprentissage"]},
    {"id": "visites", "what": "company-visit", "every_months": 2},
    {"id": "contacts", "what": "contact", "every_days": 30},
]


def calendar(first: dt.date, weeks: int) -> list[dict]:
    """Alternating centre / company weeks from the Monday of ``first``, a one-day absence every 4 weeks."""
    monday = first - dt.timedelta(days=first.weekday())
    out = []
    for w in range(weeks):
        start = monday + dt.timedelta(days=7 * w)
        out.append({"start": start, "end": start + dt.timedelta(days=4), "kind": "centre" if w % 2 else "entreprise"})
        if w % 4 == 0:
            out.append({"start": start + dt.timedelta(days=2), "end": start + dt.timedelta(days=2), "kind": "absence"})
    return out


def planning_store(work: Path, learners: int = LEARNERS, entries: int = ENTRIES) -> Path:
    """The synthetic organisation with the rules and the work-study calendar; returns its portfolios folder."""
    report = generate(work / "planning-org", learners=learners, entries=entries, seed=7, attachments=False)
    project = report.project
    org_file = project.portfolios / "_organisation.yml"
    org = load_yaml(org_file.read_text(encoding="utf-8")).data or {}
    org_file.write_text(dump_yaml({**org, "followup": {"rules": RULES}}), encoding="utf-8")
    store = project.store
    profiles = {lid: store.profile(lid) for lid in store.learner_ids()}
    members = [lid for lid, p in profiles.items() if p is not None and p.work_study]
    first = min(p.start for p in profiles.values() if p is not None)
    group = Group.model_validate({"id": "alternants", "name": "Alternants", "members": members,
                                 "calendar": calendar(first, 110)})
    store.write_changes([], [GroupChange(group, None)], author="admin.bench", message="calendrier de l'alternance")
    return project.portfolios


def _evaluate(store: Store, records, today: dt.date) -> int:
    rules = store.settings().followup.rules
    groups = list(store.groups().values())
    cache: dict = {}
    return sum(len(fv.learner_items(r.profile, r.entries, groups, rules, today, cache=cache))
               for r in records if r.profile)


def rule_evaluation(work: Path, log: Callable[[str], None] = print, *, learners: int = LEARNERS,
                    entries: int = ENTRIES, runs: int = RUNS) -> list[Figure]:
    log(f"règles de suivi : magasin de {learners} apprenant·es × {entries} entrées")
    portfolios = planning_store(work, learners, entries)
    today = REFERENCE.date()
    cold, warm, compute = [], [], []
    items = 0
    store = Store(portfolios)
    for i in range(runs):
        if i < COLD_RUNS:
            store = Store(portfolios)
            t0 = time.perf_counter()
            records = [store.load_learner(lid) for lid in store.learner_ids()]
            items = _evaluate(store, records, today)
            cold.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        records = [store.load_learner(lid) for lid in store.learner_ids()]
        _evaluate(store, records, today)
        warm.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _evaluate(store, records, today)
        compute.append(time.perf_counter() - t0)
    note = f"{learners} apprenant·es, {items} échéances calculées, médiane de {runs}"
    return [
        Figure("planning_rules", "Règles de suivi, 1 000 apprenant·es (dossiers déjà lus)",
               statistics.median(compute) * 1000, "ms", Target("<=", 1000), runs, note),
        Figure("planning_rules_warm", "Règles de suivi, 1 000 apprenant·es (lecture en cache comprise)",
               statistics.median(warm) * 1000, "ms", None, runs, note),
        Figure("planning_rules_loaded", "Règles de suivi, 1 000 apprenant·es (tous les fichiers relus)",
               statistics.median(cold) * 1000, "ms", None, len(cold), note),
    ]


#: The planning figures, in order: ``(work, log) -> list[Figure]``.
MEASURES: list[Callable[..., list[Figure]]] = [rule_evaluation]


def measure(work: Path, log: Callable[[str], None] = print) -> list[Figure]:
    figures: list[Figure] = []
    for fn in MEASURES:
        figures += fn(work, log)
    return figures


if __name__ == "__main__":
    import tempfile

    from benchmarks.figures import table
    from benchmarks.measure import machine

    with tempfile.TemporaryDirectory(prefix="livret-bench-planning-") as tmp:
        print(table(measure(Path(tmp), lambda m: print(m, file=sys.stderr)), machine(), "livret — planification"))
