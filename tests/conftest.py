"""Shared fixtures: real projects in temporary folders, the shipped demo, Chromium."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from factories import REPO, make_project  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def project(tmp_path):
    """A small valid project with git: learners alice (tutor tina, company carl) and bob (tutor tom)."""
    return make_project(tmp_path / "proj")


@pytest.fixture
def demo_project(tmp_path):
    """A copy of the shipped demo organisation (mkdocs.yml, site_src/, portfolios/), with its own git."""
    from livret.store.history import History
    from livret.store.project import Project

    root = tmp_path / "demo"
    root.mkdir()
    for name in ("mkdocs.yml", "site_src", "portfolios"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns(".git"))
        elif src.exists():
            shutil.copy(src, root / name)
    History(root / "portfolios").init()
    return Project.at(root)


@pytest.fixture(scope="session")
def chromium_path():
    """Debian's chromium for Playwright; browser tests skip with a clear message without it."""
    if not CHROMIUM.exists():
        pytest.skip("browser test skipped: /usr/bin/chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="browser test skipped: playwright is not installed")
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def artifacts_dir():
    """Where tests save screenshots (printed in the test output)."""
    out = REPO / "test-artifacts"
    out.mkdir(exist_ok=True)
    return out
