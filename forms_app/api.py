"""The JSON API under ``/api/v1`` (description: ``/api/v1/openapi.json``).

Callers authenticate with a personal token (``Authorization: Bearer
livret_…``, see :mod:`livret.instance.tokens`); cookies are ignored, which is why the
blueprint is exempt from CSRF.  The token's user then goes through exactly
the helpers the forms use (:func:`forms_app.auth.learner_or_404_403`,
:func:`forms_app.auth.require_write`), so the API can never see or write
more than the same person in a browser.  Learners and company tutors get the
shared view: ``staff`` entries are absent from every answer.

Entries are created by ``store.append_entry``, like the forms: same
validation (same French field errors), same file, same git commit, same
background rebuild.  Errors are RFC 9457 ``application/problem+json``
documents with one item per invalid field.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import traceback
from typing import Any

from flask import Blueprint, Response, g, request
from werkzeug.exceptions import HTTPException

from livret.attendance.schedule import FieldValueErrors, may_plan, split, trainer_choices, trainer_name
from livret.instance.access import audience_for, can_read, writable_types
from livret.instance.db import InstanceDB
from livret.instance.tokens import Tokens
from livret.interop.openapi import (
    API_PREFIX,
    PROBLEM_TYPE,
    LearnerDetail,
    LearnerList,
    LearnerSummary,
    Problem,
    ProblemItem,
    ProgressCount,
    SessionItem,
    Upload,
    openapi_document,
    session_wire_errors,
    wire_errors,
)
from livret.store import LearnerRecord, StoredEntry, StoreError, french
from livret.store.errors import FieldError, InvalidInput
from livret.store.schema import ENTRY_MODELS, LEARNER_ID_RE, USERNAME_RE
from livret.store.writer import NOT_DIRECT
from livret.views.attendance import load_chains
from livret.views.progress import competency_views, for_audience, progress

from . import csrf, errors, json_body
from .auth import current_user, learner_or_404_403, require_write
from .plan_forms import plan_contacts
from .state import livret

bp = Blueprint("api", __name__, url_prefix=API_PREFIX)
csrf.exempt(bp)
log = logging.getLogger("livret.api")

TITLES = {
    400: "Requête invalide", 401: "Authentification requise", 403: "Accès refusé",
    404: "Ressource introuvable", 405: "Méthode non permise", 409: "Données du dépôt invalides",
    413: "Requête trop volumineuse", 415: "Type de contenu non pris en charge",
    422: "Données invalides", 500: "Erreur interne", 503: "Service momentanément indisponible",
}
DETAILS = {
    401: "Envoyez un jeton personnel valide : Authorization: Bearer <jeton> (livret token create USER).",
    403: "Ce jeton n'a pas accès à cette ressource ou à cette action. Rien n'a été modifié.",
    404: "Cette ressource n'existe pas.",
    405: "Cette adresse ne s'utilise pas avec cette méthode. Rien n'a été modifié.",
    413: "Le corps de la requête dépasse la taille permise. Rien n'a été enregistré.",
    500: "Erreur inattendue. Rien n'a été modifié ; réessayez, puis prévenez l'administrateur.",
}


class ApiError(Exception):
    def __init__(self, status: int, detail: str | None = None, errors: list[FieldError] = ()):
        self.status, self.detail, self.errors = status, detail, list(errors)


def pointer(loc: tuple) -> str:
    """RFC 6901 pointer of a field location: ``("competencies", 0, "level")`` -> ``/competencies/0/level``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in loc)


def problem(status: int, detail: str | None = None, errors: list[FieldError] = (),
            headers: dict[str, str] | None = None) -> Response:
    if detail is None and errors:
        detail = f"{french.count(len(errors), 'champ invalide', 'champs invalides')} : rien n'a été enregistré."
    doc = Problem(
        title=TITLES.get(status, "Erreur"), status=status, detail=detail or DETAILS.get(status),
        errors=[ProblemItem(field=e.field, pointer=pointer(e.loc), detail=e.message) for e in errors],
    )
    response = Response(json.dumps(doc.model_dump(mode="json"), ensure_ascii=False), status,
                        mimetype=PROBLEM_TYPE)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="livret"'
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status, headers=headers, mimetype="application/json")


