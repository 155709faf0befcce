"""Import of learners from a CSV file: upload, preview row by row, confirm, summary (admins only).

1. The admin uploads the file; it is kept in the instance folder
   (:class:`livret.admin.learner_imports.PendingImports`: mode 0600, bound to
   the admin, deleted after the import or after 24 hours) and the preview
   is shown: per row the action (création, mise à jour, inchangé), the
   learner and what changes, and every error with its row, column and
   message.  Nothing is written.
2. « Importer » writes every row in one commit authored by the admin.
   While the file has errors the admin either corrects it and uploads it
   again, or explicitly checks « n'importer que les lignes valides ».
   The confirmation carries the random token of the kept file and a digest
   of the preview: if the file's plan changed since (the store moved
   meanwhile), the new preview is shown instead of writing.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField

from livret.admin.history import profile_changes
from livret.admin.learner_imports import PendingImports, preview
from livret.interop.learners_csv import MAX_BYTES, MAX_ROWS, ImportPlan, ImportRefused, PlannedRow, apply_import
from livret.store import StoreError
from livret.store.errors import InvalidInput
from livret.store.records import StaleWrite

from .admin_learners import users
from .admin_support import AdminForm
from .auth import admin_required, current_user
from .state import livret

bp = Blueprint("admin_import", __name__, url_prefix="/admin/import/apprenants")

#: What the preview shows of a new learner (the full profile is in its page afterwards).
CREATE_SUMMARY = ("programme", "framework", "start", "end", "contract", "company.name", "tutors", "company_tutors",
                  "status")


class UploadForm(AdminForm):
    fichier = FileField(_l("Fichier CSV"), render_kw={"accept": ".csv,text/csv,text/plain"},
                        description=_l("Export d'un logiciel de gestion ou d'un tableur : séparateur « ; » ou « , », "
                                       "UTF-8 ou Windows-1252, %(mb)d Mo et %(rows)s lignes au plus.",
                                       mb=MAX_BYTES // (1024 * 1024), rows="20 000"))


class ConfirmForm(AdminForm):
    token = HiddenField()
    digest = HiddenField()
    only_valid = BooleanField(_l("N'importer que les lignes valides (les lignes en erreur sont ignorées)"))


def pending() -> PendingImports:
    return PendingImports(livret().project.instance)


def row_changes(row: PlannedRow) -> list[str]:
    """What the preview says a row does, one line per field."""
    if row.errors or row.after is None:
        return []
    changes = profile_changes(row.before, row.after)
    if row.action == "create":
        changes = [c for c in changes if c.key in CREATE_SUMMARY]
        lines = [f"{c.label} : {c.new}" for c in changes]
    else:
        lines = [f"{c.label} : {c.old} → {c.new}" for c in changes]
    if "body" in row.changed:
        lines.append(_("Objectifs, contexte : texte remplacé"))
    return lines


def _preview_page(plan: ImportPlan, token: str, form: ConfirmForm | None = None, *, status: int = 200,
                  notice: str | None = None):
    form = form or ConfirmForm(formdata=None)
    form.token.data = token
    form.digest.data = plan.fingerprint()
    broken = sum(1 for r in plan.rows if r.errors)
    return render_template("admin/import/preview.html", plan=plan, form=form, row_changes=row_changes,
                           broken=broken, writable=sum(1 for r in plan.writable_rows if not r.errors),
                           upload=UploadForm(formdata=None), notice=notice,
                           group_names={gid: g.name for gid, g in livret().project.store.groups().items()}), status


def _upload_page(form: UploadForm, status: int = 200):
    return render_template("admin/import/upload.html", form=form, max_mb=MAX_BYTES // (1024 * 1024),
                           max_rows=MAX_ROWS), status


@bp.route("/", methods=["GET", "POST"])
@admin_required
def index():
    form = UploadForm()
    if request.method == "GET":
        return _upload_page(form)
    storage = request.files.get("fichier")
    if storage is None or not storage.filename:
        form.fichier.errors = [_("Choisissez un fichier CSV.")]
        return _upload_page(form, 422)
    data = storage.stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        form.fichier.errors = [_("Fichier trop volumineux : %(mb)d Mo au plus ; découpez-le en plusieurs fichiers.",
                                 mb=MAX_BYTES // (1024 * 1024))]
        return _upload_page(form, 422)
    if not data.strip():
        form.fichier.errors = [_("Le fichier est vide.")]
        return _upload_page(form, 422)
    keeper = pending()
    token = keeper.keep(data, owner=current_user().username, name=storage.filename)
    kept = keeper.load(token, owner=current_user().username)
    plan = preview(livret().project.store, users(), kept)
    return _preview_page(plan, token)


@bp.route("/confirmer", methods=["POST"])
@admin_required
def confirm():
    form = ConfirmForm()
    user = current_user()
    keeper = pending()
    kept = keeper.load(form.token.data or "", owner=user.username)
    if kept is None:
        upload = UploadForm(formdata=None)
        upload.general_errors.append(_("Ce fichier n'est plus disponible (import déjà fait, délai de 24 heures "
                                       "dépassé, ou déposé par un autre compte) : déposez-le à nouveau."))
        return _upload_page(upload, 410)
    store = livret().project.store
    plan = preview(store, users(), kept)
    if plan.fingerprint() != (form.digest.data or ""):
        return _preview_page(plan, kept.token, status=409, notice=_(
            "Le dépôt a changé depuis l'aperçu (un profil ou un groupe modifié entre-temps) : voici l'aperçu "
            "à jour. Vérifiez-le, puis confirmez à nouveau."))
    only_valid = bool(form.only_valid.data)
    try:
        result = apply_import(plan, store, author=user.username, only_valid=only_valid)
    except ImportRefused as exc:
        return _preview_page(plan, kept.token, form, status=422, notice=str(exc))
    except StaleWrite as exc:
        return _preview_page(preview(store, users(), kept), kept.token, status=409, notice=str(exc))
    except InvalidInput as exc:
        return _preview_page(plan, kept.token, form, status=422, notice="; ".join(str(e) for e in exc.errors))
    except StoreError as exc:
        return _preview_page(plan, kept.token, form, status=503, notice=str(exc))
    keeper.discard(kept.token)
    names = {r.learner_id: r.name for r in plan.rows}
    groups = store.groups()
    return render_template("admin/import/done.html", result=result, names=names, plan=plan,
                           groups=[groups[g] for g in plan.named_groups if g in groups])
