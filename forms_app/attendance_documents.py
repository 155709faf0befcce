"""Downloads of the attendance documents (docs/attendance.md, « Documents »).

- ``/seances/<chain_id>/emargement.pdf``: the feuille d'émargement of a
  session.  It is the organisation's document, every expected learner on
  it: the session's trainer, admins and auditors only; anyone else (a
  tutor who does not run it included) gets the 404 of an unknown session.
- ``/apprenants/<learner_id>/emargement/<YYYY-MM>.pdf``: a learner's month
  (half-day grid): the learner's tutors, admins and auditors.
- ``/apprenants/<learner_id>/certificat.pdf?du=YYYY-MM-DD&au=YYYY-MM-DD``:
  the certificat de réalisation (default period: the programme's start to
  today, or its end): the learner's tutors, admins, auditors and the
  learner themselves.
- ``/seances/financeurs.csv?mois=YYYY-MM[&groupe=<id>]``: the funders'
  hours per learner for a month: admins only.
- ``/seances/mois/<YYYY-MM>/emargement.pdf[?groupe=<id>]`` and
  ``/seances/mois/<YYYY-MM>/releves.pdf[?groupe=<id>]``: every session sheet
  of the month, and every learner's month, each in one PDF (what a funder
  asks for): admins and auditors.

Authorization first (nothing is read before it); then a bad parameter is a
400 page naming it; a certificat without the organisation's signatory is a
422 naming the setting.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, request

from livret.attendance import documents
from livret.attendance.service import find_chain, is_trainer

from .auth import current_user, login_required, profile_or_404_403, roles_required
from .errors import render_error
from .state import livret

bp = Blueprint("attendance_documents", __name__)

#: Roles that read every expected learner's line (with :func:`is_trainer`: the session's trainer, admins).
READERS = ("admin", "auditor")
STAFF = ("tutor", "admin", "auditor")


def _download(data: bytes, mimetype: str, name: str) -> Response:
    response = Response(data, mimetype=mimetype)
    if mimetype == "text/csv":
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _bad(message: str):
    return render_error(400, message[:1].upper() + message[1:] + ".")


@bp.route("/seances/<chain_id>/emargement.pdf")
@login_required
def session_sheet(chain_id: str):
    user = current_user()
    store = livret().project.store
    chain = find_chain(store, chain_id)
    if chain is None or not (is_trainer(chain, user.username, user.role) or user.role in READERS):
        abort(404)
    data = documents.session_sheet_pdf(store, chain.id, livret().now())
    return _download(data, "application/pdf", f"emargement-{chain.session.date.isoformat()}-"
                                              f"{chain.session.half_day}.pdf")


def _staff_learner(learner_id: str) -> None:
    profile_or_404_403(learner_id)
    if current_user().role not in STAFF:
        abort(403)


@bp.route("/apprenants/<learner_id>/emargement/<month>.pdf")
@login_required
def learner_month(learner_id: str, month: str):
    _staff_learner(learner_id)
    try:
        documents.parse_month(month)
    except documents.DocumentError as exc:
        return _bad(str(exc))
    data = documents.learner_month_pdf(livret().project.store, learner_id, month, livret().now())
    return _download(data, "application/pdf", f"emargement-{learner_id}-{month}.pdf")


def _date_param(name: str, default: dt.date) -> dt.date:
    value = request.args.get(name)
    if value is None or value == "":
        return default
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise documents.DocumentError(f"{name} : date attendue au format AAAA-MM-JJ (lu : {value[:20]!r})") from None


@bp.route("/apprenants/<learner_id>/certificat.pdf")
@login_required
def certificate(learner_id: str):
    profile = profile_or_404_403(learner_id)
    if profile is None or current_user().role not in (*STAFF, "learner"):
        abort(403)
    today = livret().today()
    try:
        start = _date_param("du", profile.start)
        end = _date_param("au", min(today, profile.end) if profile.end else today)
        if end < start:
            raise documents.DocumentError("au : la fin de la période précède son début (du)")
    except documents.DocumentError as exc:
        return _bad(str(exc))
    try:
        data = documents.certificate_pdf(livret().project.store, learner_id, start, end, livret().now())
    except documents.DocumentError as exc:
        message = str(exc)
        return render_error(422, message[:1].upper() + message[1:] + ".")
    return _download(data, "application/pdf", f"certificat-realisation-{learner_id}-{start.isoformat()}-"
                                              f"{end.isoformat()}.pdf")


@bp.route("/seances/financeurs.csv")
@roles_required("admin")
def funders():
    month, group = request.args.get("mois"), request.args.get("groupe") or None
    if not month:
        return _bad("mois : indiquez le mois (AAAA-MM)")
    try:
        data = documents.funders_csv(livret().project.store, month, group, livret().now())
    except documents.DocumentError as exc:
        return _bad(str(exc))
    return _download(data, "text/csv", f"heures-financeurs-{month}{'-' + group if group else ''}.csv")


def _month_document(month: str, make, name: str):
    """One of the month's PDFs (``make(store, month, group, now)``), for admins and auditors."""
    group = request.args.get("groupe") or None
    try:
        data = make(livret().project.store, month, group, livret().now())
    except documents.DocumentError as exc:
        return _bad(str(exc))
    return _download(data, "application/pdf", f"{name}-{month}{'-' + group if group else ''}.pdf")


@bp.route("/seances/mois/<month>/emargement.pdf")
@roles_required(*READERS)
def month_sheets(month: str):
    return _month_document(month, documents.month_sheets_pdf, "feuilles-emargement")


@bp.route("/seances/mois/<month>/releves.pdf")
@roles_required(*READERS)
def month_grids(month: str):
    return _month_document(month, documents.learner_months_pdf, "releves-mensuels")
