"""Reliability of the store's write path under concurrent writers, a crash, a full disk, a read-only store.

Everything is real: several writer processes (``benchmarks/store_writer.py``)
each with several threads, git commits, SIGKILL of a whole process group,
a small tmpfs that fills up, a read-only bind mount.  Each test checks the
same promises: every acknowledged entry is present, valid and committed once
by its author; nothing half-written is visible; a refused write changes
nothing and says why in French.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import REPO, add, make_project, meeting

if str(REPO) not in sys.path:  # the benchmarks package, when pytest is not run from the repository
    sys.path.insert(0, str(REPO))
from benchmarks.live_app import wait_group_gone  # noqa: E402
from livret.store import Store, StoreError
from livret.store.history import History
from livret.store.yamlio import parse_front_matter


def start_writer(root: Path, ack: Path, *learners: str, author: str, threads: int = 1,
                 count: int = 0) -> subprocess.Popen:
    args = [sys.executable, "-m", "benchmarks.store_writer", str(root), str(ack), "--author", author,
            "--threads", str(threads), "--count", str(count)]
    for learner in learners:
        args += ["--learner", learner]
    return subprocess.Popen(args, cwd=REPO, start_new_session=True, stderr=subprocess.PIPE)


def acknowledged(*acks: Path) -> list[tuple[str, str, str]]:
    """(id, path, author) of every acknowledged entry; a torn last line (killed mid-write) is ignored."""
    out = []
    for ack in acks:
        if ack.exists():
            for line in ack.read_text(encoding="utf-8").split("\n"):
                parts = line.split(" ")
                if len(parts) == 3:
                    out.append((parts[0], parts[1], parts[2]))
    return out


def commits_by_path(store_root: Path) -> dict[str, list[str]]:
    """path -> authors of the commits that touched it."""
    log = History(store_root).git("log", "--format=%x1e%an", "--name-only").stdout.decode()
    out: dict[str, list[str]] = {}
    for block in log.split("\x1e")[1:]:
        lines = [line for line in block.split("\n") if line]
        for path in lines[1:]:
            out.setdefault(path, []).append(lines[0])
    return out


def assert_store_sound(store: Store) -> None:
    """Valid, fully committed, and every visible entry file parses."""
    assert store.check() == []
    assert store.history.untracked() == []
    assert store.history.modified() == []
    for path in store.root.glob("*/entries/*"):
        if not path.name.startswith("."):
            parse_front_matter(path.read_text(encoding="utf-8"))
    fsck = store.history.git("fsck", "--no-dangling", check=False)
    assert fsck.returncode == 0, fsck.stderr.decode()
    assert store.history.head() == store.history.git("rev-parse", "HEAD").stdout.decode().strip()


def assert_acknowledged_present(store: Store, acks: list[tuple[str, str, str]]) -> None:
    commits = commits_by_path(store.root)
    for entry_id, path, author in acks:
        learner = path.split("/")[0]
        stored = store.load_learner(learner).entry(entry_id)
        assert stored is not None, f"acknowledged entry {entry_id} lost"
        assert stored.path == path and stored.meta.author == author
        assert commits.get(path) == [author], f"{path}: commits {commits.get(path)}"


def test_concurrent_processes_and_threads_lose_nothing(tmp_path):
    project = make_project(tmp_path / "proj")
    store = project.store
    plan = [  # (learners, author, threads, count)
        (("alice",), "wa", 2, 4),
        (("alice", "bob"), "wb", 2, 4),
        (("bob",), "wc", 1, 6),
    ]
    procs = [(start_writer(project.root, tmp_path / f"ack{i}", *learners, author=author,
                           threads=threads, count=count), tmp_path / f"ack{i}")
             for i, (learners, author, threads, count) in enumerate(plan)]
    for proc, _ in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    acks = acknowledged(*(ack for _, ack in procs))
    assert len(acks) == sum(threads * count for _, _, threads, count in plan)
    assert len({a[0] for a in acks}) == len(acks)
    assert_acknowledged_present(store, acks)
    assert_store_sound(store)
    head_count = store.history.git("rev-list", "--count", "HEAD").stdout.decode().strip()
    assert int(head_count) == 1 + len(acks)  # one commit per entry, plus the first one
    assert {a[2] for a in acks} == {"wa0", "wa1", "wb0", "wb1", "wc"}


def test_sigkill_mid_append_then_recover(tmp_path):
    """Kill a writer (and its git children) at random moments, three times over."""
    project = make_project(tmp_path / "proj")
    rng = random.Random(int(os.environ.get("LIVRET_CRASH_SEED", "0")) or None)
    ack = tmp_path / "ack"
    for round_ in range(3):
        before = len(acknowledged(ack))
        proc = start_writer(project.root, ack, "alice", "bob", author=f"k{round_}-", threads=2)
        deadline = time.monotonic() + 60
        while len(acknowledged(ack)) < before + 2:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.25))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        wait_group_gone(proc.pid)  # its git children too, as a service manager waits before a restart

        store = Store(project.portfolios, display_root=project.root)
        recovered = store.recover()
        assert all(p.split("/")[1] in ("entries", "files") for p in recovered)
        assert_store_sound(store)
        assert_acknowledged_present(store, acknowledged(ack))
    # The store still takes writes after the crashes (no stale lock left behind).
    add(project, "alice", meeting())


def _fill(directory: Path) -> Path:
    """Fill the file system holding ``directory``; returns the filler file."""
    filler = directory / "filler.bin"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@contextlib.contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` at ``where`` (needs root and mount rights, as in CI containers), else skip.

    A folder already there (an instance/ holding the journal) is copied onto the tmpfs, and put
    back as it was afterwards.
    """
    kept = None
    if where.exists():
        kept = where.with_name(where.name + ".avant-tmpfs")
        where.rename(kept)
    where.mkdir()
    if not _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)):
        where.rmdir()
        if kept is not None:
            kept.rename(where)
        pytest.skip("full-disk test skipped: cannot mount a tmpfs here (needs root)")
    try:
        if kept is not None:
            shutil.copytree(kept, where, dirs_exist_ok=True)
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)
        if kept is not None:
            where.rmdir()
            kept.rename(where)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` read-only for this process and its children: a read-only bind mount as root, else chmod."""
    if os.geteuid() == 0:
        if not (_mount("--bind", str(path), str(path)) and _mount("-o", "remount,bind,ro", str(path))):
            pytest.skip("read-only test skipped: cannot bind-mount read-only here")
        undo = ["umount", str(path)]
    else:
        subprocess.run(["chmod", "-R", "a-w", str(path)], check=True)
        undo = ["chmod", "-R", "u+w", str(path)]
    try:
        yield
    finally:
        subprocess.run(undo, check=True)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.parts}


@pytest.fixture
def disk(tmp_path):
    with small_disk(tmp_path / "disk", "16m") as where:
        yield where


def test_full_disk_refuses_clearly_and_loses_nothing(disk):
    project = make_project(disk / "proj", with_site=False)
    kept = add(project, "alice", meeting(title="Écrite avant que le disque soit plein"))
    filler = _fill(disk)
    head = project.store.history.git("rev-parse", "HEAD").stdout
    outcomes = set()
    # Free a little more room each time: every attempt either succeeds whole or changes nothing.
    for free_pages in range(0, 12):
        if free_pages:
            with open(filler, "r+b") as f:
                f.truncate(max(0, filler.stat().st_size - 4096))
        before = _snapshot(project.portfolios)
        store = Store(project.portfolios, display_root=project.root)
        try:
            entry = store.append_entry("alice", meeting(title=f"Essai {free_pages}"), "Texte.",
                                       author="tina", role="tutor")
        except StoreError as exc:
            outcomes.add("refused")
            assert "disque plein" in str(exc), str(exc)
            assert _snapshot(project.portfolios) == before
            assert project.store.history.git("rev-parse", "HEAD").stdout == head
        else:
            outcomes.add("written")
            assert commits_by_path(project.portfolios)[entry.path] == ["tina"]
            head = project.store.history.git("rev-parse", "HEAD").stdout
        assert project.store.load_learner("alice").entry(kept.id) is not None
    assert "refused" in outcomes
    filler.unlink()
    add(project, "alice", meeting(title="Après libération de l'espace"))
    assert_store_sound(Store(project.portfolios, display_root=project.root))


def test_read_only_store_refuses_clearly(tmp_path):
    project = make_project(tmp_path / "proj")
    kept = add(project, "alice", meeting())
    with read_only(project.portfolios):
        before = _snapshot(project.portfolios)
        store = Store(project.portfolios, display_root=project.root)
        with pytest.raises(StoreError, match="lecture seule"):
            store.append_entry("alice", meeting(title="Refusée"), "Texte.", author="tina", role="tutor")
        with pytest.raises(StoreError, match="lecture seule"):
            store.save_attachment("alice", "note.txt", b"du texte", author="tina")
        assert _snapshot(project.portfolios) == before
        assert store.load_learner("alice").entry(kept.id) is not None
    assert_store_sound(project.store)


def test_forget_drops_a_learners_cached_files(tmp_path):
    """What keeps a long build's memory flat (livret.publish.build drops each learner once built)."""
    project = make_project(tmp_path / "proj", git=False, with_site=False)
    entry = add(project, "alice", meeting(title="Titre A"))
    store = project.store
    assert store.load_learner("alice").entry(entry.id).meta.title == "Titre A"
    path = store.root / entry.path
    st = path.stat()
    # Same size and date: only a re-read can see the change (the cache trusts both).
    path.write_text(path.read_text(encoding="utf-8").replace("Titre A", "Titre B"), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert store.load_learner("alice").entry(entry.id).meta.title == "Titre A"
    store.forget("alice")
    assert store.load_learner("alice").entry(entry.id).meta.title == "Titre B"
