"""Which learners' files changed since the last request: the kernel says so (Linux inotify).

A page listing a thousand learners must know, for each, whether its files
changed since they were read.  Without help that is a scan of three folders
per learner per request (see :meth:`LearnerReader._signature`).  With a
:class:`FolderWatch`, the kernel queues one event per change in the watched
folders (the store's top, each learner's folder and its ``entries/`` and
``files/``, ``_frameworks/``), and the reader drains that queue, without
waiting, before it trusts anything it remembered: a change finished before a
request began is always seen by that request (the kernel queues the event
when the change happens, not later).  A learner with no event since its
files were scanned is not scanned again.

Hand edits, git commands, other processes writing the store: all are seen,
since the kernel reports them all.  Not seen: changes made on another
machine to a network file system (NFS, SMB); set ``LIVRET_WATCH=0`` there
and the reader scans as before.  When the kernel refuses (no inotify, the
watch limit ``fs.inotify.max_user_watches`` reached), or its queue
overflows, the reader falls back to scanning (everything is "changed").
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import weakref
from collections.abc import Iterable
from pathlib import Path

from .records import FRAMEWORKS_DIR, PROFILE_FILE, valid_learner_id

try:  # Linux only; elsewhere the reader scans
    from inotify_simple import INotify
    from inotify_simple import flags as _flags
except ImportError:  # pragma: no cover - not Linux, or the package is missing
    INotify = None  # type: ignore[assignment,misc]
    _flags = None  # type: ignore[assignment]

log = logging.getLogger("livret.store")

#: Returned by :meth:`FolderWatch.changed` when anything may have changed (overflow, a framework).
EVERYTHING = "*"
#: The key of the list of learners (the top of the store) among changed names.
TOP = ""
#: Sub-folders of a learner that are watched.
SUBFOLDERS = ("entries", "files")


def enabled_by_environment(environ: dict[str, str] | None = None) -> bool:
    """``LIVRET_WATCH=0`` (or ``no``, ``false``) turns the watch off."""
    value = (environ if environ is not None else os.environ).get("LIVRET_WATCH", "1").strip().lower()
    return value not in ("0", "no", "non", "false", "off")


class FolderWatch:
    """The kernel's change queue over one store's folders.  Thread-safe."""

    def __init__(self, root: Path):
        if INotify is None:
            raise OSError(errno.ENOSYS, "inotify indisponible")
        self.root = root
        self._mask = (_flags.CREATE | _flags.DELETE | _flags.MODIFY | _flags.ATTRIB | _flags.CLOSE_WRITE
                      | _flags.MOVED_FROM | _flags.MOVED_TO | _flags.DELETE_SELF | _flags.MOVE_SELF
                      | _flags.DONT_FOLLOW | _flags.ONLYDIR)
        self._inotify = INotify()
        # Closed with the watch (a store is dropped with its app): no file descriptor left open.
        self._closer = weakref.finalize(self, self._inotify.close)
        self._lock = threading.Lock()
        #: watch descriptor -> (learner id, or TOP, or FRAMEWORKS_DIR; sub-folder or "")
        self._owners: dict[int, tuple[str, str]] = {}
        try:
            self._add(root, TOP, "")
            for entry in os.scandir(root):
                self._add_top_child(entry.name)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._closer()

    def _add(self, path: Path, owner: str, sub: str) -> bool:
        """Watch one folder; False when it is not a real folder (gone, a link, a file)."""
        try:
            wd = self._inotify.add_watch(path, self._mask)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EACCES):
                return False
            raise  # ENOSPC (the watch limit), ENOMEM: the caller falls back to scanning
        self._owners[wd] = (owner, sub)
        return True

    def _add_top_child(self, name: str) -> None:
        if name == FRAMEWORKS_DIR:
            self._add(self.root / name, FRAMEWORKS_DIR, "")
        elif valid_learner_id(name) and self._add(self.root / name, name, ""):
            for sub in SUBFOLDERS:
                self._add(self.root / name / sub, name, sub)

    def changed(self) -> set[str] | str:
        """Names changed since the last call (learner ids, :data:`TOP`), or :data:`EVERYTHING`.

        Never waits.  Raises OSError if the kernel's queue cannot be read
        (the caller stops trusting the watch).
        """
        with self._lock:
            names: set[str] = set()
            everything = False
            for event in self._inotify.read(timeout=0):
                if event.mask & _flags.Q_OVERFLOW:
                    everything = True
                    continue
                owner = self._owners.get(event.wd)
                if event.mask & _flags.IGNORED:
                    self._owners.pop(event.wd, None)
                if owner is None:
                    continue
                learner, sub = owner
                if learner == FRAMEWORKS_DIR:
                    everything = True
                elif learner == TOP:
                    names.update((TOP, event.name))
                    if event.name and event.mask & (_flags.CREATE | _flags.MOVED_TO) and event.mask & _flags.ISDIR:
                        self._add_top_child(event.name)
                else:
                    names.add(learner)
                    if not sub and event.name == PROFILE_FILE:
                        names.add(TOP)
                    if (not sub and event.name in SUBFOLDERS and event.mask & _flags.ISDIR
                            and event.mask & (_flags.CREATE | _flags.MOVED_TO)):
                        self._add(self.root / learner / event.name, learner, event.name)
            return EVERYTHING if everything else names


def open_watch(root: Path) -> FolderWatch | None:
    """A watch over ``root``, or None when the kernel cannot give one (then the reader scans)."""
    try:
        return FolderWatch(root)
    except OSError as exc:
        log.warning("surveillance des fichiers indisponible (%s) : chaque page relira les dossiers", exc)
        return None


class WatchedValues:
    """Values about learners, kept while the watch reports no change of their files.

    ``get(name, key, compute)`` returns the kept value or computes it; a
    value computed while a change came in is not kept (the next call
    computes again).
    """

    def __init__(self, watch: FolderWatch):
        self.watch = watch
        self._lock = threading.Lock()
        self._values: dict[tuple[str, str], object] = {}
        #: name -> how many changes were seen; "everything" changes bump :attr:`_epoch`.
        self._generations: dict[str, int] = {}
        self._epoch = 0
        self.broken = False

    def _drain(self) -> None:
        try:
            changed = self.watch.changed()
        except OSError as exc:  # pragma: no cover - the kernel's queue unreadable: stop trusting it
            log.warning("surveillance des fichiers interrompue (%s) : retour à la relecture", exc)
            self.broken = True
            changed = EVERYTHING
        with self._lock:
            if changed == EVERYTHING:
                self._epoch += 1
                self._values.clear()
                return
            self._forget(changed)

    def _forget(self, names: Iterable[str]) -> None:
        for name in names:
            self._generations[name] = self._generations.get(name, 0) + 1
            for key in [k for k in self._values if k[0] == name]:
                del self._values[key]

    def forget(self, name: str) -> None:
        """Drop what is kept about ``name`` (a write of this process, known before the kernel says it)."""
        with self._lock:
            self._forget([name])

    def get(self, name: str, key: str, compute):
        if self.broken:
            return compute()
        self._drain()
        with self._lock:
            if (name, key) in self._values:
                return self._values[(name, key)]
            seen = (self._epoch, self._generations.get(name, 0))
        value = compute()
        self._drain()
        with self._lock:
            if seen == (self._epoch, self._generations.get(name, 0)):
                self._values[(name, key)] = value
        return value
