"""The follow-up rules in the app: the dashboard's « Suivi à faire », the learner page's « Processus de
suivi », and « Planifier le suivi proposé » (the planned meetings the rules propose, in one commit).

Staff only (tutors, admins, auditors): the items are computed from every
entry, so a proof may be a ``staff`` entry; learners and company tutors
never see them.  Every figure comes from :mod:`livret.views.followup`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from livret.instance.access import audience_for, can_write
from livret.store import LearnerRecord, StoreError
from livret.store.errors import InvalidInput
from livret.store.schema import MEETING_KINDS, MODALITIES, Group
from livret.store.writer import NewEntry
from livret.views import followup as fv

from .auth import current_user, learner_or_404_403, login_required
from .french import ngettext
from .plan_forms import plan_contacts
from .state import livret

bp = Blueprint("followup", __name__)

#: Roles that see the follow-up rules at work (the staff audience).
STAFF_ROLES = ("tutor", "admin", "auditor")
#: At most this many meetings proposed at once.
MAX_PROPOSALS = 20


def _staff() -> bool:
    user = current_user()
    return user is not None and user.role in STAFF_ROLES and audience_for(user.role) == "staff"


def items_for(record: LearnerRecord, groups: dict[str, Group] | None = None,
              cache: dict | None = None) -> list[fv.FollowupItem]:
    """The rules at work for one learner today (every entry: staff views only)."""
    if record.profile is None:
        return []
    ctx = livret()
    store = ctx.project.store
    settings = store.settings()
    if not settings.followup.rules:
        return []
    groups = store.groups() if groups is None else groups
    return fv.learner_items(record.profile, record.entries, groups.values(), settings.followup.rules, ctx.today(),
                            now=ctx.now(), cache=cache)


@dataclass
class DashboardFollowup:
    #: Learner id -> (overdue, due) counts of what is to do.
    counts: dict[str, tuple[int, int]]
    #: (row, item) of every overdue or due item, oldest due date first.
    todo: list[tuple[object, fv.FollowupItem]]


@bp.app_template_global()
def dashboard_followup(rows) -> DashboardFollowup | None:
    """The dashboard's follow-up: the badge per learner and « Suivi à faire » (staff; learners in training)."""
    if not _staff() or not livret().project.store.settings().followup.rules:
        return None
    groups = livret().project.store.groups()
    cache: dict = {}
    counts: dict[str, tuple[int, int]] = {}
    todo: list[tuple[object, fv.FollowupItem]] = []
    for row in rows:
        if row.record is None or row.profile is None or row.profile.status != "en-cours":
            continue
        open_items = fv.to_do(items_for(row.record, groups, cache))
        if open_items:
            counts[row.id] = (sum(i.state == "overdue" for i in open_items), sum(i.state == "due" for i in open_items))
            todo += [(row, i) for i in open_items]
    todo.sort(key=lambda pair: (pair[1].due or dt.date.max, pair[0].profile.name, pair[1].rule_id))
    return DashboardFollowup(counts, todo)


def _may_plan(record: LearnerRecord) -> bool:
    user = current_user()
    return record.profile is not None and can_write(user.role, user.username, record.profile, "planned-meeting")


@bp.app_template_global()
def learner_followup(record: LearnerRecord) -> dict | None:
    """The learner page's « Processus de suivi » (staff only)."""
    if not _staff() or record.profile is None:
        return None
    items = items_for(record)
    if not items:
        return None
    proposed = fv.proposals(items, livret().today())
    return {"items": items, "proposals": proposed, "can_plan": bool(proposed) and _may_plan(record)}


# --------------------------------------------------------------------------
# « Planifier le suivi proposé »
# --------------------------------------------------------------------------


@dataclass
class Row:
    """One proposed meeting as the form shows it."""

    include: bool
    label: str
    title: str
    kind: str
    day: str
    time: str
    duration: str
    modality: str
    place: str
    video_link: str
    errors: list[str]


def _initial_rows(record: LearnerRecord) -> list[Row]:
    address = livret().project.store.settings().address or ""
    out = []
    for p in fv.proposals(items_for(record), livret().today())[:MAX_PROPOSALS]:
        place = address
        if p.kind in ("visite-entreprise", "entretien-tripartite") and record.profile and record.profile.company:
            company = record.profile.company
            place = company.name + (f", {company.city}" if company.city else "")
        out.append(Row(True, p.label, f"{MEETING_KINDS[p.kind]} — {p.label}"[:200], p.kind, p.day.isoformat(),
                       fv.PROPOSAL_HOUR.strftime("%H:%M"), "60", "presentiel", place, "", []))
    return out


