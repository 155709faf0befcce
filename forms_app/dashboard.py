"""Dashboards and the learner page.

- A tutor sees the learners assigned to them, a company tutor their
  apprentices, admins and auditors everyone: one sortable table, most urgent
  first by default (sorting is done on the server, so it works without
  JavaScript).
- A learner lands on their own page: progress, what to do next, their
  entries.

Every figure comes from :func:`livret.views.progress.summary` and the other
derived views, so the dashboard, the built site and the API agree.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from livret.instance.access import audience_for, can_correct, can_read, writable_types
from livret.store import LearnerRecord
from livret.store.schema import TYPE_LABELS
from livret.views import progress

from .auth import current_user, learner_or_404_403, login_required
from .entries import latest_version
from .state import livret

bp = Blueprint("dashboard", __name__)


@dataclass
class Row:
    """One learner in a dashboard table; ``summary`` is None when the profile is invalid."""

    id: str
    record: LearnerRecord
    summary: progress.Summary | None


#: Sort keys of the dashboard table (query string ``tri``), missing values last.
SORTS = {
    "urgence": lambda r: r.summary.urgency,
    "nom": lambda r: r.summary.name.lower(),
    "progression": lambda r: r.summary.progress.share,
    "contact": lambda r: r.summary.days_since_last_contact,
    "action": lambda r: r.summary.next_action.due if r.summary.next_action else None,
    "assiduite": lambda r: r.summary.attendance_rate,
    "alertes": lambda r: len(r.summary.attention),
}


def sort_labels() -> dict[str, str]:
    return {"urgence": _("Urgence"), "nom": _("Nom"), "progression": _("Progression"),
            "contact": _("Dernier contact"), "action": _("Prochaine action"),
            "assiduite": _("Assiduité"), "alertes": _("Alertes")}


def sort_rows(rows: list[Row], key: str, descending: bool) -> list[Row]:
    """Rows sorted by ``key``; invalid profiles and missing values always come last."""
    get = SORTS.get(key, SORTS["urgence"])
    valid = [r for r in rows if r.summary is not None]
    known = [r for r in valid if get(r) is not None]
    missing = [r for r in valid if get(r) is None]
    known.sort(key=get, reverse=descending)
    return known + missing + [r for r in rows if r.summary is None]


#: Rows of the dashboard table per page (an admin of a big organisation sees thousands).
PAGE_SIZE = 100


def fold(text: str) -> str:
    """Lower case without accents: « Élodie » matches « elodie »."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def matching(rows: list[Row], query: str) -> list[Row]:
    """Rows whose learner name, programme or id holds every word of ``query``."""
    words = fold(query).split()
    if not words:
        return rows

    def text(row: Row) -> str:
        s = row.summary
        return fold(" ".join([row.id] + ([s.name, s.programme or ""] if s is not None else [])))

    kept = []
    for row in rows:
        found = text(row)
        if all(w in found for w in words):
            kept.append(row)
    return kept


def readable_rows(user) -> list[Row]:
    """The learners this user may read, each with its dashboard summary.

    A summary is computed once per state of the learner's files (and per
    day, audience and organisation settings): ``Store.derived``.
    """
    ctx = livret()
    store = ctx.project.store
    settings = store.settings()
    today = ctx.today()
    audience = audience_for(user.role)
    key = ("dashboard-summary", today, audience, settings.model_dump_json())
    rows = []
    for lid in store.learner_ids():
        profile = store.profile(lid)
        if profile is None:
            if user.role in ("admin", "auditor"):
                rows.append(Row(lid, store.load_learner(lid), None))
            continue
        if not can_read(user.role, user.username, profile):
            continue
        record = store.load_learner(lid)
        summary = store.derived(record, key, lambda r: progress.summary(r, settings, today, audience))
        rows.append(Row(lid, record, summary))
    return rows


@bp.route("/")
@login_required
def index():
    return redirect(url_for(".home"))


@bp.route("/tableau-de-bord")
@login_required
def home():
    user = current_user()
    rows = readable_rows(user)
    if user.role == "learner" and len(rows) == 1:
        return redirect(url_for(".learner", learner_id=rows[0].id))
    staff = audience_for(user.role) == "staff"
    labels = sort_labels()
    if not staff:
        del labels["alertes"]  # alerts are staff information
    key = request.args.get("tri", "urgence")
    key = key if key in labels else "urgence"
    descending = request.args.get("ordre") == "desc"
    query = " ".join(request.args.get("q", "").split())[:100]
    found = sort_rows(matching(rows, query), key, descending)
    pages = max(1, math.ceil(len(found) / PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    return render_template("dashboard/index.html", rows=found[(page - 1) * PAGE_SIZE:page * PAGE_SIZE],
                           stale=livret().stale_sites(),
                           witness_late=livret().seal.late() if user.role == "admin" else [],
                           total=len(rows), found=len(found), query=query, page=page, pages=pages,
                           page_size=PAGE_SIZE, sort=key, descending=descending, staff=staff, sort_labels=labels)


@bp.route("/apprenants/<learner_id>/")
@login_required
def learner(learner_id: str):
    record = learner_or_404_403(learner_id)
    user = current_user()
    audience = audience_for(user.role)
    ctx = livret()
    today = ctx.today()
    visible = progress.for_audience(record.entries, audience)
    summary = views = plans = None
    if record.profile is not None:
        summary = progress.summary(record, ctx.project.store.settings(), today, audience)
        plans = [p for p in progress.action_plans(visible, today) if p.status == "open"]
    if record.framework is not None:
        views = progress.competency_views(record.framework, visible)
    writable = writable_types(user.role, user.username, record.profile) if record.profile else []
    corrected = {e.meta.corrects for e in visible if e.meta.corrects}
    entries = progress.timeline(visible)
    return render_template(
        "dashboard/learner.html", record=record, profile=record.profile, summary=summary, views=views,
        stale=ctx.stale_sites().get(record.id),
        plans=plans, writable=writable, entries=entries, corrected=corrected, audience=audience,
        type_labels=TYPE_LABELS, can_correct=lambda e: bool(record.profile) and can_correct(
            user.role, user.username, record.profile, e.meta) and latest_version(visible, e.id) == e.id,
        scale=record.framework.scale if record.framework else None,
    )
