"""Signing off an entry, and what waits for a signature.

``POST /apprenants/<learner_id>/entrees/<entry_id>/signer`` writes the
current user's signature of an entry (:func:`livret.signoff.service.sign`):
a learner, a company tutor (signed in by password or by a mail link: the
signature records which, ``g.session_method``) or a tutor, when the
organisation's rules ask their role to sign that entry.  An unknown entry,
one the signer may not see, and a learner who is not theirs all get the
same 404 page (nothing tells that the entry exists); the other refusals
(already signed, not asked) are 422 with the reason.  Nothing is written
when refused.

The partial ``signoff/pending.html`` lists what the current user has to
sign, each with its form; :func:`pending_for_current_user` gives its list.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from livret.signoff.service import MAX_COMMENT, SignRefused, sign
from livret.store import LearnerRecord, StoreError, UnknownLearner, valid_learner_id
from livret.store.errors import InvalidInput
from livret.store.schema import SIGNER_ROLES, LearnerProfile
from livret.store.signatures import SealState, check_seal
from livret.views import signoffs as sv
from livret.views.progress import for_audience

from .auth import current_user, login_required, safe_next
from .people import author_of, person
from .state import livret

bp = Blueprint("signoff", __name__)
log = logging.getLogger("livret.app")


# --------------------------------------------------------------------------
# What waits, for pages
# --------------------------------------------------------------------------


def record_pending(record: LearnerRecord) -> list[sv.Pending]:
    """What waits for a signature on this learner (every role), computed once per state of its files."""
    store = livret().project.store
    rules = store.settings().signoff.rules
    if record.profile is None or not rules:
        return []
    key = ("signoffs", tuple(r.model_dump_json() for r in rules))
    return store.derived(record, key, lambda r: sv.pending_signoffs(r.profile, r.entries, rules, learner_id=r.id))


def _readable_records() -> list[LearnerRecord]:
    from .dashboard import readable_profiles  # (the dashboard imports this module)

    store = livret().project.store
    out = []
    for lid, profile in readable_profiles(current_user()).items():
        if profile is None:
            continue
        try:
            out.append(store.load_learner(lid))
        except UnknownLearner:
            continue
    return out


def all_pending(records: list[LearnerRecord] | None = None) -> list[sv.Pending]:
    """Every sign-off waiting on the learners the current user reads, oldest first."""
    if not livret().project.store.settings().signoff.rules:
        return []
    user = current_user()
    audience_shared = user.role not in ("tutor", "admin", "auditor")
    out = []
    for record in records if records is not None else _readable_records():
        for p in record_pending(record):
            if audience_shared and p.role != user.role:
                continue  # a learner or company tutor sees what they sign, not the staff's to-do list
            out.append(p)
    out.sort(key=lambda p: (p.since, p.learner_name, p.entry_id))
    return out


def pending_for_current_user(records: list[LearnerRecord] | None = None) -> list[sv.Pending]:
    """What the current user has to sign (on the learners they read), oldest first."""
    user = current_user()
    if user is None or user.role not in SIGNER_ROLES:
        return []
    return sv.pending_for(all_pending(records), user.role, user.username)


def signer_names(pending: sv.Pending) -> str:
    return ", ".join(person(u) for u in pending.signers)


def entry_signoffs(record: LearnerRecord, visible) -> tuple[dict[str, list[sv.SignatureView]],
                                                             dict[str, list[sv.Pending]]]:
    """For the entries of a page: (entry id -> its signatures as shown, entry id -> what still waits).

    ``visible``: the entries the page's audience sees (signatures included).
    The seal of each signature is checked against the files now.
    """
    store = livret().project.store
    bodies = {e.id: e.body for e in visible if e.type == "signature"}
    seals: dict[str, SealState] = {}
    grouped = sv.signatures_by_entry(visible)
    for sigs in grouped.values():
        for s in sigs:
            seals[s.id] = check_seal(store.root, s)
    shown = {eid: sv.signature_views(sigs, seals, bodies) for eid, sigs in grouped.items()}
    shared = {e.id for e in visible}
    waiting: dict[str, list[sv.Pending]] = {}
    for p in record_pending(record):
        if p.entry_id in shared:
            waiting.setdefault(p.entry_id, []).append(p)
    return shown, waiting


@bp.app_context_processor
def _helpers() -> dict:
    return {"author_of": author_of, "person": person, "sign_confirmation": sv.confirmation,
            "signer_names": signer_names, "MAX_SIGN_COMMENT": MAX_COMMENT}


# --------------------------------------------------------------------------
# The sign route
# --------------------------------------------------------------------------


def _assigned_profile_or_404(learner_id: str) -> LearnerProfile:
    """The learner's profile if the current user is one of its signers (by role), else 404 — before any form."""
    user = current_user()
    if not valid_learner_id(learner_id) or user.role not in SIGNER_ROLES:
        abort(404)
    try:
        profile = livret().project.store.profile(learner_id)
    except UnknownLearner:
        abort(404)
    if profile is None or user.username not in sv.expected_signers(profile, user.role):
        abort(404)  # not their learner: its entries do not exist for them (same answer as an unknown id)
    return profile


@bp.route("/apprenants/<learner_id>/entrees/<entry_id>/signer", methods=["POST"])
@login_required
def sign_entry(learner_id: str, entry_id: str):
    user = current_user()
    profile = _assigned_profile_or_404(learner_id)
    method = g.get("session_method", "password")
    comment = request.form.get("comment", "")
    back = safe_next(request.form.get("next")) or url_for("dashboard.learner", learner_id=learner_id)
    try:
        sign(livret().project.store, learner_id, entry_id, username=user.username, name=signer_name(user, profile),
             role=user.role, method=method, comment=comment, now=livret().now())
    except SignRefused as exc:
        if exc.unknown:
            abort(404)
        return _refused(str(exc), back, 422)
    except InvalidInput as exc:
        labels = {"comment": _("Commentaire"), "method": _("Identification")}
        text = " ; ".join(f"{labels.get(e.field, e.field)} : {e.message}" for e in exc.errors)
        return _refused(text, back, 422)
    except StoreError as exc:
        return _refused(str(exc), back, 503)
    flash(_("Signature enregistrée."), "success")
    return redirect(back, 303)


def signer_name(user, profile: LearnerProfile) -> str:
    """The signer's name as the signature keeps it: the account's name, ``_people.yml``, the learner's own
    name for their account, else the login."""
    if user.display_name:
        return user.display_name
    known = person(user.username)
    if known != user.username:
        return known
    if user.role == "learner" and profile.account == user.username:
        return profile.name
    return user.username


def _refused(message: str, back: str, status: int):
    return render_template("signoff/refused.html", message=message[:1].upper() + message[1:], back=back), status


# --------------------------------------------------------------------------
# Helpers for the learner page
# --------------------------------------------------------------------------


def learner_page_signoffs(record: LearnerRecord, audience: str) -> dict:
    """What the learner page shows about sign-offs (template variables)."""
    visible = for_audience(record.entries, audience)
    shown, waiting = entry_signoffs(record, visible)
    mine = [p for p in pending_for_current_user([record])]
    return {"signatures": shown, "waiting": waiting, "to_sign": mine}
