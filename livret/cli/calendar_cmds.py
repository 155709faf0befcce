"""``livret calendar import FILE (--learner ID | --group ID) [--dry-run]``: a work-study calendar from a CSV file.

Columns ``debut;fin;lieu;precision`` (docs/planning.md).  The file replaces
the learner's own periods or the group's, in one commit, or nothing is
written: every error is printed as ``FILE: ligne N, colonne : message`` and
the exit code is 1.  ``--dry-run`` checks and prints the periods only.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..admin.calendar import set_group_calendar, set_learner_calendar
from ..interop.calendar_csv import MAX_BYTES, parse_calendar_csv
from ..seal import witnessed
from ..store import StoreError, UnknownLearner, valid_learner_id
from ..store.errors import InvalidInput
from ..store.french import count
from ..store.project import Project
from ..store.records import StaleWrite
from ..store.schema import PERIOD_KINDS, USERNAME_RE
from ..store.writer import ANY_REVISION
from ..views.progress import fr_date
from . import main
from .common import fail, require_store, root_option
from .interop_cmds import cli_author


@main.group()
def calendar() -> None:
    """Calendrier de l'alternance : import d'un fichier CSV."""


@calendar.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--learner", "learner_id", default=None, metavar="ID", help="Le calendrier de cet·te apprenant·e.")
@click.option("--group", "group_id", default=None, metavar="ID", help="Le calendrier de ce groupe.")
@click.option("--dry-run", is_flag=True, help="Vérifier le fichier et afficher les périodes sans rien écrire.")
@click.option("--author", default=None, help="Nom d'utilisateur inscrit comme auteur du commit "
              "(par défaut : $USER, sinon « admin »).")
@root_option
def calendar_import(project: Project, file: Path, learner_id: str | None, group_id: str | None, dry_run: bool,
                    author: str | None) -> None:
    """Remplace le calendrier d'un·e apprenant·e (--learner) ou d'un groupe (--group) par celui de FILE.csv.

    Colonnes : debut;fin;lieu;precision (dates JJ/MM/AAAA ou AAAA-MM-JJ ; lieu : centre, entreprise ou
    absence). Tout le fichier, ou rien.
    """
    require_store(project)
    if (learner_id is None) == (group_id is None):
        fail("indiquez --learner ID ou --group ID (l'un des deux)", 2)
    author = author or cli_author()
    if not USERNAME_RE.match(author):
        fail(f"--author : nom d'utilisateur invalide : {author!r}", 2)
    store = project.store
    if learner_id is not None:
        try:
            if not valid_learner_id(learner_id) or store.profile(learner_id) is None:
                fail(f"--learner : profil absent ou invalide : {learner_id} (voir livret check)", 2)
        except UnknownLearner:
            fail(f"--learner : apprenant·e inconnu·e : {learner_id}", 2)
    elif store.group(group_id)[0] is None:
        known = ", ".join(store.group_ids()) or "aucun"
        fail(f"--group : groupe inconnu ou invalide : {group_id} (connus : {known})", 2)
    try:
        data = file.read_bytes()[: MAX_BYTES + 1]
    except OSError as exc:
        fail(f"lecture impossible de {file} : {exc.strerror}", 2)
    parsed = parse_calendar_csv(data)
    for error in parsed.errors:
        click.echo(f"{file}: {error}", err=True)
    if not parsed.ok:
        fail(f"{file} n'a pas été importé : rien n'a été écrit "
             f"({count(len(parsed.errors), 'erreur', 'erreurs')})")
    for p in parsed.periods:
        click.echo(f"du {fr_date(p.start)} au {fr_date(p.end)} : {PERIOD_KINDS[p.kind]}"
                   + (f" ({p.label})" if p.label else ""))
    click.echo(f"{count(len(parsed.periods), 'période', 'périodes')}.")
    if dry_run:
        click.echo("Aperçu seulement (--dry-run) : rien n'a été écrit.")
        return
    witnessed(project)
    how = "calendrier de l'alternance importé"
    try:
        if learner_id is not None:
            commit = set_learner_calendar(store, learner_id, parsed.periods, author=author, expected=ANY_REVISION,
                                          how=how)
        else:
            commit = set_group_calendar(store, group_id, parsed.periods, author=author, expected=ANY_REVISION,
                                        how=how)
    except (InvalidInput, StaleWrite, StoreError) as exc:
        fail(f"rien n'a été écrit : {exc}")
    if commit is None:
        click.echo("Rien à écrire : le calendrier est déjà celui du fichier.")
        return
    click.echo(f"Importé : {count(len(parsed.periods), 'période', 'périodes')} "
               f"(commit {commit[:10]}, auteur {author}).")
