"""Template filters and globals: the French formatting of :mod:`livret.views.progress`."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Flask

from livret.instance.access import audience_for
from livret.store import schema
from livret.views import progress

from . import french
from .state import livret


def _local(value: dt.datetime) -> dt.datetime:
    return value.astimezone(ZoneInfo(livret().project.store.settings().timezone))


def fr_datetime(value: dt.datetime | None) -> str:
    return "—" if value is None else progress.fr_datetime(_local(value))


#: The roles whose main menu offers « Jetons d'API »: those who connect software (an ERP, an LMS, a
#: spreadsheet).  Everyone else may still use the API: their tokens are one link away, in « Sécurité du compte ».
API_MENU_ROLES = ("admin", "tutor")


def init_app(app: Flask) -> None:
    french.init_app(app)  # ngettext by the French plural rule, number filters
    app.add_template_filter(progress.fr_date, "fr_date")
    app.add_template_filter(fr_datetime, "fr_datetime")
    app.add_template_filter(progress.percent, "percent")
    app.add_template_filter(progress.duration, "duration")
    app.jinja_env.globals.update(
        TYPE_LABELS=schema.TYPE_LABELS,
        ROLE_LABELS=schema.ROLE_LABELS,
        VISIBILITY_LABELS=schema.VISIBILITY_LABELS,
        SEVERITIES=schema.SEVERITIES,
        PLAN_STATUSES=schema.PLAN_STATUSES,
        audience_for=audience_for,
        API_MENU_ROLES=API_MENU_ROLES,
    )
