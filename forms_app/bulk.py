"""Bulk actions for a group: one form, one file per learner, one commit (admins only).

- ``/admin/groupes/<id>/assiduite``: the attendance of the whole group for
  one period.  One row per member, pre-filled with the group's planned hours
  (:func:`livret.views.periods.planned_hours`: weekly hours × working days
  / 5); a member who already has hours recorded over an overlapping period
  (:func:`livret.views.periods.recorded_hours`) is shown read-only and
  nothing is written for them, so no hour is counted twice.
- ``/admin/groupes/<id>/entree/<type>``: the same entry (a collective
  information meeting, a common feedback...) for the members chosen, the
  form derived from the schema as for one learner
  (:mod:`forms_app.entry_forms`).  Competencies are checked against each
  learner's framework; an error names the learner.

Both write through ``store.append_entries``: every entry validated first,
nothing written unless all are valid, then one commit authored by the admin.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from livret.instance.access import can_choose_visibility, writable_types
from livret.store import StoreError, UnknownLearner, french
from livret.store.errors import FieldError, InvalidInput
from livret.store.records import GROUPS_DIR
from livret.store.schema import ENTRY_MODELS, LEARNER_STATUSES, TUTOR_ROLES, TYPE_LABELS, Group
from livret.store.writer import NewEntry
from livret.views.derived_attendance import AttendanceContext
from livret.views.periods import MAX_PERIOD_DAYS, RecordedHours, planned_hours, recorded_hours
from livret.views.progress import fr_date

from .auth import admin_required, current_user
from .entry_forms import EntryForm, entry_form_class, friendly, initial_data
from .french import ngettext
from .state import livret

bp = Blueprint("bulk", __name__, url_prefix="/admin/groupes")

#: Entry types written for several learners at once: the tutor's own types (attendance has its form).
BULK_TYPES = tuple(t for t, m in ENTRY_MODELS.items() if m.writers == TUTOR_ROLES and t != "attendance")
#: Hour of the day given to an attendance entry's date (the period's last day).
ATTENDANCE_HOUR = 17


def group_or_404(group_id: str) -> tuple[Group, str | None]:
    """The group and its file's revision; 404 when unknown or unreadable."""
    store = livret().project.store
    group, _problems = store.group(group_id)
    if group is None:
        abort(404)
    return group, store.revision(f"{GROUPS_DIR}/{group.id}.yml")


def hours_text(value: float | None) -> str:
    """``7.5`` as a French form shows it: ``7,5`` (empty when None)."""
    return "" if value is None else f"{value:g}".replace(".", ",")


def number_input(text: str) -> str:
    """What was typed in an hours input, as store input (decimal comma accepted)."""
    return " ".join(text.split()).replace(",", ".").replace(" ", "")


# --------------------------------------------------------------------------
# Attendance of a group for a period
# --------------------------------------------------------------------------


@dataclass
class AttendanceRow:
    learner_id: str
    name: str
    status: str | None  # None: the profile is invalid
    recorded: list[RecordedHours]
    include: bool
    planned: str
    attended: str
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def editable(self) -> bool:
        return self.status is not None and not self.recorded

    def error(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)


def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """Monday to Friday of this week from Friday on, else of last week."""
    monday = today - dt.timedelta(days=today.weekday())
    if today.weekday() < 4:
        monday -= dt.timedelta(days=7)
    return monday, monday + dt.timedelta(days=4)


def parse_period(values, today: dt.date) -> tuple[dt.date | None, dt.date | None, dict[str, str]]:
    """(start, end, errors by input name) from ``debut`` and ``fin``."""
    errors: dict[str, str] = {}
    parsed: dict[str, dt.date | None] = {}
    for name in ("debut", "fin"):
        raw = (values.get(name) or "").strip()
        parsed[name] = None
        if not raw:
            errors[name] = _("Ce champ est obligatoire.")
            continue
        try:
            parsed[name] = dt.date.fromisoformat(raw)
        except ValueError:
            errors[name] = _("Date invalide (lu : « %(raw)s ») : attendu AAAA-MM-JJ.", raw=raw[:40])
    start, end = parsed["debut"], parsed["fin"]
    if start and end:
        if end < start:
            errors["fin"] = _("La fin de la période précède son début.")
        elif (end - start).days + 1 > MAX_PERIOD_DAYS:
            errors["fin"] = _("Période trop longue : %(max)d jours au plus.", max=MAX_PERIOD_DAYS)
        elif end > today:
            errors["fin"] = _("La période n'est pas terminée (fin le %(end)s, après aujourd'hui) : l'assiduité "
                              "s'enregistre pour ce qui a eu lieu.", end=fr_date(end))
    return start, end, errors


