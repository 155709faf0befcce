"""Administration of accounts (``/admin/comptes``, admins only).

The list (role, assigned learners computed from the profiles, last sign-in,
state, second factor) with a role filter and a search box; creating an
account (no password typed by the admin: the answer shows a one-time
invitation link, 7 days, to hand over); disabling and enabling again (every
session ends); a password reset link (24 h); the role (never the last
active admin's, never while assignments the new role cannot hold remain:
they are named); resetting someone's second factor; and the learners of a
tutor or company tutor, as checkboxes, saved in one commit by the admin.

Every route is ``admin_required`` (403 before anything is read or written)
and every form carries its CSRF token.  The views call
:mod:`livret.admin.accounts` (shared with ``livret user``) and never touch
a file.  The assignment form carries each listed profile's revision: a
profile edited meanwhile is never overwritten (the page says so and keeps
the boxes as they were ticked).  A one-time link is shown once, in the page
that answers the POST (never in a flash message, never stored).
"""

from __future__ import annotations

import unicodedata

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, StringField

from livret.admin.accounts import ASSIGNMENT_KEY, KEY_LABELS, AccountAdmin, AccountRow, Delivery, profile_revision
from livret.store import StoreError
from livret.store.errors import FieldError, InvalidInput
from livret.store.records import StaleWrite
from livret.store.schema import LEARNER_STATUSES, ROLE_LABELS, USERNAME_RE

from .admin_support import AdminForm
from .auth import admin_required, current_user
from .state import livret

bp = Blueprint("admin_accounts", __name__, url_prefix="/admin/comptes")

STALE_MESSAGE = _l("Un profil a été modifié entre-temps (par une autre personne ou à la main) : rien n'a été "
                   "enregistré. Rechargez la page pour voir les affectations actuelles ; vos cases cochées sont "
                   "conservées ci-dessous.")


def fold(text: str) -> str:
    """Compared without case or accents."""
    return " ".join(unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold().split())


def admin_ops() -> AccountAdmin:
    ctx = livret()
    return AccountAdmin(ctx.project.store, ctx.accounts)


def base_url() -> str:
    """Where links point: the organisation's public address, else the address the admin is using."""
    return livret().project.store.settings().public_url or request.url_root


def role_choices(blank: bool = False) -> list[tuple[str, str]]:
    out = [(role, label) for role, label in ROLE_LABELS.items()]
    return ([("", _("Tous les rôles"))] + out) if blank else out


def _row_or_404(username: str) -> AccountRow:
    if not USERNAME_RE.match(username or ""):
        abort(404)
    row = admin_ops().row(username)
    if row is None:
        abort(404)
    return row


# --------------------------------------------------------------------------
# Forms
# --------------------------------------------------------------------------


class AccountForm(AdminForm):
    username = StringField(_l("Identifiant"), description=_l("Minuscules, chiffres, « . », « _ », « - » ; ex. "
                                                              "marie.durand. Il ne change plus ensuite."),
                           render_kw={"maxlength": 64, "autocapitalize": "none", "spellcheck": "false",
                                      "autocomplete": "off"})
    display_name = StringField(_l("Nom affiché"), render_kw={"maxlength": 200, "autocomplete": "off"})
    email = StringField(_l("Adresse e-mail"), render_kw={"maxlength": 200, "type": "email", "autocomplete": "off"})
    role = SelectField(_l("Rôle"), choices=role_choices)
    learner = HiddenField()


class ProfileForm(AdminForm):
    display_name = StringField(_l("Nom affiché"), render_kw={"maxlength": 200})
    email = StringField(_l("Adresse e-mail"), render_kw={"maxlength": 200, "type": "email"})


class RoleForm(AdminForm):
    role = SelectField(_l("Nouveau rôle"), choices=role_choices)


# --------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------


@bp.route("/")
@admin_required
def index():
    role = request.args.get("role", "")
    role = role if role in ROLE_LABELS else ""
    query = (request.args.get("q", "") or "")[:100]
    rows = admin_ops().rows()
    total = len(rows)
    if role:
        rows = [r for r in rows if r.user.role == role]
    wanted = fold(query)
    if wanted:
        rows = [r for r in rows if wanted in fold(" ".join([r.user.username, r.user.display_name, r.user.email,
                                                            *(a.learner_name for a in r.assignments)]))]
    return render_template("admin/accounts/index.html", rows=rows, total=total, role=role, query=query,
                           roles=role_choices(blank=True))


# --------------------------------------------------------------------------
# Creating
# --------------------------------------------------------------------------


def _learner_options(selected: str | None = None) -> list[tuple[str, str]]:
    profiles = admin_ops().profiles()
    out = [(lid, f"{p.last_name} {p.first_name} ({lid})") for lid, p in profiles.items()]
    out.sort(key=lambda item: item[1].casefold())
    return out


