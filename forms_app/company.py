"""The company tutor's side: the link's page, the workspace, a new link; the tutor's invitation.

- ``/lien/<token>`` of purpose ``company`` (registered in
  :data:`forms_app.onetime_links.HANDLERS`): the GET shows who the link is
  for and for which learners, with one button; it never uses the link (mail
  gateways and previews open links, also with HEAD).  The button's POST
  (CSRF) uses the link atomically and opens a ``mail-link`` session lasting
  :data:`COMPANY_SESSION_DAYS` days on this device, then goes to the
  workspace.  A used, expired or revoked link, or a disabled account: the
  one invalid-link page (404).
- ``/entreprise/``: the company tutor's workspace (role company): their
  learners, each with the shared portfolio, the observation grid, the
  company feedback form and what waits for their signature.
- ``/entreprise/nouveau-lien``: anyone enters an address; a fresh link is
  mailed if it is an assigned company tutor's.  The same page and status
  whatever the address (429 only when one client asks too often).
- ``/apprenants/<id>/entreprise``: an assigned tutor or an admin invites the
  learner's company tutor (name, e-mail) or sends a known one a new link;
  ``.../entreprise/retirer`` withdraws a company tutor's access (links and
  device sessions: those devices then get 410).

Authorization comes first on every route (403 before the form is read);
views call :mod:`livret.company.access` and never touch a file.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, StringField

from livret.company.access import COMPANY_SESSION_DAYS, PURPOSE, CompanyAccess, RequestThrottled
from livret.instance.accounts import AccountError
from livret.instance.onetime import OneTimeLink
from livret.store import StoreError
from livret.store.errors import FieldError, InvalidInput
from livret.store.schema import USERNAME_RE

from .admin_support import AdminForm, refusals
from .auth import back_here, current_user, open_session, origin, profile_or_404_403
from .onetime_links import HANDLERS, invalid_link, links
from .state import livret

bp = Blueprint("company", __name__)
log = logging.getLogger("livret.app")

STALE_MESSAGE = _l("Le profil de l'apprenant·e a été modifié entre-temps : rien n'a été enregistré. "
                   "Rechargez la page et recommencez.")


def access() -> CompanyAccess:
    ctx = livret()
    return CompanyAccess(ctx.project, ctx.accounts)


def base_url() -> str:
    """Where links point: the organisation's public address, else the address in use."""
    return livret().project.store.settings().public_url or request.url_root


class OpenForm(AdminForm):
    """The link page's button (only its CSRF token)."""


class EmailForm(AdminForm):
    email = EmailField(_l("Votre adresse e-mail"), render_kw={"autocomplete": "email", "autocapitalize": "none",
                                                             "spellcheck": "false", "maxlength": 200})


class InviteForm(AdminForm):
    name = StringField(_l("Prénom et nom"), render_kw={"autocomplete": "off", "maxlength": 200})
    email = EmailField(_l("Adresse e-mail"), render_kw={"autocomplete": "off", "autocapitalize": "none",
                                                        "spellcheck": "false", "maxlength": 200})


class AccountForm(AdminForm):
    username = HiddenField()


# --------------------------------------------------------------------------
# The link
# --------------------------------------------------------------------------


def link_page(token: str, link: OneTimeLink):
    """``/lien/<token>`` of a company link: a page with a button; the button uses the link."""
    ctx = livret()
    user = ctx.accounts.get(link.subject)
    if user is None or user.disabled or user.role != "company":
        return invalid_link()
    form = OpenForm()
    if request.method == "POST":
        def still_allowed(conn, row: OneTimeLink) -> None:
            found = conn.execute("SELECT role, disabled FROM users WHERE username = ?", (row.subject,)).fetchone()
            if found is None or found["disabled"] or found["role"] != "company":
                raise AccountError("compte désactivé")

        try:
            used = links().consume(token, PURPOSE, within=still_allowed)
        except AccountError:
            used = None  # disabled meanwhile: the link stays unused and opens nothing
        if used is None:
            return invalid_link()
        user = ctx.accounts.get(used.subject)
        open_session(user, method="mail-link", lifetime=COMPANY_SESSION_DAYS * 86400)
        ctx.accounts.record_login(user.username)
        log.info("lien entreprise utilisé : %s", user.username)
        flash(_("Bienvenue, %(name)s. Cet appareil garde l'accès pendant %(days)d jours.", name=user.name,
                days=COMPANY_SESSION_DAYS), "success")
        return redirect(url_for("company.home"))
    learners = access().learners_of(user.username)
    response = render_template("company/link.html", form=form, person=user, learners=learners,
                               org=ctx.project.store.settings())
    return response, 200, {"X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer"}


