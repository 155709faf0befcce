"""Sign-in, sign-out and the authorization helpers every blueprint uses.

A view that shows or changes a learner's data starts with
``learner_or_404_403(learner_id)`` (or ``profile_or_404_403`` when the
profile is enough) and, to write, ``require_write(profile, entry_type)``.
Both abort with 403 *before* anything is read from the form or written, so a
refused request changes nothing.

Sessions are kept server-side (:mod:`livret.instance.sessions`): the
signed cookie carries only a random session id (and the CSRF secret).  The
id changes at every sign-in; sign-out ends the session in the database, so
a cookie captured earlier opens nothing; a password change, a disable or a
role change ends every session of the account (the person who changed their
password gets a new one).

An account with a second factor (:mod:`livret.instance.totp`) signs in in
two steps: a correct password puts a *pending* mark in the cookie (the
username, the account's stamp, the time; no session yet), and
``/connexion/code`` opens the session once a code (or a recovery code,
then spent) is right.  Wrong codes count as failed sign-ins (same limits as
passwords); the mark expires after five minutes.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField

from livret.attendance.reminders import take_notices
from livret.instance.access import can_read, can_write
from livret.instance.accounts import AccountError, LoginRefused, User
from livret.instance.passwords import POLICY_TEXT
from livret.instance.sessions import Sessions
from livret.instance.totp import SecondFactor
from livret.store import LearnerRecord, UnknownLearner, valid_learner_id
from livret.store.schema import LearnerProfile

from .security import SESSION_EXPIRES_KEY
from .state import livret

bp = Blueprint("auth", __name__)
log = logging.getLogger("livret.app")
#: The one key of the session cookie that says who is signed in (an opaque random id).
SESSION_KEY = "sid"
#: Key of the cookie that marks a sign-in waiting for its second factor (no session yet).
PENDING_KEY = "tfa"
#: How long a correct password waits for its second factor, in seconds.
PENDING_SECONDS = 5 * 60
#: What a device whose session the organisation revoked may still open (asking for a new link,
#: using one, signing in or out); anything else answers 410 (see forms_app.company).
REVOKED_ALLOWED = frozenset({"static", "company.new_link", "onetime_links.open_link", "auth.login", "auth.logout"})


# --------------------------------------------------------------------------
# Helpers (imported by the other blueprints)
# --------------------------------------------------------------------------


def current_user() -> User | None:
    return g.get("user")


def login_required(view: Callable) -> Callable:
    """Anonymous users are sent to the sign-in page, and back here afterwards."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_user() is None:
            return redirect(url_for("auth.login", next=back_here()))
        return view(*args, **kwargs)

    return wrapper


def roles_required(*roles: str) -> Callable:
    """Signed in with one of ``roles``, else 403."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user().role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


#: Every administration route: admins only (403 otherwise, before anything is read or written).
admin_required = roles_required("admin")


def _readable_or_403(profile: LearnerProfile | None) -> None:
    user = current_user()
    if user is None:
        abort(401)
    if profile is None:
        # An invalid profile says nothing about assignments: only roles that
        # read every learner may open it (to see what is wrong).
        if user.role not in ("admin", "auditor"):
            abort(403)
        return
    if not can_read(user.role, user.username, profile):
        abort(403)


def profile_or_404_403(learner_id: str) -> LearnerProfile | None:
    """The learner's profile if the current user may read it; 404 unknown, 403 refused."""
    if not valid_learner_id(learner_id):
        abort(404)
    try:
        profile = livret().project.store.profile(learner_id)
    except UnknownLearner:
        abort(404)
    _readable_or_403(profile)
    return profile


def learner_or_404_403(learner_id: str) -> LearnerRecord:
    """The learner's whole record if the current user may read it; 404 unknown, 403 refused."""
    profile_or_404_403(learner_id)
    return livret().project.store.load_learner(learner_id)


