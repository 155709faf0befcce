"""The store API against real files and real git."""

import os
import subprocess
from pathlib import Path

import pytest
from factories import add, meeting, when

from livret.store import UnknownLearner
from livret.store.errors import InvalidInput
from livret.store.yamlio import parse_front_matter

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64


def git_log(project, *args):
    return subprocess.run(["git", "log", *args], cwd=project.portfolios, capture_output=True,
                          text=True, check=True).stdout


def test_append_writes_one_valid_file_and_one_commit_by_the_author(project):
    entry = add(project, "alice", meeting(competencies=[{"code": "A1", "level": 2}]), "Bon entretien.")
    path = project.portfolios / entry.path
    assert path.name == f"2026-02-02-meeting-{entry.id[-8:].lower()}.md"
    doc = parse_front_matter(path.read_text())
    assert doc.data["author"] == "tina" and doc.data["role"] == "tutor"
    assert doc.data["competencies"] == [{"code": "A1", "level": "2"}]
    assert doc.body.strip() == "Bon entretien."
    assert git_log(project, "-1", "--format=%an|%s") .startswith("tina|alice : entretien de suivi")
    assert project.store.check() == []
    record = project.store.load_learner("alice")
    assert [e.id for e in record.entries] == [entry.id]


def test_rejected_entry_changes_nothing(project):
    before = git_log(project, "--format=%H")
    with pytest.raises(InvalidInput) as exc:
        add(project, "alice", meeting(duration="10:00", competencies=[{"code": "ZZ", "level": 9}],
                                      corrects="01JM2Q8V6Z9X3K4T5R6S7W8Y9A"),
            uploads=[("photo.jpg", JPEG)])
    fields = exc.value.by_field()
    assert "duration" in fields
    assert not list((project.portfolios / "alice" / "entries").iterdir())
    assert not list((project.portfolios / "alice" / "files").iterdir())
    assert git_log(project, "--format=%H") == before


def test_context_errors_name_their_fields(project):
    with pytest.raises(InvalidInput) as exc:
        add(project, "alice", meeting(competencies=[{"code": "ZZ"}, {"code": "A1", "level": "9"}],
                                      corrects="01JM2Q8V6Z9X3K4T5R6S7W8Y9A"))
    fields = exc.value.by_field()
    assert "inconnue" in fields["competencies[0].code"][0]
    assert "hors de l'échelle" in fields["competencies[1].level"][0]
    assert "aucune entrée" in fields["corrects"][0]


def test_server_keys_are_not_accepted_from_input(project):
    with pytest.raises(InvalidInput) as exc:
        add(project, "alice", meeting(author="mallory", id="01JM2Q8V6Z9X3K4T5R6S7W8Y9A"))
    assert set(exc.value.by_field()) == {"author", "id"}


def test_correction_must_target_same_type(project):
    first = add(project, "alice", meeting())
    fix = add(project, "alice", meeting(duration=60, corrects=first.id))
    assert fix.meta.corrects == first.id
    with pytest.raises(InvalidInput, match="type"):
        add(project, "alice", {"type": "feedback", "date": when("2026-02-03"), "title": "x", "corrects": first.id})


def test_attachments_saved_with_safe_names_and_sniffed_type(project):
    entry = add(project, "alice", {"type": "evidence", "date": when("2026-02-03"), "title": "Photo",
                                   "competencies": [{"code": "A1"}]},
                author="alice", role="learner",
                uploads=[("Photo été.PNG", JPEG), ("notes.txt", "Compte rendu\n".encode())])
    first, second = entry.meta.attachments
    assert first.endswith("-Photo-ete.jpg")  # the content is JPEG, whatever the name says
    assert second.endswith("-notes.txt")
    for rel in entry.meta.attachments:
        assert (project.portfolios / "alice" / rel).is_file()
    assert "files/" in git_log(project, "-1", "--name-only")


