"""Dashboard filters (group, tutor, programme, status, needs attention), the tutors column, the CSV export."""

from __future__ import annotations

import csv
import io
import re

import pytest
from factories import add, meeting, when

from livret.store.schema import Group
from livret.store.writer import GroupChange


def learner_order(html: str) -> list[str]:
    return re.findall(r'<th scope="row">\s*<a href="/apprenants/([a-z0-9-]+)/"', html)


def csv_rows(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # UTF-8 with a byte-order mark: French Excel opens it by double-click
    return list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=";"))


@pytest.fixture
def seeded(app_project):
    """alice (tina): an overdue plan, a staff alert; bob (tom): positioned, a recent contact, 3/4 of the hours;
    a group « Promo A » holding alice."""
    store = app_project.store
    add(app_project, "alice", {"type": "action-plan", "date": when("2026-05-01"), "title": "Rattrapage",
                               "objectives": ["Rendre le dossier"], "due": "2026-06-01"})
    add(app_project, "alice", {"type": "alert", "date": when("2026-06-01"), "title": "Absences répétées",
                               "category": "pedagogique", "severity": "haute"})
    add(app_project, "bob", {"type": "positioning", "date": when("2026-01-09"), "title": "Positionnement",
                             "competencies": [{"code": "A1", "level": "1"}]}, author="tom")
    add(app_project, "bob", {"type": "assessment", "date": when("2026-11-02"), "title": "Bilan",
                             "competencies": [{"code": "A1", "level": "3"}, {"code": "A2", "level": "4"},
                                              {"code": "B1", "level": "3"}]}, author="tom")
    add(app_project, "bob", meeting(date=when("2026-11-19")), author="tom")
    add(app_project, "bob", {"type": "attendance", "date": when("2026-11-06"), "title": "Semaine 45",
                             "period_start": "2026-11-02", "period_end": "2026-11-06",
                             "hours_planned": 35, "hours_attended": 30}, author="tom")
    store.write_changes([], [GroupChange(Group(id="promo-a", name="Promo A", members=["alice"]), None)],
                        author="ada", message="groupe")
    return app_project


def test_filters_narrow_the_list_and_combine_with_search_and_sort(seeded, client, auth):
    auth.login("ada")
    home = client.get("/tableau-de-bord").text
    assert learner_order(home) == ["alice", "bob"]
    # Every filter's list comes from the data.
    assert '<option value="promo-a">Promo A</option>' in home
    assert '<option value="tina">tina</option>' in home and '<option value="tom">tom</option>' in home
    assert '<option value="Formation de test">Formation de test</option>' in home
    assert learner_order(client.get("/tableau-de-bord?groupe=promo-a").text) == ["alice"]
    assert learner_order(client.get("/tableau-de-bord?groupe=-").text) == ["bob"]
    assert learner_order(client.get("/tableau-de-bord?tuteur=tom").text) == ["bob"]
    assert learner_order(client.get("/tableau-de-bord?formation=formation+de+TEST").text) == ["alice", "bob"]
    assert learner_order(client.get("/tableau-de-bord?statut=abandon").text) == []
    attention = client.get("/tableau-de-bord?attention=1").text
    assert learner_order(attention) == ["alice"] and "1 apprenant·e correspond aux filtres." in attention
    none = client.get("/tableau-de-bord?groupe=promo-a&tuteur=tom").text
    assert learner_order(none) == [] and "Aucun·e apprenant·e ne correspond aux filtres." in none
    # The search box is there even when nothing is listed, and keeps the filters.
    assert 'name="q"' in none and '<option value="promo-a" selected>' in none
    # Filters, search and sort combine, and links (sort headers, pages) keep them.
    both = client.get("/tableau-de-bord?tuteur=tom&q=bob&tri=nom").text
    assert learner_order(both) == ["bob"]
    assert 'href="/tableau-de-bord?tri=nom&amp;ordre=desc&amp;q=bob&amp;tuteur=tom"' in both
    # The count stays the number of learners the user reads.
    assert "2 apprenant·es." in none


def test_tutor_column_for_admins_and_auditors_only(seeded, client, auth):
    auth.login("ada")
    html = client.get("/tableau-de-bord").text
    assert "Tuteur·rices</th>" in html
    row = re.search(r'href="/apprenants/bob/".*?</tr>', html, re.S).group(0)
    assert ">\n        tom\n" in row or "tom" in re.sub(r"<[^>]+>", " ", row)
    auth.login("audra")
    assert "Tuteur·rices</th>" in client.get("/tableau-de-bord").text
    auth.login("tina")
    html = client.get("/tableau-de-bord").text
    assert "Tuteur·rices</th>" not in html and 'name="tuteur"' not in html
    assert learner_order(client.get("/tableau-de-bord?tuteur=tom").text) == ["alice"]  # not a filter for tutors
    assert 'name="attention"' in html  # tutors see alerts: they may keep only those
    auth.login("carl")
    html = client.get("/tableau-de-bord?attention=1").text
    assert learner_order(html) == ["alice"] and 'name="attention"' not in html and "Alertes" not in html


