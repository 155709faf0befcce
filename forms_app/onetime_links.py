"""One-time links, the account holder's side: ``/lien/<token>``.

The link an admin hands over (an invitation, a password reset; later the
company tutor's link) opens a page; looking at it never uses it (mail
scanners and link previews open links).  Only the button does: the POST
(with its CSRF token) checks the new password against the policy, then uses
the link and sets the password in one transaction (a link works once, also
under concurrent presses), opens a session and goes to the dashboard — or,
for an account with a second factor, to the code step of the sign-in; the
organisation's required enrolment takes over from there when it applies.

An unknown, used, revoked or expired link, or one whose account is
disabled, gets one page and one status (404): nothing tells which.

Other purposes register their page in :data:`HANDLERS` (purpose -> view
taking ``(token, link)``): one table, one address, several uses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField

from livret.instance.accounts import AccountError, check_password, hash_password
from livret.instance.onetime import OneTimeLink, OneTimeLinks
from livret.instance.passwords import POLICY_TEXT

from .auth import open_session, start_second_step
from .state import livret

bp = Blueprint("onetime_links", __name__, url_prefix="/lien")
log = logging.getLogger("livret.app")

#: Purposes whose link lets its owner choose a password.
PASSWORD_PURPOSES = ("reset", "invitation")
#: Pages of the other purposes (the company tutor's link...): purpose -> view(token, link).
HANDLERS: dict[str, Callable[[str, OneTimeLink], object]] = {}


class NewPasswordForm(FlaskForm):
    new = PasswordField(_l("Nouveau mot de passe"), render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Nouveau mot de passe (confirmation)"), render_kw={"autocomplete": "new-password"})


def links() -> OneTimeLinks:
    return OneTimeLinks(livret().accounts.db)


def invalid_link():
    """The one answer for a link that opens nothing, whatever the reason."""
    return render_template("links/invalid.html"), 404


@bp.route("/<token>", methods=["GET", "POST"])
def open_link(token: str):
    link = links().peek(token)
    if link is None:
        return invalid_link()
    handler = HANDLERS.get(link.purpose)
    if handler is not None:
        return handler(token, link)
    if link.purpose not in PASSWORD_PURPOSES:
        return invalid_link()
    accounts = livret().accounts
    user = accounts.get(link.subject)
    if user is None or user.disabled:
        return invalid_link()
    form = NewPasswordForm()
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        new = form.new.data or ""
        if new != (form.confirm.data or ""):
            errors["confirm"] = _("Les deux saisies du mot de passe diffèrent.")
        else:
            try:
                check_password(new, user.username)
            except AccountError as exc:
                errors["new"] = str(exc)[:1].upper() + str(exc)[1:] + "."
        if not errors:
            encoded = hash_password(new)
            try:
                used = links().consume(token, link.purpose,
                                       within=lambda conn, row: accounts.store_password(conn, row.subject, encoded))
            except AccountError:
                used = None  # disabled meanwhile: the link stays unused, and opens nothing
            if used is None:
                return invalid_link()
            log.info("lien à usage unique utilisé : %s n°%d, compte %s", used.purpose, used.id, used.subject)
            user = accounts.get(used.subject)
            if user.totp_enabled:
                start_second_step(user, None)
                flash(_("Mot de passe enregistré. Saisissez maintenant un code de votre application "
                        "d'authentification."), "success")
                return redirect(url_for("auth.second_step"))
            open_session(user)
            accounts.record_login(user.username)
            flash(_("Mot de passe enregistré : vous êtes connecté·e."), "success")
            return redirect(url_for("dashboard.index"))
        status = 422
    return render_template("links/password.html", form=form, errors=errors, user=user, purpose=link.purpose,
                           policy=POLICY_TEXT), status
