"""Training sessions (séances) for the staff: the list, one session, a weekly series, a CSV import, a change.

- ``/seances/``: the sessions of a month by week (filters ``mois``, ``groupe``, ``formateur``), each with
  its time, title, trainer, state, the learners expected and how many signed; tutors, admins, auditors.
- ``/seances/nouvelle``: one session (date, start, end: split into half-days over the organisation's
  lunch break), for a group or learners convened one by one; ``/seances/serie``: a weekly pattern over a
  period (the group's company and absence days left out); ``/seances/import``: a CSV planning.  Each
  shows what will be written (« Aperçu ») before « Enregistrer » writes it, in one commit by the user.
- ``/seances/<chain>/modifier``: move, change the trainer, or cancel, with a reason: a new session file
  of the chain (the signed sheets keep the session as it was signed).

Who plans (:func:`livret.attendance.schedule.may_plan`): admins for everyone; a tutor for a group where
they follow at least one learner, and for learners they follow; auditors read the list only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.widgets import DateInput, TimeInput

from livret.admin.kept_uploads import KeptUploads
from livret.attendance.schedule import (
    WEEKDAYS,
    FieldValueErrors,
    change_fields,
    may_change,
    may_plan,
    split,
    trainer_choices,
    trainer_name,
    weekly,
)
from livret.interop.sessions_csv import (
    COLUMNS,
    MAX_BYTES,
    ImportRefused,
    apply_sessions,
    plan_sessions,
)
from livret.store import StoreError
from livret.store.errors import FieldError, InvalidInput
from livret.store.schema import HALF_DAYS, SESSION_MODALITIES
from livret.views.attendance import STATES, load_chains, session_sheet
from livret.views.derived_attendance import AttendanceContext
from livret.views.progress import MONTHS, fr_date

from .admin_support import AdminForm
from .auth import current_user, roles_required
from .entry_forms import MultiCheckboxField, options
from .french import ngettext
from .state import livret

bp = Blueprint("sessions", __name__, url_prefix="/seances")

PLANNERS = ("tutor", "admin")
READERS = ("tutor", "admin", "auditor")
#: Store keys -> the form's input (the error goes next to it).
ERROR_INPUTS = {"half_day": "start", "trainer_name": "trainer", "updates": "reason", "status": "reason"}


# --------------------------------------------------------------------------
# Forms
# --------------------------------------------------------------------------


class CommonForm(AdminForm):
    title = StringField(_l("Module ou intitulé"), render_kw={"maxlength": 200})
    trainer = SelectField(_l("Formateur·rice"), validate_choice=False)
    modality = SelectField(_l("Modalité"), choices=options(SESSION_MODALITIES.items()),
                           validate_choice=False)
    place = StringField(_l("Lieu"), render_kw={"maxlength": 300})
    video_link = StringField(_l("Lien de la classe virtuelle (https://…)"), render_kw={"maxlength": 500})
    framework = SelectField(_l("Référentiel des compétences travaillées"), validate_choice=False)
    competencies = StringField(_l("Compétences travaillées (codes)"), render_kw={"maxlength": 1000},
                               description=_l("Codes du référentiel séparés par des virgules ou des espaces."))
    group = SelectField(_l("Groupe"), validate_choice=False)
    learners = SelectMultipleField(_l("Ou apprenant·es convoqué·es une à une"), validate_choice=False,
                                   render_kw={"size": 6})


class SessionForm(CommonForm):
    date = StringField(_l("Date"), widget=DateInput())
    start = StringField(_l("Début"), widget=TimeInput())
    end = StringField(_l("Fin"), widget=TimeInput(),
                      description=_l("Une séance qui passe la pause méridienne devient deux demi-journées."))


class SeriesForm(CommonForm):
    period_start = StringField(_l("Du"), widget=DateInput())
    period_end = StringField(_l("Au"), widget=DateInput())
    weekdays = MultiCheckboxField(_l("Jours de la semaine"), validate_choice=False,
                                  choices=options((str(i), d) for i, d in enumerate(WEEKDAYS)))
    morning_start = StringField(_l("Matin : début"), widget=TimeInput())
    morning_end = StringField(_l("Matin : fin"), widget=TimeInput())
    afternoon_start = StringField(_l("Après-midi : début"), widget=TimeInput())
    afternoon_end = StringField(_l("Après-midi : fin"), widget=TimeInput())


class ChangeForm(AdminForm):
    action = SelectField(_l("Modification"), choices=options([("move", _l("Déplacer ou modifier")),
                                                              ("cancel", _l("Annuler la séance"))]),
                         validate_choice=False)
    date = StringField(_l("Date"), widget=DateInput())
    start = StringField(_l("Début"), widget=TimeInput())
    end = StringField(_l("Fin"), widget=TimeInput())
    trainer = SelectField(_l("Formateur·rice"), validate_choice=False)
    place = StringField(_l("Lieu"), render_kw={"maxlength": 300})
    video_link = StringField(_l("Lien de la classe virtuelle (https://…)"), render_kw={"maxlength": 500})
    reason = TextAreaField(_l("Motif"), render_kw={"rows": 3, "maxlength": 1000})


class UploadForm(AdminForm):
    fichier = FileField(_l("Fichier CSV"), render_kw={"accept": ".csv,text/csv,text/plain"})


class ConfirmForm(AdminForm):
    token = HiddenField()
    sha256 = HiddenField()


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def store():
    return livret().project.store


def users() -> list:
    return livret().accounts.list()


def profiles() -> dict:
    st = store()
    out = {}
    for lid in st.learner_ids():
        try:
            out[lid] = st.profile(lid)
        except StoreError:
            out[lid] = None
    return out


def fill_choices(form: CommonForm | ChangeForm, people: dict) -> None:
    user = current_user()
    form.trainer.choices = options(trainer_choices(users()))
    if not form.trainer.data:
        form.trainer.data = user.username
    if isinstance(form, CommonForm):
        form.framework.choices = options([("", _("(aucun)"))] + [(f, f) for f in store().framework_ids()])
        groups = store().groups()
        form.group.choices = options([("", _("(aucun : apprenant·es convoqué·es)"))] + [
            (gid, g.name) for gid, g in groups.items()
            if may_plan(user.role, user.username, g, (), people)])
        form.learners.choices = options(sorted(
            ((lid, f"{p.name} ({lid})") for lid, p in people.items()
             if p is not None and may_plan(user.role, user.username, None, [lid], people)),
            key=lambda c: c[1].casefold()))


def common_fields(form: CommonForm) -> dict[str, Any]:
    codes = [c for c in (form.competencies.data or "").replace(";", ",").replace(",", " ").split() if c]
    trainer = form.trainer.data or ""
    return {"title": (form.title.data or "").strip(), "trainer": trainer,
            "trainer_name": trainer_name(users(), trainer), "modality": form.modality.data or "presentiel",
            "place": (form.place.data or "").strip(), "video_link": (form.video_link.data or "").strip(),
            "framework": form.framework.data or None, "competencies": codes, "group": form.group.data or None}


def place_errors(form: AdminForm, errors: Iterable[FieldError]) -> None:
    """The store's errors (``sessions.<i>.<key>``, ``convocations...``) next to the form's inputs."""
    placed = []
    for e in errors:
        loc = tuple(e.loc)
        if loc[:1] == ("sessions",):
            loc = loc[2:]
        elif loc[:1] == ("convocations",):
            loc = ("learners",)
        if loc:
            loc = (ERROR_INPUTS.get(str(loc[0]), loc[0]), *loc[1:])
        placed.append(FieldError(loc, e.message))
    form.place_errors(list(dict.fromkeys(placed)))


def authorize(form: CommonForm, people: dict) -> bool:
    user = current_user()
    group = store().groups().get(form.group.data) if form.group.data else None
    if form.group.data and group is None:
        form.group.errors = [_("groupe inconnu")]
        return False
    learners = form.learners.data or []
    if not group and not learners:
        form.group.errors = [_("choisissez un groupe ou des apprenant·es")]
        return False
    if not may_plan(user.role, user.username, group, learners, people):
        abort(403)
    return True


def validate_items(form: AdminForm, items: list[dict[str, Any]]) -> bool:
    """Every item checked as the store will (nothing written); errors placed on the form."""
    user = current_user()
    errors = []
    for item in items:
        try:
            store().prepare_session(item, author=user.username)
        except InvalidInput as exc:
            errors += exc.errors
    place_errors(form, errors)
    return not errors


def write(form: AdminForm, items: list[dict[str, Any]], learners: list[str], message: str) -> bool:
    user = current_user()
    try:
        store().write_sessions(items, author=user.username, author_name=user.display_name or None,
                               convocations={i: learners for i in range(len(items))} if learners else None,
                               message=message, now=livret().now())
    except InvalidInput as exc:
        place_errors(form, exc.errors)
        return False
    return True


def wants_save() -> bool:
    return request.form.get("action") == "enregistrer"


def month_of(text: str | None) -> str:
    try:
        return dt.datetime.strptime(text or "", "%Y-%m").strftime("%Y-%m")
    except ValueError:
        return livret().today().strftime("%Y-%m")


# --------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------


@bp.route("/")
@roles_required(*READERS)
def index():
    st = store()
    month = month_of(request.args.get("mois"))
    group_id = request.args.get("groupe") or ""
    trainer = request.args.get("formateur") or ""
    first = dt.date.fromisoformat(month + "-01")
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    chains = {cid: c for cid, c in load_chains(st, first, last).items()
              if first <= c.session.date <= last
              and (not group_id or c.session.group == group_id) and (not trainer or c.session.trainer == trainer)}
    counts: dict[str, dict[str, int]] = {cid: {"expected": 0, "signed": 0} for cid in chains}
    if chains:
        ctx = AttendanceContext.load(st, livret().now())
        ctx.chains = chains
        ctx.by_group = {}
        for c in chains.values():
            if c.session.group:
                ctx.by_group.setdefault(c.session.group, {})[c.id] = c
        for record in st.valid_records():
            for row in ctx.rows(record):
                n = counts[row.chain.id]
                n["expected"] += 1
                n["signed"] += row.signature is not None
                n[row.state] = n.get(row.state, 0) + 1
    weeks: dict[dt.date, list] = {}
    for c in chains.values():
        monday = c.session.date - dt.timedelta(days=c.session.date.weekday())
        weeks.setdefault(monday, []).append(c)
    totals = {"sessions": sum(not c.cancelled for c in chains.values()),
              "expected": sum(n["expected"] for n in counts.values()),
              "signed": sum(n["signed"] for n in counts.values()),
              "absent": sum(n.get("absent", 0) + n.get("unsigned", 0) for n in counts.values()),
              "justified": sum(n.get("justified", 0) for n in counts.values())}
    prev_month = (first - dt.timedelta(days=1)).strftime("%Y-%m")
    next_month = (last + dt.timedelta(days=1)).strftime("%Y-%m")
    return render_template(
        "sessions/index.html", weeks=sorted(weeks.items()), counts=counts, totals=totals, month=month,
        month_label=f"{MONTHS[first.month - 1]} {first.year}", prev_month=prev_month, next_month=next_month,
        groups=st.groups(), group_id=group_id, trainer=trainer, trainers=trainer_choices(users()),
        half_days=HALF_DAYS, states=STATES, can_plan=current_user().role in PLANNERS, fr_date=fr_date)


# --------------------------------------------------------------------------
# One session, a series
# --------------------------------------------------------------------------


@bp.route("/nouvelle", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def new():
    people = profiles()
    form = SessionForm()
    fill_choices(form, people)
    if request.method == "GET":
        form.date.data = form.date.data or livret().today().isoformat()
        return render_template("sessions/new.html", form=form, items=None)
    items: list[dict[str, Any]] = []
    if authorize(form, people):
        settings = store().settings().attendance
        try:
            items = split({"date": form.date.data or "", "start": form.start.data or "",
                           "end": form.end.data or "", **common_fields(form)},
                          settings.lunch_start, settings.lunch_end)
        except FieldValueErrors as exc:
            place_errors(form, exc.errors)
    if items and not validate_items(form, items):
        items = []
    if not items:
        return render_template("sessions/new.html", form=form, items=None), 422
    if not wants_save():
        return render_template("sessions/new.html", form=form, items=items)
    learners = [] if form.group.data else list(form.learners.data or [])
    if not write(form, items, learners, f"Séance planifiée : {items[0]['title']} ({items[0]['date']})"):
        return render_template("sessions/new.html", form=form, items=None), 422
    flash(ngettext("%(num)d demi-journée planifiée.", "%(num)d demi-journées planifiées.", len(items)), "success")
    return redirect(url_for("sessions.index", mois=items[0]["date"][:7]))


@bp.route("/serie", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def series():
    people = profiles()
    form = SeriesForm()
    fill_choices(form, people)
    if request.method == "GET":
        form.morning_start.data, form.morning_end.data = "09:00", "12:30"
        form.afternoon_start.data, form.afternoon_end.data = "13:30", "17:00"
        return render_template("sessions/series.html", form=form, plan=None)
    plan = None
    if authorize(form, people):
        settings = store().settings().attendance
        slots = [(s, e) for s, e in ((form.morning_start.data, form.morning_end.data),
                                     (form.afternoon_start.data, form.afternoon_end.data)) if s or e]
        try:
            start, end = (dt.date.fromisoformat(form.period_start.data or ""),
                          dt.date.fromisoformat(form.period_end.data or ""))
            group = store().groups().get(form.group.data) if form.group.data else None
            plan = weekly(common_fields(form), start, end, [int(d) for d in form.weekdays.data or [] if d.isdigit()],
                          slots, settings.lunch_start, settings.lunch_end, group)
        except ValueError as exc:
            errors = exc.errors if isinstance(exc, FieldValueErrors) else \
                [FieldError(("period_start",), _("dates attendues au format AAAA-MM-JJ"))]
            place_errors(form, errors)
            plan = None
    if plan is not None and not plan.items:
        form.general_errors.append(_("Aucune séance dans cette période (jours choisis, calendrier du groupe)."))
        plan = None
    if plan is not None and not validate_items(form, plan.items[:1] + plan.items[-1:]):
        plan = None
    if plan is None:
        return render_template("sessions/series.html", form=form, plan=None), 422
    if not wants_save():
        return render_template("sessions/series.html", form=form, plan=plan)
    learners = [] if form.group.data else list(form.learners.data or [])
    if not write(form, plan.items, learners,
                 f"Séances planifiées : {plan.items[0]['title']} ({len(plan.items)} demi-journées)"):
        return render_template("sessions/series.html", form=form, plan=None), 422
    flash(ngettext("%(num)d demi-journée planifiée.", "%(num)d demi-journées planifiées.", len(plan.items)), "success")
    return redirect(url_for("sessions.index", mois=plan.items[0]["date"][:7]))


# --------------------------------------------------------------------------
# CSV import
# --------------------------------------------------------------------------


def kept() -> KeptUploads:
    return KeptUploads(livret().project.instance / "imports-seances", suffix=".csv", max_bytes=MAX_BYTES,
                       default_name="seances.csv")


def allowed_plan(plan) -> None:
    """A tutor imports only sessions of groups they follow (admins: any)."""
    user = current_user()
    if user.role == "admin":
        return
    people, groups = profiles(), store().groups()
    for item in plan.items:
        group = groups.get(item.get("group")) if item.get("group") else None
        if group is None or not may_plan(user.role, user.username, group, (), people):
            abort(403)


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def import_csv():
    form = UploadForm()
    if request.method == "GET":
        return render_template("sessions/import.html", form=form, plan=None, columns=COLUMNS)
    storage = request.files.get("fichier")
    data = storage.stream.read(MAX_BYTES + 1) if storage is not None and storage.filename else b""
    if not data.strip() or len(data) > MAX_BYTES:
        form.fichier.errors = [_("Choisissez un fichier CSV non vide de %(mb)d Mo au plus.",
                                 mb=MAX_BYTES // (1024 * 1024))]
        return render_template("sessions/import.html", form=form, plan=None, columns=COLUMNS), 422
    user = current_user()
    plan = plan_sessions(data, store(), users(), name=storage.filename, author=user.username)
    allowed_plan(plan)
    confirm = ConfirmForm(formdata=None)
    confirm.token.data = kept().keep(data, owner=user.username, name=storage.filename) if plan.ok else ""
    confirm.sha256.data = plan.sha256
    return render_template("sessions/import.html", form=form, plan=plan, confirm=confirm, columns=COLUMNS), \
        200 if plan.ok else 422


@bp.route("/import/confirmer", methods=["POST"])
@roles_required(*PLANNERS)
def import_confirm():
    confirm = ConfirmForm()
    user = current_user()
    keeper = kept()
    upload = keeper.load(confirm.token.data or "", owner=user.username)
    if upload is None:
        form = UploadForm(formdata=None)
        form.general_errors.append(_("Ce fichier n'est plus disponible (import déjà fait, délai dépassé, ou "
                                     "déposé par un autre compte) : déposez-le à nouveau."))
        return render_template("sessions/import.html", form=form, plan=None, columns=COLUMNS), 410
    plan = plan_sessions(upload.data, store(), users(), name=upload.name, author=user.username)
    allowed_plan(plan)
    try:
        apply_sessions(plan, store(), author=user.username, author_name=user.display_name or None,
                       sha256=confirm.sha256.data or "", now=livret().now())
    except (ImportRefused, InvalidInput, StoreError) as exc:
        form = UploadForm(formdata=None)
        form.general_errors.append(str(exc))
        return render_template("sessions/import.html", form=form, plan=plan, confirm=confirm,
                               columns=COLUMNS), 422
    keeper.discard(upload.token)
    flash(ngettext("%(num)d demi-journée importée de %(name)s.", "%(num)d demi-journées importées de %(name)s.",
                   len(plan.items), name=upload.name), "success")
    return redirect(url_for("sessions.index", mois=plan.items[0]["date"][:7]))


# --------------------------------------------------------------------------
# Change, cancel
# --------------------------------------------------------------------------


@bp.route("/<chain_id>/modifier", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def change(chain_id: str):
    st = store()
    stored = st.session(chain_id)
    if stored is None or stored.session.updates is not None:
        abort(404)
    chain = load_chains(st, stored.session.date, stored.session.date).get(chain_id)
    if chain is None:  # moved to another month: read them all
        chain = load_chains(st).get(chain_id)
    if chain is None:
        abort(404)
    user = current_user()
    s = chain.session
    group = st.groups().get(s.group) if s.group else None
    if not may_change(user.role, user.username, s, group, profiles()):
        abort(403)
    sheet = session_sheet(st, chain_id, livret().now())
    signed = sum(1 for _, row in sheet.rows if row.signature is not None) if sheet else 0
    form = ChangeForm()
    fill_choices(form, {})
    page = {"chain": chain, "signed": signed, "half_days": HALF_DAYS, "fr_date": fr_date}
    if chain.cancelled:
        form.general_errors.append(_("Cette séance est annulée : elle ne se modifie plus."))
        return render_template("sessions/change.html", form=form, **page), 409
    if request.method == "GET":
        form.date.data, form.start.data, form.end.data = s.date.isoformat(), s.start, s.end
        form.trainer.data, form.place.data, form.video_link.data = s.trainer, s.place or "", s.video_link or ""
        return render_template("sessions/change.html", form=form, **page)
    reason = (form.reason.data or "").strip()
    cancel = form.action.data == "cancel"
    changes: dict[str, Any] = {}
    if not cancel:
        settings = st.settings().attendance
        try:
            parts = split({"date": form.date.data or "", "start": form.start.data or "", "end": form.end.data or ""},
                          settings.lunch_start, settings.lunch_end)
        except FieldValueErrors as exc:
            place_errors(form, exc.errors)
            return render_template("sessions/change.html", form=form, **page), 422
        if len(parts) > 1:
            form.end.errors = [_("une modification reste une demi-journée : planifiez l'autre à part")]
            return render_template("sessions/change.html", form=form, **page), 422
        trainer = form.trainer.data or s.trainer
        changes = {**parts[0], "trainer": trainer, "trainer_name": trainer_name(users(), trainer),
                   "place": (form.place.data or "").strip(), "video_link": (form.video_link.data or "").strip()}
    if not reason:
        form.reason.errors = [_("indiquez le motif")]
        return render_template("sessions/change.html", form=form, **page), 422
    fields = change_fields(s, changes, chain_id=chain_id, reason=reason, cancel=cancel)
    what = "annulée" if cancel else "modifiée"
    if not write(form, [fields], [], f"Séance {what} : {s.title} ({s.date.isoformat()})"):
        return render_template("sessions/change.html", form=form, **page), 422
    flash(_("Séance annulée.") if cancel else _("Séance modifiée."), "success")
    return redirect(url_for("sessions.index", mois=(fields["date"])[:7]))
