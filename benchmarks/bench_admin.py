"""Administration figures (issue 14).

- import: 1,000 learners from a CSV (the ERP export an organisation
  starts with), from the bytes to the one commit: parsing, validation of
  every row against the store and the accounts, and the write
  (:func:`livret.interop.learners_csv.plan_import` then ``apply_import``),
  on a real git store with the seal's journal witnessing the commit.
- dashboard with filters: the admin's dashboard of a 1,000-learner store,
  filtered by group, status, tutor and « needs attention », through
  ``livret serve`` and real HTTP.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

from livret.instance.accounts import Accounts
from livret.interop.learners_csv import apply_import, plan_import
from livret.seal import witnessed
from livret.store.project import Project
from livret.store.schema import Group
from livret.store.writer import GroupChange

from .bench_app import create_accounts, signed_in
from .figures import Figure, Target
from .live_app import Served
from .measure import percentile
from .synth import generate

IMPORT_ROWS = 1000
FIRST = ["Léa", "Hugo", "Chloé", "Noé", "Inès", "Théo", "Zoé", "Élodie", "Maël", "Anaïs"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"]


def learners_csv(rows: int, framework: str, tutors: list[str]) -> bytes:
    """An ERP-like export: French headers, `;`, DD/MM/YYYY dates, UTF-8 with a BOM."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["Nom", "Prénom", "Courriel", "Formation", "Référentiel", "Début", "Fin", "Alternance",
                     "Contrat", "Entreprise", "Tuteurs", "Groupes"])
    for i in range(rows):
        work_study = i % 2 == 0
        writer.writerow([f"{LAST[i % 10]}-{i:04d}", FIRST[(i // 10) % 10], f"eleve{i:04d}@example.org",
                         "BTS Management commercial opérationnel", framework, "01/09/2026", "30/06/2028",
                         "oui" if work_study else "non", "apprentissage" if work_study else "aucun",
                         f"Entreprise {i % 37}" if work_study else "", tutors[i % len(tutors)], "promo-2026"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def import_learners(work: Path, rows: int = IMPORT_ROWS) -> list[Figure]:
    """Import ``rows`` learners into a fresh one-learner store; the commit and the files are checked."""
    project = generate(work / "import", learners=1, entries=2, seed=3).project
    witnessed(project)
    store = project.store
    accounts = Accounts.for_project(project)
    tutors = [f"tuteur.{n}" for n in range(8)]
    for name in tutors:
        accounts.add(name, "tutor", "Quartz-Violet-2026!")
    store.write_changes([], [GroupChange(Group(id="promo-2026", name="Promo 2026"), None)], author="admin.bench",
                        message="groupe promo-2026")
    data = learners_csv(rows, store.framework_ids()[0], tutors)
    started = time.perf_counter()
    plan = plan_import(data, store, accounts.list(), name="export-erp.csv")
    planned = time.perf_counter()
    if not plan.ok:
        raise RuntimeError(f"import : {plan.errors[:3]}")
    result = apply_import(plan, store, author="admin.bench")
    done = time.perf_counter()
    if len(result.created) != rows or len(store.learner_ids()) != rows + 1:
        raise RuntimeError(f"import : {len(result.created)} créé·es sur {rows}")
    note = (f"{len(data) // 1024} Ko ; lecture et validation {planned - started:.2f} s, écriture et commit "
            f"{done - planned:.2f} s")
    return [Figure("import_csv_1000_s", f"import CSV de {rows} apprenant·es (aperçu + écriture, un commit)",
                   done - started, "s", Target("<=", 10), 1, note)]


#: The filtered dashboards measured (query strings), from the most to the least selective.
FILTERS = {
    "groupe + statut": "?groupe=promo-a&statut=en-cours",
    "tuteur·rice": "?tuteur={tutor}",
    "à surveiller": "?attention=1",
    "groupe + recherche + tri": "?groupe=promo-b&q=a&tri=progression&ordre=desc",
}


def add_groups(project: Project) -> None:
    """Two cohorts over the store's learners (half each), as an admin would make them."""
    ids = project.store.learner_ids()
    project.store.write_changes([], [GroupChange(Group(id="promo-a", name="Promo A", members=ids[::2]), None),
                                     GroupChange(Group(id="promo-b", name="Promo B", members=ids[1::2]), None)],
                                author="admin.bench", message="groupes")


def filtered_dashboard(project: Project, served: Served, requests: int, learners: int) -> list[Figure]:
    """p95 of the admin's filtered dashboards, every filter above in turn."""
    assigned = create_accounts(project)
    tutor = sorted(assigned)[0]
    times: list[float] = []
    rows = {}
    with signed_in(served, "admin.bench") as client:
        for label, query in FILTERS.items():
            url = "/tableau-de-bord" + query.format(tutor=tutor)
            client.get(url)  # warm: the first request parses the store
            for _ in range(requests):
                start = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - start)
                if response.status != 200:
                    raise RuntimeError(f"tableau de bord filtré ({label}) : {response.status}")
            rows[label] = response.body.count("<tr") - 1
        start = time.perf_counter()
        export = client.get("/tableau-de-bord/export.csv" + FILTERS["à surveiller"])
        export_s = time.perf_counter() - start
    note = "lignes : " + ", ".join(f"{k} {v}" for k, v in rows.items())
    return [Figure("dashboard_filtered_p50_ms", f"tableau de bord filtré, {learners} apprenant·es : p50",
                   percentile(times, 50) * 1000, "ms", None, len(times)),
            Figure("dashboard_filtered_p95_ms", f"tableau de bord filtré, {learners} apprenant·es : p95",
                   percentile(times, 95) * 1000, "ms", Target("<=", 300), len(times), note),
            Figure("dashboard_export_ms", f"export CSV de la liste filtrée ({export.status})",
                   export_s * 1000, "ms", None, 1)]
