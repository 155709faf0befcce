"""What the store reads: stored entries, learner records, and the folder scans they are made of."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from . import nofollow
from .errors import Problem
from .nofollow import Scanned
from .schema import (
    LEARNER_ID_RE,
    EntryBase,
    Framework,
    LearnerProfile,
    entry_to_data,
)

FRAMEWORKS_DIR = "_frameworks"
GROUPS_DIR = "_groups"
ORGANISATION_FILE = "_organisation.yml"
#: Optional ``username: name`` map, for entries written before entries carried ``author_name``.
PEOPLE_FILE = "_people.yml"
PROFILE_FILE = "learner.md"


class StoreError(RuntimeError):
    """A write could not be done (missing learner, disk full, read-only store...)."""


class UnknownLearner(StoreError):
    pass


class StaleWrite(StoreError):
    """A file changed since the form that would replace it was filled (a hand edit, another admin)."""

    def __init__(self, rel: str):
        super().__init__(f"{rel} a été modifié entre-temps (par une autre personne ou à la main) : "
                         "rechargez la page, vérifiez, puis recommencez votre modification")
        self.rel = rel


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


class FolderState(NamedTuple):
    """What a learner's record is made of (see ``Store._signature``); compared whole."""

    profile: tuple  # mtime, size and kind of learner.md (lstat)
    framework: tuple  # (id, mtime, size) of its framework file, () when it has none
    entries: tuple[Scanned, ...]
    files: tuple[Scanned, ...]


def scan_folder(root: Path, folder: Path) -> tuple[Scanned, ...]:
    """What ``folder`` (under the store's ``root``) holds, by name, dot files left out.

    One ``lstat`` per item; links and special files are listed as such
    (never followed, see :mod:`.nofollow`); an item that vanishes is left out;
    a folder that is a link lists nothing.
    """
    return nofollow.scan(root, folder.relative_to(root).as_posix())


def regular_files(scan: tuple[Scanned, ...]) -> list[str]:
    """The names of the regular files of a scan, in name order (links and special files left out)."""
    return [name for name, _, _, kind in scan if kind == nofollow.FILE]


def unsafe_names(scan: tuple[Scanned, ...]) -> list[tuple[str, str]]:
    """``(name, kind)`` of the links and special files of a scan."""
    return [(name, kind) for name, _, _, kind in scan if kind in (nofollow.LINK, nofollow.SPECIAL)]


def valid_learner_id(learner_id: str) -> bool:
    return bool(LEARNER_ID_RE.match(learner_id or ""))

