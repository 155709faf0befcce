"""Learner imports from the browser: the uploaded file kept between its preview and the confirmation.

The file is kept in the instance folder (``instance/imports/<token>.csv``,
mode 0600, never in the store), with a small ``<token>.json`` saying who
uploaded it, under which name and when.  The page carries only the random
token; a token is 32 URL-safe characters checked before it becomes a path,
and is honoured only for the admin who uploaded the file and for
:data:`MAX_AGE`; a file is deleted once imported, and any file older than
that is deleted at the next upload.  No path from the request ever reaches
the file system.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from ..interop.learners_csv import MAX_BYTES, ImportPlan, UserLike, plan_import
from ..store import Store

#: How long an uploaded file waits for its confirmation.
MAX_AGE = 24 * 3600
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")
FOLDER = "imports"


@dataclass(frozen=True)
class Pending:
    token: str
    owner: str
    name: str
    created: float
    data: bytes


def safe_name(filename: str | None) -> str:
    """The uploaded file's name for messages and the commit: its last part, printable, 100 characters."""
    base = re.split(r"[\\/]", filename or "")[-1]
    cleaned = "".join(c for c in base if c.isprintable()).strip()
    return cleaned[:100] or "import.csv"


class PendingImports:
    """Uploaded CSV files waiting for their confirmation, in ``<instance>/imports/``."""

    def __init__(self, instance: Path):
        self.folder = Path(instance) / FOLDER

    def _paths(self, token: str) -> tuple[Path, Path]:
        if not TOKEN_RE.match(token or ""):
            raise ValueError("jeton invalide")
        return self.folder / f"{token}.csv", self.folder / f"{token}.json"

    def keep(self, data: bytes, *, owner: str, name: str, now: float | None = None) -> str:
        """Keep ``data`` for ``owner``; returns the token.  Files older than :data:`MAX_AGE` go first."""
        if len(data) > MAX_BYTES:
            raise ValueError("fichier trop volumineux")
        self.cleanup(now)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        token = secrets.token_urlsafe(24)
        csv_path, meta_path = self._paths(token)
        meta = json.dumps({"owner": owner, "name": safe_name(name), "created": now or time.time()})
        for path, content in ((csv_path, data), (meta_path, meta.encode("utf-8"))):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
        return token

    def load(self, token: str, *, owner: str, now: float | None = None) -> Pending | None:
        """The file of ``token`` if ``owner`` uploaded it less than :data:`MAX_AGE` ago, else None."""
        try:
            csv_path, meta_path = self._paths(token)
        except ValueError:
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("owner") != owner:
                return None
            if (now or time.time()) - float(meta.get("created", 0)) > MAX_AGE:
                self.discard(token)
                return None
            fd = os.open(csv_path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as handle:
                data = handle.read(MAX_BYTES + 1)
        except (OSError, ValueError, TypeError):
            return None
        return Pending(token, owner, str(meta.get("name") or "import.csv"), float(meta["created"]), data)

    def discard(self, token: str) -> None:
        try:
            paths = self._paths(token)
        except ValueError:
            return
        for path in paths:
            path.unlink(missing_ok=True)

    def cleanup(self, now: float | None = None) -> list[str]:
        """Delete every kept file older than :data:`MAX_AGE` (and any stray file); returns the names."""
        if not self.folder.is_dir():
            return []
        limit = (now or time.time()) - MAX_AGE
        removed = []
        for path in self.folder.iterdir():
            try:
                old = path.lstat().st_mtime < limit
            except OSError:
                continue
            if old or not TOKEN_RE.match(path.stem):
                try:
                    path.unlink(missing_ok=True)
                except OSError:  # a folder someone put there: left alone
                    continue
                removed.append(path.name)
        return removed


def preview(store: Store, users: list[UserLike], pending: Pending) -> ImportPlan:
    """The plan of a kept file (validated against the store now)."""
    return plan_import(pending.data, store, users, name=pending.name)
