"""Bulk actions for a group: attendance for a period, the same entry for several learners (admins only)."""

from __future__ import annotations

import subprocess

import pytest
from factories import SMALL_FRAMEWORK, add, when

from livret.store.schema import Group
from livret.store.writer import GroupChange

WEEK = {"debut": "2026-11-02", "fin": "2026-11-06"}  # Monday to Friday
ATTENDANCE = "/admin/groupes/promo/assiduite"


def log(project) -> list[str]:
    out = subprocess.run(["git", "log", "--format=%an|%s"], cwd=project.portfolios, capture_output=True,
                         text=True, check=True).stdout
    return out.splitlines()


def files(project) -> list[str]:
    return sorted(p.relative_to(project.portfolios).as_posix() for p in project.portfolios.rglob("*")
                  if p.is_file() and ".git" not in p.parts)


def attendance_of(project, lid: str):
    return [e for e in project.store.load_learner(lid).entries if e.type == "attendance"]


@pytest.fixture
def group(app_project):
    app_project.store.write_changes(
        [], [GroupChange(Group(id="promo", name="Promo 2026", weekly_hours=35, members=["alice", "bob"]), None)],
        author="ada", message="groupe")
    return app_project


def revision(project) -> str:
    return project.store.revision("_groups/promo.yml")


def rows(project, **over) -> dict:
    data = {**WEEK, "revision": revision(project), "lignes": ["alice", "bob"],
            "inclure-alice": "1", "prevues-alice": "35", "suivies-alice": "28",
            "inclure-bob": "1", "prevues-bob": "35", "suivies-bob": "31,5"}
    data.update(over)
    return data


# ---------------------------------------------------------------- attendance


def test_attendance_rows_are_prefilled_with_the_groups_planned_hours(group, client, auth):
    auth.login("ada")
    page = client.get(ATTENDANCE).text
    assert 'name="debut"' in page and "35 h par semaine" in page  # the period first, with the rule
    page = client.get(ATTENDANCE, query_string={"debut": "2026-11-02", "fin": "2026-11-04"}).text
    # 35 h a week × 3 working days / 5 = 21 h, for planned and attended alike.
    assert 'name="prevues-alice" id="prevues-alice" value="21"' in page
    assert 'name="suivies-bob" id="suivies-bob" value="21"' in page
    assert 'name="inclure-alice" id="inclure-alice" value="1" checked' in page


def test_attendance_for_the_group_is_one_commit_by_the_admin(group, client, auth):
    auth.login("ada")
    before = log(group)
    response = auth.post(ATTENDANCE, rows(group))
    assert response.status_code == 302, response.text
    assert response.headers["Location"].endswith("/admin/groupes/promo/assiduite?debut=2026-11-02&fin=2026-11-06")
    after = log(group)
    assert len(after) == len(before) + 1
    assert after[0].startswith("ada|Groupe Promo 2026 : assiduité du 2 novembre 2026 au 6 novembre 2026 pour 2 ")
    (alice,) = attendance_of(group, "alice")
    (bob,) = attendance_of(group, "bob")
    assert (alice.meta.hours_planned, alice.meta.hours_attended) == (35, 28)
    assert (bob.meta.hours_planned, bob.meta.hours_attended) == (35, 31.5)
    assert alice.meta.author == "ada" and alice.meta.role == "admin"
    assert str(alice.meta.period_start) == "2026-11-02" and str(alice.meta.period_end) == "2026-11-06"
    assert group.store.check() == []
    # Back on the page, the period is recorded: read-only, nothing to write twice.
    page = client.get(response.headers["Location"]).text
    assert "Déjà enregistré" in page and 'name="prevues-alice"' not in page and 'name="lignes"' not in page


def test_a_period_with_recorded_hours_is_read_only_and_never_counted_twice(group, client, auth):
    overlapping = add(group, "bob", {"type": "attendance", "date": when("2026-11-10"), "title": "Stage",
                                     "period_start": "2026-11-05", "period_end": "2026-11-10",
                                     "hours_planned": 20, "hours_attended": 18}, author="tom")
    auth.login("ada")
    page = client.get(ATTENDANCE, query_string=WEEK).text
    assert "du 5 novembre 2026 au 10 novembre 2026 : 18 h suivies sur 20 h prévues" in page
    assert 'name="prevues-bob"' not in page and 'name="prevues-alice"' in page
    # Even a forged post for bob writes nothing for him.
    response = auth.post(ATTENDANCE, rows(group, lignes=["alice"]))
    assert response.status_code == 302, response.text
    assert [e.id for e in attendance_of(group, "bob")] == [overlapping.id]
    assert len(attendance_of(group, "alice")) == 1
    assert group.store.check() == []


