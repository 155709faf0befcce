"""Work-study: the learner's calendar (edit, CSV import), the group calendar import, and what the
learner page shows (calendar grids, mission plan, centre / company coverage matrix).

- ``/apprenants/<id>/calendrier``: the learner's own periods, for the learner's tutors and the
  admins (403 for anyone else, before anything is written); the group periods are shown, read-only;
- ``/apprenants/<id>/calendrier/import`` and ``/admin/groupes/<id>/calendrier/import`` (admins):
  a CSV file (``debut;fin;lieu;precision``) that replaces the periods, all or nothing, its errors
  shown as ``ligne N, colonne : message``.

Every write is one commit by the user through :mod:`livret.admin.calendar`; forms carry the
file's revision, so a change made meanwhile is never overwritten.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from livret.admin import calendar as cal
from livret.admin.groups import group_revision
from livret.admin.learners import profile_revision
from livret.interop.calendar_csv import MAX_BYTES, parse_calendar_csv
from livret.store import LearnerRecord
from livret.store.errors import InvalidInput
from livret.store.records import StaleWrite
from livret.store.schema import GROUP_ID_RE, Group, LearnerProfile
from livret.views import coverage as cv
from livret.views import progress
from livret.views import worksite as ws
from livret.views.calendar import learner_periods
from livret.views.derived_attendance import AttendanceContext

from .auth import admin_required, current_user, login_required, profile_or_404_403
from .calendar_editor import CalendarEditor
from .french import ngettext
from .state import livret

bp = Blueprint("worksite", __name__)

STALE = _l("Le calendrier a été modifié entre-temps (par une autre personne ou à la main) : rien n'a été "
           "enregistré. Rechargez la page pour voir la version actuelle ; ce que vous aviez saisi est conservé "
           "ci-dessous.")


def may_edit_calendar(profile: LearnerProfile | None) -> bool:
    """Admins, and the learner's own tutors."""
    user = current_user()
    if user is None:
        return False
    return user.role == "admin" or (profile is not None and user.role == "tutor" and user.username in profile.tutors)


def _editable_profile(learner_id: str) -> LearnerProfile:
    profile = profile_or_404_403(learner_id)  # 404 unknown, 403 unreadable
    if not may_edit_calendar(profile):
        abort(403)
    if profile is None:
        abort(409)  # an invalid profile: fixed by an admin first (its edit form says what is wrong)
    return profile


def _group_periods(profile: LearnerProfile) -> list[tuple[Group, list]]:
    groups = livret().project.store.groups_of(profile.id)
    return [(g, g.calendar) for g in groups if g.calendar]


# --------------------------------------------------------------------------
# What the learner page shows (dashboard/learner.html includes worksite/learner_section.html)
# --------------------------------------------------------------------------


@bp.app_template_global()
def worksite_for(record: LearnerRecord, audience: str) -> dict | None:
    """The calendar grids, the mission plan and the coverage matrix of a learner, for ``audience``."""
    profile = record.profile
    if profile is None:
        return None
    visible = progress.for_audience(record.entries, audience)
    periods = learner_periods(profile, livret().project.store.groups_of(profile.id))
    plan = ws.mission_plan(visible)
    if not (profile.work_study or periods or plan):
        return None
    span = ws.calendar_range(periods, profile.start, profile.end)
    sessions = AttendanceContext.load(livret().project.store, livret().now()).rows(record, audience)
    rows = cv.coverage(record.framework, visible, periods, work_study=profile.work_study, rows=sessions) \
        if record.framework is not None else []
    return {
        "grids": ws.month_grids(periods, *span) if span else [],
        "places": ws.PLACES, "weekdays": ws.WEEKDAYS, "days": ws.place_days(periods),
        "plan": plan, "coverage": rows, "gaps": [r for r in rows if r.gap], "gap_text": cv.gap_text,
        "can_edit": may_edit_calendar(profile),
    }


# --------------------------------------------------------------------------
# The learner's calendar
# --------------------------------------------------------------------------


def _calendar_page(profile: LearnerProfile, editor: CalendarEditor, revision: str, status: int = 200):
    return render_template("worksite/calendar.html", profile=profile, editor=editor, revision=revision,
                           groups=_group_periods(profile)), status


