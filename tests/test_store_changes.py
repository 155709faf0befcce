"""Profiles and groups written together, bulk entries, stale writes, file versions: the store's admin API."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from factories import make_project, when

from livret.store import StoreError
from livret.store.errors import InvalidInput
from livret.store.ids import ALPHABET, new_learner_id, slug
from livret.store.records import StaleWrite
from livret.store.schema import Group, LearnerProfile
from livret.store.writer import GroupChange, NewEntry, ProfileChange


def commits(project) -> int:
    out = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=project.portfolios, capture_output=True,
                         text=True, check=True)
    return int(out.stdout)


def new_profile(lid: str, **extra) -> LearnerProfile:
    return LearnerProfile(id=lid, first_name="Zoé", last_name="Martin", programme="BTS MCO", framework="mini",
                          start=dt.date(2026, 9, 1), **extra)


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "p", with_site=False)


def test_new_ids_are_opaque_short_and_fresh():
    ids = {new_learner_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 8 and i[0].isalpha() and set(i) <= set(ALPHABET) for i in ids)
    taken = {new_learner_id() for _ in range(5)}
    assert new_learner_id(taken) not in taken
    assert slug("BTS MCO — Élodie 2026") == "bts-mco-elodie-2026"
    assert slug("BTS MCO", taken={"bts-mco"}) == "bts-mco-2"
    assert slug("!!!") == "groupe"


def test_learners_and_a_group_in_one_commit_by_the_admin(project):
    store = project.store
    before = commits(project)
    seen = []
    store.after_commit.append(seen.append)
    group = Group(id="bts-2026", name="BTS 2026", members=["alice", "zz1", "zz2"])
    store.write_changes([ProfileChange(new_profile("zz1"), "", None), ProfileChange(new_profile("zz2"), "", None)],
                        [GroupChange(group, None)], author="ada", message="import : 2 apprenant·es")
    assert commits(project) == before + 1
    author = subprocess.run(["git", "log", "-1", "--format=%an"], cwd=project.portfolios, capture_output=True,
                            text=True, check=True).stdout.strip()
    assert author == "ada"
    assert store.profile("zz1").name == "Zoé Martin"
    assert store.groups()["bts-2026"].members == ["alice", "zz1", "zz2"]
    assert [g.id for g in store.groups_of("alice")] == ["bts-2026"]
    assert seen[-1].learners == ("zz1", "zz2") and seen[-1].learner_id is None
    assert store.check() == []


def test_bad_changes_write_nothing(project):
    store = project.store
    before = commits(project)
    with pytest.raises(InvalidInput) as err:
        store.write_changes([ProfileChange(new_profile("alice"), "", None),
                             ProfileChange(new_profile("zz3").model_copy(update={"framework": "nope"}), "", None)],
                            [GroupChange(Group(id="g", name="G", members=["ghost"]), None)],
                            author="ada", message="x")
    messages = {e.loc: e.message for e in err.value.errors}
    assert messages[("profiles", 0, "id")] == "l'apprenant·e alice existe déjà"
    assert messages[("profiles", 1, "framework")] == "référentiel introuvable : nope"
    assert messages[("groups", 0, "members", 0)] == "apprenant·e inconnu·e : ghost"
    assert commits(project) == before
    assert "zz3" not in store.learner_ids() and store.group_ids() == []


def test_a_hand_edit_made_while_a_form_was_open_is_not_overwritten(project):
    store = project.store
    rel = "alice/learner.md"
    seen = store.revision(rel)
    path = project.portfolios / rel
    path.write_text(path.read_text(encoding="utf-8").replace("Formation de test", "Formation modifiée"),
                    encoding="utf-8")
    changed = store.profile("alice").model_copy(update={"last_name": "Durand"})
    with pytest.raises(StaleWrite) as err:
        store.write_profile(changed, None, author="ada", message="x", expected=seen)
    assert "alice/learner.md a été modifié entre-temps" in str(err.value)
    assert "Formation modifiée" in path.read_text(encoding="utf-8")
    fresh = store.revision(rel)
    store.write_profile(store.profile("alice").model_copy(update={"last_name": "Durand"}), None, author="ada",
                        message="alice : nom", expected=fresh)
    assert store.profile("alice").last_name == "Durand"
    assert store.profile("alice").programme == "Formation modifiée"
    assert store.load_learner("alice").profile_body.strip() == "Objectifs de alice."  # None keeps the text


def test_profile_versions_say_who_changed_what_and_when(project):
    store = project.store
    store.write_profile(store.profile("alice").model_copy(update={"programme": "BTS NDRC"}), None, author="ada",
                        message="alice : formation")
    versions = store.history.versions("alice/learner.md")
    assert [v.author for v in versions[:1]] == ["ada"] and versions[0].message == "alice : formation"
    assert b"BTS NDRC" in versions[0].data and b"BTS NDRC" not in versions[1].data
    assert versions[0].date.tzinfo is not None


def test_one_entry_to_several_learners_is_one_commit_and_all_or_nothing(project):
    store = project.store
    before = commits(project)
    fields = {"type": "meeting", "title": "Réunion d'information collective", "date": when("2026-03-02"),
              "kind": "suivi", "modality": "presentiel", "duration": 60, "participants": ["ada"]}
    with pytest.raises(InvalidInput) as err:
        store.append_entries([NewEntry("alice", fields), NewEntry("bob", {**fields, "kind": "nope"})],
                             author="ada", role="admin", message="x")
    assert err.value.errors[0].loc[:3] == ("entries", 1, "kind")
    assert commits(project) == before and store.load_learner("alice").entries == []
    stored = store.append_entries([NewEntry("alice", fields), NewEntry("bob", fields)], author="ada", role="admin",
                                  message="réunion collective (2 apprenant·es)")
    assert commits(project) == before + 1
    assert [s.path.split("/")[0] for s in stored] == ["alice", "bob"]
    assert len(store.load_learner("bob").entries) == 1
    assert store.check() == []


def test_a_taken_file_name_gets_a_new_id_in_bulk_writes_too(project, monkeypatch):
    """Two entries of one day whose ids end alike would share a file name: the second gets a new id."""
    from ulid import ULID

    import livret.store.writer as writer

    ids = iter([ULID.from_str("01KB0000000000000000000001"), ULID.from_str("01KB0000000000000000000002")])
    monkeypatch.setattr(writer, "ULID", lambda: next(ids))  # the ids the store will draw, in order
    taken = project.portfolios / "bob" / "entries" / "2026-03-02-meeting-00000001.md"
    taken.write_text("déjà là", encoding="utf-8")
    fields = {"type": "meeting", "title": "Réunion", "date": when("2026-03-02"), "kind": "suivi",
              "modality": "presentiel", "duration": 60}
    [stored] = project.store.append_entries([NewEntry("bob", fields)], author="ada", role="admin", message="m")
    assert stored.id == "01KB0000000000000000000002" and stored.path.endswith("-00000002.md")
    assert taken.read_text(encoding="utf-8") == "déjà là"


def test_group_files_are_checked_with_their_line(project):
    groups = project.portfolios / "_groups"
    groups.mkdir()
    (groups / "g1.yml").write_text("id: g1\nname: G1\nmembers:\n  - alice\n  - ghost\n", encoding="utf-8")
    (groups / "g2.yml").write_text("id: autre\nname: G2\n", encoding="utf-8")
    (groups / "notes.txt").write_text("x", encoding="utf-8")
    problems = {(p.path.split("/", 1)[1], p.line, p.message) for p in project.store.check()}
    assert ("_groups/g1.yml", 3, "members[1] : apprenant·e inconnu·e : ghost") in problems
    assert ("_groups/g2.yml", 1, "id : « autre » ne correspond pas au nom du fichier (g2)") in problems
    assert ("_groups/notes.txt", None, "fichier inattendu (les groupes sont des .yml)") in problems


def test_a_failed_commit_puts_every_file_back(project, monkeypatch):
    store = project.store
    original = (project.portfolios / "alice/learner.md").read_bytes()
    index = project.portfolios / ".git" / "index"
    kept = index.read_bytes()
    index.write_bytes(b"DIRC broken")  # git refuses to stage anything: a corrupt index
    try:
        with pytest.raises(StoreError):
            store.write_changes([ProfileChange(store.profile("alice").model_copy(update={"last_name": "X"})),
                                 ProfileChange(new_profile("zz9"), "", None)], author="ada", message="x")
    finally:
        index.write_bytes(kept)
    assert (project.portfolios / "alice/learner.md").read_bytes() == original
    assert not (project.portfolios / "zz9" / "learner.md").exists()


def test_an_unchanged_write_commits_nothing(project):
    store = project.store
    before = commits(project)
    profile = store.profile("alice")
    assert store.write_profile(profile, None, author="ada", message="rien") is None
    assert commits(project) == before
    changed = profile.model_copy(update={"programme": "Autre"})
    assert store.write_changes([ProfileChange(profile), ProfileChange(store.profile("bob")),
                                ProfileChange(changed)][2:], author="ada", message="alice") is not None
    assert commits(project) == before + 1


def test_a_long_running_reader_does_not_keep_a_stale_lock(project):
    """The seal's ``git cat-file --batch-check`` lives as long as the app: a lock a killed writer left
    is still cleared beside it (the busy-machine crash test found every write refused after a crash)."""
    reader = subprocess.Popen(["git", "cat-file", "--batch-check"], cwd=project.portfolios, stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL)
    try:
        lock = project.portfolios / ".git" / "index.lock"
        lock.write_text("")
        assert project.store.history.clear_stale_locks() == [".git/index.lock"]
        assert not lock.exists()
    finally:
        reader.stdin.close()
        reader.wait(10)
