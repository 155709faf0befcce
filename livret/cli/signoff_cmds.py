"""Scheduled mails: ``notify`` (meeting reminders, weekly digests, escalations, sign-off reminders)."""

from __future__ import annotations

import click

from ..store import french
from ..store.french_dates import fr_date
from ..store.project import Project
from . import main
from .common import fail, require_store, root_option

KIND_LABELS = {"reminder": "rappel de rendez-vous", "digest": "récapitulatif hebdomadaire",
               "escalation": "suivis en retard"}


@main.command()
@click.option("--base-url", default=None, metavar="URL",
              help="Adresse publique de l'application pour les liens des courriels "
                   "(par défaut : public_url de _organisation.yml).")
@click.option("--dry-run", is_flag=True, help="Afficher les courriels dus sans rien envoyer ni enregistrer.")
@root_option
def notify(project: Project, base_url: str | None, dry_run: bool) -> None:
    """Met en file les courriels programmés qui sont dus (rappels de rendez-vous la veille, récapitulatif
    hebdomadaire des tuteurs, suivis en retard signalés aux administrateurs, relances de signature et
    d'émargement),
    chacun une seule fois, puis envoie la file une fois et s'arrête (pour cron)."""
    from ..mail.sender import MailSender
    from ..planning.scheduler import run_scheduler
    from ..signoff.reminders import run_round

    require_store(project)
    if base_url is not None and not base_url.startswith(("https://", "http://")):
        fail("--base-url : une adresse http:// ou https:// est attendue", 2)
    try:
        report = run_scheduler(project, base_url=base_url, dry_run=dry_run, extra_rounds=[("signoff", run_round)])
    except ValueError as exc:
        fail(str(exc), 2)
    for name in ("signoff", "attendance"):
        if name in report.errors:
            fail(report.errors[name], 2)
    verb = "à envoyer" if dry_run else "mis en file"
    for notice in report.queued:
        click.echo(f"{notice.name} <{notice.to}> : {KIND_LABELS.get(notice.kind, notice.kind)} {verb} "
                   f"({notice.summary})")
    result = report.rounds["signoff"]
    verb = "à relancer" if dry_run else "relancé·e"
    for r in result.sent:
        if r.mail_id is None and not dry_run:
            continue
        items = "; ".join(f"{p.entry_title} ({p.learner_name}, depuis le {fr_date(p.since)})" for p in r.items)
        click.echo(f"{r.name} <{r.email}> {verb} : {items}")
    for r in report.rounds["attendance"].sent:  # livret.attendance.reminders
        how = f"courriel à <{r.to}>" if r.how == "mail" else "avis à sa prochaine connexion"
        click.echo(f"{r.name} : émargement manquant « {r.title} » {verb} ({how})")
    for who, why in [*report.skipped, *result.skipped]:
        click.echo(f"{who} : pas de {'courriel' if (who, why) in report.skipped else 'relance'} ({why})", err=True)
    count = sum(1 for r in result.sent if dry_run or r.mail_id is not None)
    if dry_run:
        click.echo(f"{french.count(len(report.queued), 'courriel programmé', 'courriels programmés')} à envoyer "
                   "(rien n'a été envoyé ni enregistré).")
        click.echo(f"{french.count(count, 'courriel', 'courriels')} de relance à envoyer "
                   "(rien n'a été envoyé ni enregistré).")
        return
    click.echo(f"{french.count(len(report.queued), 'courriel programmé', 'courriels programmés')} mis en file d'envoi.")
    click.echo(f"{french.count(count, 'courriel', 'courriels')} de relance mis en file d'envoi.")
    sent = MailSender(project).run_once()
    click.echo(f"File d'envoi : {french.count(len(sent.sent), 'envoyé', 'envoyés')}, "
               f"{french.count(len(sent.postponed), 'reporté', 'reportés')}, "
               f"{len(sent.failed)} en échec.")
    if sent.stopped:
        click.echo(f"Envoi interrompu : {sent.stopped}", err=True)
