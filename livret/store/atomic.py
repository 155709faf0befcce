"""Atomic file writes: a temporary file, fsync, then a link or a rename.

A reader never sees a half-written file: until the final step the data is
in a dot-file that the store ignores, and the final step is atomic.  A crash
leaves at worst a ``.tmp-*`` file behind, which :func:`clean_temporary`
removes.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

TMP_PREFIX = ".tmp-"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(path: Path, data: bytes) -> Path:
    tmp = path.parent / f"{TMP_PREFIX}{secrets.token_hex(6)}-{path.name}"
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
    """Remove temporary files left by a crash (older than ``older_than`` seconds)."""
    removed = 0
    now = time.time()
    for tmp in directory.rglob(f"{TMP_PREFIX}*"):
        try:
            if now - tmp.stat().st_mtime > older_than:
                tmp.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    return removed
