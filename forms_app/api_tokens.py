"""The "Jetons d'API" page: a signed-in person creates, sees and revokes their own API tokens.

A new token is shown once, in the page that answers the creation (never in
a flash message: those travel in the session cookie), then only its first
characters.  Everyone manages only their own tokens; an administrator uses
``livret token list|revoke`` for the others.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import StringField

from livret.instance.db import InstanceDB
from livret.instance.tokens import MAX_LABEL, TokenError, Tokens

from .auth import current_user, login_required
from .state import livret

bp = Blueprint("api_tokens", __name__)


class TokenForm(FlaskForm):
    label = StringField("Usage du jeton (facultatif)", render_kw={"maxlength": MAX_LABEL})


def _tokens() -> Tokens:
    return Tokens(InstanceDB.for_project(livret().project))


@bp.route("/compte/jetons", methods=["GET", "POST"])
@login_required
def index():
    if g.get("session_method") == "mail-link":
        abort(403)  # a company tutor's link session: a token would outlive the session's revocation
    form = TokenForm()
    user = current_user()
    secret, error, status = None, None, 200
    if request.method == "POST" and form.validate_on_submit():
        action = request.form.get("action")
        if action == "revoke":
            try:
                info = _tokens().revoke(int(request.form.get("token_id", "0")), username=user.username)
            except (TokenError, ValueError):
                return render_template("error.html", status=404, title=_("Jeton introuvable"),
                                       message=_("Ce jeton n'existe pas ou ne vous appartient pas."),
                                       detail=None), 404
            flash(_("Jeton %(shown)s révoqué : il n'ouvre plus l'API.", shown=info.shown), "success")
            return redirect(url_for(".index"))
        try:
            secret = _tokens().create(user.username, form.label.data or "")[1]
        except TokenError as exc:
            error, status = str(exc), 422
    elif request.method == "POST":
        status = 400
    return render_template("account/api_tokens.html", form=form, secret=secret, error=error,
                           tokens=_tokens().list(user.username)), status