@pytest.mark.parametrize("name, data, words", [
    ("a/b.jpg", JPEG, "séparateur"),
    ("..\\b.jpg", JPEG, "séparateur"),
    ("a\0.jpg", JPEG, "NUL"),
    ("..", JPEG, ".."),
    ("prog.exe", b"MZ\x90\x00\x03" + b"\x00" * 100, "non accepté"),
    ("big.jpg", JPEG + b"\x00" * (11 * 1024 * 1024), "trop volumineux"),
    ("empty.txt", b"", "vide"),
], ids=["slash", "backslash", "nul", "dotdot", "exe", "oversized", "empty"])
def test_bad_uploads_are_refused_and_change_nothing(project, name, data, words):
    with pytest.raises(InvalidInput) as exc:
        add(project, "alice", {"type": "evidence", "date": when("2026-02-03"), "title": "x"},
            author="alice", role="learner", uploads=[(name, data)])
    assert words in str(exc.value)
    assert not list((project.portfolios / "alice" / "files").iterdir())
    assert not list((project.portfolios / "alice" / "entries").iterdir())


@pytest.mark.parametrize("learner", ["../alice", "alice/../bob", "Alice", "_frameworks", "", "a" * 65],
                         ids=["parent", "inner-parent", "upper", "reserved", "empty", "too-long"])
def test_learner_ids_never_reach_the_filesystem_unchecked(project, learner):
    with pytest.raises(UnknownLearner):
        add(project, learner, meeting())


def test_unknown_learner(project):
    with pytest.raises(UnknownLearner):
        project.store.load_learner("nobody")


def test_store_works_without_git(tmp_path):
    from factories import make_project

    project = make_project(tmp_path / "p", git=False)
    add(project, "alice", meeting())
    assert not (project.portfolios / ".git").exists()
    assert len(project.store.load_learner("alice").entries) == 1


def test_recover_commits_what_a_crash_left_uncommitted(project):
    entry = add(project, "alice", meeting())
    # Simulate a crash between the write and the commit: a valid entry file nobody committed.
    text = (project.portfolios / entry.path).read_text().replace(entry.id, "01JM2Q8V6Z9X3K4T5R6S7W8Y9A")
    orphan = project.portfolios / "alice" / "entries" / "2026-02-02-meeting-7w8y9a00.md"
    orphan.write_text(text)
    (project.portfolios / "alice" / "entries" / ".tmp-dead-x.md").write_text("half")
    os.utime(project.portfolios / "alice" / "entries" / ".tmp-dead-x.md", (0, 0))
    assert project.store.recover() == ["alice/entries/2026-02-02-meeting-7w8y9a00.md"]
    assert "tina" in git_log(project, "-1", "--format=%an")
    assert not (project.portfolios / "alice" / "entries" / ".tmp-dead-x.md").exists()
    assert project.store.check() == []


def test_every_error_comes_at_once(project):
    """Schema errors and framework errors together: a form shows them all in one round."""
    with pytest.raises(InvalidInput) as exc:
        add(project, "alice", meeting(duration="beaucoup", competencies=[{"code": "ZZ", "level": "2"},
                                                                          {"code": "A1", "level": "9"}]))
    fields = exc.value.by_field()
    assert set(fields) == {"duration", "competencies[0].code", "competencies[1].level"}


def test_derived_values_are_computed_once_per_state_of_the_files(project):
    store = project.store
    calls = []

    def count(record):
        calls.append(record.id)
        return len(record.entries)

    assert store.derived(store.load_learner("alice"), "n", count) == 0
    assert store.derived(store.load_learner("alice"), "n", count) == 0
    assert calls == ["alice"]
    assert store.derived(store.load_learner("alice"), "other key", count) == 0
    add(project, "alice", meeting())
    assert store.derived(store.load_learner("alice"), "n", count) == 1  # a new file: computed again
    assert calls == ["alice", "alice", "alice"]
    store.forget("alice")
    store.derived(store.load_learner("alice"), "n", count)
    assert len(calls) == 4
    # A record not read by load_learner has no version: nothing is kept for it.
    import dataclasses

    loose = dataclasses.replace(store.load_learner("alice"), version=())
    store.derived(loose, "n", count)
    store.derived(loose, "n", count)
    assert len(calls) == 6


