"""Build processes import this livret, whatever folder livret is started from.

The parallel build and the app's builder run in processes started by
multiprocessing's fork server, which runs ``python -c``: Python then puts the
current folder first in ``sys.path``.  Started from a folder that holds a
``livret/`` directory (a checkout, a project named livret...), every build
imported that one instead.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from factories import make_project

LIVRET = Path(sys.executable).with_name("livret")


def decoy(folder: Path) -> Path:
    """A folder holding a ``livret/`` directory that is not the package: here a project named livret
    (for Python, a namespace package that shadows an editable install)."""
    make_project(folder / "livret", learners=("alice",), git=False)
    return folder


def test_a_parallel_build_started_next_to_another_livret_folder(tmp_path):
    project = make_project(tmp_path / "projet")
    cwd = decoy(tmp_path / "ailleurs")
    result = subprocess.run([str(LIVRET), "build", "--root", str(project.root), "--jobs", "2", "--force"],
                            cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    for audience in ("staff", "shared"):
        for learner in ("alice", "bob"):
            assert (project.build_dir / audience / learner / "index.html").is_file()


def test_the_app_builder_started_next_to_another_livret_folder(tmp_path):
    """The rebuild worker's child process (a script, as the app runs it) builds from the real livret."""
    project = make_project(tmp_path / "projet", learners=("alice",))
    cwd = decoy(tmp_path / "ailleurs")
    script = (
        "import sys\n"
        "sys.path = [p for p in sys.path if p not in ('', '.')]\n"
        "from livret.publish.rebuild import RebuildWorker\n"
        "from livret.store.project import Project\n"
        "worker = RebuildWorker(Project.at(sys.argv[1])).start()\n"
        "worker.request('alice')\n"
        "assert worker.wait_idle(300)\n"
        "state = worker.state('alice')\n"
        "print('failed' if state.failed else 'built', state.error or '')\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(project.root)], cwd=cwd,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "built", result.stdout + result.stderr
    assert (project.build_dir / "staff" / "alice" / "index.html").is_file()


def test_an_interrupt_while_the_build_server_starts_does_not_kill_it():
    """SIGINT to the process group (Ctrl+C, ``livret serve`` stopped by a test) reaching the fork
    server while it imports MkDocs: it killed it with a KeyboardInterrupt traceback."""
    script = (
        "import os, signal, sys, time\n"
        "from multiprocessing import forkserver\n"
        "from livret.publish.processes import build_context\n"
        "build_context()\n"
        "pid = forkserver._forkserver._forkserver_pid\n"
        "os.kill(pid, signal.SIGINT)  # at once: the server is still importing its preload\n"
        "time.sleep(3)\n"
        "done, status = os.waitpid(pid, os.WNOHANG)\n"
        "print('alive' if done == 0 else f'dead {status}')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "alive", done.stdout + done.stderr
    assert "KeyboardInterrupt" not in done.stderr
