"""Background jobs: work that must not run in a request thread (an audit pack, later mail and schedules).

The interface (:class:`JobQueue`) is what callers use; the embedded backend
(:class:`ThreadJobs`, the default) runs jobs in a small pool of threads of
the app's process and keeps each job's record and result under
``instance/jobs/<job-id>/``.  A later backend (RQ on Redis) implements the
same interface, so the contract is written for it already:

- ``submit(name, func, *args, meta=...)`` returns a job id at once;
  ``func(result_path, *args)`` later writes its output to ``result_path``.
  ``func`` is a module-level function and ``args`` plain values (another
  process may run it); ``meta`` (strings) is kept with the job for the
  caller's own checks (who asked, for which learner).
- ``status(job_id)`` is the :class:`Job` (state ``queued``, ``running``,
  ``done`` or ``failed``; ``result`` the file when done; ``message`` the
  French reason when failed), or None for an unknown or malformed id.
- A job fails with its own message by raising :class:`JobFailed`; a full
  disk gives the store's message; anything else a generic one (logged).

This package imports only the store's atomic writes and disk messages: the
caller passes the callable, so jobs never depend on what they run.
"""

from __future__ import annotations

from .interface import Job, JobFailed, JobQueue, JobsBusy
from .threads import ThreadJobs

__all__ = ["Job", "JobFailed", "JobQueue", "JobsBusy", "ThreadJobs", "open_jobs"]

#: The folder under ``instance/`` that holds the jobs' records and results.
FOLDER = "jobs"


def open_jobs(instance_dir, *, workers: int = 1) -> JobQueue:
    """The job queue of a project's instance folder (today: the embedded thread pool)."""
    from pathlib import Path

    return ThreadJobs(Path(instance_dir) / FOLDER, workers=workers)
