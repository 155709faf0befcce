"""Reading the store without ever following a symbolic link.

A file of the store is opened relative to the store's root, one path
component at a time, each with ``O_NOFOLLOW``: a symbolic link anywhere
below the root (a learner's folder, ``entries/``, ``files/``, a file,
``_frameworks/``) is refused, never followed, and so is a special file (a
FIFO, a device, a socket).  What the store reads, publishes, serves and
packs is therefore a regular file inside the store, whatever a hand edit or
a pulled commit put there; ``livret check`` names every link
(:func:`unsafe_items`).

A hard link cannot be told from the file it names (both are the same
file); git never creates one, so a pulled commit cannot bring one.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

__all__ = [
    "FILE", "DIR", "LINK", "SPECIAL",
    "UnsafeFile", "FileTooBig", "kind_of", "lstat", "kind", "read_bytes", "copy_file", "scan", "unsafe_items",
    "LINK_MESSAGE", "SPECIAL_MESSAGE",
]

FILE, DIR, LINK, SPECIAL = "file", "dir", "link", "special"

LINK_MESSAGE = "lien symbolique refusé : livret ne suit pas les liens (mettez le fichier ou le dossier lui-même)"
SPECIAL_MESSAGE = "fichier spécial refusé (ni fichier ordinaire ni dossier)"

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just after).
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_CHUNK = 1 << 20


class UnsafeFile(OSError):
    """A path of the store that is, or goes through, a symbolic link or a special file.

    ``rel`` is the offending component (``alice/files`` when ``files`` is a
    link), relative to the store's root; ``kind`` is :data:`LINK` or
    :data:`SPECIAL`.
    """

    def __init__(self, rel: str, kind: str):
        self.rel, self.kind = rel, kind
        super().__init__(errno.ELOOP if kind == LINK else errno.EINVAL, self.message)

    @property
    def message(self) -> str:
        return LINK_MESSAGE if self.kind == LINK else SPECIAL_MESSAGE

    def __str__(self) -> str:
        return f"{self.rel} : {self.message}"


class FileTooBig(OSError):
    """A file larger than what the caller reads (``limit`` bytes)."""

    def __init__(self, rel: str, limit: int):
        self.rel, self.limit = rel, limit
        super().__init__(errno.EFBIG, self.message)

    @property
    def message(self) -> str:
        return f"fichier trop volumineux (plus de {self.limit // (1024 * 1024)} Mo) : non lu"


def kind_of(mode: int) -> str:
    """:data:`FILE`, :data:`DIR`, :data:`LINK` or :data:`SPECIAL` for an ``st_mode`` read with lstat."""
    if stat.S_ISREG(mode):
        return FILE
    if stat.S_ISDIR(mode):
        return DIR
    if stat.S_ISLNK(mode):
        return LINK
    return SPECIAL


def _parts(rel: str | PurePosixPath) -> list[str]:
    """The components of a path relative to the root; ValueError for one that could leave it."""
    text = rel if isinstance(rel, str) else rel.as_posix()
    parts = [p for p in text.split("/") if p and p != "."]
    if text.startswith("/") or ".." in parts or "\0" in text:
        raise ValueError(f"chemin hors du dépôt : {rel}")
    return parts


def _open_dirs(root: Path, parts: list[str]) -> int:
    """A descriptor of ``root/parts...`` (a folder), every component opened without following a link."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for i, part in enumerate(parts):
            try:
                sub = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    st = os.stat(part, dir_fd=fd, follow_symlinks=False)
                    found = kind_of(st.st_mode)
                    if found in (LINK, SPECIAL):
                        raise UnsafeFile("/".join(parts[: i + 1]), found) from None
                raise
            os.close(fd)
            fd = sub
    except BaseException:
        os.close(fd)
        raise
    return fd


def lstat(root: Path, rel: str | PurePosixPath) -> os.stat_result:
    """``lstat`` of ``root/rel``; raise :class:`UnsafeFile` when a folder on the way is a link."""
    parts = _parts(rel)
    if not parts:
        return os.stat(root)
    fd = _open_dirs(root, parts[:-1])
    try:
        return os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
    finally:
        os.close(fd)