def _http_problem(exc: HTTPException) -> Response:
    headers = {}
    if exc.code == 405:
        headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
    return problem(exc.code or 500, None, headers=headers)


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return problem(exc.status, exc.detail, exc.errors)


@bp.errorhandler(HTTPException)
def _bp_http_error(exc: HTTPException):
    return _http_problem(exc)


@bp.record_once
def _problems_for_every_api_path(state) -> None:
    """Answer problem+json under /api/ also when no view was reached (404, 405) or a view crashed.

    Blueprint handlers only see errors raised inside the blueprint's views;
    routing errors and the app's catch-all are app-wide, so they are wrapped
    here for API paths and left as they were for every other page.
    """
    app = state.app
    spec = app.error_handler_spec.setdefault(None, {}).setdefault(None, {})
    previous_http = spec.get(HTTPException)
    previous_any = spec.get(Exception)

    def is_api() -> bool:
        return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")

    def http_error(exc: HTTPException):
        if is_api():
            return _http_problem(exc)
        return previous_http(exc) if previous_http else exc

    app.register_error_handler(HTTPException, http_error)
    for cls in errors.KNOWN:  # not bugs: a 4xx or 503 problem (forms_app.errors.classify)
        app.register_error_handler(cls, _known_for_api(is_api, spec.get(cls)))
    if previous_any is not None:  # not when testing: tests see the exception itself
        def any_error(exc: Exception):
            if is_api():
                log.error("unexpected %s\n%s", type(exc).__name__,
                          "".join(traceback.format_tb(exc.__traceback__)))
                return problem(500)
            return previous_any(exc)

        app.register_error_handler(Exception, any_error)


def _known_for_api(is_api, previous):
    def known(exc: Exception):
        if is_api():
            return errors.answer(exc, problem)
        return previous(exc) if previous else errors.answer(exc, errors.render_error)

    return known


# --------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------


@bp.before_request
def _authenticate():
    """The token's user becomes ``current_user()`` for the auth helpers; cookies never count."""
    g.user = None
    if request.endpoint == "api.openapi":
        return None
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return problem(401)
    info = Tokens(InstanceDB.for_project(livret().project)).authenticate(secret.strip())
    user = livret().accounts.get(info.username) if info else None
    if user is None or user.disabled:
        return problem(401)
    g.user = user
    return None


# --------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi():
    return _json(openapi_document())


def _views(record: LearnerRecord, audience: str):
    if record.framework is None:
        return []
    return competency_views(record.framework, for_audience(record.entries, audience))


def _entry_json(entry: StoredEntry) -> dict[str, Any]:
    """Front-matter keys as in the file, plus ``body`` without its final newline.

    (A read entry keeps the file's last newline, a freshly written one does
    not: the API gives the same text both ways.)
    """
    return {**entry.to_data(), "body": entry.body.strip("\n")}


def _valid_or_409(record: LearnerRecord) -> None:
    if record.profile is None or record.framework is None:
        raise ApiError(409, f"le profil ou le référentiel de {record.id} est invalide : "
                            "corrigez-le (livret check) avant d'utiliser l'API")


@bp.get("/learners")
def learners():
    user = current_user()
    store = livret().project.store
    audience = audience_for(user.role)
    out = []
    for lid in store.learner_ids():
        profile = store.profile(lid)
        if profile is None or not can_read(user.role, user.username, profile):
            continue
        record = store.load_learner(lid)
        counts = progress(_views(record, audience))
        out.append(LearnerSummary(id=lid, name=profile.name, programme=profile.programme,
                                  framework=profile.framework, status=profile.status,
                                  acquired=counts.acquired, total=counts.total))
    return _json(LearnerList(learners=out).model_dump(mode="json"))


