"""Signing sessions (émargement): the trainer's live page, the learner's « Émarger », the trainer's device.

Routes (docs/attendance.md, "Signing"):

- ``/seances/<chain_id>``: the session's staff page — for its trainer and
  admins the rotating QR code (« Exiger le code QR »), who has signed
  (refreshed from ``etat.json``), links to the trainer's device and the
  marks, « Signer la feuille »; read-only for auditors and for the tutors of
  an expected learner (their learners' lines only).  A learner is sent to
  « Émarger »; anyone else gets 404.
- ``/seances/<chain_id>/qr.svg`` (trainer, admin), ``etat.json`` (who sees the page);
- ``/seances/<chain_id>/emarger``: the learner signs on their own device
  (``?code=`` from the QR code); ``/appareil``: on the trainer's device;
- ``/seances/<chain_id>/releve``: marks; ``/contresigner``: the trainer's signature;
- ``/mes-seances``: the learner's sessions; ``/compte/code-personnel`` and
  ``/apprenants/<learner_id>/code-personnel``: personal codes.

A learner not expected at a session, and an unknown session, get the same
404.  Every refusal of the service is answered 422 with its reason, nothing
written.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from livret.attendance import qr
from livret.attendance.codes import PersonalCodes
from livret.attendance.drawing import WIDTH, strokes_from_svg
from livret.attendance.service import (
    AttendanceRefused,
    countersign,
    find_chain,
    is_trainer,
    mark,
    sign_session,
)
from livret.instance.accounts import LoginRefused
from livret.store import StoreError, UnknownLearner, valid_learner_id
from livret.store.errors import InvalidInput
from livret.store.schema import HALF_DAYS, MARK_STATUSES, SESSION_MODALITIES, SIGN_METHODS
from livret.views import attendance as va

from .auth import current_user, login_required, origin
from .french import ngettext
from .people import person
from .state import livret

bp = Blueprint("attendance", __name__)
log = logging.getLogger("livret.app")

#: How often the trainer's page refreshes the QR code and the list (seconds).
REFRESH_SECONDS = 5
FIELD_LABELS = {"strokes": _l("Signature dessinée"), "name": _l("Nom"), "signed_as": _l("Signature"),
                "status": _l("Relevé"), "minutes": _l("Minutes"), "reason": _l("Motif"), "note": _l("Note"),
                "proof": _l("Justificatif"), "code": _l("Code personnel"), "method": _l("Identification")}


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _store():
    return livret().project.store


def _db():
    return livret().accounts.db


def _chain_or_404(chain_id: str) -> va.Chain:
    chain = find_chain(_store(), chain_id)
    if chain is None:
        abort(404)
    return chain


def _settings():
    return _store().settings()


def _own_learner_id() -> str | None:
    """The learner whose account is the current user's."""
    user = current_user()
    store = _store()
    if user.role != "learner":
        return None
    if valid_learner_id(user.username):
        try:
            profile = store.profile(user.username)
        except UnknownLearner:
            profile = None
        if profile is not None and profile.account == user.username:
            return user.username
    for lid in store.learner_ids():
        try:
            profile = store.profile(lid)
        except UnknownLearner:
            continue
        if profile is not None and profile.account == user.username:
            return lid
    return None


def _profile_name(learner_id: str) -> str:
    try:
        profile = _store().profile(learner_id)
    except UnknownLearner:
        return learner_id
    return profile.name if profile is not None else learner_id


def _account_name(default: str) -> str:
    user = current_user()
    if user.display_name:
        return user.display_name
    known = person(user.username)
    return known if known != user.username else default


def _error_text(exc: InvalidInput) -> str:
    """The refusals, each naming its field (the service's messages already start with it)."""
    text = " ; ".join(e.message if " : " in e.message else f"{FIELD_LABELS.get(e.field, e.field)} : {e.message}"
                      for e in exc.errors)
    return text[:1].upper() + text[1:]


def _refused(message: str, back: str, status: int = 422):
    return render_template("attendance/refused.html", message=message[:1].upper() + message[1:], back=back), status


