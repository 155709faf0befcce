"""Plain MkDocs in a livret project: ``mkdocs build`` / ``mkdocs serve`` give the combined staff preview."""

from __future__ import annotations

import datetime as dt
import filecmp
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from buildkit import STAFF_ALERT, content_of, demo_or_skip, rich_project  # noqa: E402
from factories import REPO, add, make_project, meeting, when  # noqa: E402

from livret.publish.build import build_offline  # noqa: E402

ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def mkdocs(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mkdocs", *args], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=timeout)


def test_plain_mkdocs_build_gives_a_staff_preview_of_every_learner(tmp_path):
    project = demo_or_skip(tmp_path / "demo")
    learners = project.store.learner_ids()
    result = mkdocs("build", "--strict", "-d", str(tmp_path / "site"), cwd=project.root)
    assert result.returncode == 0, result.stderr
    site = tmp_path / "site"
    index = content_of(site / "index.html")
    for lid in learners:
        profile = project.store.load_learner(lid).profile
        assert profile.name in index
        assert (site / lid / "competences" / "index.html").is_file()
        assert (site / lid / "chronologie" / "index.html").is_file()
    assert (site / "comment-lire" / "index.html").is_file()
    organisation = content_of(site / "organisation" / "index.html")
    assert project.store.settings().name in organisation
    assert "livret:organisation" not in organisation


def test_the_preview_is_the_staff_view(tmp_path):
    project = rich_project(tmp_path / "p")
    result = mkdocs("build", "-d", str(tmp_path / "site"), cwd=project.root)
    assert result.returncode == 0, result.stderr
    timeline = content_of(tmp_path / "site" / "alice" / "chronologie" / "index.html")
    assert STAFF_ALERT in timeline
    assert not (project.site_src / "alice").exists()  # nothing generated into site_src/


def test_invalid_plugin_options_are_reported(tmp_path):
    project = make_project(tmp_path / "p")
    text = project.mkdocs_yml.read_text(encoding="utf-8")

    def with_option(option: str) -> None:
        project.mkdocs_yml.write_text(text.replace("portfolios: portfolios", f"portfolios: portfolios\n      {option}"),
                                      encoding="utf-8")

    with_option("audience: tout")
    result = mkdocs("build", "-d", str(tmp_path / "site"), cwd=project.root)
    assert result.returncode != 0
    assert "audience" in result.stderr
    with_option("learners: [zoe]")
    result = mkdocs("build", "-d", str(tmp_path / "site"), cwd=project.root)
    assert result.returncode != 0 and "apprenant·e inconnu·e : zoe" in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
        return response.read().decode("utf-8")


def _wait_for(url: str, needle: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    last = ""
    while time.monotonic() < deadline:
        try:
            last = _get(url)
            if needle in last:
                return last
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{needle!r} never appeared at {url}")


def test_mkdocs_serve_reloads_when_portfolios_or_site_src_change(tmp_path):
    project = make_project(tmp_path / "p")
    add(project, "alice", meeting(title="Entretien de départ"), "Texte.")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{port}", "--livereload"],
                              cwd=project.root, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/alice/chronologie/", "Entretien de départ")
        add(project, "alice", meeting(date=when("2026-03-02"), title="Entretien ajouté pendant le serve"), "Texte.")
        _wait_for(f"{base}/alice/chronologie/", "Entretien ajouté pendant le serve")
        (project.site_src / "comment-lire.md").write_text("# Comment lire\n\nTexte modifié en direct.\n",
                                                          encoding="utf-8")
        _wait_for(f"{base}/comment-lire/", "Texte modifié en direct")
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_scaffold_config_and_site_src_are_the_repository_ones():
    """``livret init`` copies livret/scaffold/: it must not drift from the repository's own files."""
    scaffold = REPO / "livret" / "scaffold"
    assert filecmp.cmp(REPO / "mkdocs.yml", scaffold / "mkdocs.yml", shallow=False)
    compare = filecmp.dircmp(REPO / "site_src", scaffold / "site_src")

    def differences(cmp: filecmp.dircmp) -> list[str]:
        out = cmp.left_only + cmp.right_only + cmp.diff_files + cmp.funny_files
        for sub in cmp.subdirs.values():
            out += differences(sub)
        return out

    assert differences(compare) == []


def test_offline_copy_is_self_contained(tmp_path):
    project = rich_project(tmp_path / "p")
    out = tmp_path / "offline"
    report = build_offline(project, "alice", "shared", out, today=dt.date(2026, 6, 1))
    assert report.built == [("alice", "shared")] and not report.warnings
    assert (out / "index.html").is_file() and (out / "chronologie.html").is_file()
    assert not (out / "assets").is_symlink() and list((out / "assets" / "javascripts").glob("bundle.*.js"))
    assert (out / "search" / "search_index.js").read_text(encoding="utf-8").startswith("var __index = ")
    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'src="javascripts/iframe-worker-shim.js"' in page and "unpkg.com" not in page
    assert STAFF_ALERT not in (out / "search" / "search_index.js").read_text(encoding="utf-8")