def test_a_record_read_from_the_signature_scans_is_the_same(tmp_path):
    """``load_learner`` reuses its folder scans; reading the folders again gives the same record."""
    import shutil

    from livret.store.project import Project

    demo = Path(__file__).resolve().parent.parent / "portfolios"
    shutil.copytree(demo, tmp_path / "portfolios")
    (tmp_path / "portfolios" / "claire-dubois" / "entries" / "notes.txt").write_text("x", encoding="utf-8")
    (tmp_path / "portfolios" / "claire-dubois" / "entries" / "sous-dossier").mkdir()
    store = Project.at(tmp_path).store
    for lid in store.learner_ids():
        fast = store._load_learner(lid, store._signature(lid))
        slow = store._load_learner(lid)
        assert fast.entries == slow.entries and fast.files == slow.files
        assert [str(p) for p in fast.problems] == [str(p) for p in slow.problems]
        assert fast.entries and fast.files == store.file_names(lid)
        read = {e.path for e in fast.entries}
        assert read <= {p.relative_to(store.root).as_posix() for p in store.entry_paths(lid)}
    claire = store.load_learner("claire-dubois")
    assert any("notes.txt" in str(p) and "fichier inattendu" in str(p) for p in claire.problems)


def full_read(store, lid):
    record = store._load_learner(lid)
    return record.entries, record.files, [str(p) for p in record.problems]


def test_added_entries_extend_the_record_like_a_full_read(project, monkeypatch):
    store = project.store
    store.load_learner("alice")
    first = add(project, "alice", meeting(title="Un"))
    reads = []
    real = store._load_learner
    monkeypatch.setattr(store, "_load_learner", lambda *a, **k: reads.append(a[0]) or real(*a, **k))
    add(project, "alice", {"type": "feedback", "date": when("2026-03-01"), "title": "Retour",
                           "about": first.id, "competencies": [{"code": "A1", "level": "2"}]})
    add(project, "alice", {"type": "evidence", "date": when("2026-02-01"), "title": "Photo",
                           "competencies": [{"code": "A1"}]}, author="alice", role="learner",
        uploads=[("photo.jpg", JPEG)])
    record = store.load_learner("alice")
    assert reads == []  # appends only: no full read
    assert (record.entries, record.files, [str(p) for p in record.problems]) == full_read(store, "alice")
    assert [e.meta.date for e in record.entries] == sorted(e.meta.date for e in record.entries)


@pytest.mark.parametrize("change", ["bad file", "duplicate id", "edited", "removed", "not markdown"])
def test_anything_but_new_valid_entries_is_a_full_read(project, monkeypatch, change):
    store = project.store
    one = add(project, "alice", meeting(title="Un"))
    two = add(project, "alice", meeting(title="Deux"))
    store.load_learner("alice")
    entries = project.portfolios / "alice" / "entries"
    path_one = project.portfolios / one.path
    if change == "bad file":
        (entries / "2026-03-03-meeting-zzzz.md").write_text("---\ntype: meeting\n---\n", encoding="utf-8")
    elif change == "duplicate id":
        (entries / "0000-copie.md").write_text(path_one.read_text(encoding="utf-8"), encoding="utf-8")
    elif change == "edited":
        path_one.write_text(path_one.read_text(encoding="utf-8").replace("Un", "Un (modifié)"), encoding="utf-8")
    elif change == "removed":
        (project.portfolios / two.path).unlink()
    else:
        (entries / "notes.txt").write_text("x", encoding="utf-8")
    reads = []
    real = store._load_learner
    monkeypatch.setattr(store, "_load_learner", lambda *a, **k: reads.append(a[0]) or real(*a, **k))
    record = store.load_learner("alice")
    assert reads == ["alice"]
    assert (record.entries, record.files, [str(p) for p in record.problems]) == full_read(store, "alice")
    if change in ("bad file", "duplicate id", "not markdown"):
        assert record.problems
