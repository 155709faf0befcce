"""``livret sessions ...``: import training sessions from a CSV planning, list them.

``livret sessions import FILE.csv [--dry-run] [--author USER]`` prints one line per half-day planned
(errors as ``FILE:LINE: column : message`` on stderr), then writes every session in one commit, or
nothing: exit 1 when the file has errors.  ``livret sessions list [--month YYYY-MM] [--group ID]``
lists the sessions in force (cancelled ones marked).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..instance.accounts import Accounts
from ..interop.sessions_csv import MAX_BYTES, ImportRefused, apply_sessions, item_line, plan_sessions
from ..seal import witnessed
from ..store import StoreError
from ..store.errors import InvalidInput
from ..store.french import count
from ..store.project import Project
from ..views.attendance import load_chains
from . import main
from .common import fail, import_start, require_store, root_option


@main.group()
def sessions() -> None:
    """Séances (émargement) : import d'un planning CSV, liste."""


@sessions.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Afficher l'aperçu sans rien écrire.")
@click.option("--author", default=None, help="Nom d'utilisateur inscrit comme auteur du commit "
              "(par défaut : $USER, sinon « admin »).")
@root_option
def sessions_import(project: Project, file: Path, dry_run: bool, author: str | None) -> None:
    """Importe les séances de FILE.csv (planning exporté d'un ERP), en un seul commit.

    Colonnes : date, debut, fin, intitule, formateur, groupe, modalite, lieu, competences (docs/attendance.md).
    """
    author, data = import_start(project, file, author, MAX_BYTES)
    plan = plan_sessions(data, project.store, Accounts.for_project(project).list(), name=file.name, author=author)
    for warning in plan.warnings:
        click.echo(f"attention : {warning}", err=True)
    for line in plan.lines:
        for item in line.items:
            click.echo(f"ligne {line.line} : {item_line(item)}")
    for error in plan.errors:
        click.echo(error.line(str(file)), err=True)
    click.echo(f"{count(len(plan.items), 'demi-journée', 'demi-journées')}, "
               f"{count(len(plan.errors), 'erreur', 'erreurs')}")
    if dry_run:
        click.echo("Aperçu seulement (--dry-run) : rien n'a été écrit.")
        raise SystemExit(1 if plan.errors else 0)
    if plan.errors:
        fail("rien n'a été écrit : corrigez le fichier")
    witnessed(project)
    try:
        written = apply_sessions(plan, project.store, author=author)
    except (ImportRefused, InvalidInput, StoreError) as exc:
        fail(f"rien n'a été écrit : {exc}")
    click.echo(f"Importé : {count(len(written), 'demi-journée', 'demi-journées')} (auteur {author}).")


@sessions.command("list")
@click.option("--month", default=None, metavar="AAAA-MM", help="Le mois (par défaut : le mois en cours).")
@click.option("--group", "group_id", default=None, metavar="ID", help="Seulement les séances de ce groupe.")
@root_option
def sessions_list(project: Project, month: str | None, group_id: str | None) -> None:
    """Liste les séances d'un mois : id, date, demi-journée, horaires, intitulé, formateur, groupe, état."""
    require_store(project)
    store = project.store
    try:
        first = dt.date.fromisoformat(f"{month}-01") if month else dt.date.today().replace(day=1)
    except ValueError:
        fail(f"--month : AAAA-MM attendu, lu {month!r}", 2)
    if group_id is not None and group_id not in store.groups():
        fail(f"groupe inconnu : {group_id}", 2)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    shown = 0
    for chain in load_chains(store, first, last).values():
        s = chain.session
        if not first <= s.date <= last or (group_id and s.group != group_id):
            continue
        state = "annulée" if chain.cancelled else ("modifiée" if len(chain.versions) > 1 else "prévue")
        click.echo("\t".join([chain.id, s.date.isoformat(), s.half_day, f"{s.start}-{s.end}", s.title, s.trainer,
                              s.group or "(convocations)", state]))
        shown += 1
    click.echo(count(shown, "séance", "séances"), err=True)
