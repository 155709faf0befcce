"""What a killed write or build leaves is removed at the next run — never what a live process is writing.

Leftovers are made as a SIGKILL makes them: a real process creates them
with the code's own naming (and, for a build, while holding the site's
lock), then kills itself.  A "running" process does the same and waits:
its scratch must survive the next store recovery, build and app start, and
go once it is dead.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest
from factories import add, make_project, meeting

from forms_app import create_app
from livret.publish.build import build_learner, clean_leftovers
from livret.store import Store

WAIT = 120

WRITER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from livret.store import atomic

    tmp = atomic._write_temp(Path(sys.argv[1]), b"half an entry")  # the store's own naming
    print(tmp, flush=True)
    if sys.argv[2] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    sys.stdin.read()  # a write still in progress
""")

BUILDER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from livret.publish import build
    from livret.store import atomic

    out, learner, how = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    with build._site_lock(out, "staff", learner):  # as _build_site holds it
        scratch = out / "staff" / build._scratch_name(".tmp-", learner)
        (scratch / "entrees").mkdir(parents=True)
        (scratch / "index.html").write_text("<p>moitié", encoding="utf-8")
        manifest = out / ".manifests" / "staff" / (build._scratch_name(".tmp-", learner) + ".json")
        manifest.write_text("{", encoding="utf-8")
        old = out / "staff" / build._scratch_name(".old-", learner)
        (old / "assets").mkdir(parents=True)
        asset = atomic._write_temp(out / "_assets" / "assets" / "main.css", b"body{")  # a worker's theme copy
        for path in (scratch, manifest, old, asset):
            print(path, flush=True)
        print("ready", flush=True)
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        sys.stdin.read()  # a build still running
""")


def start(script: str, *args: str) -> tuple[subprocess.Popen, list[str]]:
    """Run ``script``; returns the process and the paths it printed (it is dead or waiting then)."""
    proc = subprocess.Popen([sys.executable, "-c", script, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        if line.strip() == "ready":
            break
        lines.append(line.strip())
        if script is WRITER:
            break
    return proc, lines


def finish(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(WAIT)
    for stream in (proc.stdin, proc.stdout):
        stream.close()


def test_store_recovery_removes_a_killed_writes_file_not_a_live_one(tmp_path):
    project = make_project(tmp_path / "proj", with_site=False)
    target = project.portfolios / "alice" / "entries" / "2026-02-02-meeting-abcdefgh.md"
    killed, (dead_tmp,) = start(WRITER, str(target), "kill")
    live, (live_tmp,) = start(WRITER, str(target), "wait")
    try:
        assert killed.wait(WAIT) == -signal.SIGKILL
        assert tmp_path.joinpath(dead_tmp).exists() and tmp_path.joinpath(live_tmp).exists()
        Store(project.portfolios).recover()
        assert not tmp_path.joinpath(dead_tmp).exists()
        assert tmp_path.joinpath(live_tmp).exists()  # its writer still runs
    finally:
        finish(killed)
        finish(live)
    Store(project.portfolios).recover()
    assert not tmp_path.joinpath(live_tmp).exists()
    assert Store(project.portfolios).check() == []


def test_app_start_removes_a_killed_writes_file(tmp_path):
    project = make_project(tmp_path / "proj", with_site=False)
    killed, (dead_tmp,) = start(WRITER, str(project.portfolios / "bob" / "files" / "x-photo.png"), "kill")
    finish(killed)
    create_app(project.root, testing=True)  # the app starts again
    assert not tmp_path.joinpath(dead_tmp).exists()


@pytest.fixture(scope="module")
def built_template(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("leftovers") / "proj")
    add(project, "alice", meeting())
    for learner in ("alice", "bob"):
        assert build_learner(project, learner).ok
    return project


@pytest.fixture
def built(built_template, tmp_path):
    import shutil

    from livret.store.project import Project

    shutil.copytree(built_template.root, tmp_path / "proj", symlinks=True)
    return Project.at(tmp_path / "proj")


def exist(paths: list[str]) -> list[bool]:
    from pathlib import Path

    return [Path(p).exists() for p in paths]


def test_a_killed_builds_leftovers_go_at_the_next_build_not_a_running_ones(built):
    out = built.build_dir.resolve()
    killed, dead = start(BUILDER, str(out), "alice", "kill")
    running, live = start(BUILDER, str(out), "bob", "wait")
    try:
        assert killed.wait(WAIT) == -signal.SIGKILL
        assert exist(dead) == [True] * 4 and exist(live) == [True] * 4
        report = build_learner(built, "alice", force=True)  # the next run
        assert report.ok and report.built
        assert exist(dead) == [False] * 4
        # The running build's scratch (it holds bob's lock) stays; its theme copy too (its process lives).
        assert exist(live) == [True] * 4
        assert clean_leftovers(out) == [] and exist(live) == [True] * 4
    finally:
        finish(killed)
        finish(running)
    removed = clean_leftovers(out)  # bob's build is now a killed one
    assert exist(live) == [False] * 4 and len(removed) == 3
    assert sorted(p.name for p in (out / "staff").iterdir()) == ["alice", "bob"]


def test_app_start_removes_a_killed_builds_leftovers(built):
    killed, dead = start(BUILDER, str(built.build_dir.resolve()), "bob", "kill")
    finish(killed)
    create_app(built.root, testing=True)
    assert exist(dead) == [False] * 4
    assert (built.build_dir / "staff" / "bob" / "index.html").is_file()  # the site in place is untouched