@bp.route("/nouveau", methods=["GET", "POST"])
@admin_required
def new():
    ops = admin_ops()
    if request.method == "GET":
        data: dict = {"role": request.args.get("role", "tutor") if request.args.get("role") in ROLE_LABELS
                      else "tutor"}
        learner = None
        learner_id = request.args.get("apprenant", "")
        if learner_id:
            learner = ops.learner_prefill(learner_id[:64])
            if learner is None:
                abort(404)
            data.update(username=learner["username"], role="learner", display_name=learner["display_name"],
                        email=learner["email"], learner=learner_id)
        form = AccountForm(formdata=None, data=data)
        return _new_page(form, learner, selected=[])
    form = AccountForm()
    learner_id = form.learner.data or ""
    learner = ops.learner_prefill(learner_id) if learner_id else None
    if learner_id and learner is None:
        form.general_errors.append(_("Apprenant·e inconnu·e : %(id)s.", id=learner_id))
        return _new_page(form, None, selected=[], status=422)
    selected = [learner_id] if learner_id else list(dict.fromkeys(request.form.getlist("learners")))
    revisions = {lid: request.form.get(f"rev-{lid}", "") for lid in selected}
    try:
        created = ops.create((form.username.data or "").strip().lower(), form.role.data or "",
                             author=current_user().username, display_name=form.display_name.data or "",
                             email=form.email.data or "", learners=selected, base_url=base_url(),
                             revisions=revisions)
    except InvalidInput as exc:
        _place(form, exc.errors)
        return _new_page(form, learner, selected=selected, status=422)
    except StaleWrite:
        form.general_errors.append(str(STALE_MESSAGE))
        return _new_page(form, learner, selected=selected, status=409)
    except StoreError as exc:
        form.general_errors.append(str(exc))
        return _new_page(form, learner, selected=selected, status=503)
    return _link_page(created.invitation, created=True, assigned=created.assigned)


def _place(form: AdminForm, errors: list[FieldError]) -> None:
    """Errors next to their inputs; the learners' ones (and the password's) on top."""
    form.place_errors(FieldError(e.loc, e.message) for e in errors)


def _new_page(form: AccountForm, learner: dict | None, *, selected: list[str], status: int = 200):
    options = [] if learner else _learner_options()
    store = livret().project.store
    revisions = {lid: profile_revision(store, lid) or "" for lid, _ in options}
    if learner:
        revisions[learner["learner"]] = profile_revision(store, learner["learner"]) or ""
    return render_template("admin/accounts/new.html", form=form, learner=learner, options=options,
                           selected=set(selected), revisions=revisions, key_labels=KEY_LABELS,
                           assignable=ASSIGNMENT_KEY), status


