"""Writing entries: a form per entry type, corrections, the Markdown preview.

The flow of a submit: authorization (403 before anything is read), the form
turned into store input, ``store.append_entry`` (validation by the one
schema, atomic write, git commit authored by the user), then a background
rebuild of the learner's sites and a redirect with a confirmation.  Invalid
input re-displays the form (422) with each error next to its field and
everything typed kept; uploaded files must be chosen again (browsers never
re-fill a file input).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from livret.instance.access import audience_for, can_choose_visibility, can_correct, reference_refusal
from livret.store import LearnerRecord, StoredEntry, StoreError, french
from livret.store.errors import InvalidInput
from livret.store.schema import ENTRY_MODELS, MAX_BODY, TYPE_LABELS
from livret.views.progress import effective, for_audience, fr_date, timeline

from .auth import current_user, learner_or_404_403, login_required, require_write
from .entry_forms import (
    MARKDOWN_WRITERS,
    EntryForm,
    entry_form_class,
    initial_data,
    observation_defaults,
    plan_defaults,
)
from .plan_forms import meeting_defaults_from_plan, plan_contacts
from .state import livret

bp = Blueprint("entries", __name__)


def _label(entry: StoredEntry) -> str:
    return f"{fr_date(entry.date)} — {TYPE_LABELS[entry.type]} — {entry.meta.title}"


def reference_choices(record: LearnerRecord, entry_type: str) -> dict[str, list[tuple[str, str]]]:
    """Choices of ``about`` (any entry the user sees) and ``updates`` (first entries of the same type),
    kept to those the store's rule lets the user name (:func:`livret.instance.access.reference_refusal`)."""
    user = current_user()
    visible = timeline(effective(for_audience(record.entries, audience_for(user.role))))

    def allowed(key: str, e: StoredEntry) -> bool:
        return reference_refusal(key, e.id, e.meta, role=user.role, author=user.username) is None

    return {
        "about": [(e.id, _label(e)) for e in visible if allowed("about", e)],
        "updates": [(e.id, _label(e)) for e in visible
                    if e.type == entry_type and getattr(e.meta, "updates", None) is None and allowed("updates", e)],
    }


def _form_for(record: LearnerRecord, entry_type: str, corrected: StoredEntry | None = None) -> EntryForm:
    user = current_user()
    project = livret().project
    settings = project.store.settings()
    form_class = entry_form_class(
        entry_type,
        framework=record.framework,
        choose_visibility=can_choose_visibility(user.role),
        references=reference_choices(record, entry_type),
        existing_attachments=corrected.meta.attachments if corrected else (),
        timezone=settings.timezone,
        markdown_hint=user.role in MARKDOWN_WRITERS,
        # a planned meeting « avec le tuteur entreprise » only for a learner who has one
        omit=("with_company",) if entry_type == "planned-meeting" and not (
            record.profile and record.profile.company_tutors) else (),
    )
    if request.method == "POST":
        return form_class()
    data = initial_data(form_class.specs, now=livret().now(), tz=settings.timezone, entry=corrected)
    if entry_type == "observation" and corrected is None:
        data.update(observation_defaults(livret().today()))
    if entry_type == "planned-meeting" and corrected is None:
        data.update(plan_defaults(livret().now()))
    if entry_type == "meeting" and corrected is None and request.args.get("rendez-vous"):
        # « Écrire le compte rendu » of a planned meeting: pre-filled and linked to it (about)
        data.update(meeting_defaults_from_plan(record, request.args["rendez-vous"], settings.timezone))
    return form_class(data=data)


def _submit(record: LearnerRecord, form: EntryForm, corrected: StoredEntry | None):
    """Append the entry; a redirect on success, None when the form must be shown again."""
    user = current_user()
    try:
        stored = livret().project.store.append_entry(
            record.id, form.to_fields(corrects=corrected.id if corrected else None), form.body_text(),
            author=user.username, role=user.role, uploads=form.uploads(), author_name=user.display_name or None,
            contacts=plan_contacts(record.profile) if form.entry_type == "planned-meeting" else None,
        )
    except InvalidInput as exc:
        form.place_errors(exc.errors)
        return None
    except StoreError as exc:
        form.general_errors.append(str(exc))
        return None
    flash(_("Entrée « %(title)s » enregistrée. Le portfolio sera à jour dans quelques secondes.",
            title=stored.meta.title), "success")
    return redirect(url_for("dashboard.learner", learner_id=record.id, _anchor=f"entree-{stored.id}"))


def _render(record: LearnerRecord, form: EntryForm, entry_type: str, corrected: StoredEntry | None, status: int):
    return render_template(
        "entries/form.html", record=record, form=form, entry_type=entry_type,
        model=ENTRY_MODELS[entry_type], corrected=corrected,
        choose_visibility=can_choose_visibility(current_user().role),
        max_upload_mb=french.number(livret().project.store.settings().uploads.max_mb, 2),
    ), status


@bp.route("/apprenants/<learner_id>/nouvelle/<entry_type>", methods=["GET", "POST"])
@login_required
def new(learner_id: str, entry_type: str):
    record = learner_or_404_403(learner_id)
    if entry_type not in ENTRY_MODELS:
        abort(404)
    require_write(record.profile, entry_type)
    form = _form_for(record, entry_type)
    if request.method == "POST":
        done = _submit(record, form, None)
        if done is not None:
            return done
        return _render(record, form, entry_type, None, 422)
    return _render(record, form, entry_type, None, 200)


def latest_version(entries: list[StoredEntry], entry_id: str) -> str:
    """The id of the newest correction of an entry (itself when uncorrected)."""
    corrected_by = {e.meta.corrects: e.id for e in entries if e.meta.corrects}
    seen = set()
    while entry_id in corrected_by and entry_id not in seen:
        seen.add(entry_id)
        entry_id = corrected_by[entry_id]
    return entry_id


@bp.route("/apprenants/<learner_id>/corriger/<entry_id>", methods=["GET", "POST"])
@login_required
def correct(learner_id: str, entry_id: str):
    record = learner_or_404_403(learner_id)
    user = current_user()
    visible = for_audience(record.entries, audience_for(user.role))
    entry = next((e for e in visible if e.id == entry_id), None)
    if entry is None:
        abort(404)  # unknown, or a staff entry seen from the shared view: the same answer (no probe)
    require_write(record.profile, entry.type)
    if not can_correct(user.role, user.username, record.profile, entry.meta):
        abort(403)  # someone else's entry: only its author or the staff correct it
    latest = latest_version(visible, entry_id)
    if latest != entry_id:
        flash(_("Cette entrée a déjà été corrigée : voici sa dernière version."), "info")
        return redirect(url_for(".correct", learner_id=learner_id, entry_id=latest))
    form = _form_for(record, entry.type, entry)
    if request.method == "POST":
        done = _submit(record, form, entry)
        if done is not None:
            return done
        return _render(record, form, entry.type, entry, 422)
    return _render(record, form, entry.type, entry, 200)


@bp.route("/apercu", methods=["POST"])
@login_required
def preview():
    """The Markdown text rendered by the build's own sanitizing renderer (an HTML fragment)."""
    from livret.publish.markdown import render_markdown

    text = request.form.get("text", "")
    if len(text) > MAX_BODY:
        return Response(_("Texte trop long pour l'aperçu."), status=413, mimetype="text/plain")
    return Response(render_markdown(text), mimetype="text/html")
