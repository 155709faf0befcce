"""Helpers shared by the command modules."""

from __future__ import annotations

import functools
from typing import Callable

import click

from ..store.project import Project

ROOT_HELP = "Dossier du projet livret (mkdocs.yml, site_src/, portfolios/). Par défaut : le dossier courant."


def root_option(func: Callable) -> Callable:
    """``--root DIR`` on a command; falls back to the group's ``--root``, then to ``.``.

    The command receives a ``project`` argument.
    """

    @click.option("--root", "root_", type=click.Path(file_okay=False), default=None, help=ROOT_HELP)
    @click.pass_context
    @functools.wraps(func)
    def wrapper(ctx: click.Context, root_: str | None, *args, **kwargs):
        root = root_ or (ctx.find_root().obj or {}).get("root") or "."
        return ctx.invoke(func, *args, project=Project.at(root), **kwargs)

    return wrapper


def fail(message: str, code: int = 1) -> None:
    click.echo(f"erreur : {message}", err=True)
    raise SystemExit(code)


def require_store(project: Project) -> None:
    """Stop with exit code 2 unless ``project`` has a ``portfolios/`` folder."""
    if not project.portfolios.is_dir():
        fail(f"pas de dossier portfolios/ dans {project.root}", 2)
