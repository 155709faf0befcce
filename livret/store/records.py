"""What the store reads: stored entries, learner records, and the folder scans they are made of."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from .errors import Problem
from .schema import (
    LEARNER_ID_RE,
    EntryBase,
    Framework,
    LearnerProfile,
    entry_to_data,
)

FRAMEWORKS_DIR = "_frameworks"
ORGANISATION_FILE = "_organisation.yml"
PROFILE_FILE = "learner.md"


class StoreError(RuntimeError):
    """A write could not be done (missing learner, disk full, read-only store...)."""


class UnknownLearner(StoreError):
    pass


@dataclass
class StoredEntry:
    """An entry as stored: its validated front matter, its body and its file."""

    meta: EntryBase
    body: str
    path: str  # relative to the store root: <learner>/entries/<name>.md

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def type(self) -> str:
        return self.meta.type

    @property
    def date(self) -> dt.datetime:
        return self.meta.date

    @property
    def visibility(self) -> str:
        return self.meta.visibility

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def to_data(self) -> dict[str, Any]:
        return entry_to_data(self.meta)

    def to_json(self) -> dict[str, Any]:
        return {**self.to_data(), "body": self.body}


@dataclass
class LearnerRecord:
    """Everything the store holds about one learner, valid parts only, plus problems."""

    id: str
    profile: LearnerProfile | None
    profile_body: str
    framework: Framework | None
    entries: list[StoredEntry]  # valid entries, in date order
    files: list[str]  # "files/<name>" present under the learner's folder
    problems: list[Problem] = field(default_factory=list)
    #: The state of the learner's files this record was read from (see ``Store.derived``).
    version: tuple = field(default=(), compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    def entry(self, entry_id: str) -> StoredEntry | None:
        for e in self.entries:
            if e.id == entry_id:
                return e
        return None


#: One item of a folder scan: (name, mtime in ns, size, is a regular file).
Scanned = tuple[str, int, int, bool]


class Signature(NamedTuple):
    """What a learner's record is made of (see ``Store._signature``); compared whole."""

    profile: tuple[int, int]  # mtime, size of learner.md
    framework: tuple  # (id, mtime, size) of its framework file, () when it has none
    entries: tuple[Scanned, ...]
    files: tuple[Scanned, ...]


def scan_folder(folder: Path) -> tuple[Scanned, ...]:
    """What ``folder`` holds, by name, dot files left out.

    One ``stat`` per item (``is_file`` comes with the directory listing); an
    item that vanishes or a broken link is left out.
    """
    out = []
    try:
        with os.scandir(folder) as items:
            for item in items:
                if item.name.startswith("."):
                    continue
                try:
                    st = item.stat()
                except OSError:
                    continue
                out.append((item.name, st.st_mtime_ns, st.st_size, item.is_file()))
    except (FileNotFoundError, NotADirectoryError):
        return ()
    return tuple(sorted(out))


def regular_files(scan: tuple[Scanned, ...]) -> list[str]:
    """The names of the regular files of a scan, in name order."""
    return [name for name, _, _, is_file in scan if is_file]


def valid_learner_id(learner_id: str) -> bool:
    return bool(LEARNER_ID_RE.match(learner_id or ""))

