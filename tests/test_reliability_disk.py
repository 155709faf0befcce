"""A full disk and a read-only store, seen by a user of the real app (``livret serve``, real HTTP).

The user gets the entry form back with a French message saying what
happened; nothing already written is lost and nothing half-written appears.
"""

from __future__ import annotations

import sys

import pytest
from factories import REPO, add, make_project, meeting

if str(REPO) not in sys.path:  # the benchmarks package, when pytest is not run from the repository
    sys.path.insert(0, str(REPO))
from test_fuzz_store import snapshot  # noqa: E402
from test_reliability_store import _fill, assert_store_sound, read_only, small_disk  # noqa: E402

from benchmarks.live_app import Client, meeting_form, post_entry, serve, stop  # noqa: E402
from livret.instance.accounts import Accounts  # noqa: E402
from livret.store import Store  # noqa: E402

PASSWORD = "disque-mot-de-passe-1"


def _served_tutor(project, log):
    Accounts.for_project(project).add("tina", "tutor", PASSWORD)
    served = serve(project.root, log)
    client = Client(served)
    client.login("tina", PASSWORD)
    return served, client


def _refused_clearly(client, store, message: str):
    before = snapshot(store)
    response, entry_id = post_entry(client, "alice", "meeting", meeting_form(1))
    assert entry_id is None and response.status == 422, response.status
    assert message in response.body  # the form again, with what happened
    assert 'value="Entretien de suivi n° 1"' in response.body  # what was typed is kept
    assert snapshot(store) == before


@pytest.fixture
def disk(tmp_path):
    with small_disk(tmp_path / "disk", "24m") as where:
        yield where


def test_full_disk_through_the_app(disk, tmp_path):
    project = make_project(disk / "proj")
    kept = add(project, "alice", meeting(title="Écrite avant que le disque soit plein"))
    served, client = _served_tutor(project, tmp_path / "serve.log")
    try:
        filler = _fill(disk)
        _refused_clearly(client, project.store, "disque plein")
        assert client.get("/tableau-de-bord").status == 200  # the app still serves what it has
        filler.unlink()
        response, entry_id = post_entry(client, "alice", "meeting", meeting_form(2))
        assert entry_id is not None, response.status
    finally:
        client.close()
        stop(served)
    store = Store(project.portfolios, display_root=project.root)
    assert store.load_learner("alice").entry(kept.id) is not None
    assert store.load_learner("alice").entry(entry_id) is not None
    assert_store_sound(store)


def test_read_only_store_through_the_app(tmp_path):
    project = make_project(tmp_path / "proj")
    kept = add(project, "alice", meeting())
    with read_only(project.portfolios):
        served, client = _served_tutor(project, tmp_path / "serve.log")
        try:
            with client:
                _refused_clearly(client, project.store, "lecture seule")
        finally:
            stop(served)
    assert project.store.load_learner("alice").entry(kept.id) is not None
    assert_store_sound(Store(project.portfolios, display_root=project.root))
