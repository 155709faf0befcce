"""« Sécurité du compte » (``/compte/securite``): the password, and the second factor (TOTP).

- Enrolment: the page draws a secret (pending until confirmed) and shows
  it as a QR code — inline SVG made here with segno, nothing loaded from
  elsewhere — and as text for manual entry; the factor is on only once a
  code computed from it is typed back.  The ten recovery codes are shown
  then, once (in the page that answers the POST, never in a flash message:
  those travel in the cookie).
- Regenerating the recovery codes, or turning the factor off, asks for the
  password or a current code (counted as a sign-in attempt: same limits).
- When the organisation requires the factor of the user's role
  (``security.require_totp``, :func:`livret.instance.totp.required_for`),
  every other page redirects here until it is on, and it cannot be turned
  off (an admin can reset it: ``/admin/comptes``).
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import PasswordField, StringField

from livret.instance.accounts import AccountError, LoginRefused
from livret.instance.totp import (
    RECOVERY_CODES,
    looks_like_code,
    provisioning_uri,
    required_for,
)

from .auth import current_user, login_required, origin, second_factor
from .filters import fr_datetime
from .state import livret

bp = Blueprint("account_security", __name__, url_prefix="/compte")

#: Reachable while an enrolment the organisation requires is not done (the rest redirects to it).
OPEN_ENDPOINTS = frozenset({"static", "auth.login", "auth.logout", "auth.second_step", "auth.password"})
#: Blueprints outside that rule: this page, one-time links, the API (personal tokens, no cookie) and
#: the well-known files.
OPEN_BLUEPRINTS = frozenset({"account_security", "onetime_links", "api", "wellknown"})


class ConfirmForm(FlaskForm):
    code = StringField(_l("Code affiché par l'application"),
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 10,
                                  "autocapitalize": "none", "spellcheck": "false"})


class ProofForm(FlaskForm):
    proof = PasswordField(_l("Mot de passe ou code de l'application"),
                          render_kw={"autocomplete": "current-password"})


def _required() -> bool:
    user = current_user()
    return user is not None and required_for(user.role, livret().project.store.settings())


@bp.before_app_request
def enrolment_first():
    """With ``security.require_totp``, a signed-in admin, tutor or auditor without a second factor
    goes to the enrolment page from every page (nothing else is served or written until it is on)."""
    user = current_user()
    if user is None or user.totp_enabled or request.endpoint is None:
        return None
    if request.endpoint in OPEN_ENDPOINTS or request.blueprint in OPEN_BLUEPRINTS:
        return None
    if not _required():
        return None
    return redirect(url_for("account_security.enrol"), 303)


@bp.app_template_filter("iso_datetime")
def iso_datetime(value: str | None) -> str:
    """A stored UTC ISO 8601 moment (a last sign-in) in the organisation's time zone, in French."""
    if not value:
        return "—"
    try:
        return fr_datetime(dt.datetime.fromisoformat(value))
    except ValueError:
        return value


def qr_svg(uri: str) -> Markup:
    """The QR code of ``uri`` as an inline SVG element (made here: no image fetched, no script)."""
    import segno

    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff",
                                                svgclass="qr-code")
    return Markup(svg.replace("<svg ", '<svg role="img" aria-labelledby="qr-caption" ', 1))


def _issuer() -> str:
    return livret().project.store.settings().name


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _proven(proof: str) -> str | None:
    """None when ``proof`` (the password, or a code) is right; else the French reason."""
    user = current_user()
    try:
        if user.totp_enabled and looks_like_code(proof):
            second_factor().verify(user.username, proof, origin=origin(), sign_in=False)
        else:
            livret().accounts.authenticate(user.username, proof, origin=origin())
    except LoginRefused as exc:
        return str(exc) if exc.retry_after else _("Mot de passe ou code incorrect.")
    except AccountError as exc:
        return _first_upper(str(exc))
    return None


@bp.route("/securite")
@login_required
def index():
    user = current_user()
    remaining = second_factor().remaining_codes(user.username) if user.totp_enabled else 0
    return render_template("account/security.html", user=user, remaining=remaining, required=_required(),
                           proof_form=ProofForm(), total=RECOVERY_CODES)


@bp.route("/securite/activation", methods=["GET", "POST"])
@login_required
def enrol():
    user = current_user()
    if user.totp_enabled:
        flash(_("Le second facteur est déjà activé."), "success")
        return redirect(url_for(".index"))
    factor = second_factor()
    form = ConfirmForm()
    error, status = None, 200
    if request.method == "POST":
        try:
            codes = factor.confirm(user.username, form.code.data or "")
        except AccountError as exc:
            error, status = _first_upper(str(exc)), 422
        else:
            return render_template("account/recovery_codes.html", codes=codes, enrolled=True)
    secret = factor.pending(user.username) or factor.begin(user.username)
    uri = provisioning_uri(secret, user.username, _issuer())
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("account/enrol.html", form=form, error=error, qr=qr_svg(uri), secret=grouped,
                           required=_required()), status


@bp.route("/securite/activation/recommencer", methods=["POST"])
@login_required
def restart():
    """A new secret (the previous QR code was not scanned in time, or seen by someone else)."""
    user = current_user()
    if not user.totp_enabled:
        second_factor().begin(user.username)
    return redirect(url_for(".enrol"), 303)


@bp.route("/securite/codes", methods=["POST"])
@login_required
def regenerate():
    user = current_user()
    form = ProofForm()
    if not user.totp_enabled:
        return redirect(url_for(".index"), 303)
    problem = _proven(form.proof.data or "")
    if problem:
        return _index_with_error(problem)
    codes = second_factor().regenerate_codes(user.username)
    return render_template("account/recovery_codes.html", codes=codes, enrolled=False)


@bp.route("/securite/desactiver", methods=["POST"])
@login_required
def disable():
    user = current_user()
    form = ProofForm()
    if not user.totp_enabled:
        return redirect(url_for(".index"), 303)
    if _required():
        return _index_with_error(_("Votre organisme exige le second facteur pour votre rôle : il ne peut pas être "
                                   "désactivé. Téléphone perdu ? Utilisez un code de secours, puis régénérez-les."))
    problem = _proven(form.proof.data or "")
    if problem:
        return _index_with_error(problem)
    second_factor().disable(user.username)
    flash(_("Second facteur désactivé : votre mot de passe suffit désormais pour vous connecter."), "success")
    return redirect(url_for(".index"), 303)


def _index_with_error(message: str):
    user = current_user()
    remaining = second_factor().remaining_codes(user.username) if user.totp_enabled else 0
    status = 429 if message.startswith("Trop de tentatives") else 422
    return render_template("account/security.html", user=user, remaining=remaining, required=_required(),
                           proof_form=ProofForm(), total=RECOVERY_CODES, error=message), status
