"""The « déclaration d'accessibilité » (``/accessibilite``, RGAA 4.1) and the footer's « Accessibilité : … ».

Public (no sign-in: the RGAA asks it to be reachable from every page,
the sign-in page included).  The text comes from the ``accessibility:``
block of ``_organisation.yml`` (:mod:`livret.views.accessibility`); the built
sites carry the same declaration (``accessibilite/``).
"""

from __future__ import annotations

from flask import Blueprint, render_template

from livret.views.accessibility import declaration, footer_label

from .state import livret

bp = Blueprint("accessibility", __name__)

#: What the app's declaration covers.
SERVICE = "le livret de suivi en ligne (application web)"


def _settings():
    return livret().project.store.settings()


@bp.app_context_processor
def _footer() -> dict:
    def accessibility_footer() -> str:
        try:
            return footer_label(_settings())
        except Exception:  # noqa: BLE001 - a footer never breaks a page (an unreadable _organisation.yml)
            return "Accessibilité : non conforme (aucun audit)"
    return {"accessibility_footer": accessibility_footer}


@bp.route("/accessibilite")
def statement():
    return render_template("accessibility/statement.html", sections=declaration(_settings(), SERVICE))
