"""Build figures: full build, no-change rebuild, one learner in the warm worker, disk, the naive way.

The full and no-change builds run ``livret build`` as a subprocess, as a
person would, with the memory of the whole process tree sampled (the build
spreads learners over worker processes).  The one-learner rebuild runs in
this process through the app's own background worker
(:class:`livret.publish.rebuild.RebuildWorker`), warm as it is in a running app.

The naive way is what one would do without livret's build driver: the same
pages (from the core's page generator, :func:`livret.publish.site.learner_site`)
written out as plain Markdown, and one ``mkdocs build`` (Material, same
theme, same Markdown extensions, search) per learner site, run as many at a
time as livret runs workers.  Its time counts only the ``mkdocs build``
subprocesses, not writing the Markdown: the comparison favours the naive way.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from livret.publish.build import MANIFESTS
from livret.publish.rebuild import RebuildWorker
from livret.publish.site import ORGANISATION_MARKER, learner_site, organisation_markdown
from livret.store.project import Project

from .figures import Figure, Target
from .measure import disk_usage, median, run_measured
from .store_writer import meeting_fields

MB = 1024 * 1024
AUDIENCES = ("staff", "shared")
#: Top-level names of a built site that are neither its pages (the learner's, and the common
#: pages of site_src/ shown with the learner's navigation), nor its search index, nor its attachments.
NOT_OWN = {"404.html", "sitemap.xml", "sitemap.xml.gz", "stylesheets", "assets", "javascripts"}


def _livret(*args: str) -> list[str]:
    return [sys.executable, "-m", "livret", *args]


def _pages_built(project: Project) -> int:
    total = 0
    for path in (project.build_dir / MANIFESTS).glob("*/*.json"):
        total += json.loads(path.read_text(encoding="utf-8")).get("pages", 0)
    return total


def full_build(project: Project, runs: int, size: str) -> list[Figure]:
    """``livret build --force``: every learner, both audiences, ``runs`` times."""
    done = [run_measured(_livret("build", "--root", str(project.root), "--force")) for _ in range(runs)]
    walls = [r.wall for r in done]
    pages = _pages_built(project)
    big = size == "L"
    wall_target = Target("<=", 600 if big else 40) if size in ("M", "L") else None
    rss_target = Target("<=", 1024 if big else 500) if size in ("M", "L") else None
    return [
        Figure("build_full_s", f"construction complète {size} (2 publics)", median(walls), "s", wall_target, runs),
        Figure("build_cpu_s", f"construction complète {size} : temps CPU (tous processus)",
               median([r.cpu for r in done]), "s", None, runs,
               "sur une machine chargée par ailleurs, temps CPU / cœurs ≈ durée sur une machine libre"),
        Figure("build_ms_per_page", f"construction complète {size} : temps par page", median(walls) * 1000 / pages,
               "ms", None, runs, f"{pages} pages"),
        Figure("build_peak_rss_mb", f"construction complète {size} : mémoire maximale (RSS)",
               median([r.peak_rss for r in done]) / MB,
               "Mo", rss_target, runs, "somme des RSS du processus et de ses workers, échantillonnée toutes "
               "les 50 ms (majorant : les pages partagées sont comptées plusieurs fois)"),
    ]


def disk(project: Project, size: str) -> list[Figure]:
    """Disk per learner site, and what it holds beyond its own pages and attachments."""
    totals, overheads = [], []
    for audience in AUDIENCES:
        for site in sorted((project.build_dir / audience).iterdir()):
            if site.name.startswith("."):
                continue
            total = disk_usage(site)
            extra = os.lstat(site).st_blocks * 512 + sum(
                disk_usage(child) if child.is_dir() and not child.is_symlink() else os.lstat(child).st_blocks * 512
                for child in site.iterdir() if child.name in NOT_OWN)
            totals.append(total)
            overheads.append(extra)
    target = Target("<=", 50) if size in ("M", "L") else None
    return [
        Figure("site_disk_kb", "disque par site d'apprenant·e (médiane)", median(totals) / 1024, "Ko", None, 1,
               "blocs occupés (du), liens symboliques comptés comme liens"),
        Figure("site_overhead_kb", "disque par site au-delà de ses pages et pièces jointes (max)",
               max(overheads) / 1024, "Ko", target, 1,
               "404, plan du site, CSS, lien vers les assets partagés du thème"),
        Figure("assets_shared_kb", "assets du thème (une copie pour tous les sites)",
               disk_usage(project.build_dir / "_assets") / 1024, "Ko", None, 1),
    ]


def no_change_rebuild(project: Project, runs: int, size: str) -> list[Figure]:
    """``livret build`` with nothing changed since the last build (the command, Python start-up included)."""
    walls = [run_measured(_livret("build", "--root", str(project.root))).wall for _ in range(runs)]
    target = Target("<=", 1) if size in ("M", "L") else None
    return [Figure("rebuild_noop_s", f"reconstruction sans changement {size} (commande)", median(walls), "s",
                   target, runs, "démarrage de Python et de la commande compris")]


def one_learner_rebuild(project: Project, runs: int, size: str) -> list[Figure]:
    """One new entry, then the app's warm background worker rebuilds that learner (both audiences)."""
    store = project.store
    learners = store.learner_ids()[1:runs + 1]
    worker = RebuildWorker(project).start()
    try:
        for lid in learners:  # warm: imports, templates, each learner's parsed entries (steady state)
            worker.request(lid)
        worker.wait_idle()
        times = []
        for n, lid in enumerate(learners):
            tutor = store.profile(lid).tutors[0]
            store.append_entry(lid, meeting_fields(n, day=dt.date.today().isoformat()), "Nouvel entretien.",
                               author=tutor, role="tutor")
            start = time.perf_counter()
            worker.request(lid)
            worker.wait_idle()
            times.append(time.perf_counter() - start)
            if worker.state(lid).failed:
                raise RuntimeError(f"la reconstruction de {lid} a échoué")
    finally:
        worker.stop()
    target = Target("<=", 1) if size in ("M", "L") else None
    return [Figure("rebuild_one_s", "reconstruction d'un·e apprenant·e après une entrée (worker chaud)",
                   median(times), "s", target, len(times), "les deux publics (équipe et partagé)")]


