"""``livret build``: the portfolio sites, one per learner and audience."""

from __future__ import annotations

from pathlib import Path

import click

from ..publish.build import BuildError, BuildStorageError, build_all
from ..store import UnknownLearner, french
from ..store.project import Project
from . import main
from .common import fail, root_option

#: Beyond this many learners, the command does not list every site.
LIST_SITES_UP_TO = 10


@main.command()
@root_option
@click.option("--learner", "learners", multiple=True, metavar="ID",
              help="Ne construire que ce portfolio (option répétable). Par défaut : tous.")
@click.option("--jobs", type=click.IntRange(1, 256), default=None,
              help="Nombre de constructions en parallèle. Par défaut : le nombre de processeurs.")
@click.option("--force", is_flag=True, help="Tout reconstruire, même ce qui n'a pas changé.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Dossier de sortie. Par défaut : build/ dans le projet.")
def build(project: Project, learners: tuple[str, ...], jobs: int | None, force: bool, out: Path | None) -> None:
    """Construit les sites des portfolios : build/staff/<id>/ (équipe) et build/shared/<id>/ (partagé).

    Seuls les portfolios modifiés sont reconstruits. Une entrée invalide est
    laissée de côté et signalée (« chemin:ligne: message ») ; le code de
    sortie est alors 1.
    """
    if not project.portfolios.is_dir():
        fail(f"pas de dossier portfolios/ dans {project.root}", 2)
    try:
        report = build_all(project, learners=learners or None, jobs=jobs, force=force, out=out, progress=True)
    except UnknownLearner as exc:
        fail(str(exc), 2)
    except BuildStorageError as exc:  # a full or read-only disk: the input was fine, the run failed
        fail(str(exc), 1)
    except BuildError as exc:
        fail(str(exc), 2)
    for problem in report.problems:
        click.echo(str(problem))
    for warning in report.warnings:
        click.echo(f"avertissement : {warning}", err=True)
    with_problems = report.learners_with_problems()
    seconds = french.seconds(report.seconds).removesuffix("\u00a0s")
    summary = (f"Sites construits : {len(report.built)}, inchangés : {len(report.skipped)}, "
               f"portfolios avec problèmes : {len(with_problems)}, fichiers invalides : {len(report.problems)}, "
               f"en {seconds} s.")
    if report.removed:
        summary += f" Supprimés (apprenant·es retiré·es) : {', '.join(report.removed)}."
    click.echo(summary, err=True)
    _where(project, out, sorted({lid for lid, _ in report.built + report.skipped}))
    if not report.ok:
        raise SystemExit(1)


def _where(project: Project, out: Path | None, learners: list[str]) -> None:
    """Tell where the sites are and how to open them (they need an HTTP server)."""
    if not learners:
        return
    folder = Path(out or project.build_dir).resolve()
    try:
        shown = folder.relative_to(Path.cwd())
    except ValueError:
        shown = folder
    click.echo(f"Sites dans {shown}/ : staff/<id>/ (vue équipe) et shared/<id>/ (vue partagée).", err=True)
    click.echo(f"Pour les parcourir : python -m http.server --directory {shown} 8000", err=True)
    for lid in learners[:LIST_SITES_UP_TO]:
        click.echo(f"  http://127.0.0.1:8000/staff/{lid}/   http://127.0.0.1:8000/shared/{lid}/", err=True)
    if len(learners) > LIST_SITES_UP_TO:
        click.echo(f"  … et {len(learners) - LIST_SITES_UP_TO} autres portfolios.", err=True)
