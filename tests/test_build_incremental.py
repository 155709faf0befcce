"""``livret build``: incremental, parallel, robust to broken entries; the command's output and exit code."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from buildkit import content_of, decoded_files  # noqa: E402
from factories import add, make_project, meeting, when  # noqa: E402

from livret.cli import main  # noqa: E402
from livret.publish.build import build_all, build_learner, site_dir  # noqa: E402

TODAY = dt.date(2026, 6, 1)
BOTH = {("alice", "staff"), ("alice", "shared"), ("bob", "staff"), ("bob", "shared")}


@pytest.fixture
def small(tmp_path):
    project = make_project(tmp_path / "proj")
    add(project, "alice", meeting(title="Premier entretien"), "Texte.")
    add(project, "bob", meeting(title="Entretien de Bob"), "Texte.", author="tom")
    return project


def test_second_build_skips_everything_and_one_entry_rebuilds_one_learner(small):
    first = build_all(small, today=TODAY, jobs=1)
    assert set(first.built) == BOTH and first.ok
    stamp = (site_dir(small, "staff", "bob") / "index.html").stat().st_mtime_ns

    again = build_all(small, today=TODAY, jobs=1)
    assert again.built == [] and set(again.skipped) == BOTH

    add(small, "alice", meeting(date=when("2026-03-02"), title="Entretien de mars"), "Nouveau.")
    third = build_all(small, today=TODAY, jobs=1)
    assert set(third.built) == {("alice", "staff"), ("alice", "shared")}
    assert set(third.skipped) == {("bob", "staff"), ("bob", "shared")}
    assert "Entretien de mars" in content_of(site_dir(small, "shared", "alice") / "chronologie" / "index.html")
    assert (site_dir(small, "staff", "bob") / "index.html").stat().st_mtime_ns == stamp

    forced = build_all(small, today=TODAY, jobs=1, force=True)
    assert set(forced.built) == BOTH


def test_shared_inputs_and_the_day_rebuild_everyone(small):
    build_all(small, today=TODAY, jobs=1)
    (small.site_src / "comment-lire.md").write_text("# Comment lire\n\nNouveau texte.\n", encoding="utf-8")
    assert set(build_all(small, today=TODAY, jobs=1).built) == BOTH
    assert set(build_all(small, today=TODAY + dt.timedelta(days=1), jobs=1).built) == BOTH
    (small.portfolios / "_organisation.yml").write_text("name: Autre OF\n", encoding="utf-8")
    assert set(build_all(small, today=TODAY + dt.timedelta(days=1), jobs=1).built) == BOTH
    assert "Autre OF" in (site_dir(small, "shared", "bob") / "index.html").read_text(encoding="utf-8")


def test_a_framework_change_rebuilds_its_learners_only(tmp_path):
    project = make_project(tmp_path / "p")
    framework = project.portfolios / "_frameworks" / "mini.yml"
    other = project.portfolios / "_frameworks" / "autre.yml"
    other.write_text(framework.read_text(encoding="utf-8").replace("id: mini", "id: autre"), encoding="utf-8")
    build_all(project, today=TODAY, jobs=1)
    other.write_text(other.read_text(encoding="utf-8").replace("Référentiel de test", "Autre"), encoding="utf-8")
    assert build_all(project, today=TODAY, jobs=1).built == []
    framework.write_text(framework.read_text(encoding="utf-8").replace("Préparer l'arrivée", "Préparer"),
                         encoding="utf-8")
    assert set(build_all(project, today=TODAY, jobs=1).built) == BOTH


def test_a_removed_learner_loses_its_sites(small):
    build_all(small, today=TODAY, jobs=1)
    import shutil

    shutil.rmtree(small.portfolios / "bob")
    report = build_all(small, today=TODAY, jobs=1)
    assert report.removed == ["bob"]
    assert not site_dir(small, "staff", "bob").exists() and not site_dir(small, "shared", "bob").exists()
    assert not (small.build_dir / ".manifests" / "staff" / "bob.json").exists()
    assert site_dir(small, "staff", "alice").is_dir()


def test_parallel_build_gives_the_same_sites(small, tmp_path):
    build_all(small, today=TODAY, jobs=1, out=tmp_path / "seq")
    report = build_all(small, today=TODAY, jobs=2, out=tmp_path / "par")
    assert set(report.built) == BOTH
    seq, par = decoded_files(tmp_path / "seq" / "staff"), decoded_files(tmp_path / "par" / "staff")
    assert {p.relative_to(tmp_path / "seq") for p in seq} == {p.relative_to(tmp_path / "par") for p in par}
    index = Path("staff/alice/search/search_index.json")
    assert json.loads(seq[tmp_path / "seq" / index]) == json.loads(par[tmp_path / "par" / index])
    # A forced parallel rebuild: the replaced sites are removed by the parent's sweeper, none is left.
    forced = build_all(small, today=TODAY, jobs=2, force=True, out=tmp_path / "par")
    assert set(forced.built) == BOTH
    assert not [p for audience in ("staff", "shared") for p in (tmp_path / "par" / audience).iterdir()
                if p.name.startswith(".")]
    again = decoded_files(tmp_path / "par" / "staff")
    assert {p.relative_to(tmp_path / "par") for p in again} == {p.relative_to(tmp_path / "par") for p in par}


BROKEN = """---
id: 01JM2Q8V6Z9X3K4T5R6S7W8Y9A
type: meeting
date: 2026-03-02T14:00:00+01:00
recorded: 2026-03-02T16:12:40+01:00
author: tina
role: tutor
title: Entretien cassé
kind: suivi
modality: en-visio
duration: 45
---

