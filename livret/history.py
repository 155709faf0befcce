"""The store's history: a git repository rooted at portfolios/.

Every write through livret is one commit whose author is the writing user.
Writers in several threads and processes are serialised by an advisory lock
(``flock``) on a file inside ``.git``, so git's own ``index.lock`` is never
contended by livret itself; a lock held by someone else (a person running git
by hand) is waited for, with retries, and never surfaces as a git error.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

GITIGNORE = ".tmp-*\n.livret.lock\n"


class HistoryError(RuntimeError):
    """git failed in a way livret cannot recover from."""


def _git_env(author: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    name = author or "livret"
    email = f"{name}@livret.invalid"
    env.update(
        GIT_AUTHOR_NAME=name,
        GIT_AUTHOR_EMAIL=email,
        GIT_COMMITTER_NAME=name,
        GIT_COMMITTER_EMAIL=email,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        LC_ALL="C",
    )
    env["HOME"] = env.get("HOME", "/nonexistent")
    return env


_thread_locks: dict[Path, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


class History:
    """git operations on the store; does nothing useful when there is no repository."""

    def __init__(self, root: Path):
        self.root = root

    @property
    def enabled(self) -> bool:
        return (self.root / ".git").is_dir()

    def git(self, *args: str, author: str | None = None, check: bool = True,
            input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", *args],
            cwd=self.root,
            env=_git_env(author),
            capture_output=True,
            input=input,
        )
        if check and proc.returncode != 0:
            raise HistoryError(
                f"git {' '.join(args[:2])} a échoué : {proc.stderr.decode(errors='replace').strip()}"
            )
        return proc

    def init(self) -> None:
        """Make the store a git repository with a first commit."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.enabled:
            return
        self.git("init", "-q", "-b", "main")
        ignore = self.root / ".gitignore"
        if not ignore.exists():
            ignore.write_text(GITIGNORE, encoding="utf-8")
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", "Création du dépôt des portfolios")

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Serialise writers across threads and processes."""
        lock_dir = self.root / ".git" if self.enabled else self.root
        lock_path = lock_dir / "livret.lock" if self.enabled else lock_dir / ".livret.lock"
        with _thread_locks_guard:
            tlock = _thread_locks.setdefault(lock_path, threading.Lock())
        with tlock:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def commit(self, paths: Sequence[str], *, author: str, message: str) -> str | None:
        """Commit exactly ``paths`` (relative to the store) as ``author``; call under :meth:`lock`.

        Returns the commit id, or None when there is no repository.
        """
        if not self.enabled:
            return None
        delay = 0.05
        for attempt in range(40):
            add = self.git("add", "--", *paths, check=False)
            if add.returncode == 0:
                done = self.git(
                    "commit", "-q", "--no-verify", "-m", message, "--", *paths,
                    author=author, check=False,
                )
                if done.returncode == 0:
                    return self.git("rev-parse", "HEAD").stdout.decode().strip()
                err = done.stderr
            else:
                err = add.stderr
            if b"index.lock" not in err and b"Unable to create" not in err:
                raise HistoryError(
                    "l'enregistrement dans l'historique git a échoué : "
                    + err.decode(errors="replace").strip()
                )
            time.sleep(delay)  # someone else holds git's lock: wait and retry
            delay = min(delay * 1.5, 0.5)
        raise HistoryError("le dépôt git reste verrouillé (index.lock) : réessayez plus tard")

    def untracked(self) -> list[str]:
        """Files present but never committed (relative paths)."""
        if not self.enabled:
            return []
        out = self.git("ls-files", "--others", "--exclude-standard", "-z").stdout.decode()
        return [p for p in out.split("\0") if p]

    def modified(self) -> list[str]:
        """Tracked files changed or deleted since their last commit."""
        if not self.enabled:
            return []
        out = self.git("ls-files", "--modified", "--deleted", "-z").stdout.decode()
        return sorted({p for p in out.split("\0") if p})
