"""The store: the only code that touches ``portfolios/``.

Schemas, front matter I/O, validation, attachments, atomic writes, the git
history and the :class:`Store` facade that reads, checks and appends.  It
imports nothing else from livret: every other layer builds on it.
"""

from .api import Store
from .records import (
    FRAMEWORKS_DIR,
    ORGANISATION_FILE,
    PEOPLE_FILE,
    PROFILE_FILE,
    LearnerRecord,
    StoredEntry,
    StoreError,
    UnknownLearner,
    valid_learner_id,
)
from .writer import Commit

__all__ = [
    "Commit",
    "FRAMEWORKS_DIR",
    "ORGANISATION_FILE",
    "PEOPLE_FILE",
    "PROFILE_FILE",
    "LearnerRecord",
    "Store",
    "StoredEntry",
    "StoreError",
    "UnknownLearner",
    "valid_learner_id",
]
