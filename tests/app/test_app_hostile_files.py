"""One hostile hand-edited file never takes the app down: an alias bomb or an alias holding itself
in one learner's entry costs that file, while every dashboard, page and API answer still works
(a real server for the bomb: the old code walked it for hours; the test client for the rest)."""

from __future__ import annotations

import json
import urllib.request

import pytest
from api_support import bearer, tokens_for
from app_support import AuthActions, HttpSession, make_app, start_server, stop_server
from factories import add, hand_written, meeting, when
from hostile_support import ALIAS_MESSAGE, alias_bomb, with_front_matter_lines


def hostile_entry(project, lines: list[str]) -> str:
    """alice: a sound meeting and one entry holding ``lines``; bob: a sound meeting."""
    add(project, "alice", meeting(title="Entretien sain"))
    add(project, "bob", meeting(title="Entretien de Bob"), author="tom")
    rel = hand_written(project, "alice", meeting(title="Entretien piégé", date=when("2026-02-03")))
    with_front_matter_lines(project.root / rel, lines)
    return rel


@pytest.fixture
def bomb_server(app_project, tmp_path):
    rel = hostile_entry(app_project, alias_bomb())
    token = tokens_for(app_project)["ada"]
    server = start_server(app_project.root, tmp_path / "serve.log")
    yield server, rel, token
    stop_server(server)


def test_an_alias_bomb_costs_one_file_not_the_server(bomb_server):
    server, rel, token = bomb_server
    session = HttpSession(server.url)  # every request gives up after 60 s
    session.login("ada")
    status, _, page = session.get("/tableau-de-bord")
    assert status == 200
    assert "/apprenants/alice/" in page and "/apprenants/bob/" in page
    status, _, page = session.get("/apprenants/alice/")
    assert status == 200 and "Entretien sain" in page
    request = urllib.request.Request(server.url + "/api/v1/learners", headers=bearer(token))
    with urllib.request.urlopen(request, timeout=60) as response:
        assert [row["id"] for row in json.load(response)["learners"]] == ["alice", "bob"]


def test_an_alias_holding_itself_costs_one_file_not_every_dashboard(app_project):
    rel = hostile_entry(app_project, ["boucle: &b [*b]"])
    app = make_app(app_project.root)
    client = app.test_client()
    auth = AuthActions(client)
    for user in ("ada", "tina", "audra"):
        auth.login(user)
        board = client.get("/tableau-de-bord")
        assert board.status_code == 200, user
        assert "/apprenants/alice/" in board.text
    page = client.get("/apprenants/alice/")
    assert page.status_code == 200 and "Entretien sain" in page.text
    token = tokens_for(app_project)
    assert client.get("/api/v1/learners", headers=bearer(token["ada"])).status_code == 200
    entries = client.get("/api/v1/learners/alice/entries", headers=bearer(token["tina"]))
    assert entries.status_code == 200
    assert [e["title"] for e in entries.json["entries"]] == ["Entretien sain"]
    problems = [str(p) for p in app_project.store.check()]
    assert len(problems) == 1 and problems[0].startswith(f"{rel}:") and ALIAS_MESSAGE in problems[0]