def test_search_box_is_always_there(app_project, client, auth):
    auth.login("tom")
    html = client.get("/tableau-de-bord").text
    assert '<input type="search" name="q"' in html and learner_order(html) == ["bob"]


def test_csv_export_holds_the_filtered_sorted_list_for_french_excel(seeded, client, auth):
    auth.login("ada")
    response = client.get("/tableau-de-bord/export.csv?tri=nom&ordre=desc")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="apprenants-\d{4}-\d{2}-\d{2}\.csv"',
                        response.headers["Content-Disposition"])
    assert b"\r\n" in response.data and response.data.startswith("\ufeff".encode())
    rows = csv_rows(response)
    header = rows[0]
    assert header[:7] == ["Identifiant", "Nom", "Prénom", "Formation", "Statut", "Groupes", "Tuteur·rices"]
    assert "Alertes" in header and [r[0] for r in rows[1:]] == ["bob", "alice"]
    bob = dict(zip(header, rows[1]))
    assert bob["Prénom"] == "Bob" and bob["Tuteur·rices"] == "tom" and bob["Statut"] == "En cours"
    assert bob["Progression (%)"] == "75,0"  # 3 of 4 competencies, decimal comma
    assert bob["Assiduité (%)"] == "85,7"  # 30 of 35 hours
    assert bob["Début"] == "05/01/2026" and bob["Fin prévue"] == "18/12/2026"
    assert bob["Dernier contact"] == "19/11/2026" and bob["Groupes"] == ""
    alice = dict(zip(header, rows[2]))
    assert alice["Groupes"] == "Promo A" and int(alice["Alertes (nombre)"]) >= 1
    assert "Rattrapage" in alice["Alertes"] and "Absences répétées" in alice["Alertes"]
    # Only the filtered rows, whatever the page size.
    filtered = csv_rows(client.get("/tableau-de-bord/export.csv?groupe=promo-a"))
    assert [r[0] for r in filtered[1:]] == ["alice"]
    # The page links to the export with the same filters.
    assert 'href="/tableau-de-bord/export.csv?tri=urgence&amp;groupe=promo-a"' in client.get(
        "/tableau-de-bord?groupe=promo-a").text


def test_a_tutors_export_holds_only_their_learners_and_a_company_gets_no_alerts(seeded, client, auth):
    auth.login("tom")
    rows = csv_rows(client.get("/tableau-de-bord/export.csv"))
    assert [r[0] for r in rows[1:]] == ["bob"] and "Tuteur·rices" not in rows[0] and "Alertes" in rows[0]
    assert [r[0] for r in csv_rows(client.get("/tableau-de-bord/export.csv?groupe=promo-a"))[1:]] == []
    auth.login("carl")
    rows = csv_rows(client.get("/tableau-de-bord/export.csv"))
    assert [r[0] for r in rows[1:]] == ["alice"]
    assert not any("Alerte" in cell for cell in rows[0]) and "Absences répétées" not in str(rows)
    client.post("/deconnexion", data={"csrf_token": auth.token()})
    assert client.get("/tableau-de-bord/export.csv").status_code == 302  # signed out: to the sign-in page


@pytest.mark.parametrize("payload", ['=HYPERLINK("http://evil.example","x")', "@SOMME(1+1)", "+33 6", "-2+3",
                                     "\u200b=1+1"])
def test_export_cells_never_run_as_formulas(app_project, client, auth, payload):
    store = app_project.store
    profile = store.load_learner("alice").profile.model_copy(update={"last_name": payload, "programme": payload})
    store.write_profile(profile, "Objectifs.", author="ada", message="alice renommée")
    auth.login("ada")
    rows = csv_rows(client.get("/tableau-de-bord/export.csv"))
    alice = next(r for r in rows if r[0] == "alice")
    assert alice[1] == "'" + payload and alice[3] == "'" + payload


def test_filters_read_only_the_learners_they_keep(seeded, client, auth, monkeypatch):
    """A narrowed dashboard loads no record of a learner filtered out (the benchmark's case)."""
    store = client.application.extensions["livret"].project.store  # the app's own store
    loaded = []
    real = store.load_learner
    monkeypatch.setattr(store, "load_learner", lambda lid: loaded.append(lid) or real(lid))
    auth.login("ada")
    assert learner_order(client.get("/tableau-de-bord?groupe=promo-a").text) == ["alice"]
    assert loaded == ["alice"]
