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
    from livret.instance.accounts import Accounts

    Accounts.for_project(app_project).add("zoe", "learner", "Mot-de-passe-sûr-2026")
    auth.login("zoe", "Mot-de-passe-sûr-2026")
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


def test_pages_of_the_table_keep_the_sort(app_project, client, auth, monkeypatch):
    from forms_app import dashboard

    seed(app_project)
    monkeypatch.setattr(dashboard, "PAGE_SIZE", 1)
    auth.login("ada")
    first = client.get("/tableau-de-bord?tri=nom&ordre=desc").text
    assert learner_order(first) == ["bob"]
    assert "Apprenant·es 1 à 1 sur 2" in first and '<span aria-current="page">1</span>' in first
    assert 'href="/tableau-de-bord?tri=nom&amp;ordre=desc&amp;page=2" rel="next"' in first
    second = client.get("/tableau-de-bord?tri=nom&ordre=desc&page=2").text
    assert learner_order(second) == ["alice"] and 'rel="prev"' in second and 'rel="next"' not in second
    assert learner_order(client.get("/tableau-de-bord?tri=nom&ordre=desc&page=99").text) == ["alice"]
    assert learner_order(client.get("/tableau-de-bord?tri=nom&ordre=desc&page=x").text) == ["bob"]
    assert "2 apprenant·es." in second  # the count is of every learner, not of the page


def test_search_by_name_programme_or_id_without_accents(app_project, client, auth):
    seed(app_project)
    profile = app_project.portfolios / "bob" / "learner.md"
    profile.write_text(profile.read_text(encoding="utf-8").replace("first_name: Bob", "first_name: Bérénice"),
                       encoding="utf-8")
    auth.login("ada")
    html = client.get("/tableau-de-bord?q=BERENICE").text
    assert learner_order(html) == ["bob"] and "1 apprenant·e correspond à « BERENICE »." in html
    assert learner_order(client.get("/tableau-de-bord?q=alice").text) == ["alice"]
    assert learner_order(client.get("/tableau-de-bord?q=formation+TEST").text) == ["alice", "bob"]
    none = client.get("/tableau-de-bord?q=zzz").text
    assert learner_order(none) == [] and "Aucun·e apprenant·e ne correspond à « zzz »." in none
    hostile = client.get("/tableau-de-bord?q=%3Cb%3Ex%3C/b%3E").text
    assert "&lt;b&gt;x&lt;/b&gt;" in hostile and "<b>x</b>" not in hostile
    # The search stays with the sort, and a tutor searches only their own learners.
    assert 'name="q" value="alice"' in client.get("/tableau-de-bord?q=alice&tri=nom").text
    auth.login("tom")
    assert learner_order(client.get("/tableau-de-bord?q=alice").text) == []


def test_summaries_are_computed_once_per_state_of_the_files(app_project, client, auth, monkeypatch):
    from livret.views import progress

    calls = []
    real = progress.summary
    monkeypatch.setattr(progress, "summary", lambda record, *a, **k: calls.append(record.id) or real(record, *a, **k))
    auth.login("ada")
    client.get("/tableau-de-bord")
    assert sorted(calls) == ["alice", "bob"]
    client.get("/tableau-de-bord?tri=nom")
    assert sorted(calls) == ["alice", "bob"]  # nothing changed: no summary computed again
    add(app_project, "bob", meeting(date=when("2026-11-19"), title="Nouvel entretien"), author="tom")
    html = client.get("/tableau-de-bord?tri=contact").text
    assert sorted(calls) == ["alice", "bob", "bob"]  # only the learner whose files changed
    assert learner_order(html) == ["bob", "alice"]
    auth.login("carl")  # another audience (shared): its own summaries
    client.get("/tableau-de-bord")
    assert calls.count("alice") == 2
