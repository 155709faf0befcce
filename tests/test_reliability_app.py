"""Reliability through the real server: ``livret serve`` (waitress) on loopback, real HTTP, real git.

- load: concurrent clients (tutors, a learner, a company tutor) post entries
  for the same and different learners; every acknowledged submit has its
  file and exactly one commit by its author, every file is valid, no 5xx;
- crash: the server (and whatever it started: git, builds) is killed with
  SIGKILL in the middle of such a load; after a restart, ``livret check``
  and ``livret verify`` pass, every entry acknowledged before the kill is
  there, and nothing half-written is visible.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from factories import REPO, make_project

if str(REPO) not in sys.path:  # the benchmarks package, when pytest is not run from the repository
    sys.path.insert(0, str(REPO))
from test_reliability_store import assert_store_sound, commits_by_path

from benchmarks.live_app import Client, kill, meeting_form, post_entry, serve, stop  # noqa: E402
from livret.instance.accounts import Accounts
from livret.store import Store

PASSWORD = "fiabilite-mot-de-passe-1"
#: username -> (role, learner it writes for, entry type, form)
WRITERS = {
    "tina": ("tutor", "alice", "meeting"),
    "tom": ("tutor", "bob", "meeting"),
    "alice": ("learner", "alice", "reflection"),
    "carl": ("company", "alice", "company-feedback"),
}


def form_for(entry_type: str, n: int) -> dict[str, str]:
    form = meeting_form(n)
    if entry_type == "meeting":
        return form
    common = {"title": f"{entry_type} n° {n}", "date": form["date"]}
    if entry_type == "reflection":
        return {**common, "body": f"Je progresse ({n})."}
    return {**common, "period_start": "2026-10-01", "period_end": "2026-10-31",  # company-feedback
            "missions": "Accueil des clients", "observations": f"Sérieuse ({n})."}


@pytest.fixture(scope="module")
def served_project(tmp_path_factory):
    """The small test project with an account per writer, served for real."""
    project = make_project(tmp_path_factory.mktemp("reliability") / "proj")
    accounts = Accounts.for_project(project)
    for name, (role, _, _) in WRITERS.items():
        accounts.add(name, role, PASSWORD)
    return project


class Load:
    """Clients posting entries in threads until told to stop (or ``per_client`` each)."""

    def __init__(self, served, clients_per_writer: int = 2, per_client: int | None = None):
        self.acknowledged: list[tuple[str, str, str]] = []  # (learner, entry id, author)
        self.statuses: Counter = Counter()
        self.failures: list[str] = []
        self.stop = threading.Event()
        self._guard = threading.Lock()
        self._per_client = per_client
        self.threads = [threading.Thread(target=self._run, args=(served, name, i), daemon=True)
                        for name in WRITERS for i in range(clients_per_writer)]

    def _run(self, served, username: str, index: int) -> None:
        with Client(served, timeout=60) as client:
            self._posts(client, username, index)

    def _posts(self, client: Client, username: str, index: int) -> None:
        _, learner, entry_type = WRITERS[username]
        try:
            client.login(username, PASSWORD)
        except OSError as exc:
            self.failures.append(f"{username}: {exc}")
            return
        n = 0
        while not self.stop.is_set() and (self._per_client is None or n < self._per_client):
            try:
                response, entry_id = post_entry(client, learner, entry_type, form_for(entry_type, index * 1000 + n))
            except OSError:  # the server went away (crash test): that submit was never acknowledged
                if self.stop.wait(0.05):
                    return
                continue
            with self._guard:
                self.statuses[response.status] += 1
                if entry_id:
                    self.acknowledged.append((learner, entry_id, username))
                elif response.status != 422:
                    self.failures.append(f"{username}: {response.status} {response.body[:300]}")
            n += 1

    def start(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def join(self, timeout: float = 120) -> None:
        for t in self.threads:
            t.join(timeout)


def assert_acknowledged_stored(store: Store, acknowledged: list[tuple[str, str, str]]) -> None:
    commits = commits_by_path(store.root)
    for learner, entry_id, author in acknowledged:
        entry = store.load_learner(learner).entry(entry_id)
        assert entry is not None, f"acknowledged entry {entry_id} is missing"
        assert entry.meta.author == author
        assert commits.get(entry.path) == [author], (entry.path, commits.get(entry.path))


def livret_cli(project, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "livret", *args, "--root", str(project.root)],
                          capture_output=True, text=True, cwd=REPO)


def test_concurrent_clients_through_the_real_server(served_project, tmp_path):
    served = serve(served_project.root, tmp_path / "serve.log")
    try:
        load = Load(served, clients_per_writer=2, per_client=4).start()
        load.join()
    finally:
        stop(served)
    assert load.failures == []
    assert not any(status >= 500 for status in load.statuses), load.statuses
    assert len(load.acknowledged) == len(WRITERS) * 2 * 4, load.statuses
    store = Store(served_project.portfolios, display_root=served_project.root)
    assert_acknowledged_stored(store, load.acknowledged)
    assert_store_sound(store)
    assert "Traceback" not in served.output(), served.output()


def test_sigkill_mid_load_then_restart(served_project, tmp_path):
    rng = random.Random()
    served = serve(served_project.root, tmp_path / "serve.log")
    load = Load(served, clients_per_writer=2).start()
    deadline = time.monotonic() + 60
    while len(load.acknowledged) < 6:
        assert time.monotonic() < deadline, (load.statuses, load.failures, served.output()[-2000:])
        time.sleep(0.02)
    time.sleep(rng.uniform(0, 0.5))
    kill(served)  # SIGKILL to the server and to git or a build it was running
    acknowledged = list(load.acknowledged)
    load.stop.set()
    load.join()
    assert not any(status >= 500 for status in load.statuses), load.statuses

    restarted = serve(served_project.root, tmp_path / "serve-again.log")  # recovers on start
    try:
        with Client(restarted) as client:
            client.login("tina", PASSWORD)
            response, entry_id = post_entry(client, "alice", "meeting", meeting_form(99_999))
        # the store takes writes again (on failure: the form's messages, and the server's log)
        errors = re.findall(r"<li>(?:<a [^>]*>)?([^<]*)<", response.body.split('id="erreurs"', 1)[-1])[:5]
        assert entry_id is not None, (response.status, errors, restarted.output()[-3000:])
    finally:
        stop(restarted)
    check = livret_cli(served_project, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    verify = livret_cli(served_project, "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    store = Store(served_project.portfolios, display_root=served_project.root)
    assert_acknowledged_stored(store, acknowledged + [("alice", entry_id, "tina")])
    assert_store_sound(store)
