"""The embedded job backend: a small pool of threads in the app's process, records under ``instance/jobs/``.

Bounded on both sides: ``workers`` threads (1 by default: a pack build
competes with the site rebuilds for the same two cores) and at most
``max_pending`` jobs queued or running; beyond that :class:`JobsBusy`.

The record on disk follows each job (queued, running, done or failed) so
that any thread or process reads it; this process also keeps the latest
state in memory, so a record that cannot be written (a full disk) does not
leave a job shown as running forever.

At start, what an earlier process left is put in order: a job queued or
running in a process that has ended is marked failed (« interrompue »),
temporary files of killed writes are removed, and records older than
``keep`` seconds go with their result.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..store import atomic
from ..store.writer import storage_cause
from .interface import Job, JobFailed, JobsBusy
from .records import RECORD, RESULT, new_id, now, read_record, valid_id, write_record

log = logging.getLogger("livret.jobs")

INTERRUPTED = "tâche interrompue : le serveur s'est arrêté pendant sa préparation ; relancez-la"
UNEXPECTED = "échec inattendu de la tâche ; réessayez, puis prévenez l'administrateur s'il se répète"
NO_RESULT = "la tâche s'est terminée sans produire de fichier"
#: A folder without a readable record older than this was left by a killed submit.
ORPHAN_AGE = 3600.0


class ThreadJobs:
    """:class:`livret.jobs.JobQueue` on a pool of threads of this process."""

    def __init__(self, folder: Path, *, workers: int = 1, max_pending: int = 32, keep: float = 24 * 3600.0):
        self.folder = Path(folder)
        self.workers = max(1, workers)
        self.max_pending = max_pending
        self.keep = keep
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._calls: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {}
        self._finished: dict[str, threading.Event] = {}
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self.recover()

    # ------------------------------------------------------------------ interface

    def submit(self, name: str, func: Callable[..., Any], *args: Any,
               meta: Mapping[str, str] | None = None) -> str:
        """Queue ``func(result_path, *args)``; return the job's id at once."""
        with self._lock:
            if self._closed:
                raise JobsBusy("le serveur s'arrête : réessayez dans un instant")
            if sum(1 for j in self._jobs.values() if j.pending) >= self.max_pending:
                raise JobsBusy(f"trop de tâches en attente ({self.max_pending}) : réessayez dans quelques minutes")
            job = Job(id=new_id(), name=name, state="queued", created=now(),
                      meta={str(k): str(v) for k, v in (meta or {}).items()}, pid=os.getpid())
            write_record(self.folder, job)  # before it can run: the record is never behind the job
            self._jobs[job.id] = job
            self._calls[job.id] = (func, args)
            self._finished[job.id] = threading.Event()
            self._start_threads()
        self._queue.put(job.id)
        self._prune()
        return job.id

    def status(self, job_id: str) -> Job | None:
        if not valid_id(job_id):
            return None
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None else read_record(self.folder, job_id)

    def wait(self, job_id: str, timeout: float | None = None) -> Job | None:
        """The job once finished (or as it is after ``timeout`` seconds)."""
        with self._lock:
            finished = self._finished.get(job_id)
        if finished is not None:
            finished.wait(timeout)
        return self.status(job_id)

    def close(self) -> None:
        """Stop the workers after their current job; queued jobs stay queued (marked interrupted at next start)."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)

    # ------------------------------------------------------------------ running

    def _start_threads(self) -> None:
        while len(self._threads) < self.workers:
            thread = threading.Thread(target=self._work, name=f"livret-job-{len(self._threads) + 1}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            try:
                self._run(job_id)
            finally:
                self._finished[job_id].set()

    def _run(self, job_id: str) -> None:
        with self._lock:
            func, args = self._calls.pop(job_id)
        self._update(job_id, state="running", started=now(), thread=threading.current_thread().name)
        result = self.folder / job_id / RESULT
        try:
            func(result, *args)
            if not result.is_file():
                raise JobFailed(NO_RESULT)
        except JobFailed as exc:
            self._fail(job_id, result, str(exc))
        except OSError as exc:
            cause = storage_cause(exc, "le dossier instance/")
            if cause is None:
                self._fail_unexpected(job_id, result, exc)
            else:
                self._fail(job_id, result, f"{cause} : le résultat n'a pas pu être écrit ; réessayez plus tard")
        except Exception as exc:
            self._fail_unexpected(job_id, result, exc)
        else:
            self._update(job_id, state="done", finished=now(), result=result)

    def _fail_unexpected(self, job_id: str, result: Path, exc: BaseException) -> None:
        # Type and frames, not the message: it could quote a learner's data.
        log.error("job %s: unexpected %s\n%s", job_id, type(exc).__name__,
                  "".join(traceback.format_tb(exc.__traceback__)))
        self._fail(job_id, result, UNEXPECTED)

    def _fail(self, job_id: str, result: Path, message: str) -> None:
        result.unlink(missing_ok=True)
        self._update(job_id, state="failed", finished=now(), message=message)

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            job = self._jobs[job_id] = self._jobs[job_id].evolve(**changes)
        try:
            write_record(self.folder, job)
        except OSError as exc:  # a full disk: this process still knows the state
            log.warning("job %s: record not written (%s)", job_id, storage_cause(exc) or type(exc).__name__)

    # ------------------------------------------------------------------ housekeeping

    def recover(self) -> None:
        """Put in order what earlier processes left: interrupted jobs, temporary files, expired results.

        Never fails: a folder that cannot be written now (full, read-only) is put in order next time.
        """
        try:
            self._recover()
        except OSError as exc:
            log.warning("jobs: %s not put in order (%s)", self.folder, storage_cause(exc) or type(exc).__name__)

    def _recover(self) -> None:
        if not self.folder.is_dir():
            return
        atomic.clean_temporary(self.folder)
        for path in self.folder.iterdir():
            job = read_record(self.folder, path.name)
            if job is None:
                if path.is_dir() and _age(path) > ORPHAN_AGE:
                    shutil.rmtree(path, ignore_errors=True)
                continue
            if job.pending and not atomic.process_alive(job.pid):
                (path / RESULT).unlink(missing_ok=True)
                write_record(self.folder, job.evolve(state="failed", finished=now(), message=INTERRUPTED))
            elif not job.pending and _age(path / RECORD) > self.keep:
                shutil.rmtree(path, ignore_errors=True)

    def _prune(self) -> None:
        """Forget finished jobs older than ``keep`` (record and result), in memory and on disk."""
        with self._lock:
            old = [j.id for j in self._jobs.values() if not j.pending and _age(self.folder / j.id / RECORD) > self.keep]
            for job_id in old:
                self._jobs.pop(job_id, None)
                self._finished.pop(job_id, None)
        for job_id in old:
            shutil.rmtree(self.folder / job_id, ignore_errors=True)


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return float("inf")