def attendance_rows(group: Group, start: dt.date, end: dt.date) -> list[AttendanceRow]:
    """One row per member, pre-filled with the group's planned hours; recorded hours found."""
    store = livret().project.store
    planned = hours_text(planned_hours(group.weekly_hours, start, end))
    signed = AttendanceContext.load(store, livret().now())  # sessions count as recorded hours
    rows = []
    for lid in group.members:
        try:
            record = store.load_learner(lid)
        except UnknownLearner:
            continue  # a member whose folder is gone: ``livret check`` names it
        profile = record.profile
        recorded = recorded_hours(record.entries, start, end, signed.rows(record)) if profile else []
        status = profile.status if profile else None
        rows.append(AttendanceRow(lid, profile.name if profile else lid, status, recorded,
                                  include=status == "en-cours", planned=planned, attended=planned))
    return rows


def attendance_fields(start: dt.date, end: dt.date, row: AttendanceRow, now: dt.datetime) -> dict:
    tz = ZoneInfo(livret().project.store.settings().timezone)
    when = dt.datetime.combine(end, dt.time(ATTENDANCE_HOUR), tz)
    fields = {
        "type": "attendance",
        "date": min(when, now).isoformat(),
        "title": _("Assiduité du %(start)s au %(end)s", start=fr_date(start), end=fr_date(end)),
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "hours_planned": number_input(row.planned) or None,
        "hours_attended": number_input(row.attended) or None,
    }
    return {k: v for k, v in fields.items() if v is not None}  # an empty input: « obligatoire »


#: Keys of an attendance entry that a row shows next to an input.
ROW_INPUTS = {"hours_planned": "planned", "hours_attended": "attended"}


def _submit_attendance(group: Group, revision: str | None, start: dt.date, end: dt.date,
                       rows: list[AttendanceRow], general: list[str]) -> int | None:
    """Write the rows; the number of entries written, or None (errors on the rows and in ``general``)."""
    form = request.form
    writing: list[AttendanceRow] = []
    for row in rows:  # what was typed, kept on the page whatever happens next
        if not row.editable:
            continue
        row.include = form.get(f"inclure-{row.learner_id}") == "1"
        row.planned = (form.get(f"prevues-{row.learner_id}") or "").strip()[:20]
        row.attended = (form.get(f"suivies-{row.learner_id}") or "").strip()[:20]
        if row.include:
            writing.append(row)
    if form.get("revision") != (revision or ""):
        general.append(_("Le groupe a été modifié entre-temps (par une autre personne ou à la main) : "
                         "vérifiez les lignes ci-dessous puis enregistrez à nouveau."))
        return None
    shown = set(form.getlist("lignes"))
    by_id = {r.learner_id: r for r in rows}
    for lid in sorted(shown):
        row = by_id.get(lid)
        if row is None or not row.editable:
            name = row.name if row else lid
            general.append(_("%(name)s : des heures ont été enregistrées entre-temps sur cette période (ou "
                             "l'apprenant·e a quitté le groupe) : rien n'a été enregistré, vérifiez puis "
                             "recommencez.", name=name))
            if row is not None:
                row.error("row", _("Heures enregistrées entre-temps : cette ligne n'est plus modifiable."))
    if not writing and not general:
        general.append(_("Aucune ligne cochée : rien à enregistrer."))
    if general:
        return None
    user = current_user()
    now = livret().now()
    items = [NewEntry(r.learner_id, attendance_fields(start, end, r, now),
                      _("Saisie groupée pour le groupe « %(name)s ».", name=group.name)) for r in writing]
    message = (f"Groupe {group.name} : assiduité du {fr_date(start)} au {fr_date(end)} pour "
               f"{french.count(len(items), 'apprenant·e', 'apprenant·es')} ({user.username})")
    try:
        livret().project.store.append_entries(items, author=user.username, role=user.role, message=message,
                                              now=now, author_name=user.display_name or None)
    except InvalidInput as exc:
        for err in exc.errors:
            index = err.loc[1] if len(err.loc) > 2 and err.loc[0] == "entries" else None
            if not isinstance(index, int) or index >= len(writing):
                general.append(err.message)
                continue
            row, key = writing[index], err.loc[2]
            text = friendly(err.message)
            row.error(ROW_INPUTS.get(key, "row"), text if key in ROW_INPUTS else f"{key} : {err.message}")
        general.append(_("Rien n'a été enregistré : corrigez les lignes signalées."))
        return None
    except StoreError as exc:
        general.append(str(exc))
        return None
    return len(items)


