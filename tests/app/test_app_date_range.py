"""The forms and the API refuse implausible dates with the store's message, and write nothing.

The app's "today" is the real one: the assertions only use the start of the
range (9 July 2025: 180 days before alice's start on 5 January 2026) and the
programme, which do not depend on the day the test runs.
"""

from __future__ import annotations

import html
import re

import pytest
from api_support import bearer, make_accounts_db, tokens_for
from app_support import PAST, VALID_FORMS, install_accounts

RANGE = "entre le 9 juillet 2025 et le "
PROGRAMME = "(formation du 5 janvier 2026 au 18 décembre 2026)"


def field_error(page: str, field: str) -> str:
    match = re.search(rf'<ul class="field-errors" id="{field}-error"[^>]*>(.*?)</ul>', page, re.S)
    assert match, f"no error next to {field}"
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1)))


@pytest.mark.parametrize("field, value, entry_type", [
    ("date", "0001-01-01T10:00", "meeting"),
    ("date", "0471-03-02T10:00", "meeting"),
    ("date", "0648-05-01T10:00", "feedback"),
    ("date", "2019-09-16T10:00", "meeting"),  # a meeting in 2019 for a learner who started in 2026
    ("due", "0648-01-01", "action-plan"),
    ("period_start", "2019-01-01", "attendance"),
])
def test_forms_refuse_dates_outside_the_range(app_project, client, auth, field, value, entry_type):
    auth.login("tina")
    before = sorted(app_project.portfolios.rglob("*.md"))
    response = auth.post(f"/apprenants/alice/nouvelle/{entry_type}", {**VALID_FORMS[entry_type], field: value})
    assert response.status_code == 422
    message = " ".join(field_error(response.text, field).split())
    assert "Date hors de la période admise" in message and RANGE in message and PROGRAMME in message
    assert sorted(app_project.portfolios.rglob("*.md")) == before


def test_forms_accept_the_first_day_of_the_range(app_project, client, auth):
    auth.login("tina")
    response = auth.post("/apprenants/alice/nouvelle/meeting", {**VALID_FORMS["meeting"], "date": "2025-07-09T10:00"})
    assert response.status_code == 302
    assert [e.meta.date.date().isoformat() for e in app_project.store.load_learner("alice").entries] == ["2025-07-09"]


@pytest.fixture
def api(project, tmp_path_factory):
    from forms_app import create_app

    install_accounts(make_accounts_db(tmp_path_factory.mktemp("api-accounts")), project.instance)
    return create_app(project.root, testing=True).test_client(), tokens_for(project), project


MEETING = {"type": "meeting", "date": PAST + ":00+01:00", "title": "Entretien par l'API", "kind": "suivi",
           "modality": "presentiel", "duration": 30}


@pytest.mark.parametrize("payload, field", [
    ({**MEETING, "date": "0471-03-02T10:00:00+01:00"}, "date"),
    ({**MEETING, "date": "2019-09-16T10:00:00+02:00"}, "date"),
    ({"type": "action-plan", "date": MEETING["date"], "title": "Plan", "actions": ["Venir"], "due": "0001-01-01"},
     "due"),
])
def test_api_refuses_dates_outside_the_range(api, payload, field):
    client, tokens, project = api
    r = client.post("/api/v1/learners/alice/entries", headers=bearer(tokens["tina"]), json=payload)
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    [error] = r.json["errors"]
    assert error["field"] == field and error["pointer"] == f"/{field}"
    assert error["detail"].startswith("date hors de la période admise") and RANGE in error["detail"]
    assert project.store.load_learner("alice").entries == []


def test_api_refuses_what_happened_after_today(api):
    client, tokens, project = api
    r = client.post("/api/v1/learners/alice/entries", headers=bearer(tokens["tina"]),
                    json={**MEETING, "date": "2099-01-01T10:00:00+01:00"})
    assert r.status_code == 422
    assert r.json["errors"][0]["detail"].startswith("date postérieure à aujourd'hui")
    assert project.store.load_learner("alice").entries == []


def test_hand_edited_implausible_dates_are_still_shown(app_project, client, auth):
    """The file stays readable: the learner's page and the Qualiopi report show it (``livret check`` warns)."""
    from factories import hand_written

    hand_written(app_project, "alice", {"type": "positioning", "date": "0001-01-01T10:00:00+01:00",
                                        "title": "Positionnement de l'an 1",
                                        "competencies": [{"code": "A1", "level": "1"}]},
                 recorded="2026-01-06T10:00:00+01:00")
    hand_written(app_project, "alice", {"type": "meeting", "date": "2019-09-16T10:00:00+02:00",
                                        "title": "Entretien de 2019", "kind": "suivi", "modality": "presentiel",
                                        "duration": 30}, recorded="2026-01-06T10:00:00+01:00")
    auth.login("tina")
    page = client.get("/apprenants/alice/")
    assert page.status_code == 200
    text = html.unescape(page.get_data(as_text=True))
    assert "Positionnement de l'an 1" in text and "Entretien de 2019" in text
    auth.login("ada")
    report = html.unescape(client.get("/qualiopi").get_data(as_text=True))
    assert "Positionnement daté du 1er janvier 1, hors de la période admise" in report
    assert "conforme</span>" not in report and "règle de l'organisme respectée" in report
