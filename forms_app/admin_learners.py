"""Administration of learners: list, create, edit, status, history (admins only).

Every route is ``admin_required`` (403 before anything is read or written).
The views turn the form into the data :mod:`livret.admin.learners` takes
and show its :class:`InvalidInput` errors next to their fields; nothing
here touches a file.  Edit forms carry the profile's revision in a hidden
field: a save after a hand edit (or another admin's save) is refused with
:class:`StaleWrite`, the page says so and keeps what was typed.

Also the form helpers the other administration pages of this package share
(:func:`account_choices`, :func:`users`; :class:`AdminForm` is in
:mod:`forms_app.admin_support`).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.widgets import DateInput

from livret.admin import learners as admin
from livret.admin.history import profile_history
from livret.store import LearnerRecord, UnknownLearner, valid_learner_id
from livret.store.errors import InvalidInput
from livret.store.schema import (
    CONTRACTS,
    LEARNER_STATUSES,
    PROGRAMME_MODALITIES,
    Company,
    ContractBreak,
    LearnerProfile,
)

from .admin_support import AdminForm, refusals
from .auth import admin_required, current_user
from .calendar_editor import CalendarEditor
from .entry_forms import MultiCheckboxField, options
from .people import person
from .state import livret

bp = Blueprint("admin_learners", __name__, url_prefix="/admin/apprenants")

STALE_MESSAGE = _l("Ce profil a été modifié entre-temps (par une autre personne ou à la main) : rien n'a été "
                   "enregistré. Rechargez la page pour voir la version actuelle ; ce que vous aviez saisi est "
                   "conservé ci-dessous pour que vous puissiez le reporter.")


def title(name: str) -> str:
    """The schema's French title of a profile field."""
    return LearnerProfile.model_fields[name].title or name


# --------------------------------------------------------------------------
# Form helpers shared by the administration pages
# --------------------------------------------------------------------------


def users():
    return livret().accounts.list()


def account_choices(role: str, keep: Iterable[str] = ()) -> list:
    """Enabled accounts of ``role``; names already assigned (``keep``) stay offered, whatever they are now."""
    names = admin.usernames_with_role(users(), role)
    names += [n for n in keep if n not in names]
    return options((n, n) for n in names)


def group_choices() -> list:
    return options((gid, g.name) for gid, g in livret().project.store.groups().items())


def new_account_url(learner_id: str) -> str:
    """The account page of another module, with this learner; a plain path while it does not exist."""
    try:
        return url_for("admin_accounts.new", apprenant=learner_id)
    except BuildError:
        return f"/admin/comptes/nouveau?apprenant={learner_id}"


@bp.app_template_global()
def admin_learner_links(learner_id: str) -> dict[str, str]:
    """The administration links of a learner (the learner page's « Administration » box)."""
    return {
        "edit": url_for("admin_learners.edit", learner_id=learner_id),
        "status": url_for("admin_learners.status", learner_id=learner_id),
        "history": url_for("admin_learners.history", learner_id=learner_id),
        "account": new_account_url(learner_id),
    }


# --------------------------------------------------------------------------
# Forms
# --------------------------------------------------------------------------


def _date(label: str, **kw) -> StringField:
    return StringField(label, widget=DateInput(), **kw)


class LearnerForm(AdminForm):
    first_name = StringField(title("first_name"), render_kw={"maxlength": 200, "autocomplete": "off"})
    last_name = StringField(title("last_name"), render_kw={"maxlength": 200, "autocomplete": "off"})
    email = StringField(title("email"), render_kw={"maxlength": 200, "type": "email", "autocomplete": "off"})
    programme = StringField(title("programme"), render_kw={"maxlength": 200})
    framework = SelectField(title("framework"), validate_choice=False)
    start = _date(title("start"))
    end = _date(title("end"))
    modality = RadioField(title("modality"), choices=options(PROGRAMME_MODALITIES.items()), default="presentiel",
                          validate_choice=False)
    work_study = BooleanField(title("work_study"))
    contract = SelectField(title("contract"), validate_choice=False,
                           choices=options([("", str(_l("— non renseigné —"))), *CONTRACTS.items()]))
    company_name = StringField(Company.model_fields["name"].title, render_kw={"maxlength": 200},
                               description=_l("Obligatoire pour un contrat d'apprentissage ou de "
                                              "professionnalisation, et pour affecter un·e tuteur·rice entreprise."))
    company_city = StringField(_l("Ville de l'entreprise"), render_kw={"maxlength": 100})
    company_contact = StringField(_l("Contact dans l'entreprise"), render_kw={"maxlength": 200})
    tutors = MultiCheckboxField(title("tutors"), validate_choice=False)
    company_tutors = MultiCheckboxField(title("company_tutors"), validate_choice=False)
    groups = MultiCheckboxField(_l("Groupes"), validate_choice=False)
    body = TextAreaField(_l("Objectifs, contexte"), render_kw={"rows": 8}, description=_l(
        "Texte libre sous le profil : objectifs, contexte, besoins exprimés à l'inscription (Markdown)."))
    revision = HiddenField()

    def setup(self, *, assigned: LearnerProfile | None = None) -> "LearnerForm":
        store = livret().project.store
        frameworks = store.frameworks()
        choices = [(fid, f"{fw.title} ({fid})") for fid, fw in frameworks.items()]
        if self.framework.data and self.framework.data not in frameworks:  # shown as it is, never silently changed
            choices.insert(0, (self.framework.data, str(_l("%(id)s (introuvable)", id=self.framework.data))))
        if not self.framework.data:
            choices.insert(0, ("", str(_l("— choisir —"))))
        self.framework.choices = options(choices)
        self.tutors.choices = account_choices("tutor", assigned.tutors if assigned else ())
        self.company_tutors.choices = account_choices("company", assigned.company_tutors if assigned else ())
        self.groups.choices = group_choices()
        return self

    def profile_input(self) -> dict:
        data = self.values(admin.PROFILE_FIELDS)
        data["tutors"] = list(self.tutors.data or [])
        data["company_tutors"] = list(self.company_tutors.data or [])
        data["work_study"] = bool(self.work_study.data)
        return data