def _viewer(chain: va.Chain) -> tuple[bool, set[str] | None]:
    """(runs the session, learners shown or None for all) for the staff page; aborts for anyone else."""
    user = current_user()
    if is_trainer(chain, user.username, user.role):
        return True, None
    if user.role == "auditor":
        return False, None
    if user.role == "tutor":
        mine = {lid for lid, _ in _sheet(chain).rows if user.username in _tutors(lid)}
        if mine:
            return False, mine
    abort(404)


def _tutors(learner_id: str) -> list[str]:
    try:
        profile = _store().profile(learner_id)
    except UnknownLearner:
        return []
    return profile.tutors if profile is not None else []


def _sheet(chain: va.Chain) -> va.SessionSheet:
    sheet = va.session_sheet(_store(), chain.id, livret().now())
    if sheet is None:
        abort(404)
    return sheet


def _rows(chain: va.Chain, shown: set[str] | None) -> list[dict]:
    out = []
    tz = _settings().timezone
    for lid, row in _sheet(chain).rows:
        if shown is not None and lid not in shown:
            continue
        sig = row.signature
        out.append({
            "id": lid, "name": _profile_name(lid), "state": row.state, "label": va.STATES[row.state],
            "minutes": row.minutes_missed or None,
            "signed_at": sig.meta.date.astimezone(_zone(tz)).strftime("%H:%M") if sig else None,
            "method": SIGN_METHODS.get(sig.meta.method, "") if sig else "",
            "countersigned": row.countersignature is not None, "row": row,
        })
    return out


