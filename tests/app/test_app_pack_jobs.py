"""The audit pack from the app is a background job (livret.jobs), never built in a request thread.

Measured structurally, not with a clock: while another thread holds the
build lock (as a long rebuild does), eight exports are asked for; each
request returns with its job still pending and no pack written, and an
unrelated page answers; once the lock is free, each pack is downloadable,
made in a ``livret-job-*`` thread.  The job's page and file are authorized
like the export itself.
"""

from __future__ import annotations

import contextlib
import io
import threading
import zipfile

import pytest
from app_support import ask_pack, pack_download
from factories import add, meeting, when

from livret.audit.pack import verify_pack
from livret.jobs.records import RESULT
from livret.publish import build

WAIT = 600  # only a bound for a broken implementation: a correct one is woken by events
STAFF_ONLY = "zqx-entretien-reserve-0815"


@pytest.fixture
def pack_project(app_project):
    add(app_project, "alice", meeting(title="Entretien de rentrée"), "Échange sur le projet.")
    add(app_project, "alice", meeting(title="Point réservé", visibility="staff", date=when("2026-03-10")),
        f"{STAFF_ONLY} : difficultés personnelles.")
    add(app_project, "bob", meeting(title="Premier entretien"), "Texte de bob.", author="tom")
    return app_project


@pytest.fixture
def jobs(app, pack_project):
    return app.extensions["livret"].jobs


@contextlib.contextmanager
def build_lock_held():
    """The build lock held by another thread, as by a long rebuild: every pack waits at its build step."""
    taken, release = threading.Event(), threading.Event()

    def hold():
        with build._BUILD_LOCK:
            taken.set()
            release.wait(WAIT)  # (an export run in the request thread would wait here, then be seen done)

    holder = threading.Thread(target=hold, name="rebuild-like")
    holder.start()
    assert taken.wait(WAIT)
    try:
        yield
    finally:
        release.set()
        holder.join()


def job_page(client, learner_id: str, job_id: str):
    return client.get(f"/apprenants/{learner_id}/dossier-audit/{job_id}")


def test_eight_exports_run_outside_the_request_threads(client, auth, jobs, pack_project, tmp_path):
    auth.login("ada")
    asked = [(learner, audience) for learner in ("alice", "bob") for audience in ("shared", "staff")] * 2
    with build_lock_held():
        job_ids = []
        for learner, audience in asked:
            response, job_id = ask_pack(auth, learner, audience)
            assert response.status_code == 303 and job_id, response.status_code
            job = jobs.status(job_id)
            assert job.pending and job.result is None  # the request returned before the pack exists
            assert not (pack_project.instance / "jobs" / job_id / RESULT).exists()
            job_ids.append(job_id)
        # An unrelated page answers while the eight jobs are pending.
        assert client.get("/tableau-de-bord").status_code == 200
        assert all(jobs.status(job_id).pending for job_id in job_ids)
        page = job_page(client, "alice", job_ids[0])
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and "en préparation" in text
        assert '<meta http-equiv="refresh" content="2">' in text and page.headers["Refresh"] == "2"
        early = client.get(f"/apprenants/alice/dossier-audit/{job_ids[0]}/fichier")
        assert early.status_code == 302 and early.headers["Location"].endswith(job_ids[0])
    request_thread = threading.current_thread().name
    for (learner, audience), job_id in zip(asked, job_ids):
        response = pack_download(client, learner, job_id)
        job = jobs.status(job_id)
        assert job.state == "done" and job.thread.startswith("livret-job-") and job.thread != request_thread
        assert response.status_code == 200 and response.mimetype == "application/zip"
        kind = "complet" if audience == "staff" else "partage"
        assert f"filename=dossier-audit-{learner}-{kind}.zip" in response.headers["Content-Disposition"]
        out = tmp_path / f"{job_id}.zip"
        out.write_bytes(response.get_data())
        assert verify_pack(out) == []
        with zipfile.ZipFile(io.BytesIO(response.get_data())) as zf:
            staff_text = any(STAFF_ONLY.encode() in zf.read(n) for n in zf.namelist())
        assert staff_text == (learner == "alice" and audience == "staff")
    ready = job_page(client, "alice", job_ids[0]).get_data(as_text=True)
    assert "Dossier d'audit prêt" in ready and f"/dossier-audit/{job_ids[0]}/fichier" in ready
    assert 'http-equiv="refresh"' not in ready
    assert "<strong>Alice Test</strong>" in ready  # the learner by name, not by id


def test_a_failing_export_shows_its_message(client, auth, jobs, pack_project):
    auth.login("tina")
    with build_lock_held():
        _, job_id = ask_pack(auth, "alice", "staff")
        pack_project.mkdocs_yml.unlink()  # the pack's build step, still waiting for the lock, will fail
    job = jobs.wait(job_id, WAIT)
    assert job.state == "failed" and "mkdocs.yml introuvable" in job.message
    page = job_page(client, "alice", job_id)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "<h1>Le dossier d'audit n'a pas pu être créé</h1>" in text
    assert "mkdocs.yml introuvable" in text and 'http-equiv="refresh"' not in text
    assert client.get(f"/apprenants/alice/dossier-audit/{job_id}/fichier").status_code == 302  # no file


def test_the_job_is_authorized_like_the_export(app, client, auth, jobs, pack_project):
    auth.login("tina")
    _, job_id = ask_pack(auth, "alice", "staff")
    assert jobs.wait(job_id, WAIT).state == "done"
    assert pack_download(client, "alice", job_id).status_code == 200
    page, file = f"/apprenants/alice/dossier-audit/{job_id}", f"/apprenants/alice/dossier-audit/{job_id}/fichier"
    # Another user's job id is a 404, even for those who may export this learner themselves.
    for user, status in (("ada", 404), ("audra", 404), ("alice", 404), ("carl", 404), ("bob", 403), ("tom", 403)):
        auth.login(user)
        assert client.get(page).status_code == status, user
        assert client.get(file).status_code == status, user
    # The same id under another learner, odd ids: nothing.
    auth.login("ada")
    for odd in (f"/apprenants/bob/dossier-audit/{job_id}", "/apprenants/alice/dossier-audit/" + "a" * 300,
                "/apprenants/alice/dossier-audit/..%2F..%2Fsecret_key/fichier"):
        assert client.get(odd).status_code == 404, odd
    # The checks run again: a tutor no longer assigned to the learner gets what the export gives, 403.
    store = pack_project.store
    profile = store.profile("alice").model_copy(update={"tutors": ["tom"]})
    store.write_profile(profile, "Objectifs.", author="ada", message="alice : changement de tutrice")
    auth.login("tina")
    assert client.get(page).status_code == 403 and client.get(file).status_code == 403


def test_a_learner_cannot_ask_for_the_staff_pack(client, auth, jobs, pack_project):
    auth.login("alice")
    response, job_id = ask_pack(auth, "alice", "staff")
    assert response.status_code == 403 and job_id is None
    assert ask_pack(auth, "alice", "tout")[0].status_code == 400
    assert not (pack_project.instance / "jobs").exists() or not any((pack_project.instance / "jobs").iterdir())
