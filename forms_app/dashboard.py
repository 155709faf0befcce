"""Dashboards and the learner page.

- A tutor sees the learners assigned to them, a company tutor their
  apprentices, admins and auditors everyone: one sortable table, most urgent
  first by default (sorting is done on the server, so it works without
  JavaScript).
- Filters (query string ``groupe``, ``tuteur``, ``formation``, ``statut``,
  ``attention=1``), the search (``q``), the sort (``tri``, ``ordre``) and
  the pages combine; the filters that need only profiles and groups are
  applied before any record is read (:mod:`livret.views.roster`), so a
  narrowed dashboard of a big organisation reads only what it shows.
  ``/tableau-de-bord/export.csv`` gives the same list (every page) as a CSV
  for French Excel, with the same authorization.
- A learner lands on their own page: progress, what to do next, their
  entries.

Every figure comes from :func:`livret.views.progress.summary` and the other
derived views, so the dashboard, the built site and the API agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from livret.admin.first_steps import checklist
from livret.instance.access import audience_for, can_correct, can_read, writable_types
from livret.store import UnknownLearner
from livret.store.schema import LEARNER_STATUSES, TYPE_LABELS, Group, LearnerProfile
from livret.views import progress, roster
from livret.views.derived_attendance import AttendanceContext
from livret.views.levels import chip_html, level_mark
from livret.views.roster import SORTS, Filters, Row, fold, matching, sort_rows  # noqa: F401 - re-exported
from livret.views.spreadsheet import csv_text

from .auth import current_user, learner_or_404_403, login_required
from .entries import latest_version
from .plans import dashboard_plans, learner_page_plans
from .signoff import all_pending, learner_page_signoffs, pending_for_current_user
from .state import livret

bp = Blueprint("dashboard", __name__)


@bp.app_template_global("level_chip")
def level_chip(scale, event) -> Markup:
    """A level event's chip (label, meter of its rank, tone; livret/views/levels.py), « — » without one."""
    return Markup(chip_html(level_mark(scale, event.level if event else None)))


def sort_labels() -> dict[str, str]:
    return {"urgence": _("Urgence"), "nom": _("Nom"), "progression": _("Progression"),
            "contact": _("Dernier contact"), "action": _("Prochaine action"),
            "assiduite": _("Assiduité"), "alertes": _("Alertes")}


#: Rows of the dashboard table per page (an admin of a big organisation sees thousands).
PAGE_SIZE = 100
#: Roles that see the tutors column and filter by tutor (they read every learner).
ROSTER_ROLES = ("admin", "auditor")


def readable_profiles(user) -> dict[str, LearnerProfile | None]:
    """The learners this user may read, with their profile (None when invalid: admins and auditors only).

    Cheap: a profile's parse is cached by date and size.
    """
    store = livret().project.store
    out: dict[str, LearnerProfile | None] = {}
    for lid in store.learner_ids():
        try:
            profile = store.profile(lid)
        except UnknownLearner:  # removed meanwhile
            continue
        if profile is None:
            if user.role in ROSTER_ROLES:
                out[lid] = None
        elif can_read(user.role, user.username, profile):
            out[lid] = profile
    return out


def readable_rows(user, filters: Filters | None = None, members: dict[str, frozenset[str]] | None = None,
                  profiles: dict[str, LearnerProfile | None] | None = None) -> list[Row]:
    """The learners this user may read that pass the profile filters, each with its dashboard summary.

    Records and summaries are read only for the learners kept, and a summary
    is computed once per state of the learner's files (and per day, audience
    and organisation settings): ``Store.derived``.
    """
    ctx = livret()
    store = ctx.project.store
    settings = store.settings()
    today = ctx.today()
    audience = audience_for(user.role)
    signed = AttendanceContext.load(store, ctx.now())  # the sessions, read once for every row
    key = ("dashboard-summary", today, audience, settings.model_dump_json(), signed.key)
    filters = filters or Filters()
    members = members or {}
    rows = []
    for lid, profile in (readable_profiles(user) if profiles is None else profiles).items():
        if not roster.keep_profile(lid, profile, filters, members):
            continue
        try:
            record = store.load_learner(lid)
        except UnknownLearner:
            continue
        if record.profile is None:
            rows.append(Row(lid, record, None, None))
            continue
        summary = store.derived(record, key, lambda r: progress.summary(r, settings, today, audience,
                                                                        signed.rows(r, audience)))
        rows.append(Row(lid, record, summary, record.profile))
    return rows


