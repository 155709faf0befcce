"""Job records on disk: ``<folder>/<job-id>/job.json`` (written atomically) and the result file beside it."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from pathlib import Path

from ..store import atomic
from .interface import STATES, Job

RECORD = "job.json"
RESULT = "result"
#: ``secrets.token_urlsafe(18)``: 24 URL-safe characters; anything else names no job (and no folder).
ID_RE = re.compile(r"^[A-Za-z0-9_-]{24}$")


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def new_id() -> str:
    return secrets.token_urlsafe(18)


def valid_id(job_id: str) -> bool:
    return isinstance(job_id, str) and ID_RE.match(job_id) is not None


def read_record(folder: Path, job_id: str) -> Job | None:
    """The job as recorded in ``folder/<id>/job.json``; None when absent, malformed or unreadable."""
    if not valid_id(job_id):
        return None
    try:
        data = json.loads((folder / job_id / RECORD).read_bytes())
        result = data.pop("result", None)
        job = Job(**data)
    except (OSError, ValueError, TypeError):
        return None
    if job.id != job_id or job.state not in STATES:
        return None
    return job.evolve(result=folder / job_id / RESULT if result and job.state == "done" else None)


def write_record(folder: Path, job: Job) -> None:
    atomic.replace(folder / job.id / RECORD, job.to_json())
