"""Serving the built portfolios: audience by role, path traversal, the "being generated" page."""

from __future__ import annotations

import os
import re
import time

import pytest
from app_support import VALID_FORMS, AuthActions, make_app
from factories import add, meeting, when

from livret.publish.build import build_learner, site_dir


@pytest.fixture
def built(app_project):
    """alice with a shared meeting and a staff alert, her two sites built."""
    shared = add(app_project, "alice", meeting(title="Entretien partagé"))
    staff = add(app_project, "alice", {"type": "alert", "date": when("2026-03-01"), "title": "Alerte confidentielle",
                                       "category": "sante", "severity": "haute"}, "Détail médical.")
    report = build_learner(app_project, "alice")
    assert report.ok, report.problems
    return {"shared": shared, "staff": staff}


def entry_url(entry) -> str:
    return f"/portfolio/alice/entrees/{entry.id.lower()}/"


def test_each_role_gets_its_audience(built, client, auth):
    auth.login("tina")
    home = client.get("/portfolio/alice/")
    assert home.status_code == 200 and home.mimetype == "text/html"
    assert client.get(entry_url(built["staff"])).status_code == 200
    assert "Alerte confidentielle" in client.get(entry_url(built["staff"])).text
    auth.login("alice")
    assert client.get("/portfolio/alice/").status_code == 200
    assert client.get(entry_url(built["shared"])).status_code == 200
    assert client.get(entry_url(built["staff"])).status_code == 404  # absent from the shared site
    for url in ("/portfolio/alice/", "/portfolio/alice/chronologie/", "/portfolio/alice/search/search_index.json"):
        assert "Alerte confidentielle" not in client.get(url).text, url


def test_site_headers_and_assets(built, client, auth):
    auth.login("carl")
    home = client.get("/portfolio/alice/")
    csp = home.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp and not re.search(r"https?://", csp)
    assert home.headers["Cache-Control"] == "private, no-cache"
    css = re.search(r'href="(assets/stylesheets/[^"]+\.css)"', home.text).group(1)
    asset = client.get(f"/portfolio/alice/{css}")  # through the build's link to build/_assets/
    assert asset.status_code == 200 and asset.mimetype == "text/css"
    assert client.get("/portfolio/alice/chronologie").status_code == 302  # a folder gets its slash


