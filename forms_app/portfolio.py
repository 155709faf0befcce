"""The built portfolios, served behind sign-in: ``/portfolio/<learner-id>/<path>``.

Which site a user gets is the access policy's answer: ``build/staff/<id>/``
for tutors, auditors and admins, ``build/shared/<id>/`` for the learner and
company tutors (their site does not contain ``staff`` entries at all).

A path from the URL never reaches the filesystem unchecked: it is joined
with :func:`werkzeug.security.safe_join` (no ``..``, no absolute path), dot
files are refused, and the resolved file must lie inside the learner's site
or inside the theme assets the build shares between sites (``build/_assets/``,
reached through a link in each site).  Anything else is a 404.

While a learner's first build runs, a French "being generated" page reloads
itself every few seconds.
"""

from __future__ import annotations

import mimetypes
import time
from pathlib import Path

from flask import Blueprint, abort, redirect, render_template, request, send_file, url_for
from werkzeug.security import safe_join

from livret.instance.access import audience_for

from .auth import current_user, login_required, profile_or_404_403
from .errors import CLIENT_ERRNOS
from .state import livret

bp = Blueprint("portfolio", __name__)

#: The built pages need Material's inline bootstrap scripts; still nothing from another host.
SITE_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)
#: Served inline; any other type (attachments: PDF, office files, audio...) is a download.
INLINE = {"text/html", "text/css", "application/javascript", "text/javascript", "application/json",
          "image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml", "image/x-icon",
          "image/vnd.microsoft.icon", "font/woff", "font/woff2", "application/manifest+json",
          "text/xml", "application/xml", "application/pdf"}
ASSETS_DIR = "_assets"
REFRESH_SECONDS = 2
RETRY_FAILED_AFTER = 60.0


def site_root(audience: str, learner_id: str) -> Path:
    from livret.publish.build import site_dir

    return site_dir(livret().project, audience, learner_id)


def resolve(root: Path, assets: Path, path: str) -> Path | None:
    """The file a URL path names inside ``root`` (or the shared assets), else None.

    A path the file system refuses (a segment longer than it allows, a byte
    it cannot take) names no file: None, never an error.
    """
    try:
        return _resolve_checked(root, assets, path)
    except ValueError:  # a character the file system cannot encode
        return None
    except OSError as exc:
        if exc.errno in CLIENT_ERRNOS:
            return None
        raise


def _resolve_checked(root: Path, assets: Path, path: str) -> Path | None:
    if "\0" in path or any(part.startswith(".") for part in path.split("/") if part):
        return None
    joined = safe_join(str(root), path) if path else str(root)
    if joined is None:
        return None
    target = Path(joined).resolve()
    allowed = [root.resolve(), assets.resolve()]
    if not any(target == base or base in target.parents for base in allowed):
        return None  # a link leading out of the build
    if target.is_dir():
        target = target / "index.html"
    return target if target.is_file() else None


@bp.route("/portfolio/<learner_id>")
@login_required
def site_root_redirect(learner_id: str):
    return redirect(url_for(".site", learner_id=learner_id, path=""))


@bp.route("/portfolio/<learner_id>/", defaults={"path": ""})
@bp.route("/portfolio/<learner_id>/<path:path>")
@login_required
def site(learner_id: str, path: str):
    profile_or_404_403(learner_id)
    user = current_user()
    audience = audience_for(user.role)
    root = site_root(audience, learner_id)
    if not (root / "index.html").is_file():
        return _generating(learner_id)
    target = resolve(root, root.parent.parent / ASSETS_DIR, path)
    if target is None:
        abort(404)
    if path and not path.endswith("/") and target.name == "index.html" and not path.endswith("index.html"):
        # A folder without its slash: relative links inside the page need it.
        return redirect(request.path + "/")
    mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    response = send_file(target, mimetype=mime, conditional=True, max_age=0,
                         as_attachment=mime not in INLINE, download_name=target.name)
    response.headers["Content-Security-Policy"] = SITE_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _generating(learner_id: str):
    """The first build is queued (or running): say so, and reload until it is there."""
    worker = livret().rebuild
    failed, reason = False, None
    status = worker.status(learner_id) if worker is not None else None
    if status == "idle":
        state = worker.state(learner_id)
        # After a failure, say so for a while instead of rebuilding in a loop.
        failed = state.failed and time.monotonic() - (state.finished or 0) < RETRY_FAILED_AFTER
        reason = state.error
    if status in ("idle", "pending") and not failed:
        worker.request(learner_id)  # urgent: a waiting learner goes before the start-up rebuilds
    body = render_template("portfolio/generating.html", learner_id=learner_id, failed=failed, reason=reason,
                           refresh=REFRESH_SECONDS, worker=worker is not None)
    headers = {"Retry-After": str(REFRESH_SECONDS)}
    if not failed and worker is not None:
        headers["Refresh"] = str(REFRESH_SECONDS)
    return body, (500 if failed else 503), headers