def test_hours_recorded_meanwhile_refuse_the_whole_form(group, client, auth):
    auth.login("ada")
    data = rows(group)  # the form as shown: alice and bob editable
    add(group, "bob", {"type": "attendance", "date": when("2026-11-06"), "title": "Semaine",
                       "period_start": "2026-11-02", "period_end": "2026-11-06",
                       "hours_planned": 35, "hours_attended": 35}, author="tom")
    before, head = files(group), log(group)
    response = auth.post(ATTENDANCE, data)
    assert response.status_code == 422
    assert "Bob Test : des heures ont été enregistrées entre-temps" in response.text
    assert files(group) == before and log(group) == head


@pytest.mark.parametrize("over, row, message", [
    ({"suivies-alice": "40"}, "suivies-alice", "Les heures suivies dépassent les heures prévues"),
    ({"suivies-bob": "beaucoup"}, "suivies-bob", "beaucoup"),
    ({"prevues-alice": ""}, "prevues-alice", "Ce champ est obligatoire"),
])
def test_a_bad_row_is_named_and_nothing_is_written(group, client, auth, over, row, message):
    auth.login("ada")
    before, head = files(group), log(group)
    response = auth.post(ATTENDANCE, rows(group, **over))
    assert response.status_code == 422
    page = response.text
    assert f'id="{row}-error"' in page and message in page and "Rien n&#39;a été enregistré" in page
    assert f'name="{row}" id="{row}" value="{over[row]}"' in page  # what was typed is kept
    assert files(group) == before and log(group) == head


def test_period_errors_are_named(group, client, auth):
    auth.login("ada")
    reversed_ = client.get(ATTENDANCE, query_string={"debut": "2026-11-06", "fin": "2026-11-02"})
    assert reversed_.status_code == 422 and "La fin de la période précède son début." in reversed_.text
    future = client.get(ATTENDANCE, query_string={"debut": "2999-01-01", "fin": "2999-01-05"})
    assert future.status_code == 422 and "La période n&#39;est pas terminée" in future.text
    long = client.get(ATTENDANCE, query_string={"debut": "2025-01-01", "fin": "2026-11-06"})
    assert long.status_code == 422 and "Période trop longue : 366 jours au plus." in long.text
    bad = client.get(ATTENDANCE, query_string={"debut": "hier", "fin": ""})
    assert bad.status_code == 422 and "Date invalide" in bad.text and "Ce champ est obligatoire." in bad.text
    before = files(group)
    assert auth.post(ATTENDANCE, rows(group, fin="2026-10-01")).status_code == 422
    assert files(group) == before


def test_a_group_changed_meanwhile_refuses_the_form(group, client, auth):
    auth.login("ada")
    data = rows(group)
    store = group.store
    store.write_changes([], [GroupChange(Group(id="promo", name="Promo 2026", weekly_hours=30,
                                               members=["alice", "bob"]), revision(group))],
                        author="ada", message="groupe modifié")
    before = files(group)
    response = auth.post(ATTENDANCE, data)
    assert response.status_code == 422 and "Le groupe a été modifié entre-temps" in response.text
    assert 'name="suivies-bob" id="suivies-bob" value="31,5"' in response.text  # what was typed is kept
    assert files(group) == before
    # The same entry for several learners: a learner no longer in the group refuses the whole form.
    store.write_changes([], [GroupChange(Group(id="promo", name="Promo 2026", members=["alice"]), revision(group))],
                        author="ada", message="bob quitte le groupe")
    before = files(group)
    response = auth.post("/admin/groupes/promo/entree/meeting", {**MEETING, "apprenants": ["alice", "bob"]})
    assert response.status_code == 422 and "bob ne fait plus partie du groupe" in response.text
    assert files(group) == before


# ---------------------------------------------------------------- the same entry for several learners


MEETING = {"title": "Réunion d'information collective", "date": "2026-11-05T14:00", "kind": "suivi",
           "modality": "presentiel", "duration": "60", "body": "Présentation du calendrier des examens."}