@dataclass
class Listing:
    """The dashboard's rows for a request: filtered, searched and sorted (every page)."""

    rows: list[Row]
    total: int
    filters: Filters
    query: str
    sort: str
    descending: bool
    staff: bool
    roster_view: bool
    labels: dict[str, str]
    choices: roster.Choices
    groups: dict[str, Group]
    #: Every learner the user reads, with its profile (None when invalid).
    profiles: dict[str, LearnerProfile | None]

    def args(self, **over) -> dict[str, str]:
        """Query-string arguments that keep this listing (sort, search, filters), for links."""
        out = {"tri": self.sort, "ordre": "desc" if self.descending else None, "q": self.query or None,
               **self.filters.args()}
        out.update(over)
        return {k: v for k, v in out.items() if v is not None}


def listing(user) -> Listing:
    """The dashboard of ``user`` for the request's query string (``tri``, ``ordre``, ``q``, filters)."""
    store = livret().project.store
    staff = audience_for(user.role) == "staff"
    roster_view = user.role in ROSTER_ROLES
    labels = sort_labels()
    if not staff:
        del labels["alertes"]  # alerts are staff information
    key = request.args.get("tri", "urgence")
    key = key if key in labels else "urgence"
    descending = request.args.get("ordre") == "desc"
    query = " ".join(request.args.get("q", "").split())[:100]
    filters = Filters.from_args(request.args, staff=staff, tutors=roster_view)
    groups = store.groups()  # once per request
    members = roster.group_members(groups)
    profiles = readable_profiles(user)
    rows = readable_rows(user, filters, members, profiles)
    rows = [r for r in rows if roster.keep_summary(r, filters)]
    found = sort_rows(matching(rows, query), key, descending)
    return Listing(found, len(profiles), filters, query, key, descending, staff, roster_view, labels,
                   roster.choices(profiles, groups), groups, profiles)


def tutor_names(users) -> dict[str, str]:
    """Username -> the name to show (the account's display name when it has one)."""
    return {u.username: getattr(u, "display_name", None) or u.username for u in users}


@bp.route("/")
@login_required
def index():
    return redirect(url_for(".home"))


