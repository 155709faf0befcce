"""Commands of this topic are added to ``livret.cli.main`` here."""

from __future__ import annotations

from . import main  # noqa: F401
