"""Helpers shared by the command modules."""

from __future__ import annotations

import functools
from typing import Callable

import click

from ..store.project import Project

ROOT_HELP = "Dossier du projet livret (mkdocs.yml, site_src/, portfolios/). Par défaut : le dossier courant."


# The headings click writes in English in every ``--help`` (docs/glossary.md: the CLI speaks French too).
HEADINGS = {"Options": "Options", "Commands": "Commandes", "Positional arguments": "Arguments"}
HELP_OPTION_HELP = "Afficher cette aide et quitter."
VERSION_OPTION_HELP = "Afficher la version et quitter."


class FrenchHelpFormatter(click.HelpFormatter):
    """« Utilisation : livret check [OPTIONS] », « Commandes : »..."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "Utilisation : " if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{HEADINGS.get(heading, heading)} :\n")


class FrenchContext(click.Context):
    formatter_class = FrenchHelpFormatter


class FrenchCommand(click.Command):
    """A command whose ``--help`` is in French (headings and the help option's own line)."""

    context_class = FrenchContext

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = HELP_OPTION_HELP
        return option


class FrenchGroup(FrenchCommand, click.Group):
    """The ``livret`` group: its commands and sub-groups are French too."""

    command_class = FrenchCommand
    group_class = type  # sub-groups of the same class

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("subcommand_metavar", "COMMANDE [ARGUMENTS]...")
        super().__init__(*args, **kwargs)


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


def import_start(project: Project, file, author: str | None, limit: int) -> tuple[str, bytes]:
    """The common start of a CSV import command: a store, a valid ``--author`` (default: the system user)
    and the file's first ``limit + 1`` bytes (the importer says when it is too big)."""
    from ..store.schema import USERNAME_RE
    from .interop_cmds import cli_author

    require_store(project)
    author = author or cli_author()
    if not USERNAME_RE.match(author):
        fail(f"--author : nom d'utilisateur invalide : {author!r}", 2)
    try:
        with file.open("rb") as handle:
            return author, handle.read(limit + 1)
    except OSError as exc:
        fail(f"lecture impossible de {file} : {exc.strerror}", 2)
        raise  # fail() exits
