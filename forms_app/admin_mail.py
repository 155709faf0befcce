"""The outbox seen by admins: ``/admin/courriels`` (admins only).

Every mail livret queued, newest first, filterable by state: kind,
recipient, subject, state, attempts, next attempt, the server's last answer
or error, created and sent times; « Réessayer » on a failed one (POST with
its CSRF token; queued again at once).  In embedded mode (no
``LIVRET_SMTP_URL``) the page says mails are written under
``instance/outbox/`` and shows each mail's text — with every one-time link
token masked (``/lien/…XXXX``): this page never displays a usable link.

Also here, for every page: the sender is woken after each POST (a form may
have queued a mail), and admins get a banner (dashboard, administration
home) when mails failed or the oldest queued one waits too long.
"""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from livret.mail.outbox import STATES, Outbox, OutboxMail, mask_tokens
from livret.mail.sender import BACKOFF
from livret.mail.settings import MailConfigError, from_env, sender_of
from livret.mail.transport import OUTBOX_DIR
from livret.store import french

from .auth import admin_required, current_user
from .state import livret

bp = Blueprint("admin_mail", __name__, url_prefix="/admin/courriels")

MAX_ID = 2**63 - 1


def outbox() -> Outbox:
    return Outbox(livret().accounts.db)


@bp.after_app_request
def wake_sender(response):
    """A POST may have queued a mail: the background sender looks at once (a cheap Event.set)."""
    mail = livret().mail
    if mail is not None and request.method == "POST":
        mail.wake()
    return response


@bp.app_context_processor
def mail_banner() -> dict:
    def mail_warnings() -> list[str]:
        user = current_user()
        if user is None or user.role != "admin":
            return []
        try:
            return outbox().summary().warnings()
        except Exception:  # noqa: BLE001 - a banner never breaks a page
            return []
    return {"mail_warnings": mail_warnings}


def _eml_text(mail: OutboxMail) -> str | None:
    """The plain text of a mail written as an .eml file (embedded mode), read back from the file."""
    if mail.transport != "eml" or not mail.answer:
        return None
    folder = (livret().project.instance / OUTBOX_DIR).resolve()
    try:
        path = Path(mail.answer).resolve()
        if path.parent != folder or path.suffix != ".eml":
            return None
        parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        part = parsed.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else None
    except (OSError, ValueError, LookupError):
        return None


@bp.route("/")
@admin_required
def index():
    state = request.args.get("etat", "")
    state = state if state in STATES else ""
    box = outbox()
    mails = box.list(state or None)
    config_error = None
    try:
        smtp = from_env()
    except MailConfigError as exc:
        smtp, config_error = None, str(exc)
    sender = sender_error = None
    try:
        sender = sender_of(livret().project.store.settings(), smtp=smtp is not None)
    except MailConfigError as exc:
        sender_error = str(exc)
    embedded = smtp is None and config_error is None
    texts = {}
    for mail in mails:
        text = mail.text or (_eml_text(mail) if embedded or mail.transport == "eml" else None)
        if text and (embedded or mail.state in ("queued", "failed")):
            texts[mail.id] = mask_tokens(text)
    answers = {m.id: (f"{OUTBOX_DIR}/{Path(m.answer).name}" if m.transport == "eml" and m.answer else m.answer)
               for m in mails}
    summary = box.summary()
    return render_template("admin/mail/index.html", mails=mails, state=state, states=STATES, summary=summary,
                           warnings=summary.warnings(), embedded=embedded, smtp=smtp, config_error=config_error,
                           sender=sender, sender_error=sender_error, texts=texts, answers=answers,
                           schedule=", ".join(_duration(d) for d in BACKOFF), attempts=len(BACKOFF) + 1,
                           mask=mask_tokens)


def _duration(seconds: float) -> str:
    return french.duration(round(seconds / 60))


@bp.route("/<int:mail_id>/reessayer", methods=["POST"])
@admin_required
def retry(mail_id: int):
    if not 0 < mail_id <= MAX_ID:
        abort(404)
    box = outbox()
    mail = box.get(mail_id)
    if mail is None:
        abort(404)
    if box.retry(mail_id):
        flash(_("Courriel n° %(id)d remis en file d'envoi.", id=mail_id), "success")
    else:
        flash(_("Le courriel n° %(id)d n'est pas en échec : rien à réessayer.", id=mail_id), "warning")
    return redirect(url_for(".index", etat=request.args.get("etat") or None), 303)
