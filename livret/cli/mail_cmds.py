"""``livret mail ...``: test the mail configuration, send the outbox's due mails, see its state."""

from __future__ import annotations

import datetime as dt

import click

from ..instance.accounts import clean_email
from ..mail.messages import test_message
from ..mail.outbox import STATES, Outbox, mask_tokens
from ..mail.sender import MailSender, send_now
from ..mail.settings import MailConfigError, from_env
from ..mail.transport import MailFailure
from ..store.french import count
from ..store.project import Project
from . import main
from .common import fail, require_store, root_option


@main.group()
def mail() -> None:
    """Courriels : essai de la configuration, file d'envoi (base de données du dossier instance/)."""


@mail.command("test")
@click.argument("address")
@root_option
def mail_test(project: Project, address: str) -> None:
    """Envoie tout de suite un courriel de test à ADDRESS et affiche la réponse du serveur.

    Le serveur est celui de LIVRET_SMTP_URL (mot de passe dans
    LIVRET_SMTP_PASSWORD) ; sans cette variable, le courriel est écrit dans
    instance/outbox/ et la commande affiche le chemin du fichier.  Code de
    sortie 1 si le serveur refuse le courriel ou est injoignable, 2 si la
    configuration est invalide.
    """
    require_store(project)
    try:
        address = clean_email(address)
    except ValueError as exc:
        fail(str(exc), 2)
    if not address:
        fail("adresse e-mail vide", 2)
    try:
        smtp = from_env()
    except MailConfigError as exc:
        fail(str(exc), 2)
    server = smtp.describe() if smtp else "fichiers .eml (aucun LIVRET_SMTP_URL)"
    click.echo(f"Envoi d'un courriel de test à {address} par {server}…")
    try:
        answer = send_now(project, test_message(project.store.settings(), to=address, server=server), smtp=smtp)
    except MailConfigError as exc:
        fail(str(exc), 2)
    except MailFailure as exc:
        fail(f"courriel non envoyé : {exc}", 1)
    if smtp is None:
        click.echo(f"Courriel écrit (mode sans serveur SMTP) : {answer}")
    else:
        click.echo(f"Courriel accepté par le serveur : {answer}")


@mail.command("send-queued")
@root_option
def mail_send_queued(project: Project) -> None:
    """Envoie une fois les courriels en attente dont l'heure est venue (pour cron, sans serveur livret)."""
    require_store(project)
    try:
        from_env()
    except MailConfigError as exc:
        fail(str(exc), 2)
    report = MailSender(project).run_once()
    click.echo(f"{count(len(report.sent), 'envoyé', 'envoyés')}, "
               f"{count(len(report.postponed), 'reporté', 'reportés')}, "
               f"{len(report.failed)} en échec.")
    if report.stopped:
        click.echo(f"Tour interrompu : {report.stopped}")
        raise SystemExit(1)


@mail.command("list")
@click.option("--state", type=click.Choice(list(STATES)), default=None, help="Seulement cet état.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@root_option
def mail_list(project: Project, state: str | None, limit: int) -> None:
    """Liste la file d'envoi : état, tentatives, destinataire, objet, dernière erreur (liens masqués)."""
    outbox = Outbox.for_project(project)
    mails = outbox.list(state, limit=limit)
    summary = outbox.summary()
    counts = ", ".join(f"{label} : {summary.counts.get(key, 0)}" for key, label in STATES.items())
    click.echo(f"File d'envoi — {counts}")
    for line in summary.warnings(dt.datetime.now(dt.timezone.utc)):
        click.echo(f"! {line}")
    for m in mails:
        when = f"{m.created:%Y-%m-%d %H:%M}"
        extra = ""
        if m.state == "queued" and m.attempts:
            extra = f", prochaine tentative {m.next_attempt:%Y-%m-%d %H:%M} UTC"
        click.echo(f"{m.id:>6}  {when}  {m.state_label:<17} {m.attempts} tent.  {m.kind_label:<21} {m.recipient}  "
                   f"« {m.subject} »{extra}")
        if m.last_error and m.state != "sent":
            click.echo(f"        {mask_tokens(m.last_error)}")
