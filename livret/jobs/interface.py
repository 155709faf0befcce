"""The job interface: what a caller sees of a job, whichever backend runs it."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

STATES = ("queued", "running", "done", "failed")


class JobFailed(Exception):
    """Raised by a job's callable: the job fails with this French message."""


class JobsBusy(RuntimeError):
    """Too many jobs wait already: try again later (French message)."""


@dataclass(frozen=True)
class Job:
    id: str
    name: str
    state: str
    created: str
    meta: dict[str, str] = field(default_factory=dict)
    #: The process that accepted the job (its pool runs it): a dead one means the job was interrupted.
    pid: int = 0
    started: str | None = None
    finished: str | None = None
    message: str | None = None
    #: Where it ran (thread name), for the record and for tests.
    thread: str | None = None
    #: The result file, set when ``state == "done"``.
    result: Path | None = None

    @property
    def pending(self) -> bool:
        return self.state in ("queued", "running")

    def to_json(self) -> bytes:
        data = asdict(self)
        data["result"] = self.result.name if self.result else None
        return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")

    def evolve(self, **changes: Any) -> Job:
        return replace(self, **changes)


class JobQueue(Protocol):
    """What callers use; backends: :class:`livret.jobs.ThreadJobs` (embedded), later RQ on Redis."""

    def submit(self, name: str, func: Callable[..., Any], *args: Any,
               meta: Mapping[str, str] | None = None) -> str: ...

    def status(self, job_id: str) -> Job | None: ...

    def wait(self, job_id: str, timeout: float | None = None) -> Job | None: ...

    def close(self) -> None: ...