def _posted_rows() -> list[Row]:
    count = min(request.form.get("nombre", 0, type=int), MAX_PROPOSALS)
    rows = []
    for i in range(count):
        def get(name: str, i: int = i) -> str:
            return " ".join(request.form.get(f"p{i}-{name}", "").split())
        rows.append(Row(bool(request.form.get(f"p{i}-inclure")), get("libelle"), get("titre"), get("nature"),
                        get("date"), get("heure"), get("duree"), get("modalite"), get("lieu"), get("lien"), []))
    return rows


def _fields(row: Row, tz: ZoneInfo) -> dict:
    """The planned meeting's fields; a French error (naming the field) in ``row.errors`` when unreadable."""
    try:
        day = dt.date.fromisoformat(row.day)
    except ValueError:
        row.errors.append(_("Date : saisissez une date (AAAA-MM-JJ)."))
        day = None
    try:
        time = dt.time.fromisoformat(row.time)
    except ValueError:
        row.errors.append(_("Heure : saisissez une heure (HH:MM)."))
        time = None
    try:
        duration = int(row.duration)
    except ValueError:
        row.errors.append(_("Durée : saisissez un nombre de minutes."))
        duration = 0
    if row.kind not in MEETING_KINDS:
        row.errors.append(_("Nature : choisissez une nature de rendez-vous."))
    if row.modality not in MODALITIES:
        row.errors.append(_("Modalité : choisissez une modalité."))
    if row.errors:
        return {}
    start = dt.datetime.combine(day, time, tzinfo=tz)
    fields = {"type": "planned-meeting", "date": start.isoformat(), "title": row.title, "kind": row.kind,
              "modality": row.modality, "duration": duration, "with_learner": True,
              "with_company": row.kind in ("visite-entreprise", "entretien-tripartite")}
    if row.place:
        fields["place"] = row.place
    if row.video_link:
        fields["video_link"] = row.video_link
    return fields


FIELD_NAMES = {"date": "Date", "title": "Titre", "kind": "Nature", "modality": "Modalité", "duration": "Durée",
               "place": "Lieu", "video_link": "Lien de visioconférence", "with_company": "Avec l'entreprise",
               "with_learner": "Avec l'apprenant·e"}


@bp.route("/apprenants/<learner_id>/suivi/planifier", methods=["GET", "POST"])
@login_required
def propose(learner_id: str):
    """The planned meetings the rules propose, editable; submitting writes the chosen ones in one commit."""
    record = learner_or_404_403(learner_id)
    if not _staff() or not _may_plan(record):
        abort(403)
    user = current_user()
    if request.method == "GET":
        rows = _initial_rows(record)
        return render_template("followup/propose.html", record=record, rows=rows, kinds=MEETING_KINDS,
                               modalities=MODALITIES, general=[])
    rows = _posted_rows()
    tz = ZoneInfo(livret().project.store.settings().timezone)
    chosen = [(i, row, _fields(row, tz)) for i, row in enumerate(rows) if row.include]
    general: list[str] = []
    if not chosen:
        general.append(_("Cochez au moins un rendez-vous à planifier."))
    if not general and not any(row.errors for _i, row, _f in chosen):
        contacts = plan_contacts(record.profile)
        items = [NewEntry(record.id, fields, "", contacts) for _i, _row, fields in chosen]
        try:
            livret().project.store.append_entries(
                items, author=user.username, role=user.role, author_name=user.display_name or None,
                message=f"Suivi planifié : {len(items)} rendez-vous pour {record.id}")
        except InvalidInput as exc:
            for e in exc.errors:
                index, name = (e.loc[1], e.loc[2]) if len(e.loc) >= 3 and e.loc[0] == "entries" else (None, None)
                if isinstance(index, int) and index < len(chosen):
                    chosen[index][1].errors.append(f"{FIELD_NAMES.get(str(name), str(name))} : {e.message}")
                else:
                    general.append(e.message)
        except StoreError as exc:
            general.append(str(exc))
        else:
            flash(ngettext("%(num)d rendez-vous planifié.", "%(num)d rendez-vous planifiés.", len(items)), "success")
            return redirect(url_for("dashboard.learner", learner_id=record.id, _anchor="processus-suivi"))
    return render_template("followup/propose.html", record=record, rows=rows, kinds=MEETING_KINDS,
                           modalities=MODALITIES, general=general), 400