# --------------------------------------------------------------------------
# The naive way
# --------------------------------------------------------------------------


def _naive_config(project: Project) -> dict:
    config = yaml.safe_load(project.mkdocs_yml.read_text(encoding="utf-8"))
    config["plugins"] = [p for p in config.get("plugins", []) if not (p == "livret" or
                                                                      (isinstance(p, dict) and "livret" in p))]
    extensions = config.setdefault("markdown_extensions", [])
    names = {e if isinstance(e, str) else next(iter(e)) for e in extensions}
    extensions += [e for e in ("tables", "toc", "admonition") if e not in names]
    return config


def write_naive_sites(project: Project, learners: list[str], work: Path) -> list[Path]:
    """Each learner site as plain Markdown + its own mkdocs.yml; returns the mkdocs.yml paths."""
    store = project.store
    settings = store.settings()
    today = dt.date.today()
    base = _naive_config(project)
    overrides = project.site_src / "overrides"
    configs = []
    for lid in learners:
        record = store.load_learner(lid)
        for audience in AUDIENCES:
            site = learner_site(record, audience, today, settings)
            root = work / audience / lid
            docs = root / "docs"
            shutil.copytree(project.site_src, docs, ignore=shutil.ignore_patterns("overrides"))
            for md in docs.glob("*.md"):
                md.write_text(md.read_text(encoding="utf-8").replace(ORGANISATION_MARKER,
                                                                     organisation_markdown(settings)),
                              encoding="utf-8")
            for page in site.pages:
                target = docs / page.path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(page.markdown, encoding="utf-8")
            for rel in site.files:
                (docs / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(store.learner_dir(lid) / rel, docs / rel)
            config = dict(base, site_name=site.title, docs_dir="docs", site_dir="site",
                          nav=[{p.title: p.path} for p in site.pages if p.nav]
                          + sorted(p.name for p in project.site_src.glob("*.md")))
            config["theme"] = dict(base["theme"], custom_dir=str(overrides))
            (root / "mkdocs.yml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                                             encoding="utf-8")
            configs.append(root / "mkdocs.yml")
    return configs


def naive_vs_livret(project: Project, work: Path, livret_wall: float, livret_cpu: float,
                    sample: int | None) -> list[Figure]:
    """The naive way on ``sample`` learners (all when None), per site, against livret's per-site time."""
    ids = project.store.learner_ids()
    chosen = ids if not sample or sample >= len(ids) else ids[:: len(ids) // sample][:sample]
    configs = write_naive_sites(project, chosen, work)
    jobs = os.cpu_count() or 1

    def build(config: Path) -> float:
        return run_measured([sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(config)]).cpu

    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        naive_cpu = sum(pool.map(build, configs)) / len(configs)
    naive_per_site = (time.perf_counter() - start) / len(configs)
    livret_per_site = livret_wall / (2 * len(ids))
    livret_cpu_per_site = livret_cpu / (2 * len(ids))
    naive_disk = median([disk_usage(c.parent / "site") for c in configs])
    scope = "tous les apprenant·es" if len(chosen) == len(ids) else \
        f"échantillon de {len(chosen)} apprenant·es sur {len(ids)}, {jobs} builds à la fois"
    return [
        Figure("naive_s_per_site", "manière naïve : mkdocs build par site (par site)", naive_per_site, "s", None, 1,
               f"{scope} ; seul mkdocs build est chronométré"),
        Figure("livret_s_per_site", "livret build : temps par site", livret_per_site, "s", None, 1),
        Figure("build_vs_naive", "livret build / manière naïve (durée)", livret_per_site / naive_per_site, "×",
               Target("<=", 0.5), 1),
        Figure("build_vs_naive_cpu", "livret build / manière naïve (temps CPU)", livret_cpu_per_site / naive_cpu,
               "×", None, 1, f"CPU par site : livret {livret_cpu_per_site:.2f} s, naïve {naive_cpu:.2f} s"),
        Figure("naive_site_disk_kb", "manière naïve : disque par site (médiane)", naive_disk / 1024, "Ko", None, 1,
               "chaque site embarque sa copie du thème"),
    ]

