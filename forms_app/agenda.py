"""The agenda (``/agenda``): a week or a month of planned meetings, due follow-ups and work-study periods.

For tutors (their learners only) and admins (everyone; filter by tutor).
Query string: ``vue`` (``semaine``, default, or ``mois``), ``date`` (a day of
the week or month shown, ISO; default today), ``apprenant``, ``groupe``,
``tuteur`` (admins).  The layout is :func:`livret.views.plans.agenda`;
the follow-ups are :func:`livret.views.followup.followup_items`, the periods
:func:`livret.views.calendar.learner_periods`.  Without JavaScript; on a
phone the week is a list of days.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request

from livret.store.schema import MEETING_KINDS, MODALITIES, PERIOD_KINDS
from livret.views.calendar import learner_periods
from livret.views.followup import followup_items, to_do
from livret.views.plans import LearnerAgenda, agenda, month_of, plan_states, week_of

from .auth import current_user, login_required, roles_required
from .dashboard import readable_profiles
from .people import person
from .plans import STATUS_LABELS
from .state import livret

bp = Blueprint("agenda", __name__)

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
#: How the agenda names where a learner is (work-study periods).
PLACE_LABELS = {"centre": "en centre", "entreprise": "en entreprise", "absence": "absent·e"}


def _day_arg(today: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        return today


@bp.route("/agenda")
@login_required
@roles_required("tutor", "admin")
def index():
    user = current_user()
    ctx = livret()
    store = ctx.project.store
    settings = store.settings()
    tz = ZoneInfo(settings.timezone)
    now = ctx.now()
    today = now.date()
    month = request.args.get("vue") == "mois"
    anchor = _day_arg(today)
    first, last = month_of(anchor) if month else week_of(anchor)
    if month:
        previous, following = (first - dt.timedelta(days=1)).replace(day=1), last + dt.timedelta(days=1)
    else:
        previous, following = first - dt.timedelta(days=7), first + dt.timedelta(days=7)

    groups = store.groups()
    profiles = {lid: p for lid, p in readable_profiles(user).items() if p is not None}
    tutors = sorted({t for p in profiles.values() for t in p.tutors}) if user.role == "admin" else []
    chosen = {k: request.args.get(k, "") for k in ("apprenant", "groupe", "tuteur")}
    if chosen["tuteur"] and user.role != "admin":
        chosen["tuteur"] = ""
    shown = dict(profiles)
    if chosen["apprenant"]:
        shown = {k: v for k, v in shown.items() if k == chosen["apprenant"]}
    if chosen["groupe"]:
        members = set(groups[chosen["groupe"]].members) if chosen["groupe"] in groups else set()
        shown = {k: v for k, v in shown.items() if k in members}
    if chosen["tuteur"]:
        shown = {k: v for k, v in shown.items() if chosen["tuteur"] in v.tutors}

    learners = []
    ordered = sorted(shown.items(), key=lambda kv: (kv[1].last_name, kv[1].first_name, kv[0]))
    for record in store.valid_records(lid for lid, _ in ordered):
        lid = record.id
        own_groups = [g for g in groups.values() if lid in g.members]
        periods = learner_periods(record.profile, own_groups)
        items = followup_items(record.profile, record.entries, periods, settings.followup.rules, today,
                               group_ids=[g.id for g in own_groups], now=now)
        learners.append(LearnerAgenda(lid, record.profile.name, plan_states(record.entries, now),
                                      to_do(items), periods))
    view = agenda(learners, first, last, tz, today)
    base = {k: v for k, v in chosen.items() if v}
    if month:
        base["vue"] = "mois"
    return render_template(
        "agenda/index.html", view=view, month=month, today=today, weekdays=WEEKDAYS,
        previous=dict(base, date=previous.isoformat()), following=dict(base, date=following.isoformat()),
        current=dict(base, date=today.isoformat()), week_args=dict({k: v for k, v in base.items() if k != "vue"},
                                                                  date=anchor.isoformat()),
        month_args=dict(base, vue="mois", date=anchor.isoformat()),
        profiles=sorted(profiles.items(), key=lambda kv: (kv[1].last_name, kv[1].first_name)),
        groups=sorted(groups.values(), key=lambda g: g.name), tutors=[(t, person(t)) for t in tutors],
        chosen=chosen, learner_count=len(learners), kinds=MEETING_KINDS, modalities=MODALITIES,
        status_labels=STATUS_LABELS, place_labels=PLACE_LABELS, period_kinds=PERIOD_KINDS,
    )
