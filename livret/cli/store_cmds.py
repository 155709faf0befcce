"""``livret check`` and ``livret init``."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from ..seal import witnessed
from ..seal.keys import Keys
from ..store.history import History
from ..store.project import Project
from . import main
from .common import fail, require_store, root_option

SCAFFOLD = Path(__file__).resolve().parent.parent / "scaffold"


@main.command()
@root_option
def check(project: Project) -> None:
    """Valide tout le dépôt des portfolios ; une ligne « chemin:ligne: message » par problème.

    Les avertissements (« chemin:ligne: avertissement : message », une date invraisemblable
    par exemple) laissent le fichier lisible et ne changent pas le code de sortie.
    """
    require_store(project)
    problems = project.store.check()
    warnings = project.store.warnings()
    for problem in problems + warnings:
        click.echo(str(problem))
    learners = len(project.store.learner_ids())
    noted = f", {len(warnings)} avertissement(s)" if warnings else ""
    if problems:
        click.echo(f"{len(problems)} problème(s){noted} dans {learners} portfolio(s).", err=True)
        raise SystemExit(1)
    click.echo(f"Aucun problème : {learners} portfolio(s) vérifié(s){noted}.", err=True)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-git", is_flag=True, help="Ne pas créer d'historique git dans portfolios/.")
def init(directory: Path, no_git: bool) -> None:
    """Crée un nouveau projet livret (configuration, site_src/, un référentiel et un apprenant d'exemple)."""
    if directory.exists() and any(directory.iterdir()):
        fail(f"{directory} existe et n'est pas vide")
    shutil.copytree(SCAFFOLD, directory, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    project = Project.at(directory)
    if not no_git:
        History(project.portfolios).init()
    witnessed(project)  # the journal of commits starts with the project (livret.seal)
    Keys.for_project(project).init()  # the organisation's signing key (audit packs, badges)
    problems = project.store.check()
    for problem in problems:  # the scaffold is tested to be valid; never silent if not
        click.echo(str(problem), err=True)
    click.echo(f"Projet créé dans {project.root}.")
    click.echo(f"  livret --root {directory} check    # valider le dépôt")
    click.echo(f"  livret --root {directory} build    # construire les sites")
