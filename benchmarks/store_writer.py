"""A writer process for the reliability tests: appends entries and acknowledges each one.

Run as ``python -m benchmarks.store_writer ROOT ACK_FILE --learner L --author A
[--threads T] [--count N]``.  Each thread appends meetings through the real
store API (atomic files, git commits) and, once ``append_entry`` has
returned, writes ``<id> <path> <author>`` to ``ACK_FILE``, flushed and
fsynced: a line in that file is a promise that the entry is stored.  The
crash test kills this process at a random moment and checks every promise;
the concurrency test runs several of them at once.

``--count 0`` appends until killed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import threading
import traceback
from pathlib import Path

from livret.store.project import Project

PARIS = dt.timezone(dt.timedelta(hours=1))
NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=PARIS)


def meeting_fields(n: int, *, day: str = "2026-02-02") -> dict:
    """A valid meeting (no competency: valid for any framework)."""
    return {"type": "meeting", "date": f"{day}T10:00:00+01:00", "title": f"Entretien de suivi n° {n}",
            "kind": "suivi", "modality": "presentiel", "duration": 30 + n % 60}


def run(root: Path, ack: Path, learners: list[str], author: str, threads: int, count: int) -> None:
    store = Project.at(root).store
    with open(ack, "a", encoding="utf-8") as out:
        failures = _run_threads(store, out, learners, author, threads, count)
    if failures:
        sys.stderr.write("\n".join(failures))
        sys.exit(1)


def _run_threads(store, out, learners: list[str], author: str, threads: int, count: int) -> list[str]:
    guard = threading.Lock()
    failures: list[str] = []

    def work(t: int) -> None:
        try:
            append_loop(t)
        except Exception:  # reported below: the parent test fails on a non-zero exit
            failures.append(traceback.format_exc())

    def append_loop(t: int) -> None:
        writer = f"{author}{t}" if threads > 1 else author
        n = 0
        while count == 0 or n < count:
            learner = learners[(t + n) % len(learners)]
            entry = store.append_entry(learner, meeting_fields(n), f"Texte {n} de {writer}.",
                                       author=writer, role="tutor", now=NOW)
            with guard:
                out.write(f"{entry.id} {entry.path} {writer}\n")
                out.flush()
                os.fsync(out.fileno())
            n += 1

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return failures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path)
    parser.add_argument("ack", type=Path)
    parser.add_argument("--learner", action="append", required=True)
    parser.add_argument("--author", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--count", type=int, default=0)
    args = parser.parse_args()
    run(args.root, args.ack, args.learner, args.author, args.threads, args.count)


if __name__ == "__main__":
    main()
