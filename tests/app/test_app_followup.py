"""The follow-up rules in the app: the dashboard's badge and « Suivi à faire », the learner page's
« Processus de suivi », and « Planifier le suivi proposé » (one commit, dates never in the past)."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re
import subprocess

import pytest
from app_support import csrf_from
from followup_support import followup_project, meeting_fields

from livret.instance.accounts import Accounts
from livret.views import followup as fv

TODAY = dt.date.today()  # the app's clock is the real one: the learners started 20 days ago
START = TODAY - dt.timedelta(days=20)


@pytest.fixture
def project(tmp_path):
    return followup_project(tmp_path / "p", start=START)


def commits(project) -> int:
    out = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=project.portfolios, capture_output=True,
                         text=True, check=True)
    return int(out.stdout)


def form_of(html: str) -> dict[str, str]:
    """The proposal form's values as a browser would send them (checked boxes only)."""
    data = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        data[name] = htmllib.unescape(value)
    for name in re.findall(r'<input type="checkbox" name="([^"]+)" value="1" checked', html):
        data[name] = "1"
    for name, value in re.findall(r'<select[^>]*name="([^"]+)">.*?<option value="([^"]+)" selected', html):
        data[name] = value
    data["csrf_token"] = csrf_from(html)
    return data


def test_the_dashboard_lists_what_is_overdue_first(app_project, client, auth):
    auth.login("tina")
    page = client.get("/tableau-de-bord").get_data(as_text=True)
    assert "Suivi à faire" in page
    assert "suivi : 2 en retard" in page  # welcome (7 days) and positioning (15 days) are past
    section = page[page.index("Suivi à faire"):page.index("</section>", page.index("Suivi à faire"))]
    assert section.index("Entretien d&#39;accueil") < section.index("Positionnement initial")  # oldest first
    assert "Contact de suivi" in section  # due within 14 days
    # bob is tom's: tina sees only alice
    assert "Bob" not in section
    auth.login("alice")
    assert "Suivi à faire" not in client.get("/tableau-de-bord", follow_redirects=True).get_data(as_text=True)


def test_the_learner_page_shows_the_process_and_the_proof(app_project, client, auth):
    stored = app_project.store.append_entry(
        "alice", {**meeting_fields("accueil", "Entretien d'accueil"),
                  "date": dt.datetime.combine(START + dt.timedelta(days=3), dt.time(10)).astimezone().isoformat(),
                  "visibility": "staff"},
        "Accueil.", author="tina", role="tutor")
    auth.login("tina")
    page = client.get("/apprenants/alice/").get_data(as_text=True)
    assert "Processus de suivi" in page
    assert f'href="#entree-{stored.id}"' in page and "réalisé" in page
    assert "Planifier le suivi proposé" in page
    for who in ("alice", "carl"):  # never to the learner nor the company tutor (the proof is a staff entry)
        auth.login(who)
        other = client.get("/apprenants/alice/").get_data(as_text=True)
        assert "Processus de suivi" not in other and stored.id not in other


def test_plan_the_proposed_followup_in_one_commit(app_project, client, auth):
    Accounts.for_project(app_project).set_profile("carl", "Carl Dupont", "carl@example.org")  # gets reminders
    auth.login("tina")
    page = client.get("/apprenants/alice/suivi/planifier")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    data = form_of(html)
    count = int(data["nombre"])
    assert count >= 3  # welcome, contact, company visit, check-in
    for i in range(count):
        day = dt.date.fromisoformat(data[f"p{i}-date"])
        assert day > TODAY  # a plan is never in the past
    assert "12 rue de l&#39;École, 69001 Lyon" in html  # the organisation's address by default
    before = commits(app_project)
    response = client.post("/apprenants/alice/suivi/planifier", data=data)
    assert response.status_code == 302
    assert commits(app_project) == before + 1
    record = app_project.store.load_learner("alice")
    plans = [e for e in record.entries if e.type == "planned-meeting"]
    assert len(plans) == count
    log = subprocess.run(["git", "log", "-1", "--format=%an"], cwd=app_project.portfolios, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert log == "tina"
    items = fv.learner_items(record.profile, record.entries, [], app_project.store.settings().followup.rules, TODAY)
    assert fv.proposals(items, TODAY) == []  # every meeting item has its plan now
    assert app_project.store.check() == []


def test_bad_input_names_the_field_and_writes_nothing(app_project, client, auth):
    auth.login("tina")
    data = form_of(client.get("/apprenants/alice/suivi/planifier").get_data(as_text=True))
    before = commits(app_project)
    response = client.post("/apprenants/alice/suivi/planifier", data=data)  # carl has no address yet
    assert response.status_code == 400
    assert "Avec l&#39;entreprise : sans adresse e-mail pour recevoir le rappel" in response.get_data(as_text=True)
    assert commits(app_project) == before
    Accounts.for_project(app_project).set_profile("carl", "Carl Dupont", "carl@example.org")
    data = form_of(client.get("/apprenants/alice/suivi/planifier").get_data(as_text=True))
    data["p0-date"] = (TODAY - dt.timedelta(days=2)).isoformat()  # in the past
    data["p1-heure"] = "midi"
    before = commits(app_project)
    response = client.post("/apprenants/alice/suivi/planifier", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Heure : saisissez une heure" in html
    assert commits(app_project) == before
    del data["p1-heure"]
    data["p1-heure"] = "10:00"
    response = client.post("/apprenants/alice/suivi/planifier", data=data)
    assert response.status_code == 400
    assert "Date : date passée" in response.get_data(as_text=True)
    assert commits(app_project) == before
    assert not [e for e in app_project.store.load_learner("alice").entries if e.type == "planned-meeting"]


@pytest.mark.parametrize("who, status", [("tom", 403), ("carl", 403), ("alice", 403), ("audra", 403)])
def test_only_the_learners_tutors_and_admins_plan(app_project, client, auth, who, status):
    auth.login(who)
    assert client.get("/apprenants/alice/suivi/planifier").status_code == status
    assert auth.post("/apprenants/alice/suivi/planifier", {"nombre": "1", "p0-inclure": "1"}).status_code == status
    assert not [e for e in app_project.store.load_learner("alice").entries if e.type == "planned-meeting"]


def test_the_qualiopi_page_states_each_rule(app_project, client, auth):
    auth.login("ada")
    page = client.get("/qualiopi").get_data(as_text=True)
    assert "Règles de suivi de l'organisme" in page
    assert "Entretien d&#39;accueil (sous 7 jours)" in page
    assert "conforme</span>" not in page
