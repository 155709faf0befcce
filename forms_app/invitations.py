"""A tutor invites a learner to their own account: ``/apprenants/<learner_id>/inviter``.

The learner's tutors (assigned in the profile) and admins may; anyone else
gets 403 before anything is read from the form or written.  The form is
prefilled with the profile's e-mail address (editable); the account is
created by :mod:`livret.admin.learner_invitation` (the checks of the
administration pages, one commit authored by the inviter) and its
invitation is mailed through the outbox.  The page that answers says to
which address the invitation went; the link itself is never shown.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField

from livret.admin.accounts import profile_revision
from livret.admin.learner_invitation import LearnerInvitation
from livret.store import StoreError
from livret.store.errors import InvalidInput
from livret.store.records import StaleWrite
from livret.store.schema import LearnerProfile

from .admin_support import AdminForm
from .auth import current_user, login_required, profile_or_404_403
from .state import livret

bp = Blueprint("invitations", __name__)
log = logging.getLogger("livret.app")

STALE = _l("Le profil a été modifié entre-temps : rien n'a été enregistré. Rechargez la page et recommencez.")


class InviteForm(AdminForm):
    email = StringField(_l("Adresse e-mail de l'apprenant·e"),
                        description=_l("L'invitation (un lien valable 7 jours pour choisir son mot de passe) "
                                       "est envoyée à cette adresse."),
                        render_kw={"type": "email", "maxlength": 200, "autocomplete": "off",
                                   "autocapitalize": "none", "spellcheck": "false"})
    revision = HiddenField()


def may_invite(profile: LearnerProfile | None) -> bool:
    """Admins, and the learner's own tutors."""
    user = current_user()
    if user is None or profile is None:
        return user is not None and user.role == "admin"
    return user.role == "admin" or (user.role == "tutor" and user.username in profile.tutors)


def base_url() -> str:
    return livret().project.store.settings().public_url or request.url_root


@bp.route("/apprenants/<learner_id>/inviter", methods=["GET", "POST"])
@login_required
def invite(learner_id: str):
    profile = profile_or_404_403(learner_id)
    if not may_invite(profile):
        abort(403)
    ctx = livret()
    service = LearnerInvitation(ctx.project.store, ctx.accounts)
    if request.method == "GET":
        form = InviteForm(formdata=None, data={"email": profile.email if profile else "",
                                               "revision": profile_revision(ctx.project.store, learner_id) or ""})
        return _page(form, learner_id, profile)
    form = InviteForm()
    if not form.validate():  # the CSRF token
        form.general_errors.append(_("Le formulaire a expiré : recommencez."))
        return _page(form, learner_id, profile, status=400)
    try:
        created = service.invite(learner_id, email=form.email.data or "", author=current_user().username,
                                 base_url=base_url(), revision=form.revision.data or None)
    except StaleWrite:
        form.general_errors.append(str(STALE))
        return _page(form, learner_id, profile, status=409)
    except StoreError as exc:
        form.general_errors.append(str(exc))
        return _page(form, learner_id, profile, status=503)
    except InvalidInput as exc:
        form.place_errors(exc.errors)
        return _page(form, learner_id, profile, status=422)
    if ctx.mail is not None:
        ctx.mail.wake()
    log.info("invitation de l'apprenant·e %s par %s : compte %s", learner_id, current_user().username,
             created.user.username)
    return render_template("invitations/sent.html", profile=profile, learner_id=learner_id, created=created,
                           delivery=created.invitation)


def _page(form: InviteForm, learner_id: str, profile: LearnerProfile | None, *, status: int = 200):
    return render_template("invitations/form.html", form=form, learner_id=learner_id, profile=profile,
                           errors=form.all_errors()), status
