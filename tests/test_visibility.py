"""The one rule of ``livret.store.visibility``: what each audience sees, which entries a writer may name.

The app's tests (tests/app/test_app_staff_references.py) go through the
forms, the API and every shared output; these check the store itself, the
place every write path goes through.
"""

from __future__ import annotations

import json

import pytest
from factories import add, meeting, when

from livret.store.errors import InvalidInput
from livret.store.schema import ENTRY_ID_RE, ENTRY_MODELS, REFERENCE_KEYS
from livret.store.visibility import audience_for, nameable, unknown_entry, visible_ids

UNKNOWN = "01JM2Q8V6Z9X3K4T5R6S7W8Y9A"


def test_reference_keys_are_every_key_that_holds_an_entry_id():
    """A new key naming an entry must join REFERENCE_KEYS, or shared outputs would leak it."""
    found = set()
    for model in ENTRY_MODELS.values():
        for name, prop in model.model_json_schema()["properties"].items():
            if name != "id" and ENTRY_ID_RE.pattern in json.dumps(prop):
                found.add(name)
    # ``session`` names a training session (a file of _sessions/, with no visibility), not an entry
    assert found == set(REFERENCE_KEYS) | {"session"}


def test_audiences():
    assert {r: audience_for(r) for r in ("learner", "tutor", "company", "auditor", "admin")} == {
        "learner": "shared", "tutor": "staff", "company": "shared", "auditor": "staff", "admin": "staff"}


@pytest.fixture
def store_refs(project):
    alert = add(project, "alice", {"type": "alert", "date": when("2026-03-01"), "title": "Alerte",
                                   "category": "sante", "severity": "haute"})
    first = add(project, "alice", meeting(title="Première version"))
    staff_fix = add(project, "alice", meeting(title="Version équipe", visibility="staff", corrects=first.id))
    shared = add(project, "alice", meeting(date=when("2026-03-05"), title="Partagé"))
    return {"alert": alert.id, "first": first.id, "staff_fix": staff_fix.id, "shared": shared.id}


def test_shared_view_hides_staff_entries_and_the_versions_they_correct(project, store_refs):
    metas = [e.meta for e in project.store.load_learner("alice").entries]
    assert visible_ids(metas, "shared") == {store_refs["shared"]}
    assert visible_ids(metas, "staff") == set(store_refs.values())
    by_id = {m.id: m for m in metas}
    assert set(nameable(by_id, "learner")) == {store_refs["shared"]}
    assert set(nameable(by_id, "tutor")) == set(store_refs.values())


@pytest.mark.parametrize("hidden", ["alert", "first", "staff_fix"])
@pytest.mark.parametrize("role, author, fields", [
    ("learner", "alice", {"type": "reflection", "date": when("2026-04-01"), "title": "Bilan"}),
    ("company", "carl", {"type": "company-feedback", "date": when("2026-04-01"), "title": "Retour",
                         "period_start": "2026-03-01", "period_end": "2026-03-31"}),
])
def test_store_refuses_a_hidden_id_in_the_words_of_an_unknown_one(project, store_refs, hidden, role, author,
                                                                   fields):
    """Whatever calls it (form, API, an import): the store is the one place that decides."""
    def refusal(target: str) -> list[tuple]:
        with pytest.raises(InvalidInput) as exc:
            add(project, "alice", {**fields, "about": target}, author=author, role=role)
        return [(e.loc, e.message.replace(target, "<id>")) for e in exc.value.errors]

    assert refusal(store_refs[hidden]) == refusal(UNKNOWN) == [(("about",), unknown_entry("<id>"))]
    assert add(project, "alice", {**fields, "about": store_refs["shared"]}, author=author, role=role)


def test_only_staff_supersede_someone_elses_entry(project):
    mine = add(project, "alice", {"type": "evidence", "date": when("2026-04-01"), "title": "Ma preuve"},
               author="alice", role="learner")
    theirs = add(project, "alice", {"type": "evidence", "date": when("2026-04-01"), "title": "Preuve de l'OF"},
                 author="ada", role="admin")
    fix = {"type": "evidence", "date": when("2026-04-02"), "title": "Corrigée"}
    with pytest.raises(InvalidInput) as exc:
        add(project, "alice", {**fix, "corrects": theirs.id}, author="alice", role="learner")
    assert [e.loc for e in exc.value.errors] == [("corrects",)]
    assert "seul·e son auteur·rice ou l'équipe pédagogique peut la corriger" in exc.value.errors[0].message
    assert add(project, "alice", {**fix, "corrects": mine.id}, author="alice", role="learner")
    assert add(project, "alice", {**fix, "corrects": theirs.id, "title": "Par l'admin"}, author="root",
               role="admin")