def _zone(tz: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(tz)


def _learner_or_404(chain: va.Chain) -> tuple[str, va.SessionRow]:
    """The current learner's id and row at this session; 404 when they are not expected (or not a learner)."""
    user = current_user()
    if user.role != "learner":
        abort(404)
    learner_id = _own_learner_id()
    if learner_id is None:
        abort(404)
    rows = va.learner_attendance(_store(), learner_id, livret().now(), audience="shared",
                                 all_chains={chain.id: chain})
    if not rows:
        abort(404)
    return learner_id, rows[0]


def _signature_image(learner_id: str, row: va.SessionRow) -> str | None:
    """The learner's own drawn signature as our SVG path data re-made from its strokes (never stored markup)."""
    sig = row.signature
    if sig is None or sig.meta.signed_as != "drawing" or not sig.meta.attachments:
        return None
    from livret.store import nofollow

    try:
        data = nofollow.read_bytes(_store().root, f"{learner_id}/{sig.meta.attachments[0]}", limit=256 * 1024)
        strokes = strokes_from_svg(data)
    except (OSError, ValueError):
        return None
    return " ".join("M" + " L".join(f"{x} {y}" for x, y in s) for s in strokes)


def _window(chain: va.Chain, device: bool = False) -> tuple[dt.datetime, dt.datetime]:
    settings = _settings()
    fn = va.trainer_device_window if device else va.signing_window
    return fn(chain.session, settings.attendance, settings.timezone)


def _session_context(chain: va.Chain) -> dict:
    s = chain.session
    return {"chain": chain, "session": s, "half_day": HALF_DAYS[s.half_day], "modality": SESSION_MODALITIES[s.modality],
            "trainer": s.trainer_name or person(s.trainer)}


@bp.app_context_processor
def _helpers() -> dict:
    return {"ATTENDANCE_STATES": va.STATES}


# --------------------------------------------------------------------------
# The trainer's page
# --------------------------------------------------------------------------


@bp.route("/seances/<chain_id>")
@login_required
def session_page(chain_id: str):
    chain = _chain_or_404(chain_id)
    if current_user().role == "learner":
        return redirect(url_for("attendance.sign", chain_id=chain.id))
    runs, shown = _viewer(chain)
    opens, closes = _window(chain)
    return render_template("attendance/session.html", **_session_context(chain), runs=runs,
                           rows=_rows(chain, shown), opens=opens, closes=closes,
                           qr_required=qr.qr_required(_db(), chain.id), refresh=REFRESH_SECONDS,
                           show_qr=runs and not chain.cancelled and chain.session.modality == "presentiel",
                           period=_settings().attendance.qr_period_seconds)


@bp.route("/seances/<chain_id>/qr.svg")
@login_required
def qr_image(chain_id: str):
    chain = _chain_or_404(chain_id)
    _trainer_or_403(chain)
    code = qr.current_code(_db(), chain.id, livret().now(), _settings().attendance.qr_period_seconds)
    url = url_for("attendance.sign", chain_id=chain.id, code=code, _external=True)
    response = make_response(qr.qr_svg(url))
    response.headers["Content-Type"] = "image/svg+xml"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/seances/<chain_id>/etat.json")
@login_required
def state_json(chain_id: str):
    chain = _chain_or_404(chain_id)
    if current_user().role == "learner":
        abort(404)
    _, shown = _viewer(chain)
    rows = [{k: v for k, v in r.items() if k != "row"} for r in _rows(chain, shown)]
    response = jsonify({"session": chain.id, "expected": len(rows),
                        "signed": sum(1 for r in rows if r["signed_at"]), "rows": rows})
    response.headers["Cache-Control"] = "no-store"
    return response


def _trainer_or_403(chain: va.Chain) -> None:
    user = current_user()
    if user.role == "learner":
        _learner_or_404(chain)  # a learner not expected: the session does not exist for them
        abort(403)
    if not is_trainer(chain, user.username, user.role):
        _viewer(chain)  # 404 for whoever does not see the session
        abort(403)


@bp.route("/seances/<chain_id>/exiger-qr", methods=["POST"])
@login_required
def require_qr(chain_id: str):
    chain = _chain_or_404(chain_id)
    _trainer_or_403(chain)
    required = request.form.get("required") == "1"
    qr.set_qr_required(_db(), chain.id, required, username=current_user().username)
    flash(_("Le code QR est exigé pour émarger.") if required else _("Le code QR n'est plus exigé."), "success")
    return redirect(url_for("attendance.session_page", chain_id=chain.id), 303)


@bp.route("/seances/<chain_id>/contresigner", methods=["POST"])
@login_required
def countersign_sheet(chain_id: str):
    chain = _chain_or_404(chain_id)
    _trainer_or_403(chain)
    user = current_user()
    back = url_for("attendance.session_page", chain_id=chain.id)
    try:
        done = countersign(_store(), chain.id, username=user.username, name=_account_name(user.username),
                           role=user.role, now=livret().now())
    except AttendanceRefused as exc:
        return _refused(str(exc), back)
    except StoreError as exc:
        return _refused(str(exc), back, 503)
    flash(ngettext("Feuille signée (%(num)d ligne).", "Feuille signée (%(num)d lignes).", len(done)), "success")
    return redirect(back, 303)


# --------------------------------------------------------------------------
# Marks
# --------------------------------------------------------------------------


@bp.route("/seances/<chain_id>/releve", methods=["GET", "POST"])
@login_required
def marks(chain_id: str):
    chain = _chain_or_404(chain_id)
    _trainer_or_403(chain)
    rows = _rows(chain, None)
    context = dict(_session_context(chain), rows=rows, statuses=MARK_STATUSES,
                   max_mb=_settings().uploads.max_mb, form={}, error=None)
    if request.method == "GET":
        return render_template("attendance/marks.html", **context)
    form = request.form
    proof = None
    for storage in request.files.values():
        try:
            if storage.name == "proof" and storage.filename:
                proof = (storage.filename, storage.read())
        finally:
            storage.close()  # (a large upload is a temporary file: closed once read)
    learner_id = form.get("learner", "")
    if learner_id not in {r["id"] for r in rows}:
        context.update(form=form, error=_("Apprenant·e : choisissez une personne attendue à la séance."))
        return render_template("attendance/marks.html", **context), 422
    user = current_user()
    try:
        mark(_store(), chain.id, learner_id, status=form.get("status", ""), minutes=form.get("minutes"),
             reason=form.get("reason"), note=form.get("note", ""), proof=proof, username=user.username,
             name=_account_name(user.username), role=user.role, now=livret().now())
    except (AttendanceRefused, InvalidInput) as exc:
        message = _error_text(exc) if isinstance(exc, InvalidInput) else str(exc)
        context.update(form=form, error=message[:1].upper() + message[1:])
        return render_template("attendance/marks.html", **context), 422
    except StoreError as exc:
        return _refused(str(exc), url_for("attendance.marks", chain_id=chain.id), 503)
    flash(_("Relevé enregistré pour %(name)s.", name=_profile_name(learner_id)), "success")
    return redirect(url_for("attendance.marks", chain_id=chain.id), 303)


# --------------------------------------------------------------------------
# The learner signs
# --------------------------------------------------------------------------


def _sign_form_values() -> tuple[str, object, str]:
    signed_as = request.form.get("signed_as", "")
    return signed_as, request.form.get("strokes"), request.form.get("name", "")


@bp.route("/seances/<chain_id>/emarger", methods=["GET", "POST"])
@login_required
def sign(chain_id: str):
    chain = _chain_or_404(chain_id)
    learner_id, row = _learner_or_404(chain)
    now = livret().now()
    opens, closes = _window(chain)
    code = request.values.get("code", "")
    settings = _settings()
    distance = chain.session.modality == "distance-synchrone"
    context = dict(_session_context(chain), row=row, opens=opens, closes=closes,
                   is_open=opens <= now < closes and row.signature is None and not chain.cancelled,
                   code=code, distance=distance, width=WIDTH, image=_signature_image(learner_id, row),
                   qr_required=not distance and qr.qr_required(_db(), chain.id), name_value="", error=None)
    if request.method == "GET":
        return render_template("attendance/sign.html", **context)
    back = url_for("attendance.sign", chain_id=chain.id)
    method = "password"
    if code and not distance:
        if not qr.valid_code(_db(), chain.id, code, now, settings.attendance.qr_period_seconds):
            return _refused(_("le code QR a expiré : scannez à nouveau le code affiché par le formateur"), back)
        method = "qr-code"
    elif context["qr_required"]:
        return _refused(_("le formateur exige le code QR : scannez le code affiché dans la salle"), back)
    signed_as, strokes, typed = _sign_form_values()
    name = typed if signed_as == "typed-name" else _account_name(_profile_name(learner_id))
    connection = {"ip": request.remote_addr or "", "user_agent": request.headers.get("User-Agent", "")}
    user = current_user()
    try:
        sign_session(_store(), chain.id, learner_id, username=user.username, name=name, role=user.role,
                     method=method, signed_as=signed_as, strokes=strokes,
                     connection=connection if distance else None, now=now)
    except AttendanceRefused as exc:
        if exc.unknown:
            abort(404)
        return _refused(str(exc), back)
    except InvalidInput as exc:
        context.update(error=_error_text(exc), name_value=typed)
        return render_template("attendance/sign.html", **context), 422
    except StoreError as exc:
        return _refused(str(exc), back, 503)
    flash(_("Émargement enregistré."), "success")
    return redirect(back, 303)


@bp.route("/seances/<chain_id>/appareil", methods=["GET", "POST"])
@login_required
def device(chain_id: str):
    chain = _chain_or_404(chain_id)
    _trainer_or_403(chain)
    now = livret().now()
    opens, closes = _window(chain, device=True)
    waiting = [r for r in _rows(chain, None) if r["row"].signature is None and r["state"] not in ("absent",
                                                                                                  "justified")]
    context = dict(_session_context(chain), waiting=waiting, opens=opens, closes=closes,
                   is_open=opens <= now < closes and not chain.cancelled, width=WIDTH, error=None, chosen="")
    if request.method == "GET":
        return render_template("attendance/device.html", **context)
    back = url_for("attendance.device", chain_id=chain.id)
    learner_id = request.form.get("learner", "")
    if learner_id not in {r["id"] for r in waiting}:
        context.update(error=_("Apprenant·e : choisissez votre nom dans la liste."))
        return render_template("attendance/device.html", **context), 422
    profile = _store().profile(learner_id)
    account = profile.account if profile is not None else None
    secret = request.form.get("secret", "")
    accounts = livret().accounts
    try:
        if account is None or accounts.get(account) is None:
            raise LoginRefused(_("Ce compte n'existe pas : demandez à l'équipe de créer votre compte."))
        if secret.isdigit() and len(secret) == 6:
            PersonalCodes(accounts).verify(account, secret, origin=origin())
        else:
            user = accounts.authenticate(account, secret, origin=origin())
            if user.username != account:
                raise LoginRefused(_("Mot de passe incorrect."))
    except LoginRefused as exc:
        log.info("appareil du formateur : identification refusée (séance %s, apprenant·e %s)", chain.id, learner_id)
        context.update(error=_("Identification refusée : %(reason)s Rien n'a été enregistré.", reason=str(exc)),
                       chosen=learner_id)
        return render_template("attendance/device.html", **context), 422
    signed_as, strokes, typed = _sign_form_values()
    name = typed if signed_as == "typed-name" else profile.name
    try:
        sign_session(_store(), chain.id, learner_id, username=account, name=name, role="learner",
                     method="trainer-device", signed_as=signed_as, strokes=strokes, now=now)
    except AttendanceRefused as exc:
        return _refused(str(exc), back)
    except InvalidInput as exc:
        context.update(error=_error_text(exc), chosen=learner_id)
        return render_template("attendance/device.html", **context), 422
    except StoreError as exc:
        return _refused(str(exc), back, 503)
    flash(_("Émargement de %(name)s enregistré.", name=profile.name), "success")
    return redirect(back, 303)


# --------------------------------------------------------------------------
# The learner's sessions, personal codes
# --------------------------------------------------------------------------


@bp.route("/mes-seances")
@login_required
def my_sessions():
    if current_user().role != "learner":
        abort(403)
    learner_id = _own_learner_id()
    now = livret().now()
    rows = [] if learner_id is None else va.learner_attendance(_store(), learner_id, now, audience="shared")
    today = now.date()
    current = [r for r in rows if r.session.date >= today]
    past = [r for r in rows if r.session.date < today][::-1]
    return render_template("attendance/mine.html", current=current, past=past, half_days=HALF_DAYS,
                           windows={r.chain.id: _window(r.chain) for r in current}, now=now)


@bp.route("/compte/code-personnel", methods=["GET", "POST"])
@login_required
def own_code():
    user = current_user()
    if user.role != "learner":
        abort(403)
    codes = PersonalCodes(livret().accounts)
    error = None
    if request.method == "POST":
        code, confirm = request.form.get("code", ""), request.form.get("confirm", "")
        try:
            if code != confirm:
                raise InvalidInput([])
            codes.set(user.username, code, by=user.username)
        except InvalidInput as exc:
            error = _error_text(exc) if exc.errors else _("Code personnel : les deux saisies diffèrent.")
        else:
            flash(_("Code personnel enregistré."), "success")
            return redirect(url_for("attendance.own_code"), 303)
    return render_template("attendance/code.html", has_code=codes.has_code(user.username), error=error), \
        422 if error else 200


@bp.route("/apprenants/<learner_id>/code-personnel", methods=["POST"])
@login_required
def generate_code(learner_id: str):
    user = current_user()
    if user.role not in ("tutor", "admin") or not valid_learner_id(learner_id):
        abort(403)
    try:
        profile = _store().profile(learner_id)
    except UnknownLearner:
        abort(404)
    if profile is None or (user.role == "tutor" and user.username not in profile.tutors):
        abort(403)
    if not profile.account or livret().accounts.get(profile.account) is None:
        return _refused(_("cet·te apprenant·e n'a pas de compte : créez-le d'abord"),
                        url_for("dashboard.learner", learner_id=learner_id))
    code = PersonalCodes(livret().accounts).generate(profile.account, by=user.username)
    log.info("code personnel généré : apprenant·e %s, par %s", learner_id, user.username)
    response = make_response(render_template("attendance/code_shown.html", code=code, learner=profile))
    response.headers["Cache-Control"] = "no-store"
    return response
