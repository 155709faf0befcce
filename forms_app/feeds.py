"""Calendar feeds and mail preferences (issue 16).

- ``/agenda/abonnement`` (signed in: tutor, admin, learner, company tutor): the person's secret feed
  URL, shown once when created or regenerated (only its hash is kept), with how to subscribe in
  Thunderbird, Outlook, Google Agenda or a phone; « Régénérer » (POST + CSRF) makes the old URL
  answer 404 at once.
- ``/agenda/<token>.ics``: the feed (:mod:`livret.planning.feeds`), ``text/calendar``,
  ``Cache-Control: private``, an ETag (``If-None-Match`` answers 304: polling is cheap).  An
  unknown token, a disabled account or a role without a feed: 404.
- ``/compte/courriels`` (signed in): which scheduled mails the person gets.
- ``/desabonnement/<token>``: the one-click unsubscribe link of every scheduled mail; a GET shows a
  button, the POST (the button, or a mail client's ``List-Unsubscribe-Post``, RFC 8058) unsubscribes.
  The signed token is the authorisation (no CSRF token: a mail client posts it alone).
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from livret.instance.db import InstanceDB
from livret.mail.preferences import KINDS, KINDS_BY_ROLE, MailPreferences, user_subject
from livret.planning.feeds import FEED_ROLES, FeedTokens, feed_for, feed_url

from . import csrf
from .auth import current_user, login_required, roles_required
from .state import livret

bp = Blueprint("feeds", __name__)


class ActionForm(FlaskForm):
    """A POST with nothing but its CSRF token."""


def _tokens() -> FeedTokens:
    return FeedTokens(InstanceDB.for_project(livret().project))


def _preferences() -> MailPreferences:
    return MailPreferences(InstanceDB.for_project(livret().project))


def _base() -> str:
    return (livret().project.store.settings().public_url or request.host_url).rstrip("/")


@bp.route("/agenda/abonnement", methods=["GET", "POST"])
@roles_required(*FEED_ROLES)
def subscription():
    user = current_user()
    form = ActionForm()
    url, status = None, 200
    if request.method == "POST":
        if not form.validate_on_submit():
            status = 400
        else:
            url = feed_url(_base(), _tokens().issue(user.username))
    return render_template("feeds/subscription.html", form=form, url=url, info=_tokens().info(user.username),
                           role=user.role), status


@bp.route("/agenda/<token>.ics")
def feed(token: str):
    project = livret().project
    username = _tokens().owner(token)
    user = livret().accounts.get(username) if username else None
    if user is None or user.disabled or user.role not in FEED_ROLES:
        abort(404)
    body = feed_for(project, user.role, user.username, name=user.name, now=livret().now(), base_url=_base())
    etag = hashlib.sha256(body).hexdigest()[:32]
    headers = {"Cache-Control": "private, max-age=300", "ETag": f'"{etag}"',
               "Content-Disposition": 'inline; filename="agenda.ics"'}
    if etag in request.if_none_match:
        return Response(status=304, headers=headers)
    return Response(body, status=200, headers=headers, content_type="text/calendar; charset=utf-8")


@bp.route("/compte/courriels", methods=["GET", "POST"])
@login_required
def preferences():
    user = current_user()
    kinds = KINDS_BY_ROLE.get(user.role, ())
    subject = user_subject(user.username)
    form = ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        chosen = set(request.form.getlist("kinds"))
        _preferences().choose(subject, {kind: kind in chosen for kind in kinds})
        flash(_("Vos choix de courriels sont enregistrés."), "success")
        return redirect(url_for(".preferences"))
    refused = _preferences().refused(subject)
    return render_template("feeds/preferences.html", form=form, kinds=[(k, KINDS[k], k not in refused) for k in kinds],
                           user=user)


@bp.route("/desabonnement/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    found = _preferences().read_token(token)
    if found is None:
        return render_template("error.html", status=404, title=_("Lien de désabonnement invalide"),
                               message=_("Ce lien de désabonnement n'est pas valide : copiez-le en entier depuis "
                                         "le courriel, ou choisissez vos courriels dans votre compte."),
                               detail=None), 404
    subject, kind = found
    done = False
    if request.method == "POST":
        _preferences().set(subject, kind, False)
        done = True
    return render_template("feeds/unsubscribe.html", kind_label=KINDS[kind], done=done,
                           account=subject.startswith("user:"))