Texte.
"""


def test_a_broken_entry_is_reported_and_the_rest_is_built(small):
    broken = small.portfolios / "alice" / "entries" / "2026-03-02-meeting-cassee.md"
    broken.write_text(BROKEN, encoding="utf-8")
    result = CliRunner().invoke(main, ["--root", str(small.root), "build", "--jobs", "1"])
    assert result.exit_code == 1, result.output
    assert "portfolios/alice/entries/2026-03-02-meeting-cassee.md:10: modality" in result.stdout
    assert "Sites construits : 4, inchangés : 0, portfolios avec problèmes : 1, fichiers invalides : 1" in result.stderr
    staff_home = content_of(site_dir(small, "staff", "alice") / "index.html")
    assert "Fichiers non pris en compte" in staff_home and "2026-03-02-meeting-cassee.md" in staff_home
    shared_home = content_of(site_dir(small, "shared", "alice") / "index.html")
    assert "cassee" not in shared_home and "Fichiers non pris en compte" not in shared_home
    timeline = content_of(site_dir(small, "staff", "alice") / "chronologie" / "index.html")
    assert "Premier entretien" in timeline and "Entretien cassé" not in timeline
    assert (site_dir(small, "staff", "bob") / "index.html").is_file()

    # Unchanged since: skipped, but the problem is still reported and the exit code still 1.
    again = CliRunner().invoke(main, ["--root", str(small.root), "build"])
    assert again.exit_code == 1
    assert "2026-03-02-meeting-cassee.md:10:" in again.stdout
    assert "Sites construits : 0, inchangés : 4" in again.stderr
    # Nothing about the problem reaches the shared sites, nor their manifests.
    assert not any("cassee" in text for text in decoded_files(small.build_dir / "shared").values())


def test_cli_summary_learner_option_and_errors(small):
    runner = CliRunner()
    ok = runner.invoke(main, ["--root", str(small.root), "build", "--learner", "bob", "--jobs", "1"])
    assert ok.exit_code == 0, ok.output
    assert "Sites construits : 2, inchangés : 0, portfolios avec problèmes : 0" in ok.stderr
    assert "http://127.0.0.1:8000/staff/bob/" in ok.stderr
    assert not site_dir(small, "staff", "alice").exists()
    unknown = runner.invoke(main, ["--root", str(small.root), "build", "--learner", "zoe"])
    assert unknown.exit_code == 2 and "apprenant·e inconnu·e : zoe" in unknown.stderr
    out = runner.invoke(main, ["--root", str(small.root), "build", "--out", str(small.root / "ailleurs"), "--force"])
    assert out.exit_code == 0 and (small.root / "ailleurs" / "shared" / "alice" / "index.html").is_file()


def test_build_learner_stays_correct_when_called_repeatedly(small):
    """The app's worker calls it after every write: each call sees the latest entry."""
    for n in range(3):
        add(small, "alice", meeting(date=when(f"2026-04-0{n + 1}"), title=f"Entretien numéro {n}"), "Texte.")
        report = build_learner(small, "alice", today=TODAY)
        assert set(report.built) == {("alice", "staff"), ("alice", "shared")}
        assert f"Entretien numéro {n}" in content_of(site_dir(small, "staff", "alice") / "chronologie" / "index.html")
    assert build_learner(small, "alice", today=TODAY).built == []


def test_nothing_is_written_into_site_src(small):
    before = sorted((p.relative_to(small.site_src), p.stat().st_mtime_ns) for p in small.site_src.rglob("*"))
    build_all(small, today=TODAY, jobs=1)
    after = sorted((p.relative_to(small.site_src), p.stat().st_mtime_ns) for p in small.site_src.rglob("*"))
    assert before == after


def test_shared_sites_link_the_staff_sites_copies_of_attachments(tmp_path):
    from buildkit import rich_project

    project = rich_project(tmp_path / "rich")
    build_all(project, today=TODAY, jobs=1)
    shared = site_dir(project, "shared", "alice") / "files"
    staff = site_dir(project, "staff", "alice") / "files"
    published = sorted(p for p in shared.iterdir() if p.is_file())
    assert published
    for path in published:
        source = project.portfolios / "alice" / "files" / path.name
        assert path.read_bytes() == source.read_bytes()
        assert path.stat().st_ino == (staff / path.name).stat().st_ino  # one copy for both sites
        assert source.stat().st_nlink == 1  # never the store's own file
    # A staff copy older than the store's file is not used: the shared site gets its own copy.
    victim = published[0]
    source = project.portfolios / "alice" / "files" / victim.name
    later = (staff / victim.name).stat().st_mtime_ns + 10**9
    os.utime(source, ns=(later, later))
    build_all(project, learners=["alice"], audiences=["shared"], today=TODAY, jobs=1, force=True)
    copy = site_dir(project, "shared", "alice") / "files" / victim.name
    assert copy.read_bytes() == source.read_bytes()
    assert copy.stat().st_ino != (staff / victim.name).stat().st_ino
