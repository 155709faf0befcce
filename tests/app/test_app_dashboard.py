"""Dashboards: who sees whom, most urgent first, sorting without JavaScript."""

from __future__ import annotations

import re

from factories import add, meeting, when


def learner_order(html: str) -> list[str]:
    return re.findall(r'<th scope="row">\s*<a href="/apprenants/([a-z0-9-]+)/"', html)


def seed(project):
    """alice: an overdue action plan and an open alert (urgent); bob: a recent contact."""
    add(project, "alice", {"type": "action-plan", "date": when("2026-05-01"), "title": "Rattrapage",
                           "objectives": ["Rendre le dossier"], "due": "2026-06-01"})
    add(project, "alice", {"type": "alert", "date": when("2026-06-01"), "title": "Absences répétées",
                           "category": "pedagogique", "severity": "haute"})
    add(project, "bob", meeting(date=when("2026-11-19")), author="tom")


def test_admin_sees_everyone_most_urgent_first_and_sorts(app_project, client, auth):
    seed(app_project)
    auth.login("ada")
    html = client.get("/tableau-de-bord").text
    assert learner_order(html) == ["alice", "bob"]
    assert "Plan d&#39;action « Rattrapage » en retard" in html and "Absences répétées" in html
    assert 'aria-sort="ascending"' not in html  # urgency is not a column
    by_name = client.get("/tableau-de-bord?tri=nom&ordre=desc").text
    assert learner_order(by_name) == ["bob", "alice"]
    assert re.search(r'<th scope="col" aria-sort="descending">\s*<a href="/tableau-de-bord\?tri=nom&amp;ordre=asc"',
                     by_name)
    by_contact = client.get("/tableau-de-bord?tri=contact").text
    assert learner_order(by_contact) == ["bob", "alice"]  # never contacted comes last
    assert learner_order(client.get("/tableau-de-bord?tri=n%27importe").text) == ["alice", "bob"]


def test_tutor_sees_assigned_learners_only(app_project, client, auth):
    seed(app_project)
    auth.login("tom")
    html = client.get("/tableau-de-bord").text
    assert learner_order(html) == ["bob"] and "1 apprenant·e vous est confié·e." in html
    assert "il y a 2 jours" in html or "il y a" in html


def test_company_tutor_sees_apprentices_without_staff_alerts(app_project, client, auth):
    seed(app_project)
    auth.login("carl")
    html = client.get("/tableau-de-bord").text
    assert learner_order(html) == ["alice"]
    assert "Absences répétées" not in html and "Alertes" not in html
    assert learner_order(client.get("/tableau-de-bord?tri=alertes").text) == ["alice"]


def test_learner_lands_on_own_page_with_next_steps(app_project, client, auth):
    add(app_project, "alice", {"type": "action-plan", "date": when("2026-10-01"), "title": "Préparer l'oral",
                               "actions": ["Répéter devant le groupe"], "due": "2026-12-10"})
    auth.login("alice")
    response = client.get("/tableau-de-bord")
    assert response.status_code == 302 and response.headers["Location"] == "/apprenants/alice/"
    page = client.get("/apprenants/alice/").text
    assert "À faire" in page and "Répéter devant le groupe" in page
    assert ">Preuve</a>" in page and ">Réflexion / auto-évaluation</a>" in page
    assert "Entretien de suivi</a>" not in page  # tutor types are not offered


def test_learner_without_portfolio(app_project, client, auth):
    from livret.accounts import Accounts

    Accounts.for_project(app_project).add("zoe", "learner", "un mot de passe sûr")
    auth.login("zoe", "un mot de passe sûr")
    assert "Aucun portfolio n'est associé à votre compte" in client.get("/tableau-de-bord").text


def test_invalid_profile_is_listed_for_admins_only(app_project, client, auth):
    broken = app_project.portfolios / "zoe"
    (broken / "entries").mkdir(parents=True)
    (broken / "learner.md").write_text("---\nid: zoe\nfirst_name: Zoé\ntutors: [tina]\n---\n", encoding="utf-8")
    auth.login("ada")
    html = client.get("/tableau-de-bord").text
    assert "zoe" in learner_order(html) and "Profil invalide" in html
    page = client.get("/apprenants/zoe/")
    assert page.status_code == 200 and "portfolios/zoe/learner.md" in page.text
    auth.login("tina")
    assert "zoe" not in learner_order(client.get("/tableau-de-bord").text)
    assert client.get("/apprenants/zoe/").status_code == 403


def test_sort_rows_puts_missing_values_last():
    from forms_app.dashboard import Row, sort_rows

    class S:
        def __init__(self, name, rate):
            self.name, self.attendance_rate = name, rate

    rows = [Row("a", None, S("A", None)), Row("b", None, S("B", 0.5)), Row("c", None, S("C", 0.9)),
            Row("x", None, None)]
    assert [r.id for r in sort_rows(rows, "assiduite", False)] == ["b", "c", "a", "x"]
    assert [r.id for r in sort_rows(rows, "assiduite", True)] == ["c", "b", "a", "x"]
