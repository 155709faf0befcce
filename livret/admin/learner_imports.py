"""Learner imports from the browser: the uploaded file kept between its preview and the confirmation.

The file is kept in the instance folder (``instance/imports/<token>.csv``,
mode 0600, never in the store) by :class:`~livret.admin.kept_uploads.KeptUploads`
(what a token is, who may use it, for how long: see there).
"""

from __future__ import annotations

from pathlib import Path

from ..interop.learners_csv import MAX_BYTES, ImportPlan, UserLike, plan_import
from ..store import Store
from .kept_uploads import MAX_AGE, TOKEN_RE, KeptUploads
from .kept_uploads import Kept as Pending
from .kept_uploads import safe_name as _safe_name

__all__ = ["FOLDER", "MAX_AGE", "TOKEN_RE", "Pending", "PendingImports", "preview", "safe_name"]

FOLDER = "imports"
DEFAULT_NAME = "import.csv"


def safe_name(filename: str | None) -> str:
    """The uploaded file's name for messages and the commit: its last part, printable, 100 characters."""
    return _safe_name(filename, DEFAULT_NAME)


class PendingImports(KeptUploads):
    """Uploaded CSV files waiting for their confirmation, in ``<instance>/imports/``."""

    def __init__(self, instance: Path):
        super().__init__(Path(instance) / FOLDER, suffix=".csv", max_bytes=MAX_BYTES, default_name=DEFAULT_NAME)


def preview(store: Store, users: list[UserLike], pending: Pending) -> ImportPlan:
    """The plan of a kept file (validated against the store now)."""
    return plan_import(pending.data, store, users, name=pending.name)
