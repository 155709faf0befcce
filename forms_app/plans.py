"""Planned meetings in the app: move and cancel (new records), the plans on the learner's page and the dashboard.

A plan is written with the entry form of type ``planned-meeting``
(« Planifier un rendez-vous », forms_app/entries.py); « Écrire le compte
rendu » opens the meeting form pre-filled from it (``?rendez-vous=<id>``).
Moving or cancelling writes a new record of the chain (``updates`` = the
first plan, with a ``reason``), one commit by the acting tutor; the store
checks the dates (a moved plan starts in the future), the chain and the
participants' addresses (:mod:`livret.store.validation`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.widgets import DateTimeLocalInput, NumberInput

from livret.instance.access import audience_for, can_write
from livret.store import LearnerRecord, StoreError
from livret.store.errors import InvalidInput
from livret.store.schema import MEETING_KINDS, MODALITIES, SERVER_KEYS, entry_to_data
from livret.views import progress
from livret.views.plans import SOON_DAYS, PlanState, find, plan_states, to_complete, upcoming

from .auth import current_user, learner_or_404_403, login_required, require_write
from .entry_forms import LOCAL_FORMAT, friendly, parse_local_datetime
from .people import author_of
from .plan_forms import plan_contacts, states_of
from .state import livret

bp = Blueprint("plans", __name__)

TYPE = "planned-meeting"
STATUS_LABELS = {"planned": _l("prévu"), "to-complete": _l("à compléter"), "held": _l("tenu"),
                 "cancelled": _l("annulé")}


# --------------------------------------------------------------------------
# Move, cancel
# --------------------------------------------------------------------------


class MoveForm(FlaskForm):
    date = StringField(_l("Nouvelle date et heure"), widget=DateTimeLocalInput())
    duration = StringField(_l("Durée (minutes)"), widget=NumberInput(), render_kw={"min": 1, "max": 1440})
    place = StringField(_l("Lieu"), render_kw={"maxlength": 300})
    video_link = StringField(_l("Lien de visioconférence"), render_kw={"maxlength": 500})
    reason = TextAreaField(_l("Motif du changement"), render_kw={"rows": 3, "maxlength": 1000},
                           description=_l("Les participants le verront avec la nouvelle date."))


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Motif de l'annulation"), render_kw={"rows": 3, "maxlength": 1000},
                           description=_l("Les participants le verront dans leur agenda."))


def _plan_or_404(record: LearnerRecord, plan_id: str) -> PlanState:
    state = find(states_of(record), plan_id)
    if state is None:
        abort(404)
    return state


def _new_record(state: PlanState, changes: dict[str, Any]) -> dict[str, Any]:
    """The plan as it stands, with ``changes``: the fields of the next record of its chain."""
    data = entry_to_data(state.latest)
    for key in (*SERVER_KEYS, "id", "corrects", "attachments", "competencies", "reason", "status"):
        data.pop(key, None)
    data.update(changes, updates=state.id)
    return {k: v for k, v in data.items() if v not in (None, "")}


def _write(record: LearnerRecord, form: FlaskForm, fields: dict[str, Any], message: str) -> bool:
    user = current_user()
    try:
        livret().project.store.append_entry(
            record.id, fields, "", author=user.username, role=user.role, author_name=user.display_name or None,
            contacts=plan_contacts(record.profile), message=message)
    except InvalidInput as exc:
        for err in exc.errors:
            head = err.loc[0] if err.loc else None
            target = getattr(form, head, None) if isinstance(head, str) and head != "csrf_token" else None
            if target is not None:
                target.errors = [*target.errors, friendly(err.message)]
            else:
                form.general_errors.append(friendly(f"{err.field} : {err.message}" if err.loc else err.message))
        return False
    except StoreError as exc:
        form.general_errors.append(str(exc))
        return False
    return True


def _changeable(record: LearnerRecord, plan_id: str) -> PlanState:
    """The plan to move or cancel, once the user may write plans for the learner (403 before anything)."""
    require_write(record.profile, TYPE)
    state = _plan_or_404(record, plan_id)
    if state.status in ("held", "cancelled"):
        flash(_("Ce rendez-vous est déjà %(status)s : il ne peut plus être modifié.",
                status=STATUS_LABELS[state.status]), "info")
        abort(redirect(url_for("dashboard.learner", learner_id=record.id, _anchor="rendez-vous")))
    return state


def _errors(form: FlaskForm) -> list[tuple[str | None, str]]:
    out: list[tuple[str | None, str]] = [(None, m) for m in form.general_errors]
    for f in form:
        out += [(f.id, f"{f.label.text} : {m}") for m in f.errors]
    return out


@bp.route("/apprenants/<learner_id>/rendez-vous/<plan_id>/deplacer", methods=["GET", "POST"])
@login_required
def move(learner_id: str, plan_id: str):
    record = learner_or_404_403(learner_id)
    state = _changeable(record, plan_id)
    tz = livret().project.store.settings().timezone
    plan = state.latest
    form = MoveForm(data={"date": progress_local(state, tz), "duration": str(plan.duration),
                          "place": plan.place or "", "video_link": plan.video_link or ""})
    form.general_errors = []
    if form.validate_on_submit():
        changes = {"date": parse_local_datetime(form.date.data or "", tz),
                   "duration": (form.duration.data or "").strip(),
                   "place": (form.place.data or "").strip() or None,
                   "video_link": (form.video_link.data or "").strip() or None,
                   "reason": (form.reason.data or "").strip(), "status": "planned"}
        fields = _new_record(state, changes)
        for key in ("place", "video_link"):
            if changes[key] is None:
                fields.pop(key, None)
        user = current_user()
        if _write(record, form, fields, f"{record.id} : rendez-vous « {plan.title} » déplacé ({user.username})"):
            flash(_("Le rendez-vous est déplacé. Les participants en seront informés."), "success")
            return redirect(url_for("dashboard.learner", learner_id=record.id, _anchor="rendez-vous"))
    status = 422 if form.is_submitted() else 200
    return render_template("plans/change.html", record=record, state=state, form=form, action="move",
                           errors=_errors(form), kinds=MEETING_KINDS, modalities=MODALITIES,
                           author_of=author_of), status


@bp.route("/apprenants/<learner_id>/rendez-vous/<plan_id>/annuler", methods=["GET", "POST"])
@login_required
def cancel(learner_id: str, plan_id: str):
    record = learner_or_404_403(learner_id)
    state = _changeable(record, plan_id)
    form = CancelForm()
    form.general_errors = []
    if form.validate_on_submit():
        fields = _new_record(state, {"status": "cancelled", "reason": (form.reason.data or "").strip()})
        user = current_user()
        if _write(record, form, fields, f"{record.id} : rendez-vous « {state.latest.title} » annulé ({user.username})"):
            flash(_("Le rendez-vous est annulé. Les participants en seront informés."), "success")
            return redirect(url_for("dashboard.learner", learner_id=record.id, _anchor="rendez-vous"))
    status = 422 if form.is_submitted() else 200
    return render_template("plans/change.html", record=record, state=state, form=form, action="cancel",
                           errors=_errors(form), kinds=MEETING_KINDS, modalities=MODALITIES,
                           author_of=author_of), status


def progress_local(state: PlanState, tz: str) -> str:
    from zoneinfo import ZoneInfo

    return state.start.astimezone(ZoneInfo(tz)).strftime(LOCAL_FORMAT)


# --------------------------------------------------------------------------
# The learner's page and the dashboard
# --------------------------------------------------------------------------


@dataclass
class PlanBox:
    """The plans of the learner's page, as the reader may see them."""

    can_plan: bool
    staff: bool
    upcoming: list[PlanState] = field(default_factory=list)
    to_complete: list[PlanState] = field(default_factory=list)
    held: list[PlanState] = field(default_factory=list)
    cancelled: list[PlanState] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.upcoming or self.to_complete or self.held or self.cancelled)