@bp.get("/learners/<learner_id>")
def learner(learner_id: str):
    record = learner_or_404_403(learner_id)
    _valid_or_409(record)
    audience = audience_for(current_user().role)
    views = _views(record, audience)
    counts = progress(views)
    detail = LearnerDetail(profile=record.profile, audience=audience, competencies=views,
                           progress=ProgressCount(acquired=counts.acquired, total=counts.total,
                                                  percent=counts.percent))
    return _json(detail.model_dump(mode="json"))


@bp.get("/learners/<learner_id>/entries")
def entries(learner_id: str):
    record = learner_or_404_403(learner_id)
    _valid_or_409(record)
    visible = for_audience(record.entries, audience_for(current_user().role))
    return _json({"entries": [_entry_json(e) for e in visible]})


def _json_object(what: str, keys: str) -> dict[str, Any]:
    """The request's JSON object; 415, 400/413 or 422 problems otherwise."""
    if not request.is_json:
        raise ApiError(415, f"envoyez {what} en JSON (Content-Type: application/json)")
    try:
        data = json_body.parse(request.get_data(cache=False))
    except json_body.BodyError as exc:
        raise ApiError(exc.status, exc.detail) from None
    if not isinstance(data, dict):
        raise ApiError(422, f"un objet JSON est attendu ({keys})")
    return data


def _require_some_write(record: LearnerRecord) -> None:
    user = current_user()
    if record.profile is None or not writable_types(user.role, user.username, record.profile):
        raise ApiError(403)


@bp.post("/learners/<learner_id>/entries")
def create_entry(learner_id: str):
    record = learner_or_404_403(learner_id)
    _valid_or_409(record)
    _require_some_write(record)
    data = _json_object("l'entrée", "les clés de l'en-tête et « body »")
    entry_type = data.get("type")
    if isinstance(entry_type, str) and entry_type in ENTRY_MODELS and not ENTRY_MODELS[entry_type].direct:
        raise ApiError(422, None, [FieldError(("type",), NOT_DIRECT[entry_type])])  # signatures: the sign button
    if isinstance(entry_type, str) and entry_type in ENTRY_MODELS:
        require_write(record.profile, entry_type)
    errors = wire_errors(data)
    if errors:
        raise ApiError(422, None, errors)
    fields = dict(data)
    body = fields.pop("body", "")
    user = current_user()
    try:
        stored = livret().project.store.append_entry(
            record.id, fields, body, author=user.username, role=user.role, author_name=user.display_name or None,
            contacts=plan_contacts(record.profile) if fields.get("type") == "planned-meeting" else None)
    except InvalidInput as exc:
        raise ApiError(422, None, exc.errors) from None
    except StoreError as exc:
        raise ApiError(503, str(exc)) from None
    return _json(_entry_json(stored), 201, headers={"Location": f"{API_PREFIX}/learners/{record.id}/entries"})


@bp.post("/learners/<learner_id>/files")
def upload(learner_id: str):
    record = learner_or_404_403(learner_id)
    _valid_or_409(record)
    _require_some_write(record)
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "envoyez le fichier en multipart/form-data, champ « file »")
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        raise ApiError(400, "champ « file » absent ou sans nom de fichier")
    data = sent.read()
    try:
        path = livret().project.store.save_attachment(record.id, sent.filename, data,
                                                      author=current_user().username)
    except InvalidInput as exc:
        raise ApiError(422, None, [FieldError(("file",) + tuple(e.loc[2:]), e.message)
                                   for e in exc.errors]) from None
    except StoreError as exc:
        raise ApiError(503, str(exc)) from None
    return _json(Upload(path=path, size=len(data)).model_dump(mode="json"), 201)


# --------------------------------------------------------------------------
# Training sessions (docs/attendance.md, « Sessions »)
# --------------------------------------------------------------------------

SESSION_READERS = ("tutor", "admin", "auditor")


def _session_item(chain) -> dict[str, Any]:
    return SessionItem(chain=chain.id, cancelled=chain.cancelled, versions=len(chain.versions),
                       session=chain.session).model_dump(mode="json")


