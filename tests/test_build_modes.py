"""Every built file can be served by a web server running as another user (and the umask is respected)."""

from __future__ import annotations

import stat
import subprocess
import sys

import pytest
from factories import REPO, make_project


def build_with_umask(root, umask: str) -> subprocess.CompletedProcess:
    command = f"umask {umask} && exec {sys.executable} -m livret build --root {root} --jobs 2 --force"
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, cwd=REPO, timeout=600)


def modes(build_dir):
    """Modes of what a web server serves (the sites and their shared assets, not build/.cache)."""
    files, dirs = {}, {}
    served = [build_dir / name for name in ("staff", "shared", "_assets")]
    for path in [p for top in served for p in [top, *top.rglob("*")]]:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):  # each site's assets/ links to _assets/: a link has no mode of its own
            continue
        mode = stat.S_IMODE(st.st_mode)
        (dirs if stat.S_ISDIR(st.st_mode) else files)[path.relative_to(build_dir).as_posix()] = mode
    return files, dirs


@pytest.mark.parametrize("umask, file_mode, dir_mode", [("022", 0o644, 0o755), ("027", 0o640, 0o750)])
def test_built_files_get_the_mode_of_a_static_file(tmp_path, umask, file_mode, dir_mode):
    project = make_project(tmp_path / "p")
    result = build_with_umask(project.root, umask)
    assert result.returncode == 0, result.stderr
    files, dirs = modes(project.build_dir)
    assert any(name.startswith("_assets/") for name in files), "the shared theme assets were built"
    assert any(name.endswith("search_index.json") for name in files)
    wrong = {name: oct(mode) for name, mode in files.items() if mode != file_mode}
    assert not wrong, f"files not {oct(file_mode)} under umask {umask}: {dict(list(wrong.items())[:10])}"
    wrong = {name: oct(mode) for name, mode in dirs.items() if mode != dir_mode}
    assert not wrong, f"folders not {oct(dir_mode)} under umask {umask}: {dict(list(wrong.items())[:10])}"
