"""« Mot de passe oublié ? » (``/connexion/oubli``): a reset link mailed to the address's account.

Anyone may ask (no sign-in).  The answer is the same page and status
whether the address belongs to an account or not, to a disabled one, or to
a company tutor without a password (:mod:`livret.admin.forgotten`); only an
enabled account of that address gets a mail, with a one-time link valid one
hour.  Requests are limited per address and per client (429 beyond, whatever
the address).  A malformed address is refused with a message at the field
(it names no account).  The link itself opens the page of
:mod:`forms_app.onetime_links`, which sets the password on a button press.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField

from livret.admin.forgotten import FORGOTTEN_TTL, ForgottenPassword
from livret.instance.accounts import AccountError, clean_email

from .auth import origin
from .french import ngettext
from .state import livret

bp = Blueprint("password_reset", __name__)


class ForgottenForm(FlaskForm):
    email = StringField(_l("Adresse e-mail de votre compte"),
                        render_kw={"type": "email", "autocomplete": "email", "maxlength": 200,
                                   "autocapitalize": "none", "spellcheck": "false"})


def base_url() -> str:
    """Where the mailed link points: the organisation's public address, else the address in use."""
    return livret().project.store.settings().public_url or request.url_root


@bp.route("/connexion/oubli", methods=["GET", "POST"])
def forgotten():
    form = ForgottenForm()
    status, headers, done = 200, {}, False
    if request.method == "POST":
        if not form.validate():  # the CSRF token
            form.email.errors = [_("Le formulaire a expiré : recommencez.")]
            return render_template("auth/forgotten.html", form=form, done=False,
                                   hours=int(FORGOTTEN_TTL.total_seconds() // 3600)), 400
        address = (form.email.data or "").strip()
        try:
            if not clean_email(address):
                raise AccountError(_("saisissez l'adresse e-mail de votre compte"))
        except AccountError as exc:
            form.email.errors = [str(exc)[:1].upper() + str(exc)[1:] + "."]
            status = 422
        else:
            ctx = livret()
            answer = ForgottenPassword(ctx.project.store, ctx.accounts).request(
                address, origin=origin(), base_url=base_url())
            if answer.retry_after:
                minutes = max(1, (answer.retry_after + 59) // 60)
                form.email.errors = [ngettext(
                    "Trop de demandes de nouveau mot de passe. Réessayez dans %(num)d minute.",
                    "Trop de demandes de nouveau mot de passe. Réessayez dans %(num)d minutes.", minutes)]
                status, headers = 429, {"Retry-After": str(answer.retry_after)}
            else:
                done = True
                if ctx.mail is not None:
                    ctx.mail.wake()
    return render_template("auth/forgotten.html", form=form, done=done,
                           hours=int(FORGOTTEN_TTL.total_seconds() // 3600)), status, headers