@bp.route("/<group_id>/assiduite", methods=["GET", "POST"])
@admin_required
def attendance(group_id: str):
    group, revision = group_or_404(group_id)
    today = livret().today()
    source = request.form if request.method == "POST" else request.args
    asked = "debut" in source or "fin" in source
    start, end, period_errors = parse_period(source, today) if asked else (*default_period(today), {})
    rows: list[AttendanceRow] = []
    general: list[str] = []
    status = 200
    if asked and not period_errors:
        rows = attendance_rows(group, start, end)
        if request.method == "POST":
            written = _submit_attendance(group, revision, start, end, rows, general)
            if written is not None:
                flash(ngettext("Assiduité du %(start)s au %(end)s enregistrée pour %(num)d apprenant·e, en un seul "
                               "enregistrement.", "Assiduité du %(start)s au %(end)s enregistrée pour %(num)d "
                               "apprenant·es, en un seul enregistrement.", written,
                               start=fr_date(start), end=fr_date(end)), "success")
                return redirect(url_for(".attendance", group_id=group.id, debut=start.isoformat(),
                                        fin=end.isoformat()))
            status = 422
    elif request.method == "POST":
        status = 422
    elif period_errors:
        status = 422
    return render_template("admin/bulk/attendance.html", group=group, revision=revision or "", start=start,
                           end=end, asked=asked and not period_errors, period_errors=period_errors, rows=rows,
                           general=general, raw_start=(source.get("debut") or "")[:40] if asked else "",
                           raw_end=(source.get("fin") or "")[:40] if asked else "",
                           weekly=hours_text(group.weekly_hours), hours=hours_text,
                           statuses=LEARNER_STATUSES), status


# --------------------------------------------------------------------------
# The same entry for several learners
# --------------------------------------------------------------------------


@dataclass
class Member:
    learner_id: str
    name: str
    status: str | None  # None: invalid profile (cannot be chosen)
    framework: str | None
    checked: bool


def members_of(group: Group) -> list[Member]:
    store = livret().project.store
    out = []
    for lid in group.members:
        try:
            profile = store.profile(lid)
        except UnknownLearner:
            continue
        if profile is None:
            out.append(Member(lid, lid, None, None, False))
        else:
            out.append(Member(lid, profile.name, profile.status, profile.framework, profile.status == "en-cours"))
    return out


def _bulk_form_class(entry_type: str, framework_id: str | None) -> type[EntryForm]:
    """The entry form of one learner, without what cannot be shared (references, attachments)."""
    store = livret().project.store
    framework = store.framework(framework_id)[0] if framework_id else None
    base = entry_form_class(entry_type, framework=framework, choose_visibility=can_choose_visibility("admin"),
                            timezone=store.settings().timezone)
    dropped = ("about", "updates")
    return type(f"Bulk{base.__name__}", (base,), {
        "specs": [s for s in base.specs if s.name not in dropped],
        "about": None, "updates": None, "attachments": None,
    })


