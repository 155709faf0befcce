"""Atomic file writes: a temporary file, fsync, then a link or a rename.

A reader never sees a half-written file: until the final step the data is
in a dot-file that the store ignores, and the final step is atomic.  A crash
leaves at worst a ``.tmp-<pid>-<random>-<name>`` file behind, which
:func:`clean_temporary` removes at the next run: the pid in the name tells a
leftover (its process is gone) from a write in progress in another process
(kept).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

TMP_PREFIX = ".tmp-"
#: ``.tmp-<pid>-<12 hex>-<name>``: the writer's process id, then a random part.
_TMP_NAME = re.compile(r"^\.tmp-(\d{1,10})-[0-9a-f]{12}-")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path(path: Path) -> Path:
    """A new temporary name next to ``path``, holding this process's id (see :func:`clean_temporary`)."""
    return path.parent / f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(6)}-{path.name}"


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (a zombie or another user's process counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # (no such pid can exist)
        return False
    except PermissionError:
        return True
    return True


def writer_gone(tmp: Path) -> bool:
    """Whether the process that named the temporary file ``tmp`` has ended (False when the name has no pid)."""
    match = _TMP_NAME.match(tmp.name)
    return match is not None and not process_alive(int(match.group(1)))


def _write_temp(path: Path, data: bytes) -> Path:
    tmp = temp_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return tmp


def create_new(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``, which must not exist; raise ``FileExistsError`` if it does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_temp(path, data)
    try:
        os.link(tmp, path)  # atomic, and never replaces an existing file
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def replace(path: Path, data: bytes) -> None:
    """Atomically replace (or create) ``path`` with ``data``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_temp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def clean_temporary(directory: Path, older_than: float = 3600.0) -> int:
    """Remove the temporary files a killed or failed write left under ``directory``.

    A file is a leftover when the process named in it has ended, or when it
    is older than ``older_than`` seconds (names without a pid, from older
    versions; a pid reused by another process).  The temporary file of a
    write in progress in a live process is kept.
    """
    removed = 0
    now = time.time()
    for tmp in directory.rglob(f"{TMP_PREFIX}*"):
        try:
            if not tmp.is_dir() and (writer_gone(tmp) or now - tmp.stat().st_mtime > older_than):
                tmp.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    return removed
