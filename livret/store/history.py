"""The store's history: a git repository rooted at portfolios/.

Every write through livret is one commit whose author is the writing user.
Writers in several threads and processes are serialised by an advisory lock
(``flock``) on a file inside ``.git``, so git's own ``index.lock`` is never
contended by livret itself; a lock held by someone else (a person running git
by hand) is waited for, with retries, and never surfaces as a git error.

Entries written by the app's threads at the same moment are committed
together (:meth:`History.commit_grouped`): still one commit per entry, with
its own author and message, but one ``git fast-import`` for all the commits
waiting at that moment instead of two git processes per entry, which is what
limits the number of entries per second (see docs/performance.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
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


@contextlib.contextmanager
def _flocked(path: Path, mode: int) -> Iterator[None]:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # a read-only store: lock anyway, the write itself reports the problem
        fd = os.open(path if path.exists() else path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _clean(message: str) -> str:
    """Titles come from users: no control character (a NUL would even stop git from starting)."""
    return "".join(c if c.isprintable() or c == "\n" else " " for c in message)


#: Paths livret writes (learner ids, entry and attachment names): nothing to quote for fast-import.
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


@dataclass
class _Pending:
    paths: list[str]
    author: str
    message: str
    done: threading.Event = field(default_factory=threading.Event)
    commit_id: str | None = None
    error: BaseException | None = None


@dataclass
class _Group:
    """The commits waiting to be written, for one repository in this process."""

    guard: threading.Lock = field(default_factory=threading.Lock)
    leader: threading.Lock = field(default_factory=threading.Lock)
    queue: list[_Pending] = field(default_factory=list)


_groups: dict[Path, _Group] = {}


def _group_of(root: Path) -> _Group:
    with _thread_locks_guard:
        return _groups.setdefault(root, _Group())


#: Lock files git leaves in .git when it is killed mid-operation.
_GIT_LOCKS = ("index.lock", "HEAD.lock", "packed-refs.lock", "config.lock")


#: git commands that only read and never take a lock: a long-running one (the seal's
#: ``cat-file --batch-check``) must not make every lock look held.
_READ_ONLY_GIT = frozenset({b"cat-file", b"rev-parse", b"log", b"show", b"ls-files", b"rev-list"})


def _git_subcommand(argv: list[bytes]) -> bytes:
    """The subcommand of a git command line (``git -c k=v -C dir cat-file ...`` -> ``cat-file``)."""
    args = iter(argv[1:])
    for arg in args:
        if arg in (b"-c", b"-C", b"--git-dir", b"--work-tree", b"--namespace"):
            next(args, None)
        elif not arg.startswith(b"-"):
            return arg
    return b""


def _git_running_in(root: Path, locks: Sequence[Path]) -> bool:
    """Whether a git process that may hold a lock works in ``root`` now
    (Linux: /proc; elsewhere: a lock younger than 10 min)."""
    proc = Path("/proc")
    if not (proc / "self" / "cwd").exists():
        return any(time.time() - p.stat().st_mtime < 600 for p in locks if p.exists())
    root = root.resolve()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if not (entry / "comm").read_text().startswith("git"):
                continue
            cwd = Path(os.readlink(entry / "cwd"))
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # the process ended, or is not ours to inspect
            continue
        if (cwd == root or root in cwd.parents) and _git_subcommand(argv) not in _READ_ONLY_GIT:
            return True
    return False


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
        with tlock, _flocked(lock_path, fcntl.LOCK_EX):
            yield

    @contextlib.contextmanager
    def serialised(self, name: str) -> Iterator[None]:
        """One holder of ``name`` at a time across threads and processes, for a check-then-write
        sequence (a signature: « not signed yet », then the write) that :meth:`lock` must not
        span (the write takes :meth:`lock` itself)."""
        lock_dir = self.root / ".git" if self.enabled else self.root
        lock_path = lock_dir / (f"livret.{name}.lock" if self.enabled else f".livret.{name}.lock")
        with _thread_locks_guard:
            tlock = _thread_locks.setdefault(lock_path, threading.Lock())
        with tlock, _flocked(lock_path, fcntl.LOCK_EX):
            yield

    @contextlib.contextmanager
    def writing(self, *, exclusive: bool = False) -> Iterator[None]:
        """Held (shared) from writing an entry's files until its commit is done.

        With grouped commits a written file waits a moment for its commit
        outside :meth:`lock`; :meth:`Store.recover <livret.store.Store.recover>`
        takes this exclusively, so it never mistakes a file being committed
        for one a crash left behind.
        """
        if not self.enabled:
            yield
            return
        with _flocked(self.root / ".git" / "livret.writing", fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH):
            yield

    def commit(self, paths: Sequence[str], *, author: str, message: str) -> str | None:
        """Commit exactly ``paths`` (relative to the store) as ``author``; call under :meth:`lock`.

        Returns the commit id, or None when there is no repository.
        """
        if not self.enabled:
            return None
        self._git_unlocked("add", "--", *paths)
        self._git_unlocked("commit", "-q", "--no-verify", "-m", _clean(message), "--", *paths, author=author)
        return self.head()

    def _git_unlocked(self, *args: str, author: str | None = None, input: bytes | None = None) -> None:
        """Run git, waiting while another git holds the index or a ref; call under :meth:`lock`."""
        delay = 0.05
        for attempt in range(40):
            done = self.git(*args, author=author, input=input, check=False)
            if done.returncode == 0:
                return
            err = done.stderr
            # Only a lock held by another git ("Unable to create '.../index.lock': File
            # exists") is worth waiting for; a full or read-only disk is not.
            if b".lock" not in err or b"File exists" not in err:
                raise HistoryError(
                    "l'enregistrement dans l'historique git a échoué : "
                    + err.decode(errors="replace").strip()
                )
            if self.clear_stale_locks():
                continue  # a killed writer's lock, now removed: retry at once
            time.sleep(delay)  # someone else holds git's lock: wait and retry
            delay = min(delay * 1.5, 0.5)
        raise HistoryError("le dépôt git reste verrouillé (index.lock) : réessayez plus tard")

    def commit_grouped(self, paths: Sequence[str], *, author: str, message: str) -> str | None:
        """Like :meth:`commit`, but called *without* holding :meth:`lock`; returns once committed.

        Commits asked for by other threads of this process at the same
        moment are written together: the first thread to get here writes
        every commit waiting (each with its own author, message and files,
        one after the other) with one ``git add`` (the index stays in step
        with the history) and one ``git fast-import``.  Raises HistoryError
        (for this commit and every other one of its group) if git fails.
        """
        if not self.enabled:
            return None
        group = _group_of(self.root)
        item = _Pending(list(paths), author, _clean(message))
        with group.guard:
            group.queue.append(item)
        with group.leader:  # one writer of commits at a time; the others' commits wait in the queue
            if not item.done.is_set():
                with group.guard:
                    batch, group.queue = group.queue, []
                try:
                    with self.lock():
                        ids = self._write_commits(batch)
                    for pending, commit_id in zip(batch, ids, strict=True):
                        pending.commit_id = commit_id
                except BaseException as exc:  # noqa: BLE001 - every waiter gets the error
                    for pending in batch:
                        pending.error = exc
                finally:
                    for pending in batch:
                        pending.done.set()
        if item.error is not None:
            raise item.error
        return item.commit_id

    def _write_commits(self, batch: list["_Pending"]) -> list[str]:
        """One commit per pending item, in order, on the current branch; call under :meth:`lock`.

        Returns each item's commit id (what the seal's journal records).
        """
        ref = (self.root / ".git" / "HEAD").read_text(encoding="ascii").strip()
        unsafe = [p for item in batch for p in item.paths if not _PLAIN_PATH.match(p)]
        if not ref.startswith("ref: refs/heads/") or unsafe:  # rare: the one-by-one way
            ids = []
            for item in batch:
                self._git_unlocked("add", "--", *item.paths)
                self._git_unlocked("commit", "-q", "--no-verify", "-m", item.message, "--", *item.paths,
                                   author=item.author)
                ids.append(self.head())
            return ids
        stream = bytearray()
        when = f"{int(time.time())} {dt.datetime.now().astimezone().strftime('%z')}"
        for n, item in enumerate(batch):
            ident = f"{item.author} <{item.author}@livret.invalid> {when}"
            message = item.message.encode("utf-8")
            stream += f"commit {ref[5:]}\nmark :{n + 1}\nauthor {ident}\ncommitter {ident}\n".encode()
            stream += b"data %d\n%s\n" % (len(message), message)
            if n == 0:
                stream += f"from {self.head()}\n".encode()
            for path in item.paths:
                data = (self.root / path).read_bytes()
                stream += b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data)
        stream += b"done\n"
        # Staged first, as the one-by-one way does: if fast-import fails, the caller unstages.
        self._git_unlocked("add", "--", *(p for item in batch for p in item.paths))
        marks = self.root / ".git" / "livret-marks"
        self._git_unlocked("fast-import", "--quiet", "--done", f"--export-marks={marks}", input=bytes(stream))
        ids = dict(line.split() for line in marks.read_text(encoding="ascii").splitlines())
        return [ids[f":{n + 1}"] for n in range(len(batch))]

    def head(self) -> str:
        """The id of the last commit, read from .git (no git process: this is on every write's path)."""
        git_dir = self.root / ".git"
        ref = (git_dir / "HEAD").read_text(encoding="ascii").strip()
        if ref.startswith("ref: "):
            loose = git_dir / ref[5:]
            if loose.is_file():
                return loose.read_text(encoding="ascii").strip()
            return self.git("rev-parse", "HEAD").stdout.decode().strip()  # a packed ref
        return ref  # detached HEAD

    def clear_stale_locks(self) -> list[str]:
        """Remove git lock files left by a killed writer; call under :meth:`lock`.

        A writer killed in the middle of ``git add`` or ``git commit`` (a
        crash, SIGKILL, the OOM killer) leaves ``.git/index.lock`` (or a ref
        lock) behind, and every later commit would fail.  livret runs git
        only under :meth:`lock`, which the caller holds, so a lock file is
        stale unless a git process is running in this repository right now
        (a person running git by hand): then it is left alone and waited for.
        Returns the removed files.
        """
        git_dir = self.root / ".git"
        locks = [git_dir / name for name in _GIT_LOCKS if (git_dir / name).exists()]
        locks += list(git_dir.glob("next-index-*.lock"))  # git commit --only's temporary index
        if (git_dir / "refs").is_dir():
            locks += list((git_dir / "refs").rglob("*.lock"))
        if not locks or _git_running_in(self.root, locks):
            return []
        for path in locks:
            path.unlink(missing_ok=True)
        return [path.relative_to(self.root).as_posix() for path in locks]

    def untracked(self) -> list[str]:
        """Files present but never committed (relative paths).

        Also those a writer killed between ``git add`` and ``git commit``
        left staged: they are in the index but in no commit.
        """
        if not self.enabled:
            return []
        out = self.git("ls-files", "--others", "--exclude-standard", "-z").stdout.decode()
        staged = self.git("diff", "--cached", "--name-only", "--diff-filter=A", "-z", check=False).stdout.decode()
        return sorted({p for p in (out + "\0" + staged).split("\0") if p})

    def modified(self) -> list[str]:
        """Tracked files changed or deleted since their last commit."""
        if not self.enabled:
            return []
        out = self.git("ls-files", "--modified", "--deleted", "-z").stdout.decode()
        return sorted({p for p in out.split("\0") if p})

    def versions(self, rel: str, *, limit: int = 50) -> list["Version"]:
        """The committed versions of one file, newest first: who, when, why, and its bytes then.

        A version whose file was removed has ``data`` None.  Read-only: no lock.
        """
        if not self.enabled:
            return []
        proc = self.git("log", f"-{int(limit)}", "--format=%H%x00%an%x00%aI%x00%s", "--", rel, check=False)
        if proc.returncode != 0:
            return []
        heads = [line.split("\0") for line in proc.stdout.decode("utf-8", "replace").splitlines() if line]
        if not heads:
            return []
        # Every version's bytes through one git cat-file --batch.
        request = "".join(f"{commit}:{rel}\n" for commit, *_ in heads).encode()
        out = self.git("cat-file", "--batch", input=request, check=False).stdout
        blobs: list[bytes | None] = []
        pos = 0
        for _ in heads:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            pos = end + 1
            if len(header) == 3:
                size = int(header[2])
                blobs.append(out[pos:pos + size])
                pos += size + 1
            else:  # "<name> missing": the file was removed by that commit
                blobs.append(None)
        return [Version(commit, author, dt.datetime.fromisoformat(date), subject, blob)
                for (commit, author, date, subject), blob in zip(heads, blobs, strict=True)]


@dataclass(frozen=True)
class Version:
    """One committed version of a file (:meth:`History.versions`)."""

    commit: str
    author: str
    date: dt.datetime
    message: str
    data: bytes | None
