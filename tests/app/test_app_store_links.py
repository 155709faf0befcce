"""Links in the store never reach a user through the app: the signed-in portfolio routes, share
links, the JSON API, the dashboard (the hostile store of ``hostile_support``, built for real)."""

from __future__ import annotations

import pytest
from api_support import bearer, tokens_for
from app_support import AuthActions, install_accounts, make_app
from hostile_support import BOB, FOREIGN, LINKS, hostile_store

from livret.instance.shares import ShareLinks
from livret.publish.build import build_all


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory, accounts_template):
    data = hostile_store(tmp_path_factory.mktemp("app-links"))
    project = data["project"]
    install_accounts(accounts_template, project.instance)
    build_all(project, jobs=1, force=True)
    return {**data, "app": make_app(project.root)}


def assert_clean(response, *secrets: str) -> None:
    body = response.get_data()
    for secret in secrets or (*FOREIGN, BOB):
        assert secret.encode() not in body, (response.request.path, secret)


def site_paths(project, audience: str, learner: str) -> list[str]:
    """Every file of a built site, as a URL path under the site."""
    site = project.build_dir / audience / learner
    return [p.relative_to(site).as_posix() for p in sorted(site.rglob("*"))
            if p.is_file() and "assets" not in p.relative_to(site).parts]


def test_signed_in_routes_serve_no_link_target(hostile_app):
    project, client = hostile_app["project"], hostile_app["app"].test_client()
    auth = AuthActions(client)
    for user, audience in (("tina", "staff"), ("alice", "shared")):
        auth.login(user)
        for name in LINKS:
            assert client.get(f"/portfolio/alice/files/{name}").status_code == 404, (user, name)
        legit = hostile_app["legit"].meta.attachments[0]
        assert client.get(f"/portfolio/alice/{legit}").status_code == 200
        for path in site_paths(project, audience, "alice"):
            assert_clean(client.get(f"/portfolio/alice/{path}"))
    auth.login("ada")
    assert client.get("/portfolio/chloe/files/x-secret.txt").status_code == 404
    assert client.get("/portfolio/zoe/").status_code == 404
    for path in site_paths(project, "staff", "chloe"):
        assert_clean(client.get(f"/portfolio/chloe/{path}"))


def test_share_links_serve_no_link_target(hostile_app):
    project, client = hostile_app["project"], hostile_app["app"].test_client()
    links = ShareLinks.for_project(project)
    token = links.create("alice", created_by="tina", label="Entreprise").token
    for name in LINKS:
        assert client.get(f"/s/{token}/files/{name}").status_code == 404, name
    for path in site_paths(project, "shared", "alice"):
        assert_clean(client.get(f"/s/{token}/{path}"))
    chloe = links.create("chloe", created_by="tom").token
    assert client.get(f"/s/{chloe}/files/x-secret.txt").status_code == 404


def test_api_and_dashboard_know_nothing_a_link_points_to(hostile_app):
    project, app = hostile_app["project"], hostile_app["app"]
    client = app.test_client()
    token = tokens_for(project)["ada"]
    listing = client.get("/api/v1/learners", headers=bearer(token))
    assert listing.status_code == 200
    assert [row["id"] for row in listing.json["learners"]] == ["alice", "bob", "chloe"]
    assert client.get("/api/v1/learners/zoe", headers=bearer(token)).status_code == 404
    entries = client.get("/api/v1/learners/alice/entries", headers=bearer(token))
    assert entries.status_code == 200
    assert [e["title"] for e in entries.json["entries"]] == ["Vraie preuve"]
    assert_clean(entries)
    auth = AuthActions(client)
    auth.login("ada")
    board = client.get("/tableau-de-bord")
    assert board.status_code == 200
    assert "/apprenants/zoe/" not in board.text
    page = client.get("/apprenants/alice/")
    assert page.status_code == 200
    assert_clean(page, *FOREIGN)
