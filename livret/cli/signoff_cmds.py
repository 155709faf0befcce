"""Sign-off commands: ``notify`` (the reminders of what waits for a signature)."""

from __future__ import annotations

import click

from ..store.french_dates import fr_date
from ..store.project import Project
from . import main
from .common import fail, require_store, root_option


@main.command()
@click.option("--base-url", default=None, metavar="URL",
              help="Adresse publique de l'application pour les liens des courriels "
                   "(par défaut : public_url de _organisation.yml).")
@click.option("--dry-run", is_flag=True, help="Afficher les relances sans rien envoyer ni enregistrer.")
@root_option
def notify(project: Project, base_url: str | None, dry_run: bool) -> None:
    """Relance par courriel (une seule fois) chaque signataire dont la signature est attendue depuis
    plus de signoff.remind_after_days jours ; un courriel par personne, via la file d'envoi."""
    from ..signoff.reminders import run_round

    require_store(project)
    if base_url is not None and not base_url.startswith(("https://", "http://")):
        fail("--base-url : une adresse http:// ou https:// est attendue", 2)
    try:
        result = run_round(project, base_url=base_url, dry_run=dry_run)
    except ValueError as exc:
        fail(str(exc), 2)
    verb = "à relancer" if dry_run else "relancé·e"
    for r in result.sent:
        if r.mail_id is None and not dry_run:
            continue
        items = "; ".join(f"{p.entry_title} ({p.learner_name}, depuis le {fr_date(p.since)})" for p in r.items)
        click.echo(f"{r.name} <{r.email}> {verb} : {items}")
    for username, why in result.skipped:
        click.echo(f"{username} : pas de relance ({why})", err=True)
    count = sum(1 for r in result.sent if dry_run or r.mail_id is not None)
    if dry_run:
        click.echo(f"{count} courriel(s) de relance à envoyer (rien n'a été envoyé ni enregistré).")
    else:
        click.echo(f"{count} courriel(s) de relance mis en file d'envoi.")