def kind(root: Path, rel: str | PurePosixPath) -> str | None:
    """What ``root/rel`` is (:data:`FILE`, :data:`DIR`, :data:`LINK`, :data:`SPECIAL`), None when absent.

    A path through a linked folder is :data:`LINK`.
    """
    try:
        return kind_of(lstat(root, rel).st_mode)
    except UnsafeFile as exc:
        return exc.kind
    except (FileNotFoundError, NotADirectoryError):
        return None


def _open_file(root: Path, rel: str | PurePosixPath) -> int:
    parts = _parts(rel)
    if not parts:
        raise IsADirectoryError(errno.EISDIR, "dossier", str(root))
    fd = _open_dirs(root, parts[:-1])
    try:
        try:
            ffd = os.open(parts[-1], _FILE_FLAGS, dir_fd=fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafeFile("/".join(parts), LINK) from None
            raise
    finally:
        os.close(fd)
    found = kind_of(os.fstat(ffd).st_mode)
    if found != FILE:
        os.close(ffd)
        if found == DIR:
            raise IsADirectoryError(errno.EISDIR, "dossier", "/".join(parts))
        raise UnsafeFile("/".join(parts), SPECIAL)
    os.set_blocking(ffd, True)
    return ffd


def read_bytes(root: Path, rel: str | PurePosixPath, *, limit: int | None = None) -> bytes:
    """The bytes of the regular file ``root/rel``, read without following a link.

    Raises :class:`UnsafeFile` (a link or special file on the way),
    :class:`FileTooBig` (more than ``limit`` bytes: nothing beyond them is
    read), or the ``OSError`` of the system.
    """
    fd = _open_file(root, rel)
    try:
        chunks: list[bytes] = []
        total = 0
        while True:
            want = _CHUNK if limit is None else min(_CHUNK, limit + 1 - total)
            chunk = os.read(fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if limit is not None and total > limit:
                raise FileTooBig("/".join(_parts(rel)), limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def copy_file(root: Path, rel: str | PurePosixPath, dest: str | Path) -> None:
    """Copy the regular file ``root/rel`` to ``dest`` (created or replaced), never through a link."""
    fd = _open_file(root, rel)
    try:
        with open(fd, "rb", closefd=False) as src, open(dest, "wb") as out:
            while chunk := src.read(_CHUNK):
                out.write(chunk)
    finally:
        os.close(fd)


#: One item of a folder scan: (name, mtime in ns, size, kind); mtime and size are the item's own (lstat).
Scanned = tuple[str, int, int, str]


def scan(root: Path, rel: str | PurePosixPath) -> tuple[Scanned, ...]:
    """What the folder ``root/rel`` holds, by name, dot files left out, links listed as :data:`LINK`.

    Empty when the folder is absent, not a folder, or itself a link (or
    under one): nothing is ever listed through a link.
    """
    try:
        fd = _open_dirs(root, _parts(rel))
    except (FileNotFoundError, NotADirectoryError, UnsafeFile):
        return ()
    out = []
    try:
        with os.scandir(fd) as items:
            for item in items:
                if item.name.startswith("."):
                    continue
                try:
                    st = item.stat(follow_symlinks=False)
                except OSError:  # vanished since the listing
                    continue
                out.append((item.name, st.st_mtime_ns, st.st_size, kind_of(st.st_mode)))
    finally:
        os.close(fd)
    return tuple(sorted(out))


def unsafe_items(root: Path, *, skip: tuple[str, ...] = (".git",)) -> Iterator[tuple[str, str]]:
    """Every symbolic link and special file under ``root`` (``(rel, kind)``, name order), none followed.

    Dot files are included (a link is reported wherever it hides); the
    top-level folders named in ``skip`` are not visited.
    """
    stack = [""]
    while stack:
        rel = stack.pop()
        try:
            fd = _open_dirs(root, _parts(rel) if rel else [])
        except (OSError, ValueError):
            continue
        children: list[tuple[str, str]] = []
        try:
            with os.scandir(fd) as items:
                for item in items:
                    if not rel and item.name in skip:
                        continue
                    try:
                        found = kind_of(item.stat(follow_symlinks=False).st_mode)
                    except OSError:
                        continue
                    children.append((f"{rel}/{item.name}" if rel else item.name, found))
        finally:
            os.close(fd)
        for path, found in sorted(children):
            if found in (LINK, SPECIAL):
                yield path, found
        stack += [path for path, found in sorted(children, reverse=True) if found == DIR]
