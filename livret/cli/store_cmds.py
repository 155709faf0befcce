"""``livret check`` and ``livret init``.

``livret init DIR`` scaffolds a project (``livret/scaffold/``) and, unless
``--no-example``, the example learner (``livret/scaffold/example-learner/``)
under a new opaque id, its dates moved to the present, with the two accounts
its profile names; then it prints how to create the first admin and start.
"""

from __future__ import annotations

import datetime as dt
import shlex
import shutil
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from ..instance.accounts import Accounts, random_password
from ..seal import witnessed
from ..seal.keys import Keys
from ..store.french import count
from ..store.history import History
from ..store.ids import new_learner_id
from ..store.project import Project
from ..store.schema import ROLE_LABELS
from ..store.yamlio import parse_front_matter, render_front_matter
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
    noted = f", {count(len(warnings), 'avertissement', 'avertissements')}" if warnings else ""
    if problems:
        click.echo(f"{count(len(problems), 'problème', 'problèmes')}{noted} dans "
                   f"{count(learners, 'portfolio', 'portfolios')}.", err=True)
        raise SystemExit(1)
    click.echo(f"Aucun problème : {count(learners, 'portfolio vérifié', 'portfolios vérifiés')}{noted}.", err=True)


#: The example learner ``livret init`` offers, kept outside the scaffold's portfolios/ (copied under a new id).
EXAMPLE = SCAFFOLD / "example-learner"
#: The day the example's dates describe: at init they move by whole weeks so that this day is about today.
EXAMPLE_DAY = dt.date(2026, 1, 28)
#: The accounts the example profile names (its tutor, its learner), created with it.
EXAMPLE_ACCOUNTS = (("paul.martin", "tutor"), ("marie.durand", "learner"))
#: Front-matter keys of the example that hold a date-time / a date.
DATETIME_KEYS = ("date", "recorded")
DATE_KEYS = ("due", "period_start", "period_end", "start", "end", "status_date")


def _shifted(data: dict, delta: dt.timedelta, tz: ZoneInfo) -> dict:
    out = dict(data)
    for key in DATETIME_KEYS:
        if isinstance(out.get(key), str):
            local = dt.datetime.fromisoformat(out[key]).astimezone(tz).replace(tzinfo=None) + delta
            out[key] = local.replace(tzinfo=tz).isoformat()
    for key in DATE_KEYS:
        if isinstance(out.get(key), str):
            out[key] = (dt.date.fromisoformat(out[key]) + delta).isoformat()
    return out


def interactive() -> bool:
    """Whether someone can answer a question (standard input is a terminal)."""
    return sys.stdin.isatty()


def local_today(project: Project) -> dt.date:
    """Today in the organisation's timezone."""
    return dt.datetime.now(ZoneInfo(project.store.settings().timezone)).date()


def add_example_learner(project: Project, today: dt.date) -> str:
    """Copy the example learner into a new store (before its history starts), under a new opaque id,
    its dates moved by whole weeks (weekdays stay weekdays) so that it reads as of ``today``:
    a recent contact, a plan not yet due, no alert on day one.  Returns its id."""
    learner_id = new_learner_id(taken=set(project.store.learner_ids()))
    target = project.portfolios / learner_id
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("__pycache__"))
    delta = dt.timedelta(weeks=(today - EXAMPLE_DAY).days // 7)
    tz = ZoneInfo(project.store.settings().timezone)
    profile = target / "learner.md"
    doc = parse_front_matter(profile.read_text(encoding="utf-8"))
    data = {**_shifted(doc.data, delta, tz), "id": learner_id}
    profile.write_text(render_front_matter(data, doc.body), encoding="utf-8")
    for path in sorted((target / "entries").glob("*.md")):
        doc = parse_front_matter(path.read_text(encoding="utf-8"))
        data = _shifted(doc.data, delta, tz)
        name = dt.datetime.fromisoformat(data["date"]).date().isoformat() + path.name[10:]
        (path.parent / name).write_text(render_front_matter(data, doc.body), encoding="utf-8")
        if name != path.name:
            path.unlink()
    return learner_id


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-git", is_flag=True, help="Ne pas créer d'historique git dans portfolios/.")
@click.option("--example/--no-example", default=None,
              help="Ajouter (ou non) l'apprenante d'exemple et créer ses deux comptes (sa tutrice, elle-même). "
                   "Sans l'option : la question est posée sur un terminal ; ailleurs, l'exemple est ajouté.")
def init(directory: Path, no_git: bool, example: bool | None) -> None:
    """Crée un nouveau projet livret (configuration, site_src/, un référentiel d'exemple et, au choix, une
    apprenante d'exemple avec ses comptes), puis dit comment créer le premier administrateur et démarrer."""
    if directory.exists() and any(directory.iterdir()):
        fail(f"{directory} existe et n'est pas vide")
    if example is None:
        example = click.confirm(
            "Ajouter l'apprenante d'exemple (Marie Durand, six entrées) et créer ses comptes "
            "(paul.martin, tuteur·rice ; marie.durand, apprenant·e) ?", default=True) \
            if interactive() else True
    shutil.copytree(SCAFFOLD, directory, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", EXAMPLE.name))
    project = Project.at(directory)
    learner_id = add_example_learner(project, local_today(project)) if example else None
    if not no_git:
        History(project.portfolios).init()
    witnessed(project)  # the journal of commits starts with the project (livret.seal)
    Keys.for_project(project).init()  # the organisation's signing key (audit packs, badges)
    created = []
    if learner_id is not None:
        accounts = Accounts.for_project(project)
        for username, role in EXAMPLE_ACCOUNTS:
            if accounts.get(username) is None:
                password = random_password(username)
                accounts.add(username, role, password)
                created.append((username, role, password))
    problems = project.store.check()
    for problem in problems:  # the scaffold is tested to be valid; never silent if not
        click.echo(str(problem), err=True)
    root = shlex.quote(str(directory))
    click.echo(f"Projet créé dans {project.root}.")
    if learner_id is not None:
        profile = project.store.profile(learner_id)
        click.echo("")
        click.echo(f"Apprenante d'exemple : {profile.name} (identifiant {learner_id}), suivie par "
                   f"{', '.join(profile.tutors)} ; ses dates sont ramenées à aujourd'hui.")
        click.echo("Comptes d'exemple (mots de passe aléatoires, affichés une seule fois) :")
        width = max(len(u) for u, _, _ in created) if created else 0
        for username, role, password in created:
            click.echo(f"  {ROLE_LABELS[role]:<14}  {username:<{width}}  {password}")
    click.echo("")
    click.echo("Pour commencer :")
    click.echo("  1. Créez le premier compte administrateur (son mot de passe s'affiche) :")
    click.echo(f"       livret --root {root} user add NOM --role admin")
    click.echo("  2. Démarrez le serveur :")
    click.echo(f"       livret --root {root} serve")
    click.echo("  3. Ouvrez http://127.0.0.1:8000/admin/, connectez-vous avec ce compte et suivez « Premiers pas » :")
    click.echo("     importer votre référentiel, créer les comptes des tuteur·rices, ajouter les apprenant·es.")
    click.echo("")
    click.echo(f"Valider le dépôt : livret --root {root} check ; construire les sites : livret --root {root} build")