def test_same_entry_for_several_learners_is_one_commit_one_file_each(group, client, auth):
    auth.login("ada")
    types = client.get("/admin/groupes/promo/entree").text
    assert 'href="/admin/groupes/promo/entree/meeting"' in types
    assert 'href="/admin/groupes/promo/entree/evidence"' not in types
    form = client.get("/admin/groupes/promo/entree/meeting").text
    assert 'name="apprenants" value="alice" id="apprenant-0" checked' in form
    assert 'name="apprenants" value="bob" id="apprenant-1" checked' in form
    assert 'name="about"' not in form and 'type="file"' not in form
    before = log(group)
    response = auth.post("/admin/groupes/promo/entree/meeting", {**MEETING, "apprenants": ["alice", "bob"]})
    assert response.status_code == 302, response.text
    after = log(group)
    assert len(after) == len(before) + 1
    assert after[0] == ("ada|Groupe Promo 2026 : entretien de suivi « Réunion d'information collective » "
                        "pour 2 apprenant·es (ada)")
    for lid in ("alice", "bob"):
        (entry,) = [e for e in group.store.load_learner(lid).entries if e.type == "meeting"]
        assert entry.meta.title == MEETING["title"] and entry.meta.duration == 60
        assert entry.meta.author == "ada" and entry.body.strip() == MEETING["body"]
    assert group.store.check() == []


def test_only_the_learners_chosen_get_the_entry(group, client, auth):
    auth.login("ada")
    assert auth.post("/admin/groupes/promo/entree/feedback",
                     {"title": "Retour commun", "date": "2026-11-05T14:00", "apprenants": ["bob"]}).status_code == 302
    assert [e.type for e in group.store.load_learner("alice").entries] == []
    assert [e.meta.title for e in group.store.load_learner("bob").entries] == ["Retour commun"]
    before = files(group)
    none = auth.post("/admin/groupes/promo/entree/feedback", {"title": "Retour", "date": "2026-11-05T14:00"})
    assert none.status_code == 422 and "Choisissez au moins un·e apprenant·e." in none.text
    assert files(group) == before


def test_a_competency_outside_a_learners_framework_names_the_learner(group, client, auth):
    store = group.store
    other = {**SMALL_FRAMEWORK, "id": "autre", "title": "Autre référentiel",
             "blocks": [{"code": "X", "title": "Autre", "competencies": [{"code": "X1", "title": "Autre chose"}]}]}
    store.write_framework("autre", other, author="ada", message="autre")
    bob = store.load_learner("bob").profile.model_copy(update={"framework": "autre"})
    store.write_profile(bob, None, author="ada", message="bob change de référentiel")
    auth.login("ada")
    form = client.get("/admin/groupes/promo/entree/feedback").text
    assert "pas tous le même référentiel" in form
    before, head = files(group), log(group)
    response = auth.post("/admin/groupes/promo/entree/feedback", {
        "title": "Retour commun", "date": "2026-11-05T14:00", "competencies": ["A1"],
        "apprenants": ["alice", "bob"]})
    assert response.status_code == 422
    assert "Bob Test : " in response.text and "A1" in response.text and "Alice Test :" not in response.text
    assert files(group) == before and log(group) == head
    # An error every learner shares is said once, without names.
    response = auth.post("/admin/groupes/promo/entree/feedback", {"date": "2026-11-05T14:00",
                                                                   "apprenants": ["alice", "bob"]})
    assert response.status_code == 422 and "Ce champ est obligatoire." in response.text
    assert "Bob Test : Ce champ" not in response.text
    assert files(group) == before


# ---------------------------------------------------------------- who may


@pytest.mark.parametrize("user", ["tina", "audra", "carl", "alice"])
def test_only_admins_use_bulk_actions_and_nothing_is_written(group, client, auth, user):
    auth.login(user)
    before, head = files(group), log(group)
    for url in (ATTENDANCE, "/admin/groupes/promo/entree", "/admin/groupes/promo/entree/meeting"):
        assert client.get(url).status_code == 403
    assert auth.post(ATTENDANCE, rows(group)).status_code == 403
    assert auth.post("/admin/groupes/promo/entree/meeting", {**MEETING, "apprenants": ["alice"]}).status_code == 403
    assert files(group) == before and log(group) == head


def test_csrf_unknown_group_and_type(group, client, auth):
    auth.login("ada")
    before = files(group)
    assert client.post(ATTENDANCE, data=rows(group)).status_code == 400  # no CSRF token
    assert client.post("/admin/groupes/promo/entree/meeting", data={**MEETING, "apprenants": ["alice"]}
                       ).status_code == 400
    assert files(group) == before
    assert client.get("/admin/groupes/inconnu/assiduite").status_code == 404
    assert client.get("/admin/groupes/promo/entree/evidence").status_code == 404
    assert client.get("/admin/groupes/promo/entree/attendance").status_code == 404