def _query_date(name: str):
    text = request.args.get(name)
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else dt.date.fromisoformat("")
    except ValueError:
        raise ApiError(422, None, [FieldError((name,), "date AAAA-MM-JJ attendue")]) from None


@bp.get("/sessions")
def list_sessions():
    if current_user().role not in SESSION_READERS:
        raise ApiError(403)
    start, end = _query_date("from"), _query_date("to")
    group, trainer = request.args.get("group"), request.args.get("trainer")
    for name, value, pattern in (("group", group, LEARNER_ID_RE), ("trainer", trainer, USERNAME_RE)):
        if value is not None and not pattern.fullmatch(value):
            raise ApiError(422, None, [FieldError((name,), "identifiant invalide")])
    chains = load_chains(livret().project.store, start, end)
    out = [_session_item(c) for c in chains.values()
           if (not start or c.session.date >= start) and (not end or c.session.date <= end)
           and (group is None or c.session.group == group) and (trainer is None or c.session.trainer == trainer)]
    return _json({"sessions": out})


def _located(loc: tuple) -> tuple:
    """A store error's location in the request: ``sessions.<i>.<key>`` -> ``<key>``, convocations -> learners."""
    if loc[:1] == ("sessions",):
        loc = loc[2:]
        return ("start", *loc[1:]) if loc[:1] == ("half_day",) else loc
    if loc[:1] == ("convocations",):
        return ("learners", *loc[2:])
    return loc


@bp.post("/sessions")
def create_session():
    user = current_user()
    if user.role not in ("tutor", "admin"):
        raise ApiError(403)
    data = _json_object("la séance", "les clés de la séance")
    errors = session_wire_errors(data)
    if errors:
        raise ApiError(422, None, errors)
    store = livret().project.store
    fields = dict(data)
    learners = list(fields.pop("learners", None) or [])
    accounts = livret().accounts.list()
    if fields.get("trainer") and fields["trainer"] not in dict(trainer_choices(accounts)):
        raise ApiError(422, None, [FieldError(("trainer",), "aucun compte formateur (tuteur ou administrateur "
                                                            f"actif) : {fields['trainer']}")])
    group = store.groups().get(fields["group"]) if fields.get("group") else None
    if fields.get("group") and group is None:
        raise ApiError(422, None, [FieldError(("group",), f"groupe inconnu : {fields['group']}")])
    if group is None and not learners:
        raise ApiError(422, None, [FieldError(("group",), "indiquez un groupe ou des apprenant·es (learners)")])
    profiles = {lid: store.profile(lid) for lid in store.learner_ids()}
    unknown = [FieldError(("learners", i), f"apprenant·e inconnu·e : {lid}")
               for i, lid in enumerate(learners) if lid not in profiles]
    if unknown:
        raise ApiError(422, None, unknown)
    if not may_plan(user.role, user.username, group, learners, profiles):
        raise ApiError(403, "ce groupe ou ces apprenant·es ne sont pas dans votre suivi : rien n'a été enregistré")
    if fields.get("trainer") and not fields.get("trainer_name"):
        fields["trainer_name"] = trainer_name(accounts, fields["trainer"])
    settings = store.settings().attendance
    try:
        items = split(fields, settings.lunch_start, settings.lunch_end)
        written = store.write_sessions(items, author=user.username, author_name=user.display_name or None,
                                       convocations={i: learners for i in range(len(items))} if learners else None,
                                       message=f"Séance planifiée (API) : {str(fields.get('title'))[:80]}")
    except FieldValueErrors as exc:
        raise ApiError(422, None, exc.errors) from None
    except InvalidInput as exc:
        raise ApiError(422, None, list(dict.fromkeys(FieldError(_located(tuple(e.loc)), e.message)
                                                     for e in exc.errors))) from None
    except StoreError as exc:
        raise ApiError(503, str(exc)) from None
    out = [SessionItem(chain=s.id, cancelled=False, versions=1, session=s.session).model_dump(mode="json")
           for s in written]
    return _json({"sessions": out}, 201, headers={"Location": f"{API_PREFIX}/sessions"})