def test_conditional_requests(built, client, auth):
    auth.login("tina")
    first = client.get("/portfolio/alice/")
    again = client.get("/portfolio/alice/", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("path", [
    "../bob/index.html",
    "..%2fbob%2findex.html",
    "%2e%2e/%2e%2e/staff/alice/index.html",
    "assets/../../../staff/alice/index.html",
    "assets/../../../../mkdocs.yml",
    "/etc/passwd",
    "//etc/passwd",
    ".manifests/staff/alice.json",
    "entrees/.hidden",
    "index.html%00.png",
])
def test_path_traversal_is_impossible(built, app_project, client, auth, path):
    build_learner(app_project, "bob")
    auth.login("alice")
    response = client.get(f"/portfolio/alice/{path}")
    assert response.status_code in (404, 308), (path, response.status_code)
    assert "Alerte confidentielle" not in response.text


def test_links_leading_out_of_the_build_are_refused(built, app_project, client, auth):
    shared = site_dir(app_project, "shared", "alice")
    os.symlink(app_project.root / "portfolios" / "alice" / "learner.md", shared / "profil.md")
    os.symlink(site_dir(app_project, "staff", "alice"), shared / "equipe")
    auth.login("alice")
    assert client.get("/portfolio/alice/profil.md").status_code == 404
    assert client.get(f"/portfolio/alice/equipe/entrees/{built['staff'].id.lower()}/").status_code == 404


def test_attachments_are_downloads_unless_images(app_project, client, auth):
    from io import BytesIO

    from app_support import png_bytes

    auth.login("alice")
    auth.post("/apprenants/alice/nouvelle/evidence", dict(
        VALID_FORMS["evidence"], attachments=[(BytesIO(png_bytes()), "photo.png"),
                                              (BytesIO(b"bonjour <script>alert(1)</script>"), "notes.txt")]),
        content_type="multipart/form-data")
    build_learner(app_project, "alice")
    html = "\n".join(client.get(u).text for u in ("/portfolio/alice/", "/portfolio/alice/chronologie/"))
    entry = app_project.store.load_learner("alice").entries[0]
    page = client.get(f"/portfolio/alice/entrees/{entry.id.lower()}/")
    links = re.findall(r'(?:href|src)="([^"]*(?:photo\.png|notes\.txt))"', page.text)
    assert links, "the entry page links its attachments"
    base = f"/portfolio/alice/entrees/{entry.id.lower()}/"
    for link in links:
        url = os.path.normpath(base + link).replace("\\", "/")
        response = client.get(url)
        assert response.status_code == 200, url
        if link.endswith(".png"):
            assert response.mimetype == "image/png"
            assert "attachment" not in response.headers.get("Content-Disposition", "")
        else:
            assert response.headers["Content-Disposition"].startswith("attachment")
            assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert html


def test_generating_page_then_the_site(app_project, auth):
    app = make_app(app_project.root, config={"LIVRET_REBUILD": True})
    try:
        client = app.test_client()
        AuthActions(client).login("bob")
        first = client.get("/portfolio/bob/")
        assert first.status_code == 503
        assert "Portfolio en cours de génération" in first.text and first.headers["Refresh"] == "2"
        assert '<meta http-equiv="refresh" content="2">' in first.text
        assert app.extensions["livret"].rebuild.wait_idle(60)
        second = client.get("/portfolio/bob/")
        assert second.status_code == 200 and "Bob" in second.text
    finally:
        app.extensions["livret"].rebuild.stop()


def test_failed_build_says_so(app_project, auth):
    (app_project.root / "mkdocs.yml").write_text("site_name: [cassé\n", encoding="utf-8")
    app = make_app(app_project.root, config={"LIVRET_REBUILD": True})
    try:
        client = app.test_client()
        AuthActions(client).login("bob")
        assert client.get("/portfolio/bob/").status_code == 503
        assert app.extensions["livret"].rebuild.wait_idle(60)
        failed = client.get("/portfolio/bob/")
        assert failed.status_code == 500 and "n'a pas pu être généré" in failed.text.replace("&#39;", "'")
    finally:
        app.extensions["livret"].rebuild.stop()


def test_submit_rebuilds_in_the_background(app_project, auth):
    build_learner(app_project, "alice")
    app = make_app(app_project.root, config={"LIVRET_REBUILD": True})
    worker = app.extensions["livret"].rebuild
    try:
        client = app.test_client()
        auth = AuthActions(client)
        auth.login("tina")
        start = time.monotonic()
        assert auth.post("/apprenants/alice/nouvelle/meeting", VALID_FORMS["meeting"]).status_code == 302
        assert worker.wait_idle(60)
        entry = app_project.store.load_learner("alice").entries[-1]
        page = client.get(f"/portfolio/alice/entrees/{entry.id.lower()}/")
        assert page.status_code == 200 and "Entretien de suivi" in page.text
        assert time.monotonic() - start < 30
    finally:
        worker.stop()


def test_a_visit_moves_the_learner_before_the_start_up_rebuilds(app_project, auth):
    import threading

    from test_app_rebuild import counted

    from livret.publish.rebuild import RebuildWorker

    app = make_app(app_project.root)
    calls: list[str] = []
    hold, started = threading.Event(), threading.Event()
    worker = RebuildWorker(app_project, counted(calls, hold, started)).start()
    app.extensions["livret"].rebuild = worker
    try:
        worker.request("alice", urgent=False)  # what `livret serve` does at start, for every learner
        assert started.wait(30)
        worker.request("alice", urgent=False)
        worker.request("bob", urgent=False)
        client = app.test_client()
        AuthActions(client).login("bob")
        assert client.get("/portfolio/bob/").status_code == 503
        hold.set()
        assert worker.wait_idle(60)
    finally:
        hold.set()
        worker.stop()
    assert calls == ["alice", "bob", "alice"]  # bob's visit went before alice's background rebuild
