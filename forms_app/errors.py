"""Error pages in French, with the HTTP status the client needs.

A denied request (403), an unknown page (404), an expired form (400, CSRF),
a too large upload (413) or too many sign-in attempts (429) each get a page
that says what happened and what to do; nothing was changed.
"""

from __future__ import annotations

import logging
import traceback

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("livret.app")


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
    }


def render_error(status: int, detail: str | None = None):
    title, message = _messages().get(status, (_("Erreur"), _("La requête n'a pas abouti.")))
    return render_template("error.html", status=status, title=title, message=message, detail=detail), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return render_error(400, _("Le formulaire a expiré ou ne provient pas de cette application "
                                   "(jeton CSRF absent ou invalide). Rechargez la page et recommencez."))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        response, status = render_error(exc.code, getattr(exc, "livret_detail", None))
        return response, status, dict(exc.get_headers()) if exc.code in (405,) else {}

    if app.testing:
        return  # let tests see the exception itself

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        # Type and frames, not the message: it could quote user input (a staff entry).
        log.error("unexpected %s\n%s", type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))
        return render_error(500)
