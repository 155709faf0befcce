"""Share links, the audit pack download and the Qualiopi report.

Public, with no account: ``/s/<token>/<path>`` serves one learner's shared
site (``build/shared/<learner>/``) and nothing else.

- An unknown token is a 404; an expired or revoked one a 410 with a French
  page that says since when and whom to ask.  Nothing else is told: not the
  learner, not the label.
- The path is resolved like the signed-in portfolio (:func:`forms_app.portfolio.resolve`):
  no ``..``, no absolute path, no dot file, and the resolved file (symlinks
  followed) must lie inside that learner's shared site or the theme assets.
  Another learner, the staff site and the app are out of reach.
- Every page (HTML document) opened, and every refusal of a known link, is
  logged: when, which link, which page, the answer.
- Responses say ``X-Robots-Tag: noindex, nofollow`` and
  ``Referrer-Policy: no-referrer`` (the token must not leak to another site
  through a link the learner put in an entry), are never cached, and carry a
  CSP with no other host.

Signed in:

- ``/apprenants/<id>/partage``: the learner's links and their visit log;
  the learner (own), assigned tutors and admins create and revoke links
  (:func:`livret.instance.access.can_share`); auditors read the log.
- ``/apprenants/<id>/dossier-audit``: the audit pack, made by a background
  job (:mod:`forms_app.audit_pack`).
- ``/qualiopi`` and ``/qualiopi.csv``: the Qualiopi follow-up report, for
  admins and auditors.
"""

from __future__ import annotations

import datetime as dt
import mimetypes

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import NumberRange, Optional

from livret.instance.access import audience_for, can_share
from livret.instance.shares import MAX_LABEL, TOKEN_RE, ShareError, ShareLink, ShareLinks
from livret.store import PROFILE_FILE
from livret.views import qualiopi

from .auth import current_user, login_required, profile_or_404_403, roles_required
from .people import person
from .portfolio import ASSETS_DIR, INLINE, SITE_CSP, resolve, site_root
from .state import livret

bp = Blueprint("share", __name__)

#: The shared site needs Material's inline scripts; nothing from another host, no framing.
SHARE_CSP = SITE_CSP.replace("frame-ancestors 'self'", "frame-ancestors 'none'")
SHARE_HEADERS = {
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": SHARE_CSP,
}


def links() -> ShareLinks:
    return ShareLinks.for_project(livret().project)


def _shared(response: Response) -> Response:
    for key, value in SHARE_HEADERS.items():
        response.headers[key] = value
    return response


def _page(template: str, status: int, **context) -> Response:
    response = Response(render_template(template, **context), status=status, mimetype="text/html")
    return _shared(response)


# --------------------------------------------------------------------------
# Public: /s/<token>/
# --------------------------------------------------------------------------


@bp.route("/s/<token>")
def open_root(token: str):
    if not TOKEN_RE.match(token):
        return _unknown()
    return _shared(redirect(url_for(".open_link", token=token, path=""), code=308))


@bp.route("/s/<token>/", defaults={"path": ""})
@bp.route("/s/<token>/<path:path>")
def open_link(token: str, path: str):
    store = links()
    link = store.find(token)
    if link is None:
        return _unknown()
    page = "/" + path
    state = link.state()
    if state == "active" and not _learner_exists(link.learner):
        state = "removed"  # the link is valid, its portfolio is gone from the store
    if state != "active":
        store.log_visit(link, page, 410)
        return _page("share/gone.html", 410, link=link, state=state)
    root = site_root("shared", link.learner)
    if not (root / "index.html").is_file():
        livret().request_rebuild(link.learner)
        store.log_visit(link, page, 503)
        response = _page("share/generating.html", 503)
        response.headers["Retry-After"] = "5"
        return response
    # (a NUL byte makes the filesystem calls raise: refuse it first)
    target = None if "\x00" in path else resolve(root, root.parent.parent / ASSETS_DIR, path)
    if target is None:
        store.log_visit(link, page, 404)
        return _page("share/not_found.html", 404)
    if path and not path.endswith("/") and target.name == "index.html" and not path.endswith("index.html"):
        # A folder without its slash: relative links inside the page need it.
        return _shared(redirect(url_for(".open_link", token=token, path=path + "/")))
    mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if mime == "text/html":
        store.log_visit(link, page, 200)
    response = send_file(target, mimetype=mime, conditional=True, max_age=0,
                         as_attachment=mime not in INLINE, download_name=target.name)
    return _shared(response)


def _unknown() -> Response:
    return _page("share/not_found.html", 404)


