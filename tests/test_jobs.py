"""Background jobs (livret.jobs): out of the caller's thread, bounded, failures told in French,
records under instance/jobs/, and what a killed process left put in order at the next start.

Real threads, real files, real processes killed with SIGKILL; waits are on events, never on a clock.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest
from test_reliability_store import _fill, small_disk

from livret.jobs import JobFailed, JobsBusy, ThreadJobs, open_jobs
from livret.jobs.records import RECORD, RESULT
from livret.jobs.threads import INTERRUPTED, NO_RESULT, UNEXPECTED
from livret.store import atomic

WAIT = 120  # seconds: only a bound for a broken implementation; a correct one is woken by its event


@pytest.fixture
def jobs(tmp_path):
    queue = ThreadJobs(tmp_path / "instance" / "jobs")
    yield queue
    queue.close()


def write(result, text: str) -> None:
    result.write_text(text, encoding="utf-8")


def test_a_job_runs_in_a_worker_thread_and_its_result_is_kept(jobs, tmp_path):
    gate, seen = threading.Event(), {}

    def work(result, text):
        seen["thread"] = threading.current_thread().name
        assert gate.wait(WAIT)
        write(result, text)

    job_id = jobs.submit("essai", work, "bonjour", meta={"user": "tina", "learner": "alice"})
    job = jobs.status(job_id)  # submit returned while the job waits on the gate
    assert job.pending and job.result is None and job.meta == {"user": "tina", "learner": "alice"}
    assert (jobs.folder / job_id / RECORD).is_file()
    gate.set()
    job = jobs.wait(job_id, WAIT)
    assert job.state == "done" and job.result == jobs.folder / job_id / RESULT
    assert job.result.read_text(encoding="utf-8") == "bonjour"
    assert job.thread == seen["thread"] and job.thread.startswith("livret-job-")
    assert job.thread != threading.current_thread().name
    # Any other reader (another process, a later backend) sees the same record on disk.
    again = ThreadJobs(jobs.folder).status(job_id)
    assert again.state == "done" and again.result == job.result and again.meta == job.meta


def test_open_jobs_keeps_them_under_the_instance_folder(tmp_path):
    queue = open_jobs(tmp_path / "instance")
    try:
        job = queue.wait(queue.submit("essai", write, "x"), WAIT)
        assert job.result.parent.parent == tmp_path / "instance" / "jobs"
    finally:
        queue.close()


def test_workers_and_waiting_jobs_are_bounded(tmp_path):
    queue = ThreadJobs(tmp_path / "jobs", workers=2, max_pending=3)
    gate = threading.Event()
    started = [threading.Event() for _ in range(3)]

    def hold(result, i):
        started[i].set()
        assert gate.wait(WAIT)
        write(result, str(i))

    try:
        first = [queue.submit("essai", hold, i) for i in range(2)]
        assert all(event.wait(WAIT) for event in started[:2])  # both workers busy
        third = queue.submit("essai", hold, 2)
        assert queue.status(third).state == "queued"
        with pytest.raises(JobsBusy, match="trop de tâches en attente"):
            queue.submit("essai", hold, 3)
        gate.set()
        done = [queue.wait(job_id, WAIT) for job_id in [*first, third]]
        assert [j.state for j in done] == ["done"] * 3
        assert {j.thread for j in done} <= {"livret-job-1", "livret-job-2"}
        assert queue.wait(queue.submit("essai", write, "encore"), WAIT).state == "done"  # room again
    finally:
        queue.close()


def refuse(result):
    raise JobFailed("le dossier d'audit n'a pas pu être créé : profil invalide")


def crash(result):
    secret = "SECRET-" + str(7700 + 31)  # composed: the frames logged quote this line, not the value
    raise ValueError(f"{secret} dans le texte d'une entrée")


def nothing(result):
    pass


@pytest.mark.parametrize("func, message", [
    (refuse, "le dossier d'audit n'a pas pu être créé : profil invalide"),
    (crash, UNEXPECTED),
    (nothing, NO_RESULT),
])
def test_a_failing_job_says_why(jobs, caplog, func, message):
    with caplog.at_level(logging.ERROR, logger="livret.jobs"):
        job = jobs.wait(jobs.submit("essai", func), WAIT)
    assert job.state == "failed" and job.message == message and job.result is None
    assert not (jobs.folder / job.id / RESULT).exists()
    assert "SECRET-7731" not in caplog.text  # type and frames are logged, never a message
    if func is crash:
        assert "unexpected ValueError" in caplog.text
    record = json.loads((jobs.folder / job.id / RECORD).read_text(encoding="utf-8"))
    assert record["state"] == "failed" and record["message"] == message


def test_a_full_disk_fails_the_job_with_the_stores_message(tmp_path):
    filled = threading.Event()

    def big_result(result):
        assert filled.wait(WAIT)
        atomic.replace(result, b"\0" * (2 * 1024 * 1024))

    with small_disk(tmp_path / "disk", "4m") as disk:
        queue = ThreadJobs(disk / "jobs")
        try:
            job_id = queue.submit("essai", big_result)  # its record fits; its result will not
            filler = _fill(disk)
            filled.set()
            job = queue.wait(job_id, WAIT)
            assert job.state == "failed" and job.message.startswith("disque plein : ")
            assert not list((disk / "jobs" / job_id).glob(".tmp-*"))  # no half-written result
            filler.unlink()
        finally:
            queue.close()


@pytest.mark.parametrize("job_id", ["../../etc/passwd", "x" * 5000, "", "a" * 23, "ÿ" * 24, "A" * 24])
def test_odd_or_unknown_ids_name_no_job(jobs, job_id):
    assert jobs.status(job_id) is None
    assert jobs.wait(job_id, 0) is None


SUBMITTER = textwrap.dedent("""
    import sys, threading
    from pathlib import Path
    from livret.jobs import ThreadJobs
    from livret.store import atomic

    def hold(result):  # runs until the process is killed
        atomic.replace(result.parent / "notes", b"partial")
        atomic._write_temp(result, b"half a result")  # what a kill mid-write leaves
        print("running", flush=True)
        threading.Event().wait()

    jobs = ThreadJobs(Path(sys.argv[1]))
    print(jobs.submit("essai", hold), jobs.submit("essai", hold), flush=True)
    threading.Event().wait()
