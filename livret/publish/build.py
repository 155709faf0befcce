"""The build driver: one MkDocs site per learner and audience, incremental and parallel.

Layout of the output folder (``build/`` by default)::

    build/
      staff/<learner-id>/        every entry (tutors, admins, auditors)
      shared/<learner-id>/       staff entries left out (learner, company, share links)
      _assets/assets/            one copy of the theme's assets; each site links
                                 ``assets -> ../../_assets/assets``
      .manifests/<audience>/<learner-id>.json   inputs hash and problems of the last build
      .cache/                    compiled templates, locks

Incremental: a site is rebuilt only when the hash of its inputs changed —
the learner's folder, its framework, ``_organisation.yml``, site_src/,
mkdocs.yml, the day (overdue plans and "days since" depend on it), the
livret code and the MkDocs/Material versions.  Manifests live outside the
sites, so nothing about a staff entry (not even its file name in a problem)
is ever served from a shared site.

A site is built in a temporary folder next to its final place, then swapped
in: a reader never sees a half-written site.  What a killed build leaves
(``.tmp-<learner>-<pid>-<random>`` folders and manifests, ``.old-*`` sites,
theme copies) is removed by the next build or app start
(:func:`clean_leftovers`), except the scratch of a site another build is
writing now (it holds the site's lock).  A disk that refuses a write (full,
read-only) stops the build with :class:`BuildStorageError`, a French message
and no traceback; the sites in place stay as they were.

Parallel: learners are spread over a process pool; each worker keeps MkDocs,
the theme's template environment and the parsed store warm across learners.
:func:`build_learner` runs in the calling process and stays warm across
calls (the app's background worker calls it after each write).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from zoneinfo import ZoneInfo

from .. import __version__
from ..store import (
    FRAMEWORKS_DIR,
    ORGANISATION_FILE,
    PEOPLE_FILE,
    PROFILE_FILE,
    Store,
    UnknownLearner,
    atomic,
    nofollow,
    valid_learner_id,
)
from ..store.errors import Problem
from ..store.project import Project
from ..store.reader import MAX_TEXT_BYTES
from ..store.writer import storage_cause
from ..store.yamlio import FrontMatterError, parse_front_matter

__all__ = ["BuildReport", "BuildError", "BuildStorageError", "site_dir", "build_all", "build_learner",
           "build_offline", "clean_leftovers"]

AUDIENCES = ("staff", "shared")
MANIFESTS = ".manifests"
ASSETS = "_assets"
CACHE = ".cache"
_HASHED_IN_FULL = 1 << 20  # files up to 1 MB are hashed by content, bigger ones by size and date

log = logging.getLogger("livret.build")


class BuildError(RuntimeError):
    """The project cannot be built at all (no mkdocs.yml, no livret plugin...)."""


class BuildStorageError(BuildError):
    """The disk refused a write (full, read-only): the build stopped, the sites in place are unchanged."""

    @classmethod
    def of(cls, exc: OSError, out: Path) -> BuildStorageError | None:
        """The error to report for ``exc``, or None when it is not a disk condition (a bug stays one)."""
        cause = storage_cause(exc, "le dossier de sortie")
        if cause is None:
            return None
        hint = "libérez de la place" if cause == "disque plein" else "corrigez-le"
        return cls(f"{cause} ({out}) : construction interrompue, les sites déjà publiés restent en place ; "
                   f"{hint}, puis relancez « livret build »")


@dataclass
class BuildReport:
    built: list[tuple[str, str]] = field(default_factory=list)  # (learner_id, audience)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    #: Warnings MkDocs logged while building (a broken link in site_src/...).
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, other: "BuildReport") -> None:
        self.built += other.built
        self.skipped += other.skipped
        self.removed += other.removed
        self.problems = list(dict.fromkeys(self.problems + other.problems))
        self.warnings = list(dict.fromkeys(self.warnings + other.warnings))

    def learners_with_problems(self) -> list[str]:
        """Learner ids (from the problems' paths ``portfolios/<id>/...``)."""
        parts = [p.path.split("/") for p in self.problems]
        return sorted({x[1] for x in parts if len(x) >= 3 and x[0] == "portfolios" and valid_learner_id(x[1])})


def site_dir(project: Project, audience: str, learner_id: str, out: Path | None = None) -> Path:
    """``<out or project.build_dir>/<audience>/<learner_id>/``."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience inconnue : {audience!r} (staff ou shared)")
    if not valid_learner_id(learner_id):
        raise ValueError(f"identifiant d'apprenant·e invalide : {learner_id!r}")
    return Path(out or project.build_dir).resolve() / audience / learner_id


# --------------------------------------------------------------------------
# Inputs and manifests
# --------------------------------------------------------------------------


def _hash_tree(h, root: Path, label: str, *, follow: bool = True) -> None:
    """Feed every file under ``root`` (names, and content or size+date) into ``h``.

    ``follow=False`` (the store's folders): a link or special file is hashed
    as what it is, never read through (see :mod:`livret.store.nofollow`).
    """
    h.update(f"\0tree {label}\0".encode())
    if not root.exists():
        return
    for dirpath, dirnames, names in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            _hash_file(h, path, path.relative_to(root).as_posix(), follow=follow)


def _hash_file(h, path: Path, label: str, *, follow: bool = True) -> None:
    h.update(f"\0file {label}\0".encode())
    try:
        st = path.stat() if follow else path.lstat()
    except FileNotFoundError:
        h.update(b"-")
        return
    if not follow and nofollow.kind_of(st.st_mode) != nofollow.FILE:
        h.update(f"{nofollow.kind_of(st.st_mode)}:{st.st_mtime_ns}".encode())
    elif st.st_size <= _HASHED_IN_FULL:
        try:
            h.update(path.read_bytes() if follow else nofollow.read_bytes(path.parent, path.name))
        except OSError:
            h.update(b"?")  # (replaced meanwhile: the store's read reports it)
    else:
        h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())


_CODE_HASH: str | None = None


def _code_fingerprint() -> str:
    """The livret code that shapes a site, and the engine's versions: a change rebuilds everything."""
    global _CODE_HASH
    if _CODE_HASH is None:
        h = hashlib.sha256(__version__.encode())
        for dist in ("mkdocs", "mkdocs-material", "pymdown-extensions", "markdown", "nh3"):
            try:
                h.update(f"{dist}={metadata.version(dist)}".encode())
            except metadata.PackageNotFoundError:
                pass
        here = Path(__file__).resolve().parent
        for path in sorted([*here.glob("*.py"), *(here / "site").glob("*.py")]):
            _hash_file(h, path, path.name)
        _CODE_HASH = h.hexdigest()
    return _CODE_HASH


def _framework_of(store: Store, learner_id: str) -> str | None:
    """The framework id named in ``learner.md``, read without validating the profile."""
    try:
        text = nofollow.read_bytes(store.root, f"{learner_id}/{PROFILE_FILE}", limit=MAX_TEXT_BYTES).decode("utf-8")
        value = parse_front_matter(text).data.get("framework")
    except (OSError, UnicodeDecodeError, FrontMatterError, AttributeError):
        return None
    return value if isinstance(value, str) and valid_learner_id(value) else None


@dataclass(frozen=True)
class _Common:
    """Inputs every site shares, hashed once per run."""

    digest: str
    today: dt.date

    @classmethod
    def of(cls, project: Project, today: dt.date) -> "_Common":
        h = hashlib.sha256(f"code {_code_fingerprint()} today {today.isoformat()}".encode())
        _hash_file(h, project.mkdocs_yml, "mkdocs.yml")
        _hash_tree(h, project.site_src, "site_src")
        _hash_file(h, project.portfolios / ORGANISATION_FILE, ORGANISATION_FILE, follow=False)
        _hash_file(h, project.portfolios / PEOPLE_FILE, PEOPLE_FILE, follow=False)  # names on pages
        return cls(h.hexdigest(), today)


def _inputs_hashes(project: Project, common: _Common, learner_id: str, audiences: Sequence[str]) -> dict[str, str]:
    """The inputs hash of each of a learner's sites (its files are read once)."""
    store = project.store
    h = hashlib.sha256(f"{common.digest} {learner_id}".encode())
    _hash_tree(h, store.learner_dir(learner_id), "learner", follow=False)
    framework = _framework_of(store, learner_id)
    if framework:
        _hash_file(h, store.root / FRAMEWORKS_DIR / f"{framework}.yml", "framework", follow=False)
    else:
        _hash_tree(h, store.root / FRAMEWORKS_DIR, "frameworks", follow=False)
    for group in store.groups_of(learner_id):  # its work-study calendar is on the learner's « Alternance » page
        if group.calendar:
            h.update(f"group {group.id} {group.model_dump_json(include={'calendar'})}".encode())
    learner = h.hexdigest()
    return {aud: hashlib.sha256(f"{learner} {aud}".encode()).hexdigest() for aud in audiences}


def _manifest_path(out: Path, audience: str, learner_id: str) -> Path:
    return out / MANIFESTS / audience / f"{learner_id}.json"


def _read_manifest(out: Path, audience: str, learner_id: str) -> dict | None:
    try:
        return json.loads(_manifest_path(out, audience, learner_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_manifest(out: Path, audience: str, learner_id: str, inputs: str, problems: list[Problem],
                    pages: int) -> None:
    path = _manifest_path(out, audience, learner_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"inputs": inputs, "problems": [[p.path, p.line, p.message] for p in problems],
            "pages": pages, "livret": __version__}
    tmp = path.with_name(_scratch_name(".tmp-", learner_id) + ".json")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def _up_to_date(out: Path, audience: str, learner_id: str, inputs: str) -> dict | None:
    manifest = _read_manifest(out, audience, learner_id)
    if manifest is None or manifest.get("inputs") != inputs:
        return None
    site = out / audience / learner_id
    if not (site / "index.html").is_file():
        return None
    assets = site / "assets"
    if assets.is_symlink() and not assets.resolve().is_dir():  # shared assets deleted
        return None
    return manifest


def _today(project: Project) -> dt.date:
    try:
        return dt.datetime.now(ZoneInfo(project.store.settings().timezone)).date()
    except (KeyError, ValueError):
        return dt.date.today()


# --------------------------------------------------------------------------
# Building one site (in a worker or in the calling process)
# --------------------------------------------------------------------------

_STORES: dict[Path, Store] = {}
_BUILD_LOCK = threading.Lock()


def _warm_store(project: Project) -> Store:
    """One Store per project and process: its parse cache survives between builds."""
    store = _STORES.get(project.portfolios)
    if store is None:
        if len(_STORES) >= 4:  # a process builds one project; tests build many
            _STORES.clear()
        store = _STORES[project.portfolios] = Store(project.portfolios, display_root=project.root)
    return store


class _WarningCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _site_lock(out: Path, audience: str, learner_id: str, *, wait: bool = True) -> Iterator[bool]:
    """Two builds of the same site (the CLI and the app) never swap folders at the same time.

    Held for as long as the site's scratch (``.tmp-*``) exists.  With
    ``wait=False`` it yields False at once when another build holds it.
    """
    path = out / CACHE / "locks" / f"{audience}-{learner_id}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


#: ``.tmp-<learner>-<pid>-<8 hex>`` (a site or manifest being written), ``.old-…`` (a site replaced).
_SCRATCH = re.compile(r"^\.(?:tmp|old)-(?P<learner>.+)-\d+-[0-9a-f]{8}(?:\.json)?$")
#: A leftover whose name does not say its site (older versions) is removed once this old.
_UNNAMED_LEFTOVER_AGE = 3600.0


def _scratch_name(prefix: str, learner_id: str) -> str:
    return f"{prefix}{learner_id}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def clean_leftovers(out: Path) -> list[str]:
    """Remove what killed or failed builds left in ``out``; returns the names removed.

    A ``.tmp-*`` or ``.old-*`` site or manifest goes when its site's lock is
    free: a build holds that lock for as long as its scratch exists, so the
    scratch of a build running now, in this process or another, stays.
    Theme copies go when their process has ended.  Never fails: a folder it
    cannot clean (read-only, full) is left for the next run.
    """
    out = Path(out)
    removed: list[str] = []
    try:
        for audience in AUDIENCES:
            for folder in (out / audience, out / MANIFESTS / audience):
                if not folder.is_dir():
                    continue
                for path in [p for p in folder.iterdir() if p.name.startswith((".tmp-", ".old-"))]:
                    if _remove_leftover(out, audience, path):
                        removed.append(path.name)
        atomic.clean_temporary(out / ASSETS)
    except OSError as exc:
        log.warning("restes de constructions non supprimés dans %s : %s", out, exc.strerror)
    return removed


def _remove_leftover(out: Path, audience: str, path: Path) -> bool:
    match = _SCRATCH.match(path.name)
    if match is None or not valid_learner_id(match["learner"]):
        if time.time() - path.lstat().st_mtime <= _UNNAMED_LEFTOVER_AGE:
            return False
        _remove_path(path)
        return True
    with _site_lock(out, audience, match["learner"], wait=False) as free:
        if free:
            _remove_path(path)
        return free


def _remove_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _mkdocs_build(project: Project, store: Store, learner_id: str, audience: str, today: dt.date,
                  target: Path, *, offline: bool, out: Path | None) -> tuple[int, list[str]]:
    """Run MkDocs for one learner and audience into ``target``; (pages, MkDocs warnings)."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort, ConfigurationError

    if not project.mkdocs_yml.is_file():
        raise BuildError(f"mkdocs.yml introuvable dans {project.root}")
    collector = _WarningCollector()
    mkdocs_log = logging.getLogger("mkdocs")
    mkdocs_log.addHandler(collector)
    try:
        try:
            config = load_config(str(project.mkdocs_yml), site_dir=str(target))
        except (Abort, ConfigurationError) as exc:
            raise BuildError(f"mkdocs.yml : configuration invalide ({exc}) {' '.join(collector.messages)}") from None
        plugin = config.plugins.get("livret")
        if plugin is None:
            raise BuildError("mkdocs.yml : le plugin « livret » n'est pas déclaré (plugins: [search, livret])")
        plugin.config.learners = [learner_id]
        plugin.config.audience = audience
        plugin.config.today = today.isoformat()
        plugin.config.offline = offline
        plugin.config.cache_dir = str((out or project.build_dir) / CACHE / "jinja")
        plugin.config.assets_dir = None if offline else str(out / ASSETS)
        staff_site = None if offline else out / "staff" / learner_id
        plugin.config.link_files_from = str(staff_site) if audience == "shared" and staff_site \
            and staff_site.is_dir() else None
        plugin.shared_store = store
        try:
            mkdocs_build(config)
        except Abort as exc:
            raise BuildError(f"{learner_id} ({audience}) : échec de la construction : {exc} "
                             f"{' '.join(collector.messages)}") from None
        pages = sum(len(site.pages) for site in plugin.sites)
        return pages, collector.messages
    finally:
        mkdocs_log.removeHandler(collector)


def _build_site(project: Project, learner_id: str, audience: str, today: dt.date, out: Path,
                inputs: str, *, keep_old: bool = False) -> BuildReport:
    """Build one site in a temporary folder and swap it in; write its manifest.

    The replaced site is removed, or with ``keep_old`` left as ``.old-*`` for
    the caller's :class:`_Sweeper` (a full build's workers: removing folders
    is disk work that the parent process does while they build).
    """
    report = BuildReport()
    store = _warm_store(project)
    record = store.load_learner(learner_id)
    if record.profile is None or record.framework is None:
        report.problems += record.problems or [Problem(f"portfolios/{learner_id}/{PROFILE_FILE}", None,
                                                       "profil ou référentiel invalide")]
        return report
    final = out / audience / learner_id
    final.parent.mkdir(parents=True, exist_ok=True)
    token = _scratch_name("", learner_id)
    tmp = final.parent / f".tmp-{token}"
    with _BUILD_LOCK, _site_lock(out, audience, learner_id):
        try:
            pages, warnings = _mkdocs_build(project, store, learner_id, audience, today, tmp,
                                            offline=False, out=out)
            old = final.parent / f".old-{token}"
            if final.exists() or final.is_symlink():
                os.rename(final, old)
            os.rename(tmp, final)
            if not keep_old:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        _write_manifest(out, audience, learner_id, inputs, record.problems, pages)
    report.built.append((learner_id, audience))
    report.problems += record.problems
    report.warnings += warnings
    return report


def _run_task(root: str, out: str, learner_id: str, jobs: list[tuple[str, str]], today: str, *,
              keep_old: bool = False) -> BuildReport:
    """Worker entry point: build the listed (audience, inputs hash) sites of one learner."""
    project = Project.at(root)
    report = BuildReport()
    for audience, inputs in jobs:
        report.add(_build_site(project, learner_id, audience, dt.date.fromisoformat(today), Path(out), inputs,
                               keep_old=keep_old))
    return report


def _run_task_once(root: str, out: str, learner_id: str, jobs: list[tuple[str, str]], today: str) -> BuildReport:
    """A full build's worker entry point: the learner is not built again in this run, so
    its parsed files are dropped once its sites are built (memory stays flat however many
    learners a worker builds)."""
    try:
        return _run_task(root, out, learner_id, jobs, today, keep_old=True)
    finally:
        _warm_store(Project.at(root)).forget(learner_id)


def _init_worker() -> None:
    # Ctrl+C is the parent's to handle: it stops handing out learners and the
    # workers finish the site they are writing (no half-swapped folder, no
    # traceback per worker).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Import MkDocs, the theme and the plugin before the first learner arrives.
    import material  # noqa: F401
    import mkdocs.commands.build  # noqa: F401

    from . import mkdocs_plugin  # noqa: F401


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def _plan(project: Project, learners: Sequence[str], audiences: Sequence[str], out: Path, force: bool,
          common: _Common) -> tuple[list[tuple[str, list[tuple[str, str]]]], BuildReport]:
    """Which sites need building; the skipped ones go straight into the report."""
    report = BuildReport()
    tasks = []
    for lid in learners:
        todo = []
        for audience, inputs in _inputs_hashes(project, common, lid, audiences).items():
            manifest = None if force else _up_to_date(out, audience, lid, inputs)
            if manifest is None:
                todo.append((audience, inputs))
            else:
                report.skipped.append((lid, audience))
                report.problems += [Problem(p, line, msg) for p, line, msg in manifest.get("problems", [])]
        if todo:
            tasks.append((lid, todo))
    return tasks, report


def _check_learners(project: Project, learners: Iterable[str] | None) -> list[str]:
    known = project.store.learner_ids()
    if learners is None:
        return known
    wanted = list(dict.fromkeys(learners))
    unknown = [lid for lid in wanted if lid not in known]
    if unknown:
        raise UnknownLearner("apprenant·e inconnu·e : " + ", ".join(unknown))
    return wanted


def _remove_stale(out: Path, audiences: Sequence[str], keep: set[str]) -> list[str]:
    """Remove the sites (and manifests) of learners no longer in the store."""
    removed = set()
    for audience in audiences:
        folder = out / audience
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if path.name.startswith(".") or path.name in keep:  # (leftovers: clean_leftovers)
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            _manifest_path(out, audience, path.name).unlink(missing_ok=True)
            removed.add(path.name)
    return sorted(removed)


def build_all(project: Project, *, learners: Iterable[str] | None = None,
              audiences: Sequence[str] = AUDIENCES, jobs: int | None = None, force: bool = False,
              out: Path | None = None, progress: bool = False, today: dt.date | None = None) -> BuildReport:
    """Build the sites of ``learners`` (default: every learner) for ``audiences``.

    Invalid entries never stop the build: they are left out and reported
    (``report.problems``).  Raises :class:`UnknownLearner` for an unknown id
    and :class:`BuildError` when the project itself cannot be built.
    ``today`` (default: today in the organisation's timezone) is the day the
    derived views are computed for.
    """
    start = time.perf_counter()
    for audience in audiences:
        if audience not in AUDIENCES:
            raise ValueError(f"audience inconnue : {audience!r} (staff ou shared)")
    if not project.portfolios.is_dir():
        raise BuildError(f"pas de dossier portfolios/ dans {project.root}")
    out = Path(out or project.build_dir).resolve()
    ids = _check_learners(project, learners)
    clean_leftovers(out)
    today = today or _today(project)
    common = _Common.of(project, today)
    tasks, report = _plan(project, ids, audiences, out, force, common)
    report.problems = list(dict.fromkeys(project.store.organisation()[1] + report.problems))
    jobs = max(1, jobs or os.cpu_count() or 1)
    bar = _progress_bar(len(tasks)) if progress and tasks and sys.stderr.isatty() else None
    try:
        _run_tasks(project, out, tasks, today, jobs, report, bar, stale=set(ids) if learners is None else None,
                   audiences=audiences)
    finally:
        if bar:
            bar.render_finish()
    report.seconds = round(time.perf_counter() - start, 2)
    return report


def _run_tasks(project: Project, out: Path, tasks, today: dt.date, jobs: int, report: BuildReport, bar, *,
               stale: set[str] | None, audiences: Sequence[str]) -> None:
    """Build the planned sites into ``report``; then, on a full build, remove the sites of learners gone."""
    try:
        if jobs == 1 or len(tasks) <= 1:
            for lid, todo in tasks:
                report.add(_run_task(str(project.root), str(out), lid, todo, today.isoformat()))
                if bar:
                    bar.update(1)
        else:
            for part in _parallel(project, out, tasks, today, min(jobs, len(tasks))):
                report.add(part)
                if bar:
                    bar.update(1)
        if stale is not None:
            report.removed = _remove_stale(out, audiences, stale)
    except OSError as exc:
        error = BuildStorageError.of(exc, out)
        if error is None:
            raise
        raise error from None


def _parallel(project: Project, out: Path, tasks, today: dt.date, workers: int) -> Iterator[BuildReport]:
    from .processes import build_context

    # forkserver: workers start from a clean process that already imported
    # MkDocs (fast, and safe even when the caller runs threads).
    context = build_context()
    # Biggest learners first, so that no worker is left with a long one at the end.
    tasks = sorted(tasks, key=lambda t: -sum(1 for _ in project.store.entry_paths(t[0])))
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker) as pool, \
            _Sweeper(out) as sweeper:
        futures = [pool.submit(_run_task_once, str(project.root), str(out), lid, todo, today.isoformat())
                   for lid, todo in tasks]
        try:
            for future in as_completed(futures):
                sweeper.sweep()
                yield future.result()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


class _Sweeper:
    """Removes the sites a full build replaced (``.old-*``), in a thread of the parent process.

    Removing thousands of small folders is disk work: done here, it overlaps
    with the workers' building instead of adding to it.  Leaving the ``with``
    block waits for the last removals.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.seen: set[Path] = set()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="livret-sweeper")

    def sweep(self) -> None:
        for audience in AUDIENCES:
            folder = self.out / audience
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                if path.name.startswith(".old-") and path not in self.seen:
                    self.seen.add(path)
                    self.pool.submit(shutil.rmtree, path, ignore_errors=True)

    def __enter__(self) -> "_Sweeper":
        return self

    def __exit__(self, *exc: object) -> None:
        self.sweep()
        self.pool.shutdown(wait=True)


def _progress_bar(length: int):
    import click

    bar = click.progressbar(length=length, label="Construction", file=sys.stderr, show_pos=True)
    bar.__enter__()
    return bar


def build_learner(project: Project, learner_id: str, *, audiences: Sequence[str] = AUDIENCES,
                  force: bool = False, out: Path | None = None, today: dt.date | None = None) -> BuildReport:
    """Build one learner's sites in this process (incremental unless ``force``).

    Stays warm across calls (imports, template environment, parsed store)
    and is safe to call from one worker thread while the app serves pages.
    """
    return build_all(project, learners=[learner_id], audiences=audiences, jobs=1, force=force, out=out,
                     today=today)


def build_offline(project: Project, learner_id: str, audience: str, out_dir: Path, *,
                  today: dt.date | None = None) -> BuildReport:
    """A self-contained copy of one site that opens from ``file://`` (audit pack).

    No directory URLs, the theme's assets copied (not linked), the search
    index inlined in a script and the iframe-worker shim shipped locally, so
    search works from the file system with nothing loaded from outside.
    """
    start = time.perf_counter()
    if audience not in AUDIENCES:
        raise ValueError(f"audience inconnue : {audience!r} (staff ou shared)")
    _check_learners(project, [learner_id])
    store = _warm_store(project)
    record = store.load_learner(learner_id)
    report = BuildReport(problems=list(record.problems))
    if record.profile is None or record.framework is None:
        return report
    out_dir = Path(out_dir).resolve()
    with _BUILD_LOCK:
        _, warnings = _mkdocs_build(project, store, learner_id, audience, today or _today(project), out_dir,
                                    offline=True, out=None)
    report.built.append((learner_id, audience))
    report.warnings += warnings
    report.seconds = round(time.perf_counter() - start, 2)
    return report
