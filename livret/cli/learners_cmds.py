"""``livret learners ...``: import learners from a CSV file, list them.

``livret learners import FILE.csv [--dry-run] [--only-valid] [--author NAME]``
prints the preview (one line per row; errors as ``FILE:ROW: column:
message`` on stderr), then writes every row in one commit, or nothing: exit
1 when the file has errors and nothing was written.  ``--only-valid``
writes the valid rows alone.  ``livret learners list [--group ID]
[--status S]`` lists learners.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..admin.history import profile_changes
from ..instance.accounts import Accounts
from ..interop.learners_csv import MAX_BYTES, ImportPlan, ImportRefused, PlannedRow, apply_import, plan_import
from ..seal import witnessed
from ..store import StoreError
from ..store.errors import InvalidInput
from ..store.french import count
from ..store.project import Project
from ..store.records import StaleWrite
from ..store.schema import LEARNER_STATUSES
from . import main
from .common import fail, import_start, require_store, root_option


@main.group()
def learners() -> None:
    """Apprenant·es : import d'un fichier CSV, liste."""


def row_line(row: PlannedRow, *, final: bool = True) -> str:
    """One line of the preview: row, action, id, name, and what changes.

    A new learner's id is drawn when the file is read: shown when this run
    writes it (``final``), else « (nouvel identifiant) »."""
    shown = row.shown_id or "—"
    if row.generated and not final and not row.errors:
        shown = "(nouvel identifiant)"
    line = f"ligne {row.row} : {row.action_label} {shown} {row.name or ''}".rstrip()
    if row.action == "update":
        changes = profile_changes(row.before, row.after)
        parts = [f"{c.label} : {c.old} → {c.new}" for c in changes]
        if "body" in row.changed:
            parts.append("objectifs, contexte modifiés")
        if parts:
            line += " (" + " ; ".join(parts) + ")"
    if row.groups and not row.errors:
        line += " ; groupes : + " + ", ".join(row.groups)
    return line


def summary(plan: ImportPlan) -> str:
    broken = sum(1 for r in plan.rows if r.errors)
    return (f"{count(plan.count('create'), 'création', 'créations')}, "
            f"{count(plan.count('update'), 'mise à jour', 'mises à jour')}, "
            f"{count(plan.count('unchanged'), 'inchangée', 'inchangées')}, "
            f"{count(broken, 'ligne', 'lignes')} en erreur")


@learners.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Afficher l'aperçu sans rien écrire.")
@click.option("--only-valid", is_flag=True, help="N'importer que les lignes valides (les lignes en erreur "
              "sont ignorées et affichées).")
@click.option("--author", default=None, help="Nom d'utilisateur inscrit comme auteur du commit "
              "(par défaut : $USER, sinon « admin »).")
@root_option
def learners_import(project: Project, file: Path, dry_run: bool, only_valid: bool, author: str | None) -> None:
    """Importe des apprenant·es depuis FILE.csv (export d'un ERP ou d'un tableur), en un seul commit.

    Colonnes, encodages et séparateurs : docs/format.md. Une ligne avec l'identifiant d'un·e apprenant·e
    existant·e le ou la met à jour ; les autres lignes créent des apprenant·es.
    """
    author, data = import_start(project, file, author, MAX_BYTES)
    users = Accounts.for_project(project).list()
    plan = plan_import(data, project.store, users, name=file.name)
    for warning in plan.warnings:
        click.echo(f"attention : {warning}", err=True)
    final = not dry_run and (only_valid or plan.ok)
    for row in plan.rows:
        click.echo(row_line(row, final=final))
    for error in plan.errors:
        click.echo(error.line(str(file)), err=True)
    click.echo(summary(plan))
    if plan.file_errors:
        fail(f"{file} n'a pas été importé : rien n'a été écrit")
    broken = any(r.errors for r in plan.rows)
    if dry_run:
        click.echo("Aperçu seulement (--dry-run) : rien n'a été écrit.")
        raise SystemExit(1 if broken else 0)
    if broken and not only_valid:
        fail("rien n'a été écrit : corrigez le fichier, ou relancez avec --only-valid pour n'importer que "
             "les lignes valides")
    witnessed(project)
    try:
        result = apply_import(plan, project.store, author=author, only_valid=only_valid)
    except (ImportRefused, InvalidInput, StaleWrite, StoreError) as exc:
        fail(f"rien n'a été écrit : {exc}")
    if result.commit_id is None:
        click.echo("Rien à écrire : le dépôt est déjà à jour.")
        return
    click.echo(f"Importé : {count(len(result.created), 'création', 'créations')}, "
               f"{count(len(result.updated), 'mise à jour', 'mises à jour')}"
               + (f", {count(result.skipped, 'ligne en erreur ignorée', 'lignes en erreur ignorées')}"
                  if result.skipped else "")
               + f" (commit {result.commit_id[:10]}, auteur {author}).")


@learners.command("list")
@click.option("--group", "group_id", default=None, metavar="ID", help="Seulement les membres de ce groupe.")
@click.option("--status", type=click.Choice(list(LEARNER_STATUSES)), default=None, help="Seulement ce statut.")
@root_option
def learners_list(project: Project, group_id: str | None, status: str | None) -> None:
    """Liste les apprenant·es : identifiant, nom, formation, statut, groupes."""
    require_store(project)
    store = project.store
    groups = store.groups()
    if group_id is not None and group_id not in groups:
        fail(f"groupe inconnu : {group_id} (connus : {', '.join(groups) or 'aucun'})", 2)
    member_of: dict[str, list[str]] = {}
    for gid, group in groups.items():
        for lid in group.members:
            member_of.setdefault(lid, []).append(gid)
    shown = 0
    for lid in store.learner_ids():
        if group_id is not None and lid not in groups[group_id].members:
            continue
        profile = store.profile(lid)
        if profile is None:
            if status is None:
                click.echo(f"{lid}\t(profil invalide : livret check)")
                shown += 1
            continue
        if status is not None and profile.status != status:
            continue
        click.echo("\t".join([lid, profile.name, profile.programme, LEARNER_STATUSES[profile.status],
                              ", ".join(member_of.get(lid, [])) or "—"]))
        shown += 1
    if not shown:
        click.echo("Aucun·e apprenant·e.")
