"""The core's layers (pyproject.toml, ``[tool.importlinter]``) hold, and the contract can fail.

``lint-imports`` runs on the repository, then on temporary copies of
``livret/`` and ``forms_app/`` into which one wrong import (or an unplaced
package) was written: each copy must break the contract it violates.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from factories import REPO

LINT = Path(sys.executable).with_name("lint-imports")
LAYERS = ["store", "views", "instance", "jobs", "publish", "seal", "mail", "attendance", "audit", "interop", "signoff",
          "planning",
          "admin", "company", "cli"]


def lint(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` over the packages found in ``root`` (they shadow the installed ones)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "scaffold")
    for name in ("livret", "forms_app"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=ignore)
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_line(path: Path, line: str) -> None:
    """Append an import at the end of a module (after its own imports: no cycle at import time)."""
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_repository_keeps_every_contract():
    result = lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_livret_shows_its_layers():
    packages = sorted(p.name for p in (REPO / "livret").iterdir() if (p / "__init__.py").is_file())
    assert packages == sorted(LAYERS)
    modules = [p.name for p in (REPO / "livret").glob("*.py")]
    assert sorted(modules) == ["__init__.py", "__main__.py"]
    for name in LAYERS:
        doc = (REPO / "livret" / name / "__init__.py").read_text(encoding="utf-8")
        assert doc.startswith('"""'), f"livret/{name}/__init__.py: a docstring says what the layer holds"


@pytest.mark.parametrize("module, line", [
    ("livret/store/schema.py", "from livret.views import progress"),           # store -> views
    ("livret/views/progress.py", "from livret.publish import build"),          # views -> publish
    ("livret/views/qualiopi.py", "from livret.instance import accounts"),      # sibling -> sibling
    ("livret/publish/build.py", "from livret.audit import pack"),              # publish -> audit
    ("livret/jobs/threads.py", "from livret.audit import pack"),               # jobs run callables, never import them
    ("livret/jobs/threads.py", "from livret.instance import db"),              # sibling -> sibling
    ("livret/interop/moodle.py", "import forms_app"),                          # core -> app
    ("forms_app/auth.py", "from livret.cli import main"),                      # app -> CLI
])
def test_an_upward_import_breaks_the_layers(copy: Path, module: str, line: str):
    add_line(copy / module, line)
    result = lint(copy)
    assert result.returncode == 1, result.stdout
    assert "Layers, from the command line down to the store BROKEN" in result.stdout


@pytest.mark.parametrize("module", ["livret/store/yamlio.py", "livret/publish/markdown.py", "livret/cli/user_cmds.py"])
def test_flask_in_the_core_breaks_the_contract(copy: Path, module: str):
    add_line(copy / module, "import flask")
    result = lint(copy)
    assert result.returncode == 1, result.stdout
    assert "The core never imports Flask" in result.stdout and "BROKEN" in result.stdout


def test_the_app_is_started_only_by_the_serve_command(copy: Path):
    """The named exception is one import of one module: the same import elsewhere in the CLI breaks it."""
    add_line(copy / "livret/cli/build_cmds.py", "import forms_app")
    result = lint(copy)
    assert result.returncode == 1
    assert "The core never imports Flask (the CLI's serve command starts the app) BROKEN" in result.stdout


def test_a_new_package_must_be_placed_in_a_layer(copy: Path):
    (copy / "livret" / "unplaced").mkdir()
    (copy / "livret" / "unplaced" / "__init__.py").write_text('"""Not in any layer."""\n', encoding="utf-8")
    result = lint(copy)
    assert result.returncode == 1
    assert "Every package of the core is placed in a layer BROKEN" in result.stdout
