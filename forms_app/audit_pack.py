"""The audit pack from the app: made by a background job, never in the request thread.

- ``POST /apprenants/<id>/dossier-audit`` (the button of the sharing page)
  checks who asks — the same rules as before: a user who may read the
  learner; the ``staff`` version for staff roles only — then submits a job
  (:mod:`livret.jobs`) and redirects at once to the job's page.
- ``GET /apprenants/<id>/dossier-audit/<job-id>`` says « en préparation »
  and reloads itself (``<meta http-equiv="refresh">``: no JavaScript
  needed) until the pack is ready, then offers the download, or says why
  it failed.
- ``GET /apprenants/<id>/dossier-audit/<job-id>/fichier`` is the zip.

The job's page and its file are authorized exactly like the export: the
same checks run again, and a job belongs to the user who asked for it,
for that learner — anyone else's job id is a 404.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import Blueprint, abort, redirect, render_template, request, send_file, url_for

from livret.audit.pack import AUDIENCES, PackError, build_pack
from livret.instance.access import audience_for
from livret.jobs import Job, JobFailed, JobsBusy
from livret.store.project import Project
from livret.store.writer import storage_cause

from .auth import current_user, login_required, profile_or_404_403
from .errors import render_error
from .state import livret

bp = Blueprint("audit_pack", __name__)

JOB_NAME = "dossier-audit"
REFRESH_SECONDS = 2


def make_pack(result: Path, root: str, learner_id: str, audience: str, today: str) -> None:
    """The job: the pack of ``learner_id`` written to ``result`` (plain arguments: any worker can run it)."""
    try:
        build_pack(Project.at(root), learner_id, result, audience=audience, today=dt.date.fromisoformat(today))
    except PackError as exc:
        if isinstance(exc.__cause__, OSError) and storage_cause(exc.__cause__):
            raise exc.__cause__ from None  # a full disk: the job queue's message says so
        raise JobFailed(str(exc)) from None  # (the job's page says the pack could not be made)


def download_name(learner_id: str, audience: str) -> str:
    return f"dossier-audit-{learner_id}-{'complet' if audience == 'staff' else 'partage'}.zip"


def _may_export(learner_id: str, audience: str | None) -> None:
    """Abort unless the current user may export this learner's pack at ``audience`` (403, 404, 400)."""
    profile = profile_or_404_403(learner_id)
    if profile is None:
        abort(403)
    if audience not in AUDIENCES:
        abort(400)
    if audience == "staff" and audience_for(current_user().role) != "staff":
        abort(403)


def _own_job(learner_id: str, job_id: str) -> Job:
    """The current user's pack job for this learner, checked like the export itself; else 404."""
    profile_or_404_403(learner_id)
    job = livret().jobs.status(job_id)
    if job is None or job.name != JOB_NAME or job.meta.get("user") != current_user().username \
            or job.meta.get("learner") != learner_id:
        abort(404)
    _may_export(learner_id, job.meta.get("audience"))
    return job


@bp.route("/apprenants/<learner_id>/dossier-audit", methods=["POST"])
@login_required
def export(learner_id: str):
    # CSRFProtect has checked the token; the only field is a choice between two values.
    audience = request.form.get("audience", "shared")
    _may_export(learner_id, audience)
    ctx = livret()
    try:
        job_id = ctx.jobs.submit(JOB_NAME, make_pack, str(ctx.project.root), learner_id, audience,
                                 ctx.today().isoformat(),
                                 meta={"user": current_user().username, "learner": learner_id, "audience": audience})
    except JobsBusy as exc:
        return render_error(503, str(exc)[:1].upper() + str(exc)[1:] + ".", headers={"Retry-After": "60"})
    return redirect(url_for(".job", learner_id=learner_id, job_id=job_id), code=303)


@bp.route("/apprenants/<learner_id>/dossier-audit/<job_id>")
@login_required
def job(learner_id: str, job_id: str):
    found = _own_job(learner_id, job_id)
    headers = {"Refresh": str(REFRESH_SECONDS)} if found.pending else {}
    profile = livret().project.store.profile(learner_id)  # the learner named as people say it, not by id
    return render_template("share/pack_job.html", job=found, learner_id=learner_id, refresh=REFRESH_SECONDS,
                           learner_name=profile.name if profile else learner_id,
                           audience=found.meta["audience"]), 200, headers


@bp.route("/apprenants/<learner_id>/dossier-audit/<job_id>/fichier")
@login_required
def download(learner_id: str, job_id: str):
    found = _own_job(learner_id, job_id)
    if found.state != "done" or found.result is None or not found.result.is_file():
        return redirect(url_for(".job", learner_id=learner_id, job_id=job_id))
    return send_file(found.result, mimetype="application/zip", as_attachment=True,
                     download_name=download_name(learner_id, found.meta["audience"]), max_age=0)