""")


def start_submitter(folder):
    """A process with a running job and a queued one: (process, running id, queued id)."""
    proc = subprocess.Popen([sys.executable, "-c", SUBMITTER, str(folder)], stdout=subprocess.PIPE, text=True)
    running, queued = proc.stdout.readline().split()
    assert proc.stdout.readline().strip() == "running"
    return proc, running, queued


def test_jobs_of_a_killed_process_are_marked_interrupted_at_the_next_start(tmp_path):
    folder = tmp_path / "jobs"
    killed, running, queued = start_submitter(folder)
    alive, other_running, _ = start_submitter(folder)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(WAIT)
        assert list((folder / running).glob(".tmp-*"))
        queue = ThreadJobs(folder)  # the app starts again
        for job_id in (running, queued):
            job = queue.status(job_id)
            assert job.state == "failed" and job.message == INTERRUPTED
        assert not list((folder / running).glob(".tmp-*"))  # the killed write's temporary file is gone
        # The live process's job is its own: still running, its temporary file kept.
        assert queue.status(other_running).state == "running"
        assert list((folder / other_running).glob(".tmp-*"))
        queue.close()
    finally:
        for proc in (killed, alive):
            if proc.poll() is None:
                proc.kill()
            proc.wait(WAIT)
            proc.stdout.close()


def test_finished_jobs_expire_after_a_day(tmp_path):
    queue = ThreadJobs(tmp_path / "jobs")
    old, recent = (queue.wait(queue.submit("essai", write, text), WAIT) for text in ("ancien", "récent"))
    queue.close()
    day_and_more = os.stat(old.result).st_mtime - 25 * 3600
    os.utime(tmp_path / "jobs" / old.id / RECORD, (day_and_more, day_and_more))
    fresh = ThreadJobs(tmp_path / "jobs")
    assert fresh.status(old.id) is None and not (tmp_path / "jobs" / old.id).exists()
    assert fresh.status(recent.id).result.read_text(encoding="utf-8") == "récent"
