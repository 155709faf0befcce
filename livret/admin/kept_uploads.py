"""Uploaded files kept between their preview and the confirmation (learner CSV, framework files).

A file is kept in a folder of the instance (never in the store) as
``<token><suffix>``, mode 0600, with a small ``<token>.json`` saying who
uploaded it, under which name, when, and what the page asked to keep beside
it (``extra``: the framework's format...).  The page carries only the
random token; a token is 32 URL-safe characters checked before it becomes a
path, and is honoured only for the account that uploaded the file and for
:data:`MAX_AGE`; a file is deleted once used, and any file older than that
(or any stray file) is deleted at the next upload.  No path from the
request ever reaches the file system.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: How long an uploaded file waits for its confirmation.
MAX_AGE = 24 * 3600
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")


@dataclass(frozen=True)
class Kept:
    token: str
    owner: str
    name: str
    created: float
    data: bytes
    #: What the page kept beside the file (JSON values).
    extra: dict[str, Any] = field(default_factory=dict)


def safe_name(filename: str | None, default: str) -> str:
    """The uploaded file's name for messages and the commit: its last part, printable, 100 characters."""
    base = re.split(r"[\\/]", filename or "")[-1]
    cleaned = "".join(c for c in base if c.isprintable()).strip()
    return cleaned[:100] or default


class KeptUploads:
    """Uploaded files waiting for their confirmation, in ``folder``."""

    def __init__(self, folder: Path, *, suffix: str, max_bytes: int, default_name: str):
        self.folder = Path(folder)
        self.suffix = suffix
        self.max_bytes = max_bytes
        self.default_name = default_name

    def _paths(self, token: str) -> tuple[Path, Path]:
        if not TOKEN_RE.match(token or ""):
            raise ValueError("jeton invalide")
        return self.folder / f"{token}{self.suffix}", self.folder / f"{token}.json"

    def keep(self, data: bytes, *, owner: str, name: str | None, extra: dict[str, Any] | None = None,
             now: float | None = None) -> str:
        """Keep ``data`` for ``owner``; returns the token.  Files older than :data:`MAX_AGE` go first."""
        if len(data) > self.max_bytes:
            raise ValueError("fichier trop volumineux")
        self.cleanup(now)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        token = secrets.token_urlsafe(24)
        data_path, meta_path = self._paths(token)
        meta = json.dumps({"owner": owner, "name": safe_name(name, self.default_name), "created": now or time.time(),
                           "extra": extra or {}})
        for path, content in ((data_path, data), (meta_path, meta.encode("utf-8"))):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
        return token

    def load(self, token: str, *, owner: str, now: float | None = None) -> Kept | None:
        """The file of ``token`` if ``owner`` uploaded it less than :data:`MAX_AGE` ago, else None."""
        try:
            data_path, meta_path = self._paths(token)
        except ValueError:
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("owner") != owner:
                return None
            if (now or time.time()) - float(meta.get("created", 0)) > MAX_AGE:
                self.discard(token)
                return None
            fd = os.open(data_path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as handle:
                data = handle.read(self.max_bytes + 1)
            extra = meta.get("extra") or {}
            if not isinstance(extra, dict):
                return None
        except (OSError, ValueError, TypeError, AttributeError):
            return None
        return Kept(token, owner, str(meta.get("name") or self.default_name), float(meta["created"]), data, extra)

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
                except OSError:  # a folder (another kind of upload's, or someone's): left alone
                    continue
                removed.append(path.name)
        return removed
