"""``livret seal ...`` (the witness journal and its witnesses) and ``livret keys ...`` (signing keys)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..seal import witnessed
from ..seal.keys import Keys, SigningKeyError, public_document
from ..seal.timestamps import TimestampError, Timestamps, load_roots
from ..seal.witness import Witness, WitnessError
from ..store.french import count
from ..store.project import Project
from . import main
from .common import fail, require_store, root_option


def seal_settings(project: Project):
    """The ``seal`` settings of ``_organisation.yml``."""
    return project.store.settings().seal


def tsa_roots(project: Project, settings) -> list:
    path = Path(settings.tsa_ca)
    if not path.is_absolute():
        path = project.root / path
    try:
        return load_roots(path.read_bytes())
    except OSError as exc:
        fail(f"seal.tsa_ca : certificat introuvable ({path} : {exc.strerror})", 2)
        raise


@main.group()
def seal() -> None:
    """Le journal témoin des commits et ses témoins extérieurs (dépôt témoin, horodatage)."""


@seal.command("start")
@root_option
def seal_start(project: Project) -> None:
    """Commence le journal témoin (s'il n'a pas commencé) à l'état actuel de l'historique."""
    require_store(project)
    journal = witnessed(project)
    first = journal.records()[0]
    click.echo(f"Journal témoin commencé le {first.recorded} (enregistrement n° 1, "
               f"commit {first.commit_id[:12] or 'aucun'}) ; "
               f"{count(len(journal.records()), 'enregistrement', 'enregistrements')}.")


@seal.command("status")
@root_option
def seal_status(project: Project) -> None:
    """État du journal témoin, du dépôt témoin et de l'horodatage."""
    require_store(project)
    journal = witnessed(project)
    records = journal.records()
    click.echo(f"Journal : {count(len(records), 'enregistrement', 'enregistrements')}, "
               f"commencé le {records[0].recorded}, "
               f"dernier le {records[-1].recorded}.")
    settings = seal_settings(project)
    if settings.witness_remote:
        try:
            witness = Witness(journal, settings.witness_remote)
            lag = witness.lag(witness.remote_state(), records)
            click.echo(f"Dépôt témoin : {count(lag, 'enregistrement', 'enregistrements')} à envoyer." if lag
                       else "Dépôt témoin : à jour.")
        except WitnessError as exc:
            click.echo(f"Dépôt témoin : {exc}")
    else:
        click.echo("Dépôt témoin : non configuré (réglage seal.witness_remote).")
    latest = Timestamps(journal).latest()
    if settings.tsa_url:
        click.echo(f"Horodatage : dernier jeton le {latest.gen_time:%d/%m/%Y %H:%M} UTC (n° {latest.seq})."
                   if latest else "Horodatage : aucun jeton encore.")
    else:
        click.echo("Horodatage : non configuré (réglages seal.tsa_url et seal.tsa_ca).")


@seal.command("push")
@root_option
def seal_push(project: Project) -> None:
    """Envoie au dépôt témoin les enregistrements qu'il n'a pas encore."""
    require_store(project)
    settings = seal_settings(project)
    if not settings.witness_remote:
        fail("aucun dépôt témoin configuré (réglage seal.witness_remote de _organisation.yml)", 2)
    try:
        sent = Witness(witnessed(project), settings.witness_remote).push()
    except WitnessError as exc:
        fail(str(exc))
    click.echo(f"{count(sent, 'enregistrement envoyé', 'enregistrements envoyés')} au dépôt témoin.")


@seal.command("timestamp")
@click.option("--force", is_flag=True, help="Demander un jeton même si la tête du journal a déjà le sien.")
@root_option
def seal_timestamp(project: Project, force: bool) -> None:
    """Fait horodater la tête du journal par l'autorité d'horodatage configurée (RFC 3161)."""
    require_store(project)
    settings = seal_settings(project)
    if not settings.tsa_url or not settings.tsa_ca:
        fail("aucune autorité d'horodatage configurée (réglages seal.tsa_url et seal.tsa_ca)", 2)
    try:
        token = Timestamps(witnessed(project)).checkpoint(settings.tsa_url, tsa_roots(project, settings), force=force)
    except TimestampError as exc:
        fail(str(exc))
    click.echo(f"Tête du journal (n° {token.seq}) horodatée le {token.gen_time:%d/%m/%Y %H:%M:%S} UTC.")


@main.group()
def keys() -> None:
    """Clés de signature de l'organisme (dossiers d'audit, badges)."""


def _print_key(key, action: str) -> None:
    click.echo(f"{action} : {key.kid} (Ed25519), signe depuis le {key.valid_from}.")


@keys.command("init")
@root_option
def keys_init(project: Project) -> None:
    """Crée la clé de signature de l'organisme s'il n'en a pas (sinon, l'affiche)."""
    store_keys = Keys.for_project(project)
    had = store_keys.current()
    try:
        key = store_keys.init()
    except (OSError, SigningKeyError) as exc:
        fail(str(exc))
    _print_key(key, "Clé existante" if had else "Clé créée")
    click.echo("Publiez la liste des clés publiques (« livret keys export ») et donnez-la aux auditeurs.")


@keys.command("rotate")
@root_option
def keys_rotate(project: Project) -> None:
    """Crée une nouvelle clé qui signe désormais ; l'ancienne est retirée mais reste publiée."""
    try:
        key = Keys.for_project(project).rotate()
    except (OSError, SigningKeyError) as exc:
        fail(str(exc))
    _print_key(key, "Nouvelle clé")
    click.echo("Publiez de nouveau la liste des clés publiques (« livret keys export »).")


@keys.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Fichier à écrire (par défaut : la liste s'affiche).")
@root_option
def keys_export(project: Project, output: Path | None) -> None:
    """La liste des clés publiques de l'organisme (JSON), à publier et à donner aux auditeurs."""
    try:
        published = Keys.for_project(project).published()
    except SigningKeyError as exc:
        fail(str(exc))
    if not published:
        fail("aucune clé : lancez « livret keys init »", 2)
    text = json.dumps(public_document(published), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{count(len(published), 'clé publique écrite', 'clés publiques écrites')} dans {output}.")
