"""Measuring: percentiles, peak memory of a process tree, disk usage, the machine.

Everything reads /proc and the file system directly (no psutil), so the
benchmark runs from a fresh clone with the project's own dependencies.
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), linear between closest ranks; nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


# --------------------------------------------------------------------------
# Memory of a process tree
# --------------------------------------------------------------------------


TICK = os.sysconf("SC_CLK_TCK")


def session_processes(session: int) -> dict[str, tuple[int, float]]:
    """pid -> (resident bytes, CPU seconds so far) of every process of a session."""
    out = {}
    wanted = str(session)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
            if stat[3] != wanted:  # state ppid pgrp session ...
                continue
            rss = int(Path(f"/proc/{entry.name}/statm").read_text().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile
        out[entry.name] = (rss, (int(stat[11]) + int(stat[12])) / TICK)  # utime, stime
    return out


class TreeSampler:
    """Samples a session (a command and every process it starts) until stopped.

    ``peak_rss`` is the largest sum of resident memory seen at one moment:
    pages shared between a parent and its forked workers count more than
    once, so it is an upper bound.  ``cpu`` adds up the CPU time of every
    process seen (the last ``interval`` of a process that ends between two
    samples is missed).
    """

    def __init__(self, session: int, interval: float = 0.05):
        self.session, self.interval = session, interval
        self.peak_rss = 0
        self._cpu: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def cpu(self) -> float:
        return sum(self._cpu.values())

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            seen = session_processes(self.session)
            self.peak_rss = max(self.peak_rss, sum(rss for rss, _ in seen.values()))
            for pid, (_, cpu) in seen.items():
                self._cpu[pid] = max(cpu, self._cpu.get(pid, 0.0))
            self._stop.wait(self.interval)


@dataclass
class Run:
    """One measured command: wall and CPU seconds, peak memory of its process tree, its output."""

    wall: float
    cpu: float
    peak_rss: int
    output: str


def run_measured(args: Sequence[str], *, cwd: Path | None = None, env: dict | None = None) -> Run:
    """Run a command in its own session and measure it; raise on failure.

    CPU time tells what the command costs on a busy machine, where wall time
    also counts the waiting for a core.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(list(args), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    with TreeSampler(proc.pid) as tree:
        output, _ = proc.communicate()
    wall = time.perf_counter() - start
    text = output.decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])}... a échoué ({proc.returncode}) :\n{text[-2000:]}")
    return Run(wall, tree.cpu, tree.peak_rss, text)


# --------------------------------------------------------------------------
# Disk
# --------------------------------------------------------------------------


def disk_usage(path: Path) -> int:
    """Bytes on disk under ``path`` like ``du -s``: blocks, symlinks counted as links (not followed)."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        total += os.lstat(dirpath).st_blocks * 512
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


# --------------------------------------------------------------------------
# The machine
# --------------------------------------------------------------------------


def _meminfo_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return math.nan


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def machine() -> dict[str, object]:
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(_meminfo_gb(), 1),
        "cpu": _cpu_model(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "livret": _version("livret"),
        "mkdocs": _version("mkdocs"),
        "mkdocs-material": _version("mkdocs-material"),
        "waitress": _version("waitress"),
        "git": git.removeprefix("git version "),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