def _link_page(delivery: Delivery | None, *, created: bool = False, assigned: list[str] = ()):
    ops = admin_ops()
    username = delivery.username if delivery else None
    row = ops.row(username) if username else None
    return render_template("admin/accounts/link.html", delivery=delivery, row=row, created=created,
                           assigned=assigned, days=delivery.expires_in.days if delivery else 0,
                           hours=int(delivery.expires_in.total_seconds() // 3600) if delivery else 0)


# --------------------------------------------------------------------------
# One account
# --------------------------------------------------------------------------


def _show_page(row: AccountRow, *, profile_form: ProfileForm | None = None, role_form: RoleForm | None = None,
               errors: list[str] = (), status: int = 200):
    user = row.user
    profile_form = profile_form or ProfileForm(formdata=None, data={"display_name": user.display_name,
                                                                     "email": user.email})
    role_form = role_form or RoleForm(formdata=None, data={"role": user.role})
    summary = [(None, m) for m in errors] + profile_form.all_errors() + role_form.all_errors()
    return render_template("admin/accounts/show.html", row=row, user=user, profile_form=profile_form,
                           role_form=role_form, summary=summary, me=current_user().username,
                           assignable=user.role in ASSIGNMENT_KEY), status


@bp.route("/<username>/")
@admin_required
def show(username: str):
    return _show_page(_row_or_404(username))


@bp.route("/<username>/profil", methods=["POST"])
@admin_required
def profile(username: str):
    row = _row_or_404(username)
    form = ProfileForm()
    try:
        admin_ops().set_profile(username, form.display_name.data or "", form.email.data or "")
    except InvalidInput as exc:
        _place(form, exc.errors)
        return _show_page(row, profile_form=form, status=422)
    flash(_("Compte %(username)s : nom et adresse enregistrés.", username=username), "success")
    return redirect(url_for(".show", username=username), 303)


@bp.route("/<username>/role", methods=["POST"])
@admin_required
def role(username: str):
    row = _row_or_404(username)
    form = RoleForm()
    new_role = form.role.data or ""
    if new_role not in ROLE_LABELS:
        form.role.errors = [_("Choisissez un rôle de la liste.")]
        return _show_page(row, role_form=form, status=422)
    try:
        admin_ops().change_role(username, new_role)
    except InvalidInput as exc:
        _place(form, exc.errors)
        return _show_page(row, role_form=form, status=422)
    if new_role != row.user.role:
        flash(_("Rôle de %(username)s : %(role)s. Ses sessions sont fermées.", username=username,
                role=ROLE_LABELS[new_role]), "success")
    return redirect(url_for(".show", username=username), 303)


def _set_disabled(username: str, disabled: bool):
    row = _row_or_404(username)
    try:
        admin_ops().set_disabled(username, disabled)
    except InvalidInput as exc:
        return _show_page(row, errors=[e.message[:1].upper() + e.message[1:] for e in exc.errors], status=422)
    if disabled:
        flash(_("Compte %(username)s désactivé : ses sessions et ses liens en attente sont fermés.",
                username=username), "success")
    else:
        flash(_("Compte %(username)s réactivé.", username=username), "success")
    return redirect(url_for(".show", username=username), 303)


@bp.route("/<username>/desactiver", methods=["POST"])
@admin_required
def disable(username: str):
    return _set_disabled(username, True)


@bp.route("/<username>/reactiver", methods=["POST"])
@admin_required
def enable(username: str):
    return _set_disabled(username, False)


@bp.route("/<username>/lien", methods=["POST"])
@admin_required
def reset_link(username: str):
    """A one-time link to choose a (new) password, shown once in the answer."""
    row = _row_or_404(username)
    try:
        delivery = admin_ops().reset_link(username, author=current_user().username, base_url=base_url())
    except InvalidInput as exc:
        return _show_page(row, errors=[e.message[:1].upper() + e.message[1:] for e in exc.errors], status=422)
    return _link_page(delivery)


@bp.route("/<username>/second-facteur", methods=["POST"])
@admin_required
def reset_second_factor(username: str):
    _row_or_404(username)
    admin_ops().reset_second_factor(username)
    flash(_("Second facteur de %(username)s désactivé : ses sessions sont fermées et ses codes de secours ne "
            "fonctionnent plus. Il pourra l'activer de nouveau.", username=username), "success")
    return redirect(url_for(".show", username=username), 303)


# --------------------------------------------------------------------------
# Assignments of a tutor or a company tutor
# --------------------------------------------------------------------------


def _assigned(profile, username: str, key: str) -> bool:
    value = getattr(profile, key)
    return value == username if key == "account" else username in value


def _assignment_rows(username: str, key: str | None, group_id: str) -> tuple[list[dict], dict]:
    """The learners the form lists (all, or a group's), with whether each is assigned."""
    store = livret().project.store
    groups = store.groups()
    if key is None:
        return [], groups
    members = set(groups[group_id].members) if group_id in groups else None
    rows = []
    for lid, p in admin_ops().profiles().items():
        if members is not None and lid not in members:
            continue
        current = getattr(p, key)
        others = ([current] if current and current != username else []) if key == "account" else \
            [u for u in current if u != username]
        rows.append({
            "id": lid, "name": f"{p.last_name} {p.first_name}", "programme": p.programme,
            "status": LEARNER_STATUSES.get(p.status, p.status), "company": p.company.name if p.company else None,
            "assigned": _assigned(p, username, key), "others": others,
            "revision": profile_revision(store, lid) or "",
        })
    rows.sort(key=lambda r: (r["name"].casefold(), r["id"]))
    return rows, groups


@bp.route("/<username>/affectations", methods=["GET", "POST"])
@admin_required
def assignments(username: str):
    """The learners of a tutor or company tutor (or a learner account's portfolio), as checkboxes.

    Only the learners the page listed (a group's, when filtered) change;
    auditors and admins have no assignment (they read every learner): a
    POST that gives them one is refused, naming the role."""
    row = _row_or_404(username)
    user = row.user
    key = ASSIGNMENT_KEY.get(user.role)
    group_id = request.values.get("groupe", "")
    rows, groups = _assignment_rows(username, key, group_id)
    group_id = group_id if group_id in groups else ""
    errors: list[str] = []
    status = 200
    checked = {r["id"] for r in rows if r["assigned"]}
    if request.method == "POST":
        shown = [lid for lid in dict.fromkeys(request.form.getlist("shown")) if lid]
        checked = set(request.form.getlist("learners"))
        changes = {lid: lid in checked for lid in dict.fromkeys([*shown, *checked])}
        revisions = {lid: request.form.get(f"rev-{lid}", "") for lid in changes}
        try:
            commit = admin_ops().save_assignments(username, changes, author=current_user().username,
                                                  role=request.form.get("role", ""), revisions=revisions)
        except InvalidInput as exc:
            errors, status = [e.message[:1].upper() + e.message[1:] for e in exc.errors], 422
        except StaleWrite:
            errors, status = [str(STALE_MESSAGE)], 409
        except StoreError as exc:
            errors, status = [str(exc)], 503
        else:
            if commit:
                flash(_("Affectations de %(username)s enregistrées.", username=username), "success")
            else:
                flash(_("Aucune affectation modifiée."), "success")
            return redirect(url_for(".assignments", username=username, groupe=group_id or None), 303)
    return render_template("admin/accounts/assignments.html", row=row, user=user, key=key, rows=rows,
                           groups=groups, group_id=group_id, errors=errors, checked=checked,
                           key_label=KEY_LABELS.get(key, "")), status