def require_write(profile: LearnerProfile | None, entry_type: str) -> None:
    """403 unless the current user may append an entry of this type for this learner."""
    user = current_user()
    if user is None or profile is None or not can_write(user.role, user.username, profile, entry_type):
        abort(403)


def back_here() -> str | None:
    """Where sign-in brings a GET back: the path, with its query only when there is one (``/``, not ``/?``)."""
    if request.method != "GET":
        return None
    return request.full_path if request.query_string else request.path


def safe_next(target: str | None) -> str | None:
    """Only a path on this site (never ``//host`` or a scheme): no open redirect."""
    if not target or any(c.isspace() or ord(c) < 32 for c in target):
        return None  # browsers drop tabs and newlines: "/\t/evil.example" would become "//evil.example"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def sessions() -> Sessions:
    return Sessions(livret().accounts.db)


def origin() -> str:
    """The client's address (the proxy's client with ``LIVRET_PROXY=1``): sessions and sign-in limits use it."""
    return request.remote_addr or ""


def open_session(user: User, *, method: str = "password", lifetime: int | None = None) -> None:
    """Sign ``user`` in: a new session id (the previous one, if any, ends), in a fresh cookie.

    ``method``: how the person was identified (``password``, ``mail-link``);
    ``lifetime`` (seconds): a session that lasts longer or shorter than the
    default, with a cookie that ends with it (the company tutor's device).
    """
    session_id = sessions().start(user, origin(), replacing=session.get(SESSION_KEY), lifetime=lifetime,
                                  method=method)
    session.clear()  # a new cookie on sign-in (no fixation), a new CSRF secret with it
    session[SESSION_KEY] = session_id
    if lifetime is not None:
        session[SESSION_EXPIRES_KEY] = int(time.time()) + lifetime
    session.permanent = True
    log.info("session ouverte : %s (%s, %s)", user.username, user.role, method)
    if user.role == "learner":  # a session they did not sign (livret.attendance.reminders): shown once
        for text in take_notices(livret().accounts.db, user.username):
            flash(text, "warning")


def start_second_step(user: User, next_url: str | None) -> None:
    """A correct password for an account with a second factor: mark the cookie (no session yet)."""
    session.pop(PENDING_KEY, None)
    session[PENDING_KEY] = {"u": user.username, "s": user.stamp, "t": time.time(), "n": next_url or ""}


def pending_second_step() -> dict | None:
    """The sign-in waiting for its code, if any and not expired."""
    mark = session.get(PENDING_KEY)
    if not isinstance(mark, dict) or not isinstance(mark.get("u"), str) or not isinstance(mark.get("t"), float | int):
        return None
    if not 0 <= time.time() - mark["t"] <= PENDING_SECONDS:
        return None
    return mark


def second_factor() -> SecondFactor:
    return SecondFactor(livret().accounts)


@bp.before_app_request
def load_user():
    g.user = None
    session_id = session.get(SESSION_KEY)
    if not session_id:
        return None
    state = sessions().current(session_id)
    if state.revoked:  # withdrawn by the organisation (a company tutor's device): say so, 410
        g.session_revoked = True
        if request.endpoint in REVOKED_ALLOWED:
            return None
        return render_template("company/revoked.html"), 410
    if state.user is None:  # unknown, expired, ended, or the account changed: signed out
        session.clear()
        return None
    g.user = state.user
    g.session_method = state.method
    return None


@bp.app_context_processor
def inject_user() -> dict:
    return {"current_user": current_user()}


# --------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------


