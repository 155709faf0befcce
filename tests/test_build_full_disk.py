"""``livret build`` on a full disk (a small tmpfs, filled for real): a French message naming the
problem, exit code 1, no traceback; the sites already published stay as they were, and nothing
half-built is left behind.  Once there is room, the same command builds."""

from __future__ import annotations

import subprocess
import sys

import pytest
from factories import add, make_project, meeting
from test_reliability_store import _fill, small_disk

from livret.publish.build import build_all


def livret_build(root, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "livret", "build", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=600)


def snapshot(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".cache" not in p.parts}


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_build_on_a_full_disk_ends_with_a_clear_message(tmp_path, jobs):
    with small_disk(tmp_path / "disk", "24m") as disk:
        project = make_project(disk / "proj")
        add(project, "alice", meeting(title="Avant"))
        assert build_all(project, jobs=1).ok
        published = snapshot(project.build_dir)
        add(project, "alice", meeting(title="Après"))  # both of alice's sites must be built again
        add(project, "bob", meeting(title="Après aussi"), author="tom")
        filler = _fill(disk)
        result = livret_build(project.root, "--jobs", jobs, "--force")
        assert result.returncode == 1, result.stderr
        assert "erreur : disque plein" in result.stderr and str(project.build_dir) in result.stderr
        assert "libérez de la place" in result.stderr
        assert "Traceback" not in result.stderr + result.stdout
        assert snapshot(project.build_dir) == published  # the sites in place are untouched
        leftovers = [p for p in project.build_dir.rglob(".*") if p.name.startswith((".tmp-", ".old-"))]
        assert leftovers == []
        filler.unlink()
        again = livret_build(project.root, "--jobs", jobs)
        assert again.returncode == 0, again.stderr
        assert "Après" in (project.build_dir / "staff" / "alice" / "index.html").read_text(encoding="utf-8") \
            or any("Après" in p.read_text(encoding="utf-8")
                   for p in (project.build_dir / "staff" / "alice").rglob("*.html"))
