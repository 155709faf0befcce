"""The background rebuild worker, with the real build (counted, never faked)."""

from __future__ import annotations

import contextlib
import logging
import threading

from factories import add, meeting

from livret.publish.build import build_learner, site_dir
from livret.publish.rebuild import RebuildWorker


def counted(calls: list[str], hold: threading.Event | None = None, started: threading.Event | None = None):
    """The real ``build_learner``, recording each call; the first one may wait for ``hold``."""

    def build(project, learner_id):
        calls.append(learner_id)
        if hold is not None and len(calls) == 1:
            started.set()
            hold.wait(30)
        return build_learner(project, learner_id)

    return build


@contextlib.contextmanager
def held_worker(project):
    """A worker on the real build whose first build waits until the test sets ``hold``."""
    calls: list[str] = []
    hold, started = threading.Event(), threading.Event()
    worker = RebuildWorker(project, counted(calls, hold, started)).start()
    try:
        yield worker, calls, hold, started
    finally:
        hold.set()
        worker.stop()


def test_requests_during_a_build_coalesce_into_one_more_build(project):
    with held_worker(project) as (worker, calls, hold, started):
        worker.request("alice")
        assert started.wait(30)
        assert worker.status("alice") == "building"
        # Written after the first build may already have read the store:
        late = add(project, "alice", meeting(title="Écrite pendant la construction"))
        for _ in range(5):
            worker.request("alice")
        assert worker.status("alice") == "building"  # and queued again
        hold.set()
        assert worker.wait_idle(60)
    assert calls == ["alice", "alice"]
    page = site_dir(project, "staff", "alice") / "entrees" / late.id.lower() / "index.html"
    assert "Écrite pendant la construction" in page.read_text(encoding="utf-8")
    assert worker.state("alice").builds == 2 and not worker.state("alice").failed


def test_learners_are_built_in_request_order_once_each(project):
    with held_worker(project) as (worker, calls, hold, started):
        worker.request("bob")
        assert started.wait(30)
        for learner in ("alice", "bob", "alice"):
            worker.request(learner)
        hold.set()
        assert worker.wait_idle(60)
    assert calls == ["bob", "alice", "bob"]


def test_a_users_request_goes_before_the_background_ones(tmp_path):
    from factories import make_project

    project = make_project(tmp_path / "p", learners=("alice", "bob", "carol", "dave"))
    with held_worker(project) as (worker, calls, hold, started):
        worker.request("alice", urgent=False)  # the app's start: every learner, in the background
        assert started.wait(30)
        for learner in ("bob", "carol", "dave"):
            worker.request(learner, urgent=False)
        worker.request("dave")  # a user waits for dave: moved forward
        worker.request("carol", urgent=False)  # already queued: stays where it is
        assert worker.status("bob") == "pending" and worker.status("dave") == "pending"
        hold.set()
        assert worker.wait_idle(60)
    assert calls == ["alice", "dave", "bob", "carol"]


def test_a_failing_build_does_not_stop_the_worker_nor_leak_content(project, caplog):
    sentinel = "Hospitalisation en psychiatrie"
    bad = project.portfolios / "alice" / "entries" / "2026-03-01-alert-zzzzzzzz.md"
    bad.write_text(f"---\nid: 01JM2Q8V6Z9X3K4T5R6S7W8Y9Z\ntype: alert\ntitle: {sentinel}\n"
                   f"visibility: staff\nseverity: {sentinel}\n---\n{sentinel}\n", encoding="utf-8")
    calls: list[str] = []
    worker = RebuildWorker(project, counted(calls)).start()
    with caplog.at_level(logging.DEBUG, logger="livret.rebuild"):
        try:
            worker.request("nobody-here")  # unknown learner: the build raises
            worker.request("alice")  # builds, reports the bad file
            assert worker.wait_idle(60)
        finally:
            worker.stop()
    assert worker.state("nobody-here").failed
    assert worker.state("alice").failed  # problems were reported...
    assert (site_dir(project, "staff", "alice") / "index.html").is_file()  # ...and the site built
    assert "2026-03-01-alert-zzzzzzzz.md" in caplog.text
    assert sentinel not in caplog.text


def test_stopped_worker_ignores_requests(project):
    calls: list[str] = []
    worker = RebuildWorker(project, counted(calls)).start()
    worker.stop()
    worker.request("alice")
    assert worker.wait_idle(1) and calls == []
