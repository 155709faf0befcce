"""A learner's attendance page in the app: ``/apprenants/<learner_id>/assiduite``.

The sessions the learner is expected at, by month, with their state, hours and minutes missed
(:mod:`livret.views.attendance`), the totals and the combined rate (signed sessions and hand-typed
periods, never twice: :func:`livret.views.progress.attendance`), the FOAD hours apart.  Who reads the
learner reads the page (:func:`forms_app.auth.learner_or_404_403`); the learner and their company tutor
get the shared audience: states and hours only.  Staff also see the team's notes (reason, proof, note:
staff feedback entries about a mark) and the links to the month's sheet and the certificat (PDF).
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, render_template

from livret.instance.access import audience_for
from livret.views import attendance as va
from livret.views import derived_attendance as dc
from livret.views import progress

from .auth import current_user, learner_or_404_403, login_required
from .state import livret

bp = Blueprint("learner_attendance", __name__)


@bp.route("/apprenants/<learner_id>/assiduite")
@login_required
def page(learner_id: str):
    record = learner_or_404_403(learner_id)
    user = current_user()
    audience = audience_for(user.role)
    ctx = livret()
    rows = dc.AttendanceContext.load(ctx.project.store, ctx.now()).rows(record, audience)
    visible = progress.for_audience(record.entries, audience)
    att = progress.attendance(visible, rows)
    foad = va.distance_hours(visible)
    profile = record.profile
    start = profile.start if profile else ctx.today().replace(day=1)
    end = min(profile.end or ctx.today(), ctx.today()) if profile else ctx.today()
    return render_template(
        "sessions/learner.html", record=record, profile=profile, months=list(reversed(dc.months(rows))),
        att=att, foad=foad, staff=audience == "staff", states=va.STATES, state_label=dc.state_label,
        hours=dc.hours, totals=va.totals(rows), cert_start=start, cert_end=max(start, end),
        learner_id=record.id, today=ctx.today(), fr_date=progress.fr_date, dt=dt)
