"""Error pages in French, with the HTTP status the client needs.

A denied request (403), an unknown page (404), an expired form (400, CSRF),
a too large upload (413) or too many sign-in attempts (429) each get a page
that says what happened and what to do; nothing was changed.

Exceptions that are not bugs get their own status instead of a 500
(:func:`classify`, one table for the pages and the API):

- a path segment too long for the file system (``ENAMETOOLONG`` and the
  like, wherever a URL becomes a path) or a learner gone meanwhile: 404;
- an input the parsers cannot take (nested too deep: ``RecursionError``),
  a number beyond what the database stores: 400;
- a disk that refuses a write (full, read-only, failing) or an instance
  database that cannot be used now: 503 with the store's French message
  (:func:`livret.store.writer.storage_cause`) and ``Retry-After``.

Anything else is unexpected: logged (type and frames, never the message)
and answered 500; under testing it propagates, so tests see it.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import traceback
from collections.abc import Callable

from flask import Flask, current_app, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from livret.instance.db import InstanceDBError, unavailable_message
from livret.store import StoreError, UnknownLearner
from livret.store.writer import storage_cause

log = logging.getLogger("livret.app")

#: errno values a URL can cause once it is a path: a name too long, a loop of links, a byte the file system refuses.
CLIENT_ERRNOS = frozenset({errno.ENAMETOOLONG, errno.ELOOP, errno.EILSEQ})
#: Exception classes :func:`classify` knows; each gets an error handler (pages and API).
KNOWN = (OSError, sqlite3.Error, InstanceDBError, StoreError, RecursionError, OverflowError)
RETRY_AFTER = "30"


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Requête invalide"), _("La requête n'a pas pu être comprise. Rien n'a été modifié.")),
        403: (_("Accès refusé"), _("Votre compte n'a pas accès à cette page ou à cette action. "
                                   "Rien n'a été modifié.")),
        404: (_("Page introuvable"), _("Cette page n'existe pas, ou plus.")),
        405: (_("Méthode non permise"), _("Cette adresse ne s'utilise pas ainsi. Rien n'a été modifié.")),
        413: (_("Envoi trop volumineux"), _("Les fichiers envoyés dépassent la taille permise. "
                                            "Rien n'a été enregistré : réduisez la taille des pièces "
                                            "jointes ou envoyez-les en plusieurs fois.")),
        429: (_("Trop de tentatives"), _("Trop de tentatives en peu de temps. Patientez avant de réessayer.")),
        500: (_("Erreur interne"), _("Une erreur inattendue s'est produite. Rien n'a été modifié ; "
                                     "réessayez, puis prévenez l'administrateur si elle persiste.")),
        503: (_("Service momentanément indisponible"),
              _("Le serveur ne peut pas enregistrer pour l'instant. Rien n'a été modifié.")),
    }


def render_error(status: int, detail: str | None = None, headers: dict[str, str] | None = None):
    title, message = _messages().get(status, (_("Erreur"), _("La requête n'a pas abouti.")))
    body = render_template("error.html", status=status, title=title, message=message, detail=detail)
    return body, status, headers or {}


def classify(exc: BaseException) -> tuple[int, str | None] | None:
    """(status, French detail) for an exception that is not a bug, else None."""
    if isinstance(exc, UnknownLearner):
        return 404, None
    if isinstance(exc, OSError) and exc.errno in CLIENT_ERRNOS:
        return 404, None
    if isinstance(exc, RecursionError):
        return 400, _("La requête est imbriquée trop profondément pour être lue. Rien n'a été modifié.")
    if isinstance(exc, OverflowError):
        return 400, _("Un nombre de la requête dépasse les limites permises. Rien n'a été modifié.")
    if isinstance(exc, (sqlite3.Error, InstanceDBError)):
        message = unavailable_message(exc)
        return (503, message[:1].upper() + message[1:] + ".") if message else None
    if isinstance(exc, OSError):
        cause = storage_cause(exc, _("le disque du serveur"))
        return (503, _("%(cause)s : rien n'a été enregistré ; réessayez plus tard ou prévenez "
                       "l'administrateur.", cause=cause[:1].upper() + cause[1:])) if cause else None
    if isinstance(exc, StoreError):
        return 503, str(exc)[:1].upper() + str(exc)[1:] + "."
    return None


def log_unexpected(exc: BaseException) -> None:
    # Type and frames, not the message: it could quote user input (a staff entry).
    log.error("unexpected %s\n%s", type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))


def answer(exc: BaseException, render: Callable[..., object]):
    """The answer to ``exc`` through ``render(status, detail, headers=...)``: its status when
    :func:`classify` knows it, else the unexpected-error answer (under testing: raised again)."""
    found = classify(exc)
    if found is None:
        if current_app.testing:
            raise exc
        log_unexpected(exc)
        return render(500, None, headers=None)
    status, detail = found
    if status >= 500:
        log.warning("%d: %s (%s)", status, type(exc).__name__, detail)
    return render(status, detail, headers={"Retry-After": RETRY_AFTER} if status == 503 else None)


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return render_error(400, _("Le formulaire a expiré ou ne provient pas de cette application "
                                   "(jeton CSRF absent ou invalide). Rechargez la page et recommencez."))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        body, status, _headers = render_error(exc.code, getattr(exc, "livret_detail", None))
        return body, status, dict(exc.get_headers()) if exc.code in (405,) else {}

    def known_error(exc: Exception):
        return answer(exc, render_error)

    for cls in KNOWN:
        app.register_error_handler(cls, known_error)

    if app.testing:
        return  # let tests see the exception itself

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log_unexpected(exc)
        return render_error(500)