def _place(form: EntryForm, errors: list[FieldError], chosen: list[Member]) -> None:
    """Store errors (``entries.<i>.<field>``) on the form: once when every learner has it, else
    prefixed with the names of the learners concerned."""
    grouped: dict[tuple, list[str]] = {}
    for err in errors:
        if len(err.loc) > 1 and err.loc[0] == "entries" and isinstance(err.loc[1], int) and err.loc[1] < len(chosen):
            key = (err.loc[2:], err.message)
            grouped.setdefault(key, []).append(chosen[err.loc[1]].name)
        else:
            grouped.setdefault((err.loc, err.message), [])
    placed = []
    for (loc, message), names in grouped.items():
        if names and len(set(names)) < len(chosen):
            message = f"{', '.join(dict.fromkeys(names))} : {message}"
        placed.append(FieldError(loc, message))
    form.place_errors(placed)


@bp.route("/<group_id>/entree")
@admin_required
def entry(group_id: str):
    """Choose the type of the entry to write for several members."""
    group, _revision = group_or_404(group_id)
    return render_template("admin/bulk/entry_types.html", group=group, types=BULK_TYPES, type_labels=TYPE_LABELS,
                           models=ENTRY_MODELS)


@bp.route("/<group_id>/entree/<entry_type>", methods=["GET", "POST"])
@admin_required
def entry_form(group_id: str, entry_type: str):
    group, _revision = group_or_404(group_id)
    if entry_type not in BULK_TYPES:
        abort(404)
    user = current_user()
    members = members_of(group)
    frameworks = Counter(m.framework for m in members if m.framework)
    framework_id = min(frameworks, key=lambda f: (-frameworks[f], f)) if frameworks else None
    form_class = _bulk_form_class(entry_type, framework_id)
    store = livret().project.store
    tz = store.settings().timezone
    gone: list[str] = []
    if request.method == "POST":
        form = form_class()
        chosen_ids = set(request.form.getlist("apprenants"))
        for m in members:
            m.checked = m.learner_id in chosen_ids and m.status is not None
        gone = sorted(chosen_ids - {m.learner_id for m in members})
    else:
        form = form_class(data=initial_data(form_class.specs, now=livret().now(), tz=tz))
    status = 200
    if request.method == "POST":
        chosen = [m for m in members if m.checked]
        refused = [m for m in chosen if entry_type not in writable_types(user.role, user.username,
                                                                           store.profile(m.learner_id))]
        if gone:
            form.general_errors.append(_("%(ids)s ne fait plus partie du groupe (modifié entre-temps) : rien n'a été "
                                         "enregistré ; vérifiez la liste puis enregistrez à nouveau.",
                                         ids=", ".join(gone)[:200]))
        elif not chosen:
            form.general_errors.append(_("Choisissez au moins un·e apprenant·e."))
        elif refused:
            abort(403)
        else:
            fields = form.to_fields()
            body = form.body_text()
            items = [NewEntry(m.learner_id, fields, body) for m in chosen]
            label = TYPE_LABELS[entry_type].lower()
            message = (f"Groupe {group.name} : {label} « {fields.get('title', '')} » pour "
                       f"{french.count(len(items), 'apprenant·e', 'apprenant·es')} ({user.username})")
            try:
                store.append_entries(items, author=user.username, role=user.role, message=message,
                                     author_name=user.display_name or None)
            except InvalidInput as exc:
                _place(form, exc.errors, chosen)
            except StoreError as exc:
                form.general_errors.append(str(exc))
            else:
                flash(ngettext("Entrée « %(title)s » enregistrée pour %(num)d apprenant·e, en un seul enregistrement.",
                               "Entrée « %(title)s » enregistrée pour %(num)d apprenant·es, en un seul "
                               "enregistrement.", len(items), title=fields.get("title", "")),
                      "success")
                return redirect(url_for("dashboard.home", groupe=group.id))
        status = 422
    several = len(frameworks) > 1
    return render_template("admin/bulk/entry.html", group=group, form=form, entry_type=entry_type,
                           model=ENTRY_MODELS[entry_type], members=members, several_frameworks=several,
                           framework_id=framework_id), status

