"""The ``livret`` command line (one console script, one module per topic)."""

from __future__ import annotations

import click

from .. import __version__
from .common import ROOT_HELP, VERSION_OPTION_HELP, FrenchGroup


@click.group(cls=FrenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="livret", help=VERSION_OPTION_HELP)
@click.option("--root", type=click.Path(file_okay=False, path_type=str), default=None, help=ROOT_HELP)
@click.pass_context
def main(ctx: click.Context, root: str | None) -> None:
    """livret: e-portfolio et livret de suivi des apprenant·es."""
    ctx.ensure_object(dict)
    ctx.obj["root"] = root


# Each module adds its commands to ``main``.
from . import (  # noqa: E402
    build_cmds,  # noqa: F401
    calendar_cmds,  # noqa: F401
    interop_cmds,  # noqa: F401
    learners_cmds,  # noqa: F401
    mail_cmds,  # noqa: F401
    seal_cmds,  # noqa: F401
    serve_cmds,  # noqa: F401
    sessions_cmds,  # noqa: F401
    share_cmds,  # noqa: F401
    signoff_cmds,  # noqa: F401
    store_cmds,  # noqa: F401
    user_cmds,  # noqa: F401
)
