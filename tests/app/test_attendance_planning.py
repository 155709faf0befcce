"""Planning sessions in the app (forms_app/sessions.py): list, one session, series, CSV import, change,
the learner's attendance page; authorization and CSRF; the sessions API."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess

import pytest
from app_support import USERS, AuthActions, install_accounts, make_app
from attendance_support import add_session, attendance_project
from factories import PARIS


def head(project) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=project.portfolios, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture
def proj(tmp_path, accounts_template):
    project = attendance_project(tmp_path / "proj")
    install_accounts(accounts_template, project.instance)
    return project


@pytest.fixture
def web(proj):
    app = make_app(proj.root)
    client = app.test_client()
    return client, AuthActions(client)


ONE = {"date": "2026-11-16", "start": "09:00", "end": "17:00", "title": "Accueil du public", "trainer": "tina",
       "modality": "presentiel", "place": "Salle 3", "group": "promo", "framework": "mini", "competencies": "A1, B1"}


def test_one_session_is_split_previewed_then_written_in_one_commit(proj, web):
    client, auth = web
    auth.login("tina")
    before = head(proj)
    page = auth.post("/seances/nouvelle", ONE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Aperçu : 2 demi-journées" in html and "09:00–12:30" in html and "13:30–17:00" in html
    assert head(proj) == before and proj.store.sessions() == []
    saved = auth.post("/seances/nouvelle", {**ONE, "action": "enregistrer"})
    assert saved.status_code == 302 and "/seances/?mois=2026-11" in saved.headers["Location"]
    sessions = proj.store.sessions()
    assert [(s.session.half_day, s.session.start, s.session.end) for s in sessions] == [
        ("matin", "09:00", "12:30"), ("apres-midi", "13:30", "17:00")]
    assert sessions[0].session.competencies == ["A1", "B1"] and sessions[0].session.author == "tina"
    log = subprocess.run(["git", "log", "--format=%an", f"{before}..HEAD"], cwd=proj.portfolios,
                         capture_output=True, text=True, check=True).stdout.split()
    assert log == ["tina"]
    assert proj.store.check() == []
    listing = client.get("/seances/?mois=2026-11").get_data(as_text=True)
    assert "Accueil du public" in listing and "0 / 2" in listing  # alice and bob expected, nobody signed


def test_bad_input_names_the_field_and_writes_nothing(proj, web):
    client, auth = web
    auth.login("ada")
    before = head(proj)
    bad = auth.post("/seances/nouvelle", {**ONE, "end": "08:00", "competencies": "ZZ9", "action": "enregistrer"})
    assert bad.status_code == 422
    assert "La fin précède le début" in bad.get_data(as_text=True)
    bad = auth.post("/seances/nouvelle", {**ONE, "competencies": "ZZ9", "action": "enregistrer"})
    assert bad.status_code == 422 and "ompétence inconnue dans mini : ZZ9" in bad.get_data(as_text=True)
    bad = auth.post("/seances/nouvelle", {**ONE, "group": "", "action": "enregistrer"})
    assert bad.status_code == 422 and "hoisissez un groupe ou des apprenant·es" in bad.get_data(as_text=True)
    assert head(proj) == before


def test_learners_convened_one_by_one(proj, web):
    client, auth = web
    auth.login("tom")  # bob's and carol's tutor
    saved = auth.post("/seances/nouvelle", {**ONE, "end": "12:00", "group": "", "learners": ["carol"],
                                            "action": "enregistrer"})
    assert saved.status_code == 302
    entries = [e for e in proj.store.load_learner("carol").entries if e.type == "convocation"]
    assert len(entries) == 1 and entries[0].meta.session == proj.store.sessions()[0].id
    # tom does not follow alice: refused, nothing written
    before = head(proj)
    assert auth.post("/seances/nouvelle", {**ONE, "group": "", "learners": ["alice"],
                                           "action": "enregistrer"}).status_code == 403
    assert head(proj) == before and proj.store.check() == []


def test_series_skips_company_days_and_writes_one_commit(proj, web):
    from livret.admin.groups import group_revision, update_group

    group = proj.store.groups()["promo"]
    update_group(proj.store, "promo", {"name": group.name, "calendar": [
        {"start": "2026-11-09", "end": "2026-11-13", "kind": "entreprise", "label": "Stage"}]},
        list(group.members), author="ada", expected=group_revision(proj.store, "promo"))
    client, auth = web
    auth.login("ada")
    form = {"period_start": "2026-11-02", "period_end": "2026-11-15", "weekdays": ["0", "2"],
            "morning_start": "09:00", "morning_end": "12:30", "afternoon_start": "", "afternoon_end": "",
            "title": "Module B", "trainer": "tina", "modality": "presentiel", "group": "promo"}
    before = head(proj)
    page = auth.post("/seances/serie", form)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Aperçu : 2 demi-journées" in html and "en entreprise (Stage)" in html
    assert head(proj) == before
    assert auth.post("/seances/serie", {**form, "action": "enregistrer"}).status_code == 302
    assert [s.session.date.isoformat() for s in proj.store.sessions()] == ["2026-11-02", "2026-11-04"]
    assert subprocess.run(["git", "rev-list", "--count", f"{before}..HEAD"], cwd=proj.portfolios,
                          capture_output=True, text=True, check=True).stdout.strip() == "1"


CSV = ("date;debut;fin;intitule;formateur;groupe;modalite;lieu;competences\n"
       "16/11/2026;09:00;12:30;Accueil;tina;promo;présentiel;Salle 1;A1\n"
       "17/11/2026;09:00;17:00;Vente;tina;Promo;distance;;\n")


def test_csv_import_previews_then_imports_exactly_the_file(proj, web):
    client, auth = web
    auth.login("ada")
    before = head(proj)
    page = auth.post("/seances/import", {"fichier": (io.BytesIO(CSV.encode("cp1252")), "planning.csv")},
                     content_type="multipart/form-data")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "3 demi-journées valides" in html and "pas en UTF-8" in html
    assert head(proj) == before
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    sha = re.search(r'name="sha256" type="hidden" value="([^"]+)"', html).group(1)
    assert auth.post("/seances/import/confirmer", {"token": token, "sha256": "0" * 64}).status_code == 422
    assert head(proj) == before
    done = auth.post("/seances/import/confirmer", {"token": token, "sha256": sha})
    assert done.status_code == 302
    assert [(s.session.title, s.session.half_day) for s in proj.store.sessions()] == [
        ("Accueil", "matin"), ("Vente", "matin"), ("Vente", "apres-midi")]
    assert proj.store.check() == []


def test_csv_errors_name_line_and_column(proj, web):
    client, auth = web
    auth.login("ada")
    bad = CSV.replace("tina;Promo", "personne;Promo").replace("16/11/2026", "31/02/2026")
    page = auth.post("/seances/import", {"fichier": (io.BytesIO(bad.encode()), "planning.csv")},
                     content_type="multipart/form-data")
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert re.search(r"<td>2</td><td>date</td><td>date inexistante", html)
    assert re.search(r"<td>3</td><td>formateur</td><td>aucun compte formateur", html)
    assert 'name="token"' not in html and proj.store.sessions() == []


def test_change_and_cancel_write_a_new_file_of_the_chain(proj, web):
    chain = add_session(proj)
    client, auth = web
    auth.login("tina")
    page = client.get(f"/seances/{chain}/modifier")
    assert page.status_code == 200 and "Accueil du public" in page.get_data(as_text=True)
    assert auth.post(f"/seances/{chain}/modifier", {"action": "move", "date": "2026-11-12", "start": "09:00",
                                                    "end": "12:00", "trainer": "ada", "reason": ""}).status_code == 422
    moved = auth.post(f"/seances/{chain}/modifier", {"action": "move", "date": "2026-11-12", "start": "09:00",
                                                     "end": "12:00", "trainer": "ada", "reason": "Salle prise"})
    assert moved.status_code == 302
    versions = [s.session for s in proj.store.sessions() if s.session.chain == chain]
    assert len(versions) == 2 and versions[-1].updates == chain and versions[-1].trainer == "ada"
    assert versions[-1].date == dt.date(2026, 11, 12) and versions[-1].reason == "Salle prise"
    assert auth.post(f"/seances/{chain}/modifier", {"action": "cancel", "reason": "Grève"}).status_code == 302
    assert client.get(f"/seances/{chain}/modifier").status_code == 409
    assert proj.store.check() == []


@pytest.mark.parametrize("username", ["alice", "carl", "audra", "tom"])
def test_who_may_plan_and_change(proj, web, username):
    chain = add_session(proj, trainer="tina")
    client, auth = web
    auth.login(username)
    before = head(proj)
    role = USERS[username]
    assert client.get("/seances/").status_code == (200 if role in ("tutor", "auditor") else 403)
    assert client.get("/seances/nouvelle").status_code == (200 if role == "tutor" else 403)
    assert client.get("/seances/serie").status_code == (200 if role == "tutor" else 403)
    assert client.get("/seances/import").status_code == (200 if role == "tutor" else 403)
    # tom follows bob, a member of promo: he may change promo's sessions; the others may not
    assert client.get(f"/seances/{chain}/modifier").status_code == (200 if username == "tom" else 403)
    assert auth.post(f"/seances/{chain}/modifier", {"action": "cancel", "reason": "x"}).status_code == \
        (302 if username == "tom" else 403)
    if username != "tom":
        assert head(proj) == before


def test_csrf_is_required(proj, web):
    client, auth = web
    auth.login("ada")
    before = head(proj)
    assert client.post("/seances/nouvelle", data={**ONE, "action": "enregistrer"}).status_code == 400
    assert head(proj) == before


def test_learner_attendance_page_by_audience(proj, web):
    """Staff see the notes and the PDF links; the learner and the company tutor the states only."""
    from livret.attendance.service import mark, sign_session

    chain = add_session(proj)
    sign_session(proj.store, chain, "alice", username="alice", name="Alice Test", role="learner", method="password",
                 signed_as="typed-name", now=dt.datetime(2026, 11, 10, 9, 5, tzinfo=PARIS))
    mark(proj.store, chain, "alice", status="late", minutes=20, reason="Bus en retard", note="Prévenu par SMS",
         username="tina", name="Tina Martin", role="tutor", now=dt.datetime(2026, 11, 10, 11, tzinfo=PARIS))
    client, auth = web
    pages = {}
    for username in ("tina", "alice", "carl", "bob"):
        auth.login(username)
        answer = client.get("/apprenants/alice/assiduite")
        pages[username] = (answer.status_code, answer.get_data(as_text=True))
        auth.logout()
    assert pages["bob"][0] == 403
    for username in ("tina", "alice", "carl"):
        status, html = pages[username]
        assert status == 200 and "Accueil du public" in html and "En retard (20 min)" in html
    assert "Prévenu par SMS" in pages["tina"][1] and "certificat.pdf" in pages["tina"][1]
    for username in ("alice", "carl"):
        assert "Prévenu par SMS" not in pages[username][1] and "Bus en retard" not in pages[username][1]
        assert ".pdf" not in pages[username][1]
    auth.login("tina")
    assert "/apprenants/alice/assiduite" in client.get("/apprenants/alice/").get_data(as_text=True)


def test_sessions_api_lists_and_creates_with_the_same_rules(proj, web):
    from api_support import bearer, tokens_for

    client, _ = web
    tokens = tokens_for(proj)
    body = {"date": "2026-11-16", "start": "09:00", "end": "17:00", "title": "Accueil", "trainer": "tina",
            "group": "promo", "framework": "mini", "competencies": ["A1"]}
    before = head(proj)
    for name, status in (("alice", 403), ("carl", 403), ("audra", 403)):
        assert client.post("/api/v1/sessions", json=body, headers=bearer(tokens[name])).status_code == status
    bad = client.post("/api/v1/sessions", json={**body, "start": 9, "half_day": "matin", "extra": 1},
                      headers=bearer(tokens["ada"]))
    assert bad.status_code == 422
    assert {e["field"] for e in bad.get_json()["errors"]} == {"start", "half_day", "extra"}
    bad = client.post("/api/v1/sessions", json={**body, "competencies": ["ZZ"]}, headers=bearer(tokens["ada"]))
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["pointer"] == "/competencies/0"
    assert client.post("/api/v1/sessions", json={**body, "group": None, "learners": ["alice"]},
                       headers=bearer(tokens["tom"])).status_code == 403
    assert head(proj) == before
    made = client.post("/api/v1/sessions", json=body, headers=bearer(tokens["tina"]))
    assert made.status_code == 201
    created = made.get_json()["sessions"]
    assert [s["session"]["half_day"] for s in created] == ["matin", "apres-midi"]
    listed = client.get("/api/v1/sessions?from=2026-11-01&to=2026-11-30&group=promo",
                        headers=bearer(tokens["audra"])).get_json()["sessions"]
    assert [s["chain"] for s in listed] == [s["chain"] for s in created]
    assert client.get("/api/v1/sessions?from=2026-13-01", headers=bearer(tokens["ada"])).status_code == 422
    assert client.get("/api/v1/sessions", headers=bearer(tokens["alice"])).status_code == 403
    assert proj.store.check() == []