class LoginForm(FlaskForm):
    username = StringField(_l("Identifiant"), render_kw={"autocomplete": "username", "autocapitalize": "none",
                                                    "spellcheck": "false"})
    password = PasswordField(_l("Mot de passe"), render_kw={"autocomplete": "current-password"})


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Mot de passe actuel"), render_kw={"autocomplete": "current-password"})
    new = PasswordField(_l("Nouveau mot de passe"), render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Nouveau mot de passe (confirmation)"), render_kw={"autocomplete": "new-password"})


@bp.route("/connexion", methods=["GET", "POST"])
def login():
    form = LoginForm()
    next_url = safe_next(request.values.get("next"))
    if current_user() is not None and request.method == "GET":
        return redirect(next_url or url_for("dashboard.index"))
    error, status, headers = None, 200, {}
    if request.method == "POST":
        username = (form.username.data or "").strip().lower()
        try:
            user = livret().accounts.authenticate(username, form.password.data or "", origin=origin())
        except LoginRefused as exc:
            error = str(exc)
            status = 429 if exc.retry_after else 401
            if exc.retry_after:
                headers["Retry-After"] = str(exc.retry_after)
        else:
            if user.totp_enabled:
                start_second_step(user, next_url)
                return redirect(url_for("auth.second_step"))
            open_session(user)
            flash(_("Bienvenue, %(name)s.", name=user.name), "success")
            return redirect(next_url or url_for("dashboard.index"))
    return render_template("auth/login.html", form=form, error=error, next_url=next_url), status, headers


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), render_kw={"autocomplete": "one-time-code", "autocapitalize": "none",
                                              "spellcheck": "false", "maxlength": 40})


@bp.route("/connexion/code", methods=["GET", "POST"])
def second_step():
    """The second step of a sign-in: a code of the authenticator app, or a recovery code."""
    mark = pending_second_step()
    if mark is None:
        session.pop(PENDING_KEY, None)
        if request.method == "POST":
            flash(_("La connexion a expiré : saisissez de nouveau votre mot de passe."), "error")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    error, status, headers = None, 200, {}
    if request.method == "POST":
        if not form.validate():
            error, status = _("Le formulaire a expiré : recommencez."), 400
        else:
            try:
                user, how = second_factor().verify(mark["u"], form.code.data or "", origin=origin(),
                                                   stamp=mark.get("s"))
            except LoginRefused as exc:
                error = str(exc)
                status = 429 if exc.retry_after else 401
                if exc.retry_after:
                    headers["Retry-After"] = str(exc.retry_after)
            except AccountError as exc:
                error, status = str(exc)[:1].upper() + str(exc)[1:] + ".", 409
            else:
                next_url = safe_next(mark.get("n"))
                open_session(user)  # (clears the pending mark with the old cookie)
                flash(_("Bienvenue, %(name)s.", name=user.name), "success")
                if how == "recovery":
                    left = second_factor().remaining_codes(user.username)
                    flash(_("Code de secours utilisé : il n'est plus valable. Il vous en reste %(n)d ; "
                            "régénérez-les depuis « Sécurité du compte ».", n=left), "warning")
                return redirect(next_url or url_for("dashboard.index"))
    return render_template("account/signin_code.html", form=form, error=error), status, headers


@bp.route("/deconnexion", methods=["POST"])
def logout():
    sessions().end(session.get(SESSION_KEY))
    session.clear()
    flash(_("Vous êtes déconnecté·e."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/compte/mot-de-passe", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        user = current_user()
        accounts = livret().accounts
        new = form.new.data or ""
        if new != (form.confirm.data or ""):
            errors["confirm"] = _("Les deux saisies du nouveau mot de passe diffèrent.")
        else:
            try:
                accounts.authenticate(user.username, form.current.data or "", origin=origin())
            except LoginRefused as exc:
                errors["current"] = str(exc) if exc.retry_after else _("Mot de passe actuel incorrect.")
            else:
                try:
                    accounts.set_password(user.username, new)
                except AccountError as exc:
                    errors["new"] = str(exc)[:1].upper() + str(exc)[1:] + "."
                else:
                    open_session(accounts.get(user.username))  # every other session has ended
                    flash(_("Mot de passe modifié. Vos autres sessions sont fermées."), "success")
                    return redirect(url_for("dashboard.index"))
        status = 422
    return render_template("auth/password.html", form=form, errors=errors, policy=POLICY_TEXT), status