class NewLearnerForm(LearnerForm):
    status = RadioField(title("status"), choices=options(LEARNER_STATUSES.items()), default="en-cours",
                        validate_choice=False)
    status_date = _date(title("status_date"), description=_l("Si le statut est « Terminé » ou « Abandon »."))
    status_reason = TextAreaField(title("status_reason"), render_kw={"rows": 2, "maxlength": 500})
    homonym = BooleanField(_l("C'est une autre personne (homonyme) : créer quand même"))

    def profile_input(self) -> dict:
        data = super().profile_input()
        data.update(self.values(("status", "status_date", "status_reason")))
        return data


class StatusForm(AdminForm):
    status = RadioField(title("status"), choices=options(LEARNER_STATUSES.items()), validate_choice=False)
    status_date = _date(title("status_date"), description=_l("Obligatoire pour « Terminé » et « Abandon »."))
    status_reason = TextAreaField(title("status_reason"), render_kw={"rows": 3, "maxlength": 500},
                                  description=_l("Obligatoire pour « Terminé » et « Abandon »."))
    contract_break_date = _date(ContractBreak.model_fields["date"].title, description=_l(
        "Contrat d'apprentissage ou de professionnalisation rompu avant son terme ; la formation peut "
        "continuer. Videz la date et le motif pour retirer la rupture."))
    contract_break_reason = TextAreaField(ContractBreak.model_fields["reason"].title,
                                          render_kw={"rows": 3, "maxlength": 500})
    revision = HiddenField()


REQUIRED = frozenset({"first_name", "last_name", "programme", "framework", "start"})


# --------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------


def _record_or_404(learner_id: str) -> LearnerRecord:
    if not valid_learner_id(learner_id):
        abort(404)
    try:
        return livret().project.store.load_learner(learner_id)
    except UnknownLearner:
        abort(404)


def _periods(editor: CalendarEditor) -> list:
    """The calendar's periods; its row errors are kept by the editor (and the write refused with them)."""
    try:
        return editor.periods()
    except InvalidInput as exc:
        editor.place(exc.errors)
        raise InvalidInput([]) from None  # nothing for the form's own fields: the editor shows them


def _groups_of(learner_id: str) -> list[str]:
    return [g.id for g in livret().project.store.groups_of(learner_id)]


@bp.route("/")
@admin_required
def index():
    store = livret().project.store
    groups = store.groups()
    group_id = request.args.get("groupe", "")
    status = request.args.get("statut", "")
    if group_id not in groups:
        group_id = ""
    if status not in LEARNER_STATUSES:
        status = ""
    member_of: dict[str, list[str]] = {}
    for gid, group in groups.items():
        for lid in group.members:
            member_of.setdefault(lid, []).append(group.name)
    rows = []
    for lid in store.learner_ids():
        if group_id and lid not in groups[group_id].members:
            continue
        profile = store.profile(lid)
        if status and (profile is None or profile.status != status):
            continue
        rows.append((lid, profile, member_of.get(lid, [])))
    rows.sort(key=lambda r: ((r[1].last_name.casefold(), r[1].first_name.casefold()) if r[1] else ("", ""), r[0]))
    return render_template("admin/learners/index.html", rows=rows, groups=groups, group_id=group_id,
                           status=status, statuses=LEARNER_STATUSES, total=len(store.learner_ids()))