def _learner_exists(learner_id: str) -> bool:
    """Whether the store still holds the learner (a removed one's site may linger in build/)."""
    store = livret().project.store
    return (store.learner_dir(learner_id) / PROFILE_FILE).is_file()


# --------------------------------------------------------------------------
# Signed in: managing a learner's links
# --------------------------------------------------------------------------


class ShareForm(FlaskForm):
    label = StringField("Pour qui est ce lien ?",
                        description="Par exemple « Entreprise Dupont » ou « Audit Qualiopi 2027 ».",
                        render_kw={"maxlength": MAX_LABEL})
    days = IntegerField("Durée de validité (jours)", validators=[Optional(), NumberRange(min=1)])


def _may_read_log(profile) -> bool:
    user = current_user()
    return can_share(user.role, user.username, profile) or user.role == "auditor"


def _manage_page(learner_id: str, profile, form: ShareForm, *, created_url: str | None = None,
                 status: int = 200):
    user = current_user()
    settings = livret().project.store.settings().share
    store = links()
    form.days.description = f"Par défaut {settings.default_days} jours ; au plus {settings.max_days} jours."
    body = render_template(
        "share/manage.html", profile=profile, learner_id=learner_id, form=form, links=store.list(learner_id),
        visits=store.visits(learner_id=learner_id, limit=200), created_url=created_url,
        may_share=can_share(user.role, user.username, profile), settings=settings,
        audience=audience_for(user.role), now=dt.datetime.now(dt.timezone.utc), person=person,
    )
    return body, status


@bp.route("/apprenants/<learner_id>/partage", methods=["GET", "POST"])
@login_required
def manage(learner_id: str):
    profile = profile_or_404_403(learner_id)
    if profile is None or not _may_read_log(profile):
        abort(403)
    user = current_user()
    settings = livret().project.store.settings().share
    form = ShareForm()
    if request.method == "GET":
        form.days.data = settings.default_days
        return _manage_page(learner_id, profile, form)
    if not can_share(user.role, user.username, profile):
        abort(403)
    if not form.validate_on_submit():
        return _manage_page(learner_id, profile, form, status=422)
    try:
        created = links().create(learner_id, created_by=user.username, label=form.label.data,
                                 days=form.days.data if form.days.data is not None else None)
    except ShareError as exc:
        field = {"durée": form.days, "libellé": form.label}.get(exc.field)
        (field.errors if field is not None else form.form_errors).append(exc.message)
        return _manage_page(learner_id, profile, form, status=422)
    url = request.host_url.rstrip("/") + f"/s/{created.token}/"
    return _manage_page(learner_id, profile, ShareForm(formdata=None, data={"days": settings.default_days}),
                        created_url=url, status=201)


@bp.route("/apprenants/<learner_id>/partage/<int:link_id>/revoquer", methods=["POST"])
@login_required
def revoke(learner_id: str, link_id: int):
    profile = profile_or_404_403(learner_id)
    user = current_user()
    if profile is None or not can_share(user.role, user.username, profile):
        abort(403)
    store = links()
    link: ShareLink | None = store.get(link_id)
    if link is None or link.learner != learner_id:
        abort(404)
    store.revoke(link_id, by=user.username)
    flash(f"Le lien « {link.label} » est révoqué : il répond désormais que le partage a pris fin.", "success")
    return redirect(url_for(".manage", learner_id=learner_id))


# --------------------------------------------------------------------------
# Signed in: the Qualiopi report (admins, auditors)
# --------------------------------------------------------------------------


#: CSS class of each status's badge: « à compléter » stands out, « écart à justifier » is neutral.
STATUS_BADGES = {qualiopi.RULE_MET: "badge ok", qualiopi.TO_JUSTIFY: "badge", qualiopi.TO_COMPLETE: "badge staff"}


def _reports():
    ctx = livret()
    return qualiopi.store_reports(ctx.project.store, ctx.today())


@bp.route("/qualiopi")
@roles_required("admin", "auditor")
def report():
    reports = _reports()

    def proof_url(learner_id: str, entry_id: str) -> str:
        return url_for("portfolio.site", learner_id=learner_id, path=f"entrees/{entry_id.lower()}/")

    return render_template("share/qualiopi.html", reports=reports, cohorts=qualiopi.cohorts(reports),
                           today=livret().today(), proof_url=proof_url, titles=qualiopi.TITLES, q=qualiopi,
                           badges=STATUS_BADGES)


@bp.route("/qualiopi.csv")
@roles_required("admin", "auditor")
def report_csv():
    data = qualiopi.to_csv(_reports()).encode("utf-8")
    response = Response(data, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    name = f"qualiopi-{livret().today().isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
