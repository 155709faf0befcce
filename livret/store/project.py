"""A livret project: mkdocs.yml, site_src/, portfolios/, build/, instance/."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from . import Store


@dataclass(frozen=True)
class Project:
    root: Path

    @classmethod
    def at(cls, root: Path | str | None) -> "Project":
        return cls(Path(root or ".").resolve())

    @property
    def mkdocs_yml(self) -> Path:
        return self.root / "mkdocs.yml"

    @property
    def site_src(self) -> Path:
        return self.root / "site_src"

    @property
    def portfolios(self) -> Path:
        return self.root / "portfolios"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    @property
    def instance(self) -> Path:
        """Operational data (accounts, links, tokens, access log, secret key); never in git."""
        return self.root / "instance"

    @cached_property
    def store(self) -> Store:
        return Store(self.portfolios, display_root=self.root)