def learner_page_plans(record: LearnerRecord) -> dict[str, Any]:
    """``plan_box`` for dashboard/learner.html: upcoming plans (moved ones with their reason), those « à
    compléter », held and cancelled ones for the staff; the upcoming ones only, shared, for the others."""
    user = current_user()
    audience = audience_for(user.role)
    if record.profile is None:
        return {"plan_box": None}
    visible = progress.for_audience(record.entries, audience)
    states = plan_states(visible, livret().now())
    staff = audience == "staff"
    box = PlanBox(can_plan=can_write(user.role, user.username, record.profile, TYPE), staff=staff,
                  upcoming=[s for s in states if s.status == "planned"])
    if staff:
        box.to_complete = to_complete(states)
        box.held = [s for s in states if s.status == "held"][-5:]
        box.cancelled = [s for s in states if s.status == "cancelled"][-5:]
    return {"plan_box": box, "plan_status_labels": STATUS_LABELS, "meeting_kinds": MEETING_KINDS,
            "modalities": MODALITIES, "author_of": author_of}


def dashboard_plans(user, rows) -> dict[str, Any]:
    """« Rendez-vous à compléter » and « Prochains rendez-vous » (next :data:`SOON_DAYS` days) of the
    learners listed, for tutors and admins; each item is (learner id, learner name, plan)."""
    if user.role not in ("tutor", "admin"):
        return {"plans_to_complete": [], "plans_soon": []}
    now = livret().now()
    late: list[tuple[str, str, PlanState]] = []
    soon: list[tuple[str, str, PlanState]] = []
    for row in rows:
        record, profile = row.record, row.profile
        if record is None or profile is None or not any(e.type == TYPE for e in record.entries):
            continue
        states = plan_states(record.entries, now)
        late += [(record.id, profile.name, s) for s in to_complete(states)]
        soon += [(record.id, profile.name, s) for s in upcoming(states, now, SOON_DAYS)]
    late.sort(key=lambda t: t[2].start)
    soon.sort(key=lambda t: t[2].start)
    return {"plans_to_complete": late, "plans_soon": soon, "plan_kinds": MEETING_KINDS}
