"""Symbolic links and special files in the store are never followed: not by the record, the build,
``livret export``, ``check`` or ``verify`` (real files, real links, real git, real MkDocs builds).

The hostile store of ``hostile_support``: none of what its links point to may
reach any output; every one of them is reported.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from factories import add, make_project, meeting, when
from hostile_support import BOB, FOREIGN, KEY, LINKS, OUTSIDE, hostile_store

from livret.cli import main
from livret.publish.build import build_all
from livret.store.nofollow import LINK_MESSAGE, SPECIAL_MESSAGE


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    return hostile_store(tmp_path_factory.mktemp("links"))


@pytest.fixture(scope="module")
def built(hostile):
    project = hostile["project"]
    report = build_all(project, jobs=1, force=True)
    return {**hostile, "report": report}


def everything_under(folder: Path) -> bytes:
    """The bytes of every regular file under ``folder`` (links left out: a served file is a copy)."""
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink())


def test_the_record_never_reads_through_a_link(hostile):
    store = hostile["project"].store
    alice = store.load_learner("alice")
    assert alice.files == [hostile["legit"].meta.attachments[0]]  # the real file only
    assert [e.meta.title for e in alice.entries] == ["Vraie preuve"]  # neither the linked entry nor the citing one
    problems = {p.path: p.message for p in alice.problems}
    for name in LINKS:
        assert problems[f"portfolios/alice/files/{name}"] == LINK_MESSAGE
    assert problems["portfolios/alice/entries/2026-02-04-meeting-zzzz0001.md"] == LINK_MESSAGE
    assert any(p.path == hostile["citing"] and "fichier absent du dossier files/" in p.message
               for p in alice.problems)

    chloe = store.load_learner("chloe")
    assert chloe.files == [] and chloe.entries == []
    assert {p.path: p.message for p in chloe.problems}["portfolios/chloe/files"] == LINK_MESSAGE
    assert store.learner_ids() == ["alice", "bob", "chloe"]  # zoe's folder is a link: no learner
    assert "lien" not in store.frameworks()


def test_check_reports_every_link_once(hostile):
    result = CliRunner().invoke(main, ["check", "--root", str(hostile["project"].root)])
    assert result.exit_code == 1
    for rel in hostile["links"]:
        lines = [line for line in result.output.splitlines() if line.startswith(f"portfolios/{rel}:")]
        assert lines == [f"portfolios/{rel}:1: {LINK_MESSAGE}"], (rel, result.output)
    for secret in FOREIGN:
        assert secret not in result.output


def test_verify_lists_every_link_as_a_finding(hostile):
    from livret.audit.integrity import verify

    findings = verify(hostile["project"])
    links = {f.path for f in findings if f.kind == "link"}
    assert links == {f"portfolios/{rel}" for rel in hostile["links"]}
    result = CliRunner().invoke(main, ["verify", "--root", str(hostile["project"].root)])
    assert result.exit_code == 1
    for rel in hostile["links"]:
        assert f"portfolios/{rel}: {LINK_MESSAGE}" in result.output


def test_built_sites_hold_nothing_a_link_points_to(built):
    project = built["project"]
    staff, shared = project.build_dir / "staff", project.build_dir / "shared"
    assert (staff / "alice" / "files" / Path(built["legit"].meta.attachments[0]).name).is_file()  # still published
    assert not (staff / "zoe").exists() and not (shared / "zoe").exists()
    for audience in (staff, shared):
        for learner in ("alice", "chloe"):
            site = everything_under(audience / learner)
            for secret in (*FOREIGN, BOB):
                assert secret.encode() not in site, (audience.name, learner, secret)
            assert not any(p.is_symlink() for p in (audience / learner).rglob("*") if p.name != "assets")
    for name in LINKS:
        assert not (staff / "alice" / "files" / name).exists()
        assert not (shared / "alice" / "files" / name).exists()


@pytest.mark.parametrize("audience", ["staff", "shared"])
def test_export_packs_nothing_a_link_points_to(built, tmp_path, audience):
    project = built["project"]
    for learner in ("alice", "chloe"):
        out = tmp_path / f"{learner}-{audience}.zip"
        result = CliRunner().invoke(main, ["export", learner, "-o", str(out), "--audience", audience,
                                           "--root", str(project.root)])
        assert result.exit_code == 0, result.output
        with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as zf:
            names = zf.namelist()
            content = b"".join(zf.read(n) for n in names)
        for name in LINKS:
            assert f"portfolios/alice/files/{name}" not in names
        for secret in (*FOREIGN, BOB):
            assert secret.encode() not in content, (learner, audience, secret)


def test_a_special_file_is_reported_and_never_opened(tmp_path):
    """A FIFO in entries/ and files/: opening one would wait forever for a writer."""
    project = make_project(tmp_path / "proj", learners=("alice",))
    add(project, "alice", meeting())
    os.mkfifo(project.portfolios / "alice" / "entries" / "2026-02-05-meeting-fifo0001.md")
    os.mkfifo(project.portfolios / "alice" / "files" / "fifo0002-tube.txt")
    # In a subprocess with a generous bound: the old code blocked here forever.
    done = subprocess.run([sys.executable, "-m", "livret", "build", "--root", str(project.root), "--jobs", "1"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr  # built, with the problems named
    assert (project.build_dir / "staff" / "alice" / "index.html").is_file()
    check = subprocess.run([sys.executable, "-m", "livret", "check", "--root", str(project.root)],
                           capture_output=True, text=True, timeout=300)
    assert f"portfolios/alice/entries/2026-02-05-meeting-fifo0001.md:1: {SPECIAL_MESSAGE}" in check.stdout
    assert f"portfolios/alice/files/fifo0002-tube.txt:1: {SPECIAL_MESSAGE}" in check.stdout


def test_a_link_replacing_a_committed_file_is_never_read_by_verify(tmp_path):
    """A committed attachment replaced by a link: verify names the link and never reads its target."""
    project = make_project(tmp_path / "proj", learners=("alice",))
    entry = add(project, "alice", {"type": "evidence", "date": when("2026-02-02"), "title": "Preuve"},
                author="alice", role="learner", uploads=[("note.txt", b"ligne 1\n")])
    attachment = project.portfolios / "alice" / entry.meta.attachments[0]
    secret = tmp_path / "secret.md"
    secret.write_text(f"---\n{KEY}: 1\n---\n{OUTSIDE}\n", encoding="utf-8")
    attachment.unlink()
    os.symlink(secret, attachment)
    result = CliRunner().invoke(main, ["verify", "--root", str(project.root)])
    assert result.exit_code == 1
    assert f"portfolios/alice/{entry.meta.attachments[0]}: {LINK_MESSAGE}" in result.output
    assert KEY not in result.output and OUTSIDE not in result.output


def test_recover_never_commits_a_link(tmp_path):
    project = make_project(tmp_path / "proj", learners=("alice",))
    os.symlink("/etc/hostname", project.portfolios / "alice" / "files" / "aaaa0001-host.txt")
    assert project.store.recover() == []
    tracked = subprocess.run(["git", "ls-files"], cwd=project.portfolios, capture_output=True, text=True).stdout
    assert "aaaa0001-host.txt" not in tracked


@pytest.mark.parametrize("folder", ["entries", "files"])
def test_a_write_never_goes_through_a_linked_folder(tmp_path, folder):
    """Where entries/ or files/ is a link, nothing is written where it points (with or without git)."""
    from livret.store.records import StoreError

    project = make_project(tmp_path / "proj", learners=("alice",), git=False)
    elsewhere = tmp_path / "ailleurs"
    elsewhere.mkdir()
    (project.portfolios / "alice" / folder).rmdir()
    os.symlink(elsewhere, project.portfolios / "alice" / folder)
    refused = re.escape(f"alice/{folder} : {LINK_MESSAGE}")
    with pytest.raises(StoreError, match=refused):
        add(project, "alice", {"type": "evidence", "date": when("2026-02-02"), "title": "Preuve"},
            author="alice", role="learner", uploads=[("note.txt", b"texte")])
    with pytest.raises(StoreError, match=refused):
        if folder == "files":
            project.store.save_attachment("alice", "note.txt", b"texte", author="alice")
        else:
            add(project, "alice", meeting())
    assert list(elsewhere.iterdir()) == []
