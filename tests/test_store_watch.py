"""The kernel's change events in place of scans (livret.store.watch): a watched store reads what a
fresh reader reads, after any change made by hand, by git or by another process."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

from livret.store import Store
from livret.store.watch import EVERYTHING, FolderWatch, enabled_by_environment
from livret.store.yamlio import dump_yaml, render_front_matter
from tests.factories import hand_written, make_project, meeting, when

pytestmark = pytest.mark.skipif(not hasattr(os, "uname") or os.uname().sysname != "Linux",
                                reason="inotify: Linux only (elsewhere the store scans, as without a watch)")


def view(store: Store) -> dict:
    """What a page can read of the store: learners, profiles, entries and problems."""
    seen = {}
    for lid in store.learner_ids():
        profile = store.profile(lid)
        record = store.load_learner(lid)
        seen[lid] = (profile.model_dump() if profile else None,
                     sorted((e.id, e.meta.title, e.body) for e in record.entries),
                     sorted(record.files), sorted(str(p) for p in record.problems),
                     record.framework.model_dump() if record.framework else None)
    return seen


def fresh_view(root: Path) -> dict:
    return view(Store(root))


@pytest.fixture
def watched(tmp_path):
    project = make_project(tmp_path / "p", git=False, with_site=False)
    store = Store(project.portfolios)
    assert store.watch_changes()
    view(store)  # everything read once: from now on only events make it read again
    return project, store


def test_hand_edits_are_seen_at_the_next_read(watched):
    project, store = watched
    pf = project.portfolios
    rel = hand_written(project, "alice", meeting(title="Premier"))
    assert [e.meta.title for e in store.load_learner("alice").entries] == ["Premier"]
    path = project.root / rel
    path.write_text(path.read_text(encoding="utf-8").replace("Premier", "Corrigé"), encoding="utf-8")
    assert [e.meta.title for e in store.load_learner("alice").entries] == ["Corrigé"]
    profile = pf / "alice" / "learner.md"
    profile.write_text(profile.read_text(encoding="utf-8").replace("first_name: Alice", "first_name: Alicia"),
                       encoding="utf-8")
    assert store.profile("alice").first_name == "Alicia"
    path.unlink()
    assert store.load_learner("alice").entries == []
    assert view(store) == fresh_view(pf)


def test_new_and_removed_learners_and_folders(watched):
    project, store = watched
    pf = project.portfolios
    shutil.copytree(pf / "bob", pf / "zoe")
    text = (pf / "zoe" / "learner.md").read_text(encoding="utf-8").replace("id: bob", "id: zoe")
    (pf / "zoe" / "learner.md").write_text(text, encoding="utf-8")
    assert "zoe" in store.learner_ids()
    # a folder made after the learner's: watched from then on
    shutil.rmtree(pf / "zoe" / "entries")
    (pf / "zoe" / "entries").mkdir()
    hand_written(project, "zoe", meeting(title="Après coup"))
    assert [e.meta.title for e in store.load_learner("zoe").entries] == ["Après coup"]
    hand_written(project, "zoe", meeting(title="Encore", date=when("2026-03-03")))
    assert len(store.load_learner("zoe").entries) == 2
    (pf / "zoe" / "learner.md").rename(pf / "zoe" / "learner.bak")  # a folder without a profile is no learner
    assert "zoe" not in store.learner_ids()
    (pf / "zoe" / "learner.bak").rename(pf / "zoe" / "learner.md")
    assert "zoe" in store.learner_ids()
    shutil.rmtree(pf / "zoe")
    assert "zoe" not in store.learner_ids()
    os.rename(pf / "bob", pf / "bobby")
    assert view(store) == fresh_view(pf)


def test_framework_change_reaches_every_learner(watched):
    project, store = watched
    pf = project.portfolios
    fw = pf / "_frameworks" / "mini.yml"
    fw.write_text(fw.read_text(encoding="utf-8").replace("name:", "name: Nouveau", 1).replace(
        "name: Nouveau", "name:", 1) + "\n# édité à la main\n", encoding="utf-8")
    assert view(store) == fresh_view(pf)
    fw.unlink()
    assert all(v[4] is None for v in view(store).values())
    assert view(store) == fresh_view(pf)


def test_links_are_problems_as_without_a_watch(watched, tmp_path):
    project, store = watched
    pf = project.portfolios
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.md").write_text("---\nid: x\n---\n", encoding="utf-8")
    os.symlink(outside / "x.md", pf / "alice" / "entries" / "2026-02-02-meeting-link.md")
    assert store.load_learner("alice").problems
    shutil.rmtree(pf / "bob" / "files")
    os.symlink(outside, pf / "bob" / "files")
    (outside / "y.txt").write_text("après le lien", encoding="utf-8")  # not watched: never read
    assert view(store) == fresh_view(pf)


def test_a_write_of_the_store_itself_is_read_back(watched):
    project, store = watched
    store.append_entry("bob", meeting(title="Par l'application"), "Corps", author="tom", role="tutor")
    assert [e.meta.title for e in store.load_learner("bob").entries] == ["Par l'application"]


def test_overflowing_the_kernel_queue_reads_everything_again(watched):
    project, store = watched
    pf = project.portfolios
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    raw = FolderWatch(pf)
    try:
        for i in range(limit + 100):  # more distinct events than the kernel keeps (equal ones are merged)
            (pf / "bob" / "files" / f"n{i}").touch()
        assert raw.changed() == EVERYTHING
    finally:
        raw.close()
    target = pf / "alice" / "learner.md"
    target.write_text(target.read_text(encoding="utf-8").replace("first_name: Alice", "first_name: Ali"),
                      encoding="utf-8")
    assert store.profile("alice").first_name == "Ali"
    assert len(store.load_learner("bob").files) == limit + 100
    assert view(store) == fresh_view(pf)


def test_random_changes_keep_the_watched_store_equal_to_a_fresh_reader(watched):
    """A hundred changes of every kind, in a random order: after each, the same reading."""
    project, store = watched
    pf = project.portfolios
    rng = random.Random(20261201)
    written: list[Path] = []

    def add_entry():
        lid = rng.choice(store.learner_ids() or ["alice"])
        if (pf / lid / "entries").is_dir():
            written.append(project.root / hand_written(project, lid, meeting(title=f"E{rng.randrange(999)}")))

    def edit_entry():
        alive = [p for p in written if p.exists()]
        if alive:
            p = rng.choice(alive)
            p.write_text(p.read_text(encoding="utf-8").replace("title: E", "title: F", 1), encoding="utf-8")

    def replace_entry():  # as editors and git do: a new file renamed over the old one
        alive = [p for p in written if p.exists()]
        if alive:
            p = rng.choice(alive)
            tmp = p.with_suffix(".tmp")
            tmp.write_text(p.read_text(encoding="utf-8").replace("Texte.", "Texte remplacé."), encoding="utf-8")
            os.replace(tmp, p)

    def remove_entry():
        alive = [p for p in written if p.exists()]
        if alive:
            rng.choice(alive).unlink()

    def broken_entry():
        lid = rng.choice(store.learner_ids() or ["alice"])
        if (pf / lid / "entries").is_dir():
            (pf / lid / "entries" / f"2026-01-0{rng.randrange(1, 9)}-meeting-bad{rng.randrange(99)}.md").write_text(
                "---\ntype: meeting\n", encoding="utf-8")

    def attach():
        lid = rng.choice(store.learner_ids() or ["alice"])
        if (pf / lid / "files").is_dir():
            (pf / lid / "files" / f"f{rng.randrange(99)}.txt").write_bytes(b"x" * rng.randrange(1, 50))

    def new_learner():
        lid = f"l{rng.randrange(1000)}"
        if (pf / lid).exists():
            return
        (pf / lid / "entries").mkdir(parents=True)
        data = {"id": lid, "first_name": "N", "last_name": lid, "programme": "P", "framework": "mini",
                "start": "2026-01-05", "tutors": ["tina"]}
        (pf / lid / "learner.md").write_text(render_front_matter(data, ""), encoding="utf-8")

    def drop_learner():
        ids = [i for i in store.learner_ids() if i not in ("alice", "bob")]
        if ids:
            shutil.rmtree(pf / rng.choice(ids))

    def edit_profile():
        lid = rng.choice(store.learner_ids() or ["alice"])
        p = pf / lid / "learner.md"
        if p.exists():
            p.write_text(p.read_text(encoding="utf-8").replace("programme: ", "programme: X", 1), encoding="utf-8")

    def edit_framework():
        fw = pf / "_frameworks" / "mini.yml"
        fw.write_text(fw.read_text(encoding="utf-8") + f"\n# {rng.randrange(999)}\n", encoding="utf-8")

    def edit_organisation():
        (pf / "_organisation.yml").write_text(dump_yaml({"name": f"OF {rng.randrange(99)}"}), encoding="utf-8")

    changes = [add_entry, edit_entry, replace_entry, remove_entry, broken_entry, attach, new_learner, drop_learner,
               edit_profile, edit_framework, edit_organisation]
    for step in range(120):
        change = rng.choice(changes)
        change()
        assert view(store) == fresh_view(pf), f"après {step + 1} changements (dernier : {change.__name__})"


def test_the_watch_can_be_turned_off():
    assert enabled_by_environment({}) is True
    for value in ("0", "no", "false", "off", "non"):
        assert enabled_by_environment({"LIVRET_WATCH": value}) is False
    assert enabled_by_environment({"LIVRET_WATCH": "1"}) is True