@bp.route("/apprenants/<learner_id>/calendrier", methods=["GET", "POST"])
@login_required
def learner_calendar(learner_id: str):
    profile = _editable_profile(learner_id)
    store = livret().project.store
    if request.method == "GET":
        return _calendar_page(profile, CalendarEditor.of(profile.calendar), profile_revision(store, learner_id) or "")
    editor = CalendarEditor.from_form(request.form)
    revision = request.form.get("revision", "")
    if CalendarEditor.adding(request.form):
        return _calendar_page(profile, editor, revision)
    try:
        commit = cal.set_learner_calendar(store, learner_id, editor.periods(), author=current_user().username,
                                          expected=revision)
    except InvalidInput as exc:
        editor.general += [e.message for e in editor.place(exc.errors)]
        return _calendar_page(profile, editor, revision, 422)
    except StaleWrite:
        editor.general.append(str(STALE))
        return _calendar_page(profile, editor, revision, 409)
    flash(_("Calendrier enregistré.") if commit else _("Aucune modification : rien n'a été enregistré."),
          "success" if commit else "info")
    return redirect(url_for("dashboard.learner", learner_id=learner_id, _anchor="alternance"))


# --------------------------------------------------------------------------
# CSV imports
# --------------------------------------------------------------------------


def _uploaded() -> bytes | None:
    storage = request.files.get("file")
    if storage is None or not storage.filename:
        return None
    return storage.read(MAX_BYTES + 1)


def _import_page(*, title: str, back: str, action: str, errors: list[str], revision: str, status: int = 200):
    return render_template("worksite/import.html", title=title, back=back, action=action, errors=errors,
                           revision=revision), status


def _import(write, *, title: str, back: str, revision: str, done_url: str):
    """The shared POST of both imports: read, check every row, write all or nothing."""
    data = _uploaded()
    if data is None:
        return _import_page(title=title, back=back, action=request.path, revision=revision, status=422,
                            errors=[_("Fichier : choisissez un fichier CSV.")])
    parsed = parse_calendar_csv(data)
    if not parsed.ok:
        return _import_page(title=title, back=back, action=request.path, revision=revision, status=422,
                            errors=parsed.errors)
    try:
        commit = write(parsed.periods, request.form.get("revision", ""))
    except InvalidInput as exc:
        return _import_page(title=title, back=back, action=request.path, revision=revision, status=422,
                            errors=[e.message for e in exc.errors])
    except StaleWrite:
        return _import_page(title=title, back=back, action=request.path, revision=revision, status=409,
                            errors=[str(STALE)])
    if commit:
        flash(ngettext("Calendrier importé : %(num)d période.", "Calendrier importé : %(num)d périodes.",
                       len(parsed.periods)), "success")
    else:
        flash(_("Le fichier ne change rien : rien n'a été enregistré."), "info")
    return redirect(done_url)


@bp.route("/apprenants/<learner_id>/calendrier/import", methods=["GET", "POST"])
@login_required
def learner_import(learner_id: str):
    profile = _editable_profile(learner_id)
    store = livret().project.store
    title = _("Importer le calendrier de %(name)s", name=profile.name)
    back = url_for(".learner_calendar", learner_id=learner_id)
    revision = profile_revision(store, learner_id) or ""
    if request.method == "GET":
        return _import_page(title=title, back=back, action=request.path, errors=[], revision=revision)
    return _import(lambda periods, expected: cal.set_learner_calendar(
        store, learner_id, periods, author=current_user().username, expected=expected,
        how="calendrier de l'alternance importé"), title=title, back=back, revision=revision,
        done_url=url_for("dashboard.learner", learner_id=learner_id, _anchor="alternance"))


@bp.route("/admin/groupes/<group_id>/calendrier/import", methods=["GET", "POST"])
@admin_required
def group_import(group_id: str):
    if not GROUP_ID_RE.match(group_id or ""):
        abort(404)
    store = livret().project.store
    group, _problems = store.group(group_id)
    if group is None:
        abort(404)
    title = _("Importer le calendrier du groupe %(name)s", name=group.name)
    back = url_for("admin_groups.show", group_id=group_id)
    revision = group_revision(store, group_id) or ""
    if request.method == "GET":
        return _import_page(title=title, back=back, action=request.path, errors=[], revision=revision)

    def write(periods, expected):
        commit = cal.set_group_calendar(store, group_id, periods, author=current_user().username,
                                        expected=expected, how="calendrier de l'alternance importé")
        if commit:
            for member in group.members:  # a group file is no learner's folder: their sites follow it
                livret().request_rebuild(member)
        return commit

    return _import(write, title=title, back=back, revision=revision, done_url=back)


def group_calendar_saved(group: Group) -> None:
    """After the group form saved a calendar: the members' sites show it."""
    for member in group.members:
        livret().request_rebuild(member)

