"""A full disk under instance/ (a small tmpfs mounted there, filled for real): sign-in answers 503
with a French message, an API call with a token still succeeds (its last use is best effort,
logged once), never a 500 — and everything works again once there is room."""

from __future__ import annotations

import logging

import pytest
from app_support import AuthActions, install_accounts, make_app
from test_reliability_store import _fill, small_disk

from livret.instance.tokens import Tokens


@pytest.fixture
def full_instance(project, accounts_template):
    """The project with its instance/ folder on a 4 MB tmpfs; yields (app, token, fill, free)."""
    with small_disk(project.instance, "4m") as disk:
        install_accounts(accounts_template, project.instance)
        secret = Tokens.for_project(project).create("tina")[1]
        app = make_app(project.root)
        state = {}

        def fill():
            state["filler"] = _fill(disk)

        def free():
            state.pop("filler").unlink()

        yield app, secret, fill, free
        if "filler" in state:
            free()


def api_get(client, secret):
    return client.get("/api/v1/learners", headers={"Authorization": f"Bearer {secret}"})


def test_sign_in_on_a_full_instance_disk_is_a_503_with_a_message(full_instance):
    app, _, fill, free = full_instance
    client = app.test_client()
    auth = AuthActions(client)
    assert client.get("/connexion").status_code == 200  # the app opened its database before the disk filled
    fill()
    response = auth.login("tina")
    assert response.status_code == 503 and response.headers["Retry-After"]
    text = response.get_data(as_text=True)
    assert "Disque plein" in text and "rien n&#39;a été enregistré" in text
    assert client.get("/tableau-de-bord").status_code == 302  # not signed in, and nothing broke
    free()
    assert auth.login("tina").status_code == 302
    assert client.get("/tableau-de-bord").status_code == 200


def test_an_api_call_succeeds_when_its_last_use_cannot_be_recorded(full_instance, caplog):
    app, secret, fill, free = full_instance
    client = app.test_client()
    assert client.get("/connexion").status_code == 200
    fill()
    with caplog.at_level(logging.WARNING, logger="livret.tokens"):
        for _ in range(3):  # never recorded, so each call tries again: one log line, not three
            response = api_get(client, secret)
            assert response.status_code == 200, response.get_data(as_text=True)
            assert {learner["id"] for learner in response.get_json()["learners"]} == {"alice"}
    warnings = [r for r in caplog.records if r.name == "livret.tokens"]
    assert len(warnings) == 1 and "disque plein" in warnings[0].getMessage()
    assert Tokens(app.extensions["livret"].accounts.db).list("tina")[0].last_used is None
    free()
    assert api_get(client, secret).status_code == 200
    assert Tokens(app.extensions["livret"].accounts.db).list("tina")[0].last_used is not None
