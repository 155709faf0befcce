"""The store API: reading, validating and appending to ``portfolios/``.

Layout (see docs/format.md)::

    portfolios/
      _organisation.yml                organisation settings (optional)
      _frameworks/<framework-id>.yml   competency frameworks
      _sessions/<YYYY-MM>/<date>-<half-day>-<id>.yml   training sessions (séances)
      <learner-id>/
        learner.md                     profile (front matter) + free text
        entries/<YYYY-MM-DD>-<type>-<short-id>.md
        files/<short-id>-<safe-name>   attachments

Reading never raises for a bad file: problems are collected per file, with
the line of the offending key, and every other file is still read.  Writing
appends only: a new entry is a new file, written atomically, never replacing
an existing one, and committed to the store's git history when there is one.

:class:`Store` is one facade over the pieces: :mod:`.reader` (single files,
cached), :mod:`.learners` (whole learner records and ``check``),
:mod:`.writer` (entries, profiles, recovery, after-commit hooks),
:mod:`.uploads` (attachments) and :mod:`.sessions` (training sessions).
"""

from __future__ import annotations

from pathlib import Path

from .learners import LearnerReader
from .sessions import SessionStore
from .uploads import Uploads
from .writer import AfterCommit, EntryWriter


class Store(SessionStore, LearnerReader, EntryWriter, Uploads):
    """The store API.  Safe to share between threads.

    Upper layers that must see every write (the rebuild of the sites today)
    append a callable to :attr:`after_commit`; the store calls each one with
    a :class:`~livret.store.writer.Commit` once the write is durable, and
    never imports them.
    """

    def __init__(self, root: Path, *, display_root: Path | None = None):
        super().__init__(root, display_root=display_root)
        self.after_commit: list[AfterCommit] = []
