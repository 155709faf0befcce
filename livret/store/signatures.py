"""The seal of a signature: the SHA-256 of what was signed, and whether those files changed since.

A signature (entry type ``signature``) lists in ``signed`` the entry file it
is about (first) and each of that entry's attachments, with the SHA-256 of
their bytes at signing time; paths are relative to ``portfolios/``
(``<learner>/entries/<name>.md``, ``<learner>/files/<name>``).  :func:`seal_of`
computes that list; :func:`check_seal` compares it with the files as they
are now.  Files are read without following a link (:mod:`.nofollow`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import nofollow
from .records import StoredEntry
from .schema import EntryBase, SignedFile

_CHUNK = 1 << 20


def file_sha256(root: Path, rel: str) -> str | None:
    """SHA-256 of the regular file ``root/rel`` (never through a link); None when absent or unreadable."""
    try:
        fd = nofollow._open_file(root, rel)
    except OSError:  # absent, a link, a special file: nothing that can match a seal
        return None
    h = hashlib.sha256()
    try:
        while chunk := os.read(fd, _CHUNK):
            h.update(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return h.hexdigest()


def seal_of(root: Path, learner_id: str, entry: StoredEntry) -> list[SignedFile]:
    """What a signature of ``entry`` seals: its file, then each attachment, with their SHA-256 now.

    ``entry.path`` is relative to the store's root (``<learner>/entries/x.md``).
    Raises :class:`FileNotFoundError` when one of them cannot be read.
    """
    paths = [entry.path] + [f"{learner_id}/{a}" for a in entry.meta.attachments]
    out = []
    for rel in paths:
        digest = file_sha256(root, rel)
        if digest is None:
            raise FileNotFoundError(rel)
        out.append(SignedFile(path=rel, sha256=digest))
    return out


@dataclass(frozen=True)
class SealState:
    """The seal of one signature against the files as they are now."""

    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.changed and not self.missing


def check_seal(root: Path, signature: EntryBase) -> SealState:
    """Compare each file a signature lists with its bytes now (changed, or missing)."""
    changed, missing = [], []
    for item in getattr(signature, "signed", []):
        digest = file_sha256(root, item.path)
        if digest is None:
            missing.append(item.path)
        elif digest != item.sha256:
            changed.append(item.path)
    return SealState(changed, missing)
