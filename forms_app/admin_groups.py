"""Administration of groups (cohorts, promotions): list, page, create, edit, delete (admins only).

A group is ``portfolios/_groups/<id>.yml``; the views call
:mod:`livret.admin.groups` (one commit by the admin per change) and never
touch a file.  The members are checkboxes; the search box filters them on
the server (``?q=`` on the page, or the « Filtrer » button of the form,
which keeps everything typed and every box checked, hidden ones included),
so the page works without JavaScript.  Edit and delete forms carry the
group file's revision: a change made meanwhile is never overwritten.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.widgets import DateInput, NumberInput

from livret.admin import groups as admin
from livret.interop.learners_csv import fold
from livret.store.errors import InvalidInput
from livret.store.records import StaleWrite
from livret.store.schema import GROUP_ID_RE, LEARNER_STATUSES, Group

from .admin_support import AdminForm, refusals
from .auth import admin_required, current_user
from .calendar_editor import CalendarEditor
from .entry_forms import friendly
from .state import livret
from .worksite import group_calendar_saved

bp = Blueprint("admin_groups", __name__, url_prefix="/admin/groupes")

STALE_MESSAGE = _l("Ce groupe a été modifié entre-temps (par une autre personne ou à la main) : rien n'a été "
                   "enregistré. Rechargez la page pour voir la version actuelle ; ce que vous aviez saisi est "
                   "conservé ci-dessous.")


def title(name: str) -> str:
    return Group.model_fields[name].title or name


class GroupForm(AdminForm):
    name = StringField(title("name"), render_kw={"maxlength": 200})
    programme = StringField(title("programme"), render_kw={"maxlength": 200})
    start = StringField(title("start"), widget=DateInput())
    end = StringField(title("end"), widget=DateInput())
    weekly_hours = StringField(title("weekly_hours"), widget=NumberInput(step="any", min=0, max=80),
                               render_kw={"inputmode": "decimal"},
                               description=_l("Pré-remplit la feuille d'assiduité du groupe."))
    description = TextAreaField(title("description"), render_kw={"rows": 3, "maxlength": 2000})
    q = StringField(_l("Filtrer les apprenant·es (nom, formation, identifiant)"), render_kw={"type": "search",
                                                                                          "maxlength": 100})
    revision = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.members_errors: list[str] = []

    def place_errors(self, errors) -> None:
        errors = list(errors)
        self.members_errors += [friendly(e.message) for e in errors if e.loc[:1] == ("members",)]
        super().place_errors(e for e in errors if e.loc[:1] != ("members",))

    def all_errors(self) -> list[tuple[str | None, str]]:
        return super().all_errors() + [("members", f"{_('Apprenant·es')} : {m}") for m in self.members_errors]

    def members(self) -> list[str]:
        return list(dict.fromkeys(m for m in request.form.getlist("members") if m))


def _group_or_404(group_id: str) -> Group:
    if not GROUP_ID_RE.match(group_id or ""):
        abort(404)
    group, _problems = livret().project.store.group(group_id)
    if group is None:
        abort(404)
    return group


def _learners() -> list[tuple[str, str, str]]:
    """(id, label, folded search text) of every learner, by name."""
    store = livret().project.store
    out = []
    for lid in store.learner_ids():
        p = store.profile(lid)
        if p is None:
            out.append((lid, f"{lid} ({_('profil invalide')})", fold(lid)))
            continue
        label = f"{p.last_name} {p.first_name} — {p.programme}"
        if p.status != "en-cours":
            label += f" ({LEARNER_STATUSES[p.status].lower()})"
        out.append((lid, label, fold(f"{p.first_name} {p.last_name} {p.programme} {lid}")))
    out.sort(key=lambda item: item[1].casefold())
    return out


def _calendar(form: GroupForm, editor: CalendarEditor) -> dict:
    """The form's values with the calendar's periods; the editor keeps its row errors (the write is refused)."""
    try:
        return {**form.values(admin.FIELDS), "calendar": editor.periods()}
    except InvalidInput as exc:
        editor.place(exc.errors)
        raise InvalidInput([]) from None


def _form_page(form: GroupForm, members: list[str], *, group: Group | None, status: int = 200,
               editor: CalendarEditor | None = None):
    editor = editor or CalendarEditor.of(group.calendar if group else [])
    query = fold(form.q.data or "")
    everyone = _learners()
    visible = [(lid, label, lid in members) for lid, label, text in everyone if not query or query in text]
    shown = {lid for lid, _, _ in visible}
    hidden = [m for m in members if m not in shown]
    return render_template("admin/groups/form.html", form=form, group=group, visible=visible, hidden=hidden,
                           members=members, total=len(everyone), query=form.q.data or "", editor=editor), status


@bp.route("/")
@admin_required
def index():
    store = livret().project.store
    return render_template("admin/groups/index.html", groups=list(store.groups().values()),
                           problems=[p for gid in store.group_ids() for p in store.group(gid)[1]])


@bp.route("/<group_id>/")
@admin_required
def show(group_id: str):
    group = _group_or_404(group_id)
    store = livret().project.store
    known = set(store.learner_ids())
    members = [(lid, store.profile(lid) if lid in known else None) for lid in group.members]
    members.sort(key=lambda m: (m[1].last_name.casefold(), m[1].first_name.casefold()) if m[1] else ("~", m[0]))
    return render_template("admin/groups/show.html", group=group, members=members,
                           statuses=LEARNER_STATUSES)


@bp.route("/nouveau", methods=["GET", "POST"])
@admin_required
def new():
    if request.method == "GET":
        form = GroupForm(formdata=None, data={"q": request.args.get("q", "")[:100]})
        return _form_page(form, [], group=None)
    form = GroupForm()
    members = form.members()
    editor = CalendarEditor.from_form(request.form)
    if "filtrer" in request.form or editor.adding(request.form):
        return _form_page(form, members, group=None, editor=editor)
    with refusals(form, STALE_MESSAGE) as refused:
        gid = admin.create_group(livret().project.store, _calendar(form, editor), members,
                                 author=current_user().username)
    if refused.status:
        return _form_page(form, members, group=None, status=refused.status, editor=editor)
    flash(_("Groupe créé : %(name)s.", name=form.name.data), "success")
    return redirect(url_for(".show", group_id=gid))


@bp.route("/<group_id>/modifier", methods=["GET", "POST"])
@admin_required
def edit(group_id: str):
    group = _group_or_404(group_id)
    store = livret().project.store
    if request.method == "GET":
        data = admin.group_form_data(group)
        data["revision"] = admin.group_revision(store, group_id) or ""
        data["q"] = request.args.get("q", "")[:100]
        return _form_page(GroupForm(formdata=None, data=data), list(group.members), group=group)
    form = GroupForm()
    members = form.members()
    editor = CalendarEditor.from_form(request.form)
    if "filtrer" in request.form or editor.adding(request.form):
        return _form_page(form, members, group=group, editor=editor)
    with refusals(form, STALE_MESSAGE) as refused:
        saved = admin.update_group(store, group_id, _calendar(form, editor), members,
                                   author=current_user().username, expected=form.revision.data or "")
    if refused.status:
        return _form_page(form, members, group=group, status=refused.status, editor=editor)
    if saved.calendar != group.calendar:
        group_calendar_saved(saved)
    flash(_("Groupe enregistré."), "success")
    return redirect(url_for(".show", group_id=group_id))


@bp.route("/<group_id>/supprimer", methods=["GET", "POST"])
@admin_required
def delete(group_id: str):
    group = _group_or_404(group_id)
    store = livret().project.store
    if request.method == "GET":
        return render_template("admin/groups/delete.html", group=group,
                               revision=admin.group_revision(store, group_id) or "")
    try:
        admin.delete_group(store, group_id, author=current_user().username,
                           expected=request.form.get("revision", ""))
    except StaleWrite:
        flash(str(STALE_MESSAGE), "error")
        return redirect(url_for(".delete", group_id=group_id))
    flash(_("Groupe « %(name)s » supprimé ; ses apprenant·es ne sont pas modifié·es.", name=group.name), "success")
    return redirect(url_for(".index"))