@bp.route("/tableau-de-bord")
@login_required
def home():
    user = current_user()
    if user.role == "learner":
        own = readable_profiles(user)
        if len(own) == 1:
            return redirect(url_for(".learner", learner_id=next(iter(own))))
    view = listing(user)
    pages = max(1, math.ceil(len(view.rows) / PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    users = livret().accounts.list() if view.roster_view else []
    first_steps = None
    if user.role == "admin":  # admins read every profile: the listing's are all of them
        steps = checklist(livret().project.store, users, view.profiles)
        first_steps = None if steps.complete else steps
    return render_template("dashboard/index.html", view=view, rows=view.rows[(page - 1) * PAGE_SIZE:page * PAGE_SIZE],
                           stale=livret().stale_sites(),
                           witness_late=livret().seal.late() if user.role == "admin" else [],
                           total=view.total, found=len(view.rows), query=view.query, page=page, pages=pages,
                           page_size=PAGE_SIZE, sort=view.sort, descending=view.descending, staff=view.staff,
                           sort_labels=view.labels, filters=view.filters, choices=view.choices,
                           roster_view=view.roster_view, names=tutor_names(users),
                           first_steps=first_steps, statuses=LEARNER_STATUSES, today=livret().today(),
                           **dashboard_signoffs(user, view), **dashboard_plans(user, view.rows))


def dashboard_signoffs(user, view: Listing) -> dict:
    """« À signer » (what the user signs) and, for the staff, « Signatures en attente » (oldest first)."""
    records = [r.record for r in view.rows if r.record is not None and r.profile is not None]
    waiting = all_pending(records) if user.role in ("tutor", "admin", "auditor") else []
    return {"to_sign": pending_for_current_user(records), "signoffs_waiting": waiting}


def export_rows(view: Listing, names: dict[str, str]) -> list[list[object]]:
    """The CSV of a listing: a header, then one line per learner (every page), French Excel figures.

    Alerts only for the staff audience; tutors only where the page shows them.
    """
    header = [_("Identifiant"), _("Nom"), _("Prénom"), _("Formation"), _("Statut"), _("Groupes")]
    if view.roster_view:
        header.append(_("Tuteur·rices"))
    header += [_("Début"), _("Fin prévue"), _("Progression (%)"), _("Compétences acquises"),
               _("Compétences du référentiel"), _("Dernier contact"), _("Jours sans contact"),
               _("Prochaine action"), _("Échéance"), _("Assiduité (%)")]
    if view.staff:
        header += [_("Alertes (nombre)"), _("Alertes")]
    out: list[list[object]] = [header]
    group_names = {gid: g.name for gid, g in view.groups.items()}
    members = roster.group_members(view.groups)
    for row in view.rows:
        groups = ", ".join(group_names[gid] for gid, m in members.items() if row.id in m)
        p, s = row.profile, row.summary
        if p is None or s is None:
            line = [row.id, "", "", "", _("profil invalide (voir « livret check »)"), groups]
            line += [""] * (len(header) - len(line))
            out.append(line)
            continue
        line = [row.id, p.last_name, p.first_name, p.programme, LEARNER_STATUSES[p.status], groups]
        if view.roster_view:
            line.append(", ".join(names.get(t, t) for t in p.tutors))
        line += [roster.date_fr(p.start), roster.date_fr(p.end), roster.decimal_fr(s.progress.share),
                 s.progress.acquired, s.progress.total, roster.date_fr(s.last_contact),
                 "" if s.days_since_last_contact is None else s.days_since_last_contact,
                 s.next_action.title if s.next_action else "",
                 roster.date_fr(s.next_action.due) if s.next_action else "", roster.decimal_fr(s.attendance_rate)]
        if view.staff:
            line += [len(s.attention), " | ".join(a.message for a in s.attention)]
        out.append(line)
    return out


@bp.route("/tableau-de-bord/export.csv")
@login_required
def export():
    """The dashboard's list as filtered and sorted (every page), for French Excel: ``;``, UTF-8 with BOM,
    decimal comma, dates DD/MM/YYYY, every cell safe from formulas (:func:`livret.views.spreadsheet.safe_cell`)."""
    user = current_user()
    view = listing(user)
    names = tutor_names(livret().accounts.list()) if view.roster_view else {}
    data = csv_text(export_rows(view, names), bom=True).encode("utf-8")
    response = Response(data, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    name = f"apprenants-{livret().today().isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


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
        store = ctx.project.store
        summary = progress.summary(record, store.settings(), today, audience,
                                   AttendanceContext.load(store, ctx.now()).rows(record, audience))
        plans = [p for p in progress.action_plans(visible, today) if p.status == "open"]
    if record.framework is not None:
        views = progress.competency_views(record.framework, visible)
    writable = writable_types(user.role, user.username, record.profile) if record.profile else []
    corrected = {e.meta.corrects for e in visible if e.meta.corrects}
    entries = progress.timeline(e for e in visible if e.type != "signature")  # signatures: under their entry
    return render_template(
        "dashboard/learner.html", record=record, profile=record.profile, summary=summary, views=views,
        stale=ctx.stale_sites().get(record.id),
        plans=plans, writable=writable, entries=entries, corrected=corrected, audience=audience,
        type_labels=TYPE_LABELS, can_correct=lambda e: bool(record.profile) and can_correct(
            user.role, user.username, record.profile, e.meta) and latest_version(visible, e.id) == e.id,
        scale=record.framework.scale if record.framework else None,
        **learner_page_signoffs(record, audience), **learner_page_plans(record),
    )
