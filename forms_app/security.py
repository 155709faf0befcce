"""Secret key, session cookie and HTTP security headers.

- The secret key comes from ``LIVRET_SECRET_KEY`` or is generated once into
  ``instance/secret_key`` (mode 0600).  There is no default in code: a key
  that ships with the source signs nobody's session safely.
- The session cookie is HttpOnly and SameSite=Lax, and Secure when
  ``LIVRET_HTTPS=1`` or when the request came over HTTPS (behind a proxy,
  with ``LIVRET_PROXY=1`` so that ``X-Forwarded-Proto`` is trusted).
- Every response gets a Content-Security-Policy without external hosts,
  ``nosniff``, a strict Referrer-Policy and frame-ancestors.  Views may set
  their own CSP first (the built portfolios need inline scripts).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from flask import Flask, Response, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

SECRET_FILE = "secret_key"
MIN_SECRET = 32
#: Cookie key holding when a session with its own lifetime ends (epoch seconds; the company tutor's
#: 30-day device session): the cookie then lives exactly as long as its server-side row.
SESSION_EXPIRES_KEY = "exp"

APP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "oui")


def https_forced() -> bool:
    return _flag("LIVRET_HTTPS")


def load_secret_key(instance: Path) -> str:
    """``LIVRET_SECRET_KEY``, else the key in ``instance/secret_key``, created on first use."""
    env = os.environ.get("LIVRET_SECRET_KEY", "")
    if env:
        if len(env) < MIN_SECRET:
            raise RuntimeError(f"LIVRET_SECRET_KEY est trop courte : au moins {MIN_SECRET} caractères")
        return env
    path = Path(instance) / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if len(key) < MIN_SECRET:
            raise RuntimeError(f"{path} est vide ou trop court : supprimez-le pour en générer un nouveau") from None
        return key
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
        f.flush()
        os.fsync(f.fileno())
    return key


class SessionInterface(SecureCookieSessionInterface):
    """Marks the cookie Secure whenever the request itself came over HTTPS; a session with its own
    lifetime (:data:`SESSION_EXPIRES_KEY`) gets a cookie that ends with it."""

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config["SESSION_COOKIE_SECURE"]:
            return True
        return has_request_context() and request.is_secure

    def get_expiration_time(self, app: Flask, session) -> dt.datetime | None:
        expires = session.get(SESSION_EXPIRES_KEY) if session.permanent else None
        if isinstance(expires, int | float) and not isinstance(expires, bool):
            return dt.datetime.fromtimestamp(expires, tz=dt.UTC)
        return super().get_expiration_time(app, session)


def _headers(response: Response) -> Response:
    h = response.headers
    h.setdefault("Content-Security-Policy", APP_CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
    if request.is_secure:
        h.setdefault("Strict-Transport-Security", "max-age=31536000")
    if "Cache-Control" not in h:
        # Pages hold personal data: never keep them in a shared cache or the back-forward cache.
        h["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    if _flag("LIVRET_PROXY"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)
    app.session_interface = SessionInterface()
    app.after_request(_headers)