def _form_page(form: LearnerForm, *, record: LearnerRecord | None, status: int = 200,
               editor: CalendarEditor | None = None):
    if editor is None:
        editor = CalendarEditor.of(record.profile.calendar if record and record.profile else [])
    return render_template("admin/learners/form.html", form=form, record=record, required=REQUIRED, editor=editor,
                           show_homonym=bool(getattr(form, "homonym", None) and (
                               form.homonym.data or form.last_name.errors))), status


@bp.route("/nouveau", methods=["GET", "POST"])
@admin_required
def new():
    if request.method == "GET":
        form = NewLearnerForm(formdata=None, data={"modality": "presentiel", "status": "en-cours",
                                                   "groups": request.args.getlist("groupe")})
    else:
        form = NewLearnerForm()
    form.setup()
    if request.method == "GET":
        return _form_page(form, record=None)
    editor = CalendarEditor.from_form(request.form)
    if editor.adding(request.form):
        return _form_page(form, record=None, editor=editor)
    ctx = livret()
    with refusals(form, STALE_MESSAGE) as refused:  # stale: a group changed while the learner was being written
        data = {**form.profile_input(), "calendar": _periods(editor)}
        saved = admin.create_learner(ctx.project.store, data, users=admin.users_by_name(users()),
                                     author=current_user().username, groups=form.groups.data or [],
                                     body=form.body.data or "", allow_homonym=bool(form.homonym.data))
    if refused.status:
        return _form_page(form, record=None, status=refused.status, editor=editor)
    flash(_("Apprenant·e créé·e : %(name)s (identifiant %(id)s).", name=f"{form.first_name.data} "
            f"{form.last_name.data}", id=saved.learner_id), "success")
    return redirect(url_for("dashboard.learner", learner_id=saved.learner_id))


@bp.route("/<learner_id>/modifier", methods=["GET", "POST"])
@admin_required
def edit(learner_id: str):
    record = _record_or_404(learner_id)
    store = livret().project.store
    if request.method == "GET":
        data = admin.profile_form_data(record.profile, record.profile_body)
        data["groups"] = _groups_of(learner_id)
        data["revision"] = admin.profile_revision(store, learner_id) or ""
        form = LearnerForm(formdata=None, data=data).setup(assigned=record.profile)
        return _form_page(form, record=record)
    form = LearnerForm().setup(assigned=record.profile)
    editor = CalendarEditor.from_form(request.form)
    if editor.adding(request.form):
        return _form_page(form, record=record, editor=editor)
    with refusals(form, STALE_MESSAGE) as refused:
        data = {**form.profile_input(), "calendar": _periods(editor)}
        saved = admin.update_learner(store, learner_id, data, users=admin.users_by_name(users()),
                                     author=current_user().username, expected=form.revision.data or "",
                                     groups=form.groups.data or [], body=form.body.data or "")
    if refused.status:
        return _form_page(form, record=record, status=refused.status, editor=editor)
    if saved.commit_id is None:
        flash(_("Aucune modification : rien n'a été enregistré."), "info")
    else:
        flash(_("Profil enregistré."), "success")
    return redirect(url_for("dashboard.learner", learner_id=learner_id))


@bp.route("/<learner_id>/statut", methods=["GET", "POST"])
@admin_required
def status(learner_id: str):
    record = _record_or_404(learner_id)
    store = livret().project.store
    if record.profile is None:
        flash(_("Le profil de cet·te apprenant·e est invalide : corrigez-le d'abord (« Modifier le profil »)."),
              "error")
        return redirect(url_for(".edit", learner_id=learner_id))
    if request.method == "GET":
        data = admin.profile_form_data(record.profile)
        data["revision"] = admin.profile_revision(store, learner_id) or ""
        form = StatusForm(formdata=None, data=data)
        return _status_page(form, record)
    form = StatusForm()
    with refusals(form, STALE_MESSAGE) as refused:
        saved = admin.change_status(store, learner_id, form.values(admin.STATUS_FIELDS),
                                    author=current_user().username, expected=form.revision.data or "")
    if refused.status:
        return _status_page(form, record, refused.status)
    if saved.commit_id is None:
        flash(_("Aucune modification : rien n'a été enregistré."), "info")
    else:
        flash(_("Statut enregistré."), "success")
    return redirect(url_for("dashboard.learner", learner_id=learner_id))


def _status_page(form: StatusForm, record: LearnerRecord, status_code: int = 200):
    work_study = record.profile.contract in ("apprentissage", "professionnalisation")
    return render_template("admin/learners/status.html", form=form, record=record, profile=record.profile,
                           work_study=work_study, contracts=CONTRACTS), status_code


@bp.route("/<learner_id>/historique")
@admin_required
def history(learner_id: str):
    record = _record_or_404(learner_id)
    versions = profile_history(livret().project.store, learner_id)
    return render_template("admin/learners/history.html", record=record, profile=record.profile,
                           versions=versions, person=person)
