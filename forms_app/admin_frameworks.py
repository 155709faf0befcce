"""Competency frameworks (référentiels) for admins: list, one framework, import from the browser.

The import is the command line's (:mod:`livret.interop.framework_import`):
upload a Moodle CSV or a Mahara matrix, see a preview (title, id, blocks,
competencies, scale, the importer's warnings; for an existing id, which
learners use it, which codes disappear, and whether entries would become
invalid), then « Importer » writes it in one commit authored by the admin.
An existing id is replaced only when the admin ticks « Remplacer », and
never when an entry would become invalid.

Between the preview and the confirmation the uploaded file is kept in the
instance folder (``instance/imports/frameworks/<random>``, mode 0600, with
the admin's username beside it; :class:`livret.admin.kept_uploads.KeptUploads`),
named by a random token carried in the form; another account, or a token
that is not one of ours, gets a 404.  The file is deleted once imported or
cancelled, and after :data:`UPLOAD_LIFETIME` seconds in any case.  No path
typed by anyone ever reaches the filesystem.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from livret.admin import kept_uploads
from livret.admin.kept_uploads import KeptUploads
from livret.interop.framework_import import (
    FORMAT_LABELS,
    MAX_FILE_BYTES,
    READERS,
    commit_message,
    impact,
    import_framework,
    read_framework_file,
)
from livret.interop.frameworks import ImportFailed, ImportResult
from livret.store import FRAMEWORKS_DIR, StoreError, UnknownLearner
from livret.store.records import StaleWrite
from livret.store.schema import FRAMEWORK_ID_RE
from livret.store.writer import ANY_REVISION

from .auth import admin_required, current_user
from .state import livret

bp = Blueprint("admin_frameworks", __name__, url_prefix="/admin/referentiels")

#: An upload not confirmed within this many seconds is deleted.
UPLOAD_LIFETIME = kept_uploads.MAX_AGE
DEFAULT_NAME = "referentiel"
#: Learners listed by name per framework on the list page (the count says the rest).
LISTED_LEARNERS = 20


# --------------------------------------------------------------------------
# Uploads kept between the preview and the confirmation
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    token: str
    user: str
    fmt: str
    requested_id: str | None
    name: str
    data: bytes


def uploads() -> KeptUploads:
    return KeptUploads(livret().project.instance / "imports" / "frameworks", suffix=".data",
                       max_bytes=MAX_FILE_BYTES, default_name=DEFAULT_NAME)


def keep_upload(user: str, fmt: str, requested_id: str | None, name: str, data: bytes) -> str:
    """Store an upload for its confirmation; returns its token."""
    return uploads().keep(data, owner=user, name=name, extra={"format": fmt, "id": requested_id})


def load_upload(token: str, user: str) -> Upload:
    """The upload of ``token`` if it belongs to ``user`` and is still there; 404 otherwise."""
    kept = uploads().load(token, owner=user)
    if kept is None:
        abort(404)
    return Upload(kept.token, user, str(kept.extra.get("format") or ""), kept.extra.get("id"), kept.name, kept.data)


def drop_upload(token: str) -> None:
    uploads().discard(token)


def safe_name(filename: str | None) -> str:
    """The uploaded file's name for messages: its last part, printable, 100 characters at most."""
    return kept_uploads.safe_name(filename, DEFAULT_NAME)


# --------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------


def learners_by_framework() -> dict[str, list[tuple[str, str]]]:
    """Framework id -> (learner id, name) of every learner whose profile names it (cached parses)."""
    store = livret().project.store
    out: dict[str, list[tuple[str, str]]] = {}
    for lid in store.learner_ids():
        try:
            profile = store.profile(lid)
        except UnknownLearner:
            continue
        if profile is not None:
            out.setdefault(profile.framework, []).append((lid, profile.name))
    for learners in out.values():
        learners.sort(key=lambda item: item[1].casefold())
    return out


@bp.route("/")
@admin_required
def index():
    store = livret().project.store
    users = learners_by_framework()
    frameworks = []
    for fid in store.framework_ids():
        fw, problems = store.framework(fid)
        frameworks.append((fid, fw, problems, users.get(fid, [])))
    missing = {fid: learners for fid, learners in users.items() if fid not in store.framework_ids()}
    return render_template("admin/frameworks/index.html", frameworks=frameworks, missing=missing,
                           listed=LISTED_LEARNERS)


@bp.route("/<framework_id>/")
@admin_required
def show(framework_id: str):
    if not FRAMEWORK_ID_RE.match(framework_id):
        abort(404)
    store = livret().project.store
    fw, problems = store.framework(framework_id)
    if fw is None and not problems:
        abort(404)
    return render_template("admin/frameworks/show.html", framework_id=framework_id, fw=fw, problems=problems,
                           learners=learners_by_framework().get(framework_id, []))


