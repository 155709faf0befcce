"""Background rebuilds of learners' sites after the app writes an entry.

One worker thread takes learner ids from a queue and rebuilds that learner's
two sites (staff and shared).  Requests coalesce: ten submits for the same
learner while a build is running lead to one more build, not ten, and a
request that arrives *during* a build of that learner always causes a
further build (the running one may have read the store before the new entry
was written), so the last entry is never left out.

Two queues: a request from a user (an entry written, a portfolio asked for)
goes before the background ones (``urgent=False``: every learner at the
app's start), so after a restart a new entry is not queued behind a
thousand incremental checks.

Builds run one at a time: an MkDocs build is CPU-bound, and the app must keep
answering while it runs.  So the default build runs in a child process of its
own (started once, warm across builds, at a lower CPU priority): the app's
threads never wait for a build to release Python's GIL, and on a busy machine
the requests and their git commits get the processor first.  Nothing here
imports Flask: the CLI or a script can use the same worker.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

log = logging.getLogger("livret.rebuild")

BuildFunc = Callable[[object, str], object]
#: Niceness of the build process: requests and commits before builds.
BUILD_NICENESS = 10

_builder: ProcessPoolExecutor | None = None
_builder_guard = threading.Lock()


def _builder_pool() -> ProcessPoolExecutor:
    global _builder
    with _builder_guard:
        if _builder is None:
            from .processes import build_context

            _builder = ProcessPoolExecutor(max_workers=1, mp_context=build_context(), initializer=_init_builder)
        return _builder


def _init_builder() -> None:
    import signal

    os.nice(BUILD_NICENESS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C stops the app, which then stops its builder


def _build_in_child(root: str, learner_id: str):
    from ..store.project import Project
    from .build import build_learner

    return build_learner(Project.at(root), learner_id)


def _build_learner(project, learner_id: str):
    """Build in the builder process; a builder that died (killed, out of memory) is replaced next time."""
    global _builder
    pool = _builder_pool()
    try:
        return pool.submit(_build_in_child, str(project.root), learner_id).result()
    except BrokenProcessPool:
        with _builder_guard:
            if _builder is pool:
                _builder = None
        raise


@dataclass
class LearnerState:
    #: Monotonic time of the last finished build, successful or not.
    finished: float | None = None
    #: True when the last build reported problems or raised.
    failed: bool = False
    builds: int = 0
    #: Why the published sites are stale (the last build raised), in French; None when they are current.
    #: Never a value from the store: a message may quote a staff entry, so only its kind is said.
    error: str | None = None
    #: When the sites stopped following the store (the first failed build since the last success).
    stale_since: dt.datetime | None = None


def failure_reason(exc: BaseException) -> str:
    """Why a build raised, for the people who see the stale portfolio (no file content)."""
    from .build import BuildError

    if isinstance(exc, BuildError):  # the site's configuration: its message names the file, not an entry
        return str(exc)
    if isinstance(exc, BrokenProcessPool):
        return "le processus de construction s'est arrêté brutalement (mémoire insuffisante ou arrêt forcé)"
    if isinstance(exc, ImportError):
        return "le processus de construction n'a pas pu charger livret (installation incomplète ?)"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "disque plein : le site n'a pas pu être écrit"
    if isinstance(exc, OSError):
        return f"écriture du site impossible ({exc.strerror or type(exc).__name__})"
    return f"erreur pendant la construction ({type(exc).__name__})"


class RebuildWorker:
    """A queue of learners to rebuild and the thread that rebuilds them."""

    def __init__(self, project, build: BuildFunc | None = None, *, name: str = "livret-rebuild"):
        self.project = project
        self._build = build or _build_learner
        self._pending: OrderedDict[str, float] = OrderedDict()  # learner -> first request time
        self._background: OrderedDict[str, float] = OrderedDict()  # after every ``_pending`` one
        self._building: str | None = None
        self._states: dict[str, LearnerState] = {}
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False

    # ------------------------------------------------------------------ control

    def start(self) -> RebuildWorker:
        with self._cond:
            if not self._started:
                self._started = True
                self._thread.start()
        return self

    def stop(self, timeout: float | None = 30) -> None:
        """Let the current build finish, drop the queue, end the thread."""
        with self._cond:
            self._stop = True
            self._pending.clear()
            self._background.clear()
            self._cond.notify_all()
        if self._started:
            self._thread.join(timeout)

    def request(self, learner_id: str, *, urgent: bool = True) -> None:
        """Ask for a rebuild of this learner's sites (returns at once).

        ``urgent=False``: after every urgent request; an urgent request for a
        learner waiting in the background moves it forward.
        """
        with self._cond:
            if self._stop:
                return
            if urgent:
                self._pending.setdefault(learner_id, self._background.pop(learner_id, time.monotonic()))
            elif learner_id not in self._pending:
                self._background.setdefault(learner_id, time.monotonic())
            self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or building; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._pending or self._background or self._building:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    # ------------------------------------------------------------------ status

    def status(self, learner_id: str) -> str:
        """``building``, ``pending`` or ``idle``."""
        with self._cond:
            if self._building == learner_id:
                return "building"
            if learner_id in self._pending or learner_id in self._background:
                return "pending"
            return "idle"

    def state(self, learner_id: str) -> LearnerState:
        with self._cond:
            return dataclasses.replace(self._states.get(learner_id, LearnerState()))

    def stale(self) -> dict[str, LearnerState]:
        """The learners whose published sites are stale: their last build raised."""
        with self._cond:
            return {lid: dataclasses.replace(st) for lid, st in self._states.items() if st.error}

    # ------------------------------------------------------------------ thread

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._background and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                queue = self._pending if self._pending else self._background
                learner_id, _ = queue.popitem(last=False)
                self._building = learner_id
            failed, error = True, None
            try:
                report = self._build(self.project, learner_id)
                failed = not getattr(report, "ok", True)
                if failed:
                    # Only file and line: a message may quote a value of a staff entry.
                    for problem in getattr(report, "problems", [])[:20]:
                        log.warning("rebuild %s: problem in %s:%s", learner_id,
                                    getattr(problem, "path", "?"), getattr(problem, "line", "?"))
            except Exception as exc:  # a failed build must not kill the worker
                error = failure_reason(exc)
                log.error("rebuild %s failed (%s); run `livret build --learner %s` for details",
                          learner_id, type(exc).__name__, learner_id)
                log.debug("rebuild %s traceback", learner_id, exc_info=True)
            finally:
                with self._cond:
                    st = self._states.setdefault(learner_id, LearnerState())
                    st.finished, st.failed, st.builds = time.monotonic(), failed, st.builds + 1
                    if error is None:
                        st.error, st.stale_since = None, None
                    else:
                        st.error = error
                        st.stale_since = st.stale_since or dt.datetime.now(dt.timezone.utc)
                    self._building = None
                    self._cond.notify_all()