HANDLERS[PURPOSE] = link_page


# --------------------------------------------------------------------------
# The workspace
# --------------------------------------------------------------------------


@bp.route("/entreprise/")
def home():
    user = current_user()
    if user is None:  # a company tutor's device session ended: ask for a new link
        return redirect(url_for(".new_link"))
    if user.role != "company":
        abort(403)
    from .signoff import pending_for_current_user

    learners = access().learners_of(user.username)
    pending = pending_for_current_user()
    return render_template("company/home.html", learners=learners, pending=pending,
                           org=livret().project.store.settings())


@bp.route("/entreprise/nouveau-lien", methods=["GET", "POST"])
def new_link():
    """Ask for a fresh link by e-mail: the same answer whatever the address."""
    form = EmailForm()
    sent, status, headers = False, 200, {}
    if request.method == "POST":
        try:
            access().request_link(form.email.data or "", base_url=base_url(), client=origin())
        except RequestThrottled as exc:
            form.general_errors.append(_("Trop de demandes depuis cet appareil : réessayez dans une heure."))
            status, headers = 429, {"Retry-After": str(exc.retry_after)}
        else:
            sent = True
    return render_template("company/new_link.html", form=form, sent=sent), status, headers


# --------------------------------------------------------------------------
# The tutor's side
# --------------------------------------------------------------------------


def _inviter_profile(learner_id: str):
    """The learner's profile if the current user is their assigned tutor or an admin (403/404 otherwise)."""
    profile = profile_or_404_403(learner_id)
    user = current_user()
    if user.role not in ("tutor", "admin") or profile is None:
        abort(403)
    return profile


def _signed_in_or_login():
    if current_user() is None:
        return redirect(url_for("auth.login", next=back_here()))
    return None


@bp.route("/apprenants/<learner_id>/entreprise", methods=["GET", "POST"])
def invite(learner_id: str):
    """Invite the learner's company tutor, or send a known one a new link."""
    anonymous = _signed_in_or_login()
    if anonymous is not None:
        return anonymous
    profile = _inviter_profile(learner_id)
    ops = access()
    form = InviteForm()
    resend = AccountForm(prefix="renvoi")
    status, delivery = 200, None
    if request.method == "POST":
        author = current_user().username
        with refusals(form, STALE_MESSAGE) as refused:
            try:
                if "renvoi-username" in request.form:
                    username = resend.username.data or ""
                    if username not in profile.company_tutors or not USERNAME_RE.match(username):
                        raise InvalidInput([FieldError(("learner",), _(
                            "%(name)s n'a pas ce tuteur ou cette tutrice en entreprise", name=profile.name))])
                    known = ops.accounts.get(username)
                    if known is None or not known.email:
                        raise InvalidInput([FieldError(("learner",), _(
                            "le compte %(username)s n'a pas d'adresse e-mail : saisissez-la ci-dessous",
                            username=username))])
                    delivery = ops.send_link(learner_id, name=known.name, email=known.email, author=author,
                                             base_url=base_url())
                else:
                    delivery = ops.send_link(learner_id, name=form.name.data or "", email=form.email.data or "",
                                             author=author, base_url=base_url())
            except StoreError as exc:
                form.general_errors.append(str(exc))
                refused.status = 409
        if refused.status is None and delivery is not None:
            flash(_("Lien envoyé par courriel à %(name)s (%(email)s) ; il est valable 7 jours.",
                    name=delivery.name, email=delivery.email), "success")
            return redirect(url_for(".invite", learner_id=learner_id))
        status = refused.status or 422
    tutors = ops.company_tutors(learner_id)
    return render_template("company/invite.html", profile=profile, form=form, tutors=tutors), status


@bp.route("/apprenants/<learner_id>/entreprise/retirer", methods=["POST"])
def revoke(learner_id: str):
    """Withdraw a company tutor's access (unused links and device sessions)."""
    anonymous = _signed_in_or_login()
    if anonymous is not None:
        return anonymous
    profile = _inviter_profile(learner_id)
    form = AccountForm(prefix="retrait")
    username = form.username.data or ""
    if username not in profile.company_tutors:
        abort(404)
    try:
        ops = access()
        ops.revoke(username, author=current_user().username)
        known = ops.accounts.get(username)
    except InvalidInput:
        abort(404)
    flash(_("Accès retiré à %(name)s : ses liens et les appareils où il ou elle était connecté·e ne donnent plus "
            "accès. Un nouveau lien pourra lui être envoyé.", name=known.name if known else username), "success")
    return redirect(url_for(".invite", learner_id=learner_id))