def _render_upload(errors: dict[str, list[str]], values: dict[str, str], status: int):
    return render_template("admin/frameworks/upload.html", errors=errors, values=values, formats=FORMAT_LABELS,
                           max_mb=MAX_FILE_BYTES // (1024 * 1024)), status


def _render_preview(upload: Upload, result: ImportResult, errors: list[str], status: int = 200,
                    replace: bool = False):
    found = impact(livret().project.store, result.framework)
    return render_template("admin/frameworks/preview.html", upload=upload, result=result, fw=result.framework,
                           impact=found, errors=errors, replace=replace, format_label=FORMAT_LABELS[upload.fmt],
                           ), status


@bp.route("/importer", methods=["GET", "POST"])
@admin_required
def upload():
    if request.method == "GET":
        return _render_upload({}, {"format": "moodle", "identifiant": ""}, 200)
    values = {"format": request.form.get("format", ""), "identifiant": " ".join(request.form.get("identifiant",
                                                                                                  "").split())[:64]}
    errors: dict[str, list[str]] = {}
    fmt = values["format"]
    if fmt not in READERS:
        errors.setdefault("format", []).append(_("Choisissez le format du fichier."))
    requested = values["identifiant"] or None
    if requested is not None and not FRAMEWORK_ID_RE.match(requested):
        errors.setdefault("identifiant", []).append(
            _("Identifiant invalide : minuscules, chiffres et tirets, 64 caractères au plus (ex. tuteur-2026)."))
    storage = request.files.get("fichier")
    data = b""
    name = DEFAULT_NAME
    if storage is None or not storage.filename:
        errors.setdefault("fichier", []).append(_("Choisissez un fichier."))
    else:
        name = safe_name(storage.filename)
        data = storage.stream.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            errors.setdefault("fichier", []).append(
                _("Fichier trop gros : %(max)d Mo au plus.", max=MAX_FILE_BYTES // (1024 * 1024)))
    if errors:
        return _render_upload(errors, values, 422)
    try:
        result = read_framework_file(data, fmt, name=name, framework_id=requested)
    except ImportFailed as exc:
        errors["fichier"] = [_("%(name)s ne peut pas être importé ; rien n'a été enregistré :", name=name)]
        errors["fichier"] += exc.problems
        return _render_upload(errors, values, 422)
    user = current_user()
    token = keep_upload(user.username, fmt, requested, name, data)
    return _render_preview(Upload(token, user.username, fmt, requested, name, data), result, [])


@bp.route("/importer/confirmer", methods=["POST"])
@admin_required
def confirm():
    user = current_user()
    upload_ = load_upload(request.form.get("jeton", ""), user.username)
    try:
        result = read_framework_file(upload_.data, upload_.fmt, name=upload_.name,
                                     framework_id=upload_.requested_id)
    except ImportFailed:  # the same bytes read the same way: only a newer livret could differ
        drop_upload(upload_.token)
        abort(404)
    fw = result.framework
    store = livret().project.store
    replace = request.form.get("remplacer") == "1"
    exists = store.revision(f"{FRAMEWORKS_DIR}/{fw.id}.yml") is not None
    if exists and not replace:
        return _render_preview(upload_, result, [_(
            "Le référentiel « %(id)s » existe déjà : cochez « Remplacer le référentiel existant » pour le "
            "remplacer, ou importez le fichier avec un autre identifiant.", id=fw.id)], 422)
    # The replaced file must be the one the preview showed (its revision), else StaleWrite.
    expected = (request.form.get("revision") or "-") if exists else ANY_REVISION
    try:
        import_framework(store, result, author=user.username, replace=exists,
                         message=commit_message(fw, upload_.fmt, upload_.name, replaced=exists),
                         expected=expected)
    except ImportFailed as exc:
        return _render_preview(upload_, result, exc.problems, 422, replace=replace)
    except StaleWrite:
        return _render_preview(upload_, result, [_(
            "Le référentiel « %(id)s » a été modifié entre-temps (par une autre personne ou à la main) : "
            "vérifiez l'aperçu ci-dessous, mis à jour, puis confirmez à nouveau.", id=fw.id)], 409)
    except StoreError as exc:
        return _render_preview(upload_, result, [str(exc)], 422, replace=replace)
    drop_upload(upload_.token)
    if exists:
        flash(_("Référentiel « %(id)s » remplacé.", id=fw.id), "success")
    else:
        flash(_("Référentiel « %(id)s » importé : %(num)d compétences.", id=fw.id, num=len(fw.competencies())),
              "success")
    return redirect(url_for(".show", framework_id=fw.id))


@bp.route("/importer/annuler", methods=["POST"])
@admin_required
def cancel():
    upload_ = load_upload(request.form.get("jeton", ""), current_user().username)
    drop_upload(upload_.token)
    flash(_("Import annulé : rien n'a été enregistré."), "success")
    return redirect(url_for(".index"))
