"""The JSON API: tokens, the forms' authorization, entries in store, git and site, errors."""

from __future__ import annotations

import html
import io
import subprocess

import jsonschema
import pytest
from api_support import bearer, install_accounts, make_accounts_db, tokens_for
from factories import add, meeting, password_of, when

from livret.instance.tokens import Tokens
from livret.interop.openapi import openapi_document
from livret.views.progress import competency_views, for_audience

MEETING = {"type": "meeting", "date": "2026-02-02T10:00:00+01:00", "title": "Entretien par l'API",
           "kind": "suivi", "modality": "distance-synchrone", "duration": 30,
           "competencies": [{"code": "A1", "level": "2"}], "body": "Point **mensuel**."}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(scope="session")
def accounts_db(tmp_path_factory):
    return make_accounts_db(tmp_path_factory.mktemp("api-accounts"))


@pytest.fixture
def api(project, accounts_db):
    """(test client, tokens by username, project) on the ``project`` fixture."""
    from forms_app import create_app

    install_accounts(accounts_db, project.instance)
    app = create_app(project.root, testing=True)
    return app.test_client(), tokens_for(project), project


@pytest.fixture(scope="module")
def description():
    return openapi_document()


def conforms(description, schema_name: str, document) -> None:
    """Validate a response body against a component of the served description."""
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": description["components"]}
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(document))
    assert not errors, [e.message for e in errors[:5]]


def git_log(project, fmt="%an|%s"):
    return subprocess.run(["git", "log", f"--format={fmt}"], cwd=project.portfolios, capture_output=True,
                          text=True, check=True).stdout.splitlines()


# --------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------


def test_requests_without_a_valid_token_get_401_problems(api):
    client, tokens, project = api
    for headers in ({}, {"Authorization": "Basic dGluYTp4"}, bearer("livret_nope"), bearer("")):
        r = client.get("/api/v1/learners", headers=headers)
        assert r.status_code == 401 and r.mimetype == "application/problem+json"
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="livret"'
        assert r.json["status"] == 401 and "livret token create" in r.json["detail"]
    store = Tokens.for_project(project)
    tina = next(t for t in store.list("tina"))
    store.revoke(tina.id)
    assert client.get("/api/v1/learners", headers=bearer(tokens["tina"])).status_code == 401
    from livret.instance.accounts import Accounts
    Accounts.for_project(project).set_disabled("tom")
    assert client.get("/api/v1/learners", headers=bearer(tokens["tom"])).status_code == 401
    ok = client.get("/api/v1/learners", headers=bearer(tokens["carl"]))
    assert ok.status_code == 200
    assert next(t for t in store.list("carl")).last_used is not None


def test_tokens_are_stored_hashed_and_shown_once(api):
    _, tokens, project = api
    db = project.instance / "livret.sqlite3"
    raw = db.read_bytes() + b"".join(p.read_bytes() for p in project.instance.glob("livret.sqlite3-*"))
    assert all(t.encode() not in raw for t in tokens.values())
    assert len(tokens["tina"]) >= len("livret_") + 43  # 256 random bits, URL-safe


def test_a_signed_in_browser_session_does_not_open_the_api(project, accounts_db):
    from forms_app import create_app

    install_accounts(accounts_db, project.instance)
    client = create_app(project.root, testing=True, config={"WTF_CSRF_ENABLED": False}).test_client()
    assert client.post("/connexion", data={"username": "ada", "password": password_of("ada")}).status_code == 302
    assert client.get("/api/v1/learners").status_code == 401


def test_cli_token_create_prints_the_token_last_and_it_works(api):
    from click.testing import CliRunner

    from livret.cli import main

    client, _, project = api
    result = CliRunner().invoke(main, ["--root", str(project.root), "token", "create", "audra",
                                       "--label", "audit"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("livret_")
    r = client.get("/api/v1/learners", headers=bearer(secret))
    assert [learner["id"] for learner in r.json["learners"]] == ["alice", "bob"]
    listed = CliRunner().invoke(main, ["--root", str(project.root), "token", "list", "--user", "audra"])
    assert "« audit »" in listed.output and secret not in listed.output


# --------------------------------------------------------------------------
# Reading, with the forms' authorization
# --------------------------------------------------------------------------


@pytest.mark.parametrize("user, visible", [
    ("tina", ["alice"]), ("tom", ["bob"]), ("carl", ["alice"]), ("alice", ["alice"]), ("bob", ["bob"]),
    ("audra", ["alice", "bob"]), ("ada", ["alice", "bob"]),
])
def test_each_role_lists_the_learners_it_may_see(api, description, user, visible):
    client, tokens, _ = api
    r = client.get("/api/v1/learners", headers=bearer(tokens[user]))
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert [learner["id"] for learner in r.json["learners"]] == visible
    conforms(description, "LearnerList", r.json)
    other = {"alice", "bob"} - set(visible)
    for lid in other:
        denied = client.get(f"/api/v1/learners/{lid}", headers=bearer(tokens[user]))
        assert denied.status_code == 403 and denied.mimetype == "application/problem+json"
        assert client.get(f"/api/v1/learners/{lid}/entries", headers=bearer(tokens[user])).status_code == 403


def test_staff_entries_never_reach_learners_or_companies(api, description):
    client, tokens, project = api
    add(project, "alice", meeting(title="Entretien partagé"))
    add(project, "alice", {"type": "alert", "date": when("2026-02-03"), "title": "Santé : à suivre",
                           "category": "sante", "severity": "haute"})
    seen = {}
    for user in ("tina", "alice", "carl", "audra"):
        r = client.get("/api/v1/learners/alice/entries", headers=bearer(tokens[user]))
        assert r.status_code == 200
        conforms(description, "EntryList", r.json)
        seen[user] = [e["title"] for e in r.json["entries"]]
    assert seen["tina"] == seen["audra"] == ["Entretien partagé", "Santé : à suivre"]
    assert seen["alice"] == seen["carl"] == ["Entretien partagé"]
    text = client.get("/api/v1/learners/alice", headers=bearer(tokens["carl"])).get_data(as_text=True)
    assert "Santé" not in text


def test_learner_detail_is_the_derived_progression(api, description):
    client, tokens, project = api
    add(project, "alice", {"type": "assessment", "date": when("2026-03-02"), "title": "Évaluation",
                           "competencies": [{"code": "A1", "level": "3"}, {"code": "B1", "level": "2"}]})
    r = client.get("/api/v1/learners/alice", headers=bearer(tokens["alice"]))
    assert r.status_code == 200
    conforms(description, "LearnerDetail", r.json)
    record = project.store.load_learner("alice")
    views = competency_views(record.framework, for_audience(record.entries, "shared"))
    assert r.json["audience"] == "shared"
    assert r.json["profile"]["id"] == "alice"
    assert r.json["progress"] == {"acquired": 1, "total": 4, "percent": 25}
    assert [(c["code"], c["acquired"], (c["assessed"] or {}).get("level")) for c in r.json["competencies"]] == \
        [(v.code, v.acquired, v.assessed.level if v.assessed else None) for v in views]
    assert client.get("/api/v1/learners/zed", headers=bearer(tokens["ada"])).status_code == 404


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def test_created_entry_is_in_the_store_and_in_git_history(api, description):
    client, tokens, project = api
    before = len(git_log(project))
    r = client.post("/api/v1/learners/alice/entries", headers=bearer(tokens["tina"]), json=MEETING)
    assert r.status_code == 201, r.json
    conforms(description, "Entry", r.json)
    assert r.headers["Location"] == "/api/v1/learners/alice/entries"
    entry = r.json
    assert (entry["author"], entry["role"], entry["title"], entry["body"]) == \
        ("tina", "tutor", "Entretien par l'API", "Point **mensuel**.")
    stored = project.store.load_learner("alice").entry(entry["id"])
    assert stored is not None and {**stored.to_data(), "body": stored.body.strip()} == entry
    assert (project.portfolios / stored.path).read_text(encoding="utf-8").startswith("---\nid: " + entry["id"])
    log = git_log(project)
    assert len(log) == before + 1 and log[0] == "tina|alice : entretien de suivi « Entretien par l'API » (tina)"
    listed = client.get("/api/v1/learners/alice/entries", headers=bearer(tokens["tina"])).json["entries"]
    assert [e["id"] for e in listed] == [entry["id"]]


def test_refused_writes_change_nothing(api):
    client, tokens, project = api
    before = len(git_log(project))
    cases = [
        ("alice", MEETING, 403),  # a learner does not write meetings
        ("carl", {**MEETING, "type": "evidence"}, 403),
        ("audra", MEETING, 403),  # auditors never write
        ("tom", MEETING, 403),  # not alice's tutor
        ("alice", {**MEETING, "type": "evidence", "visibility": "staff", "duration": None}, 422),
        ("tina", {**MEETING, "id": "01JM2Q8V6Z9X3K4T5R6S7W8Y9A", "author": "ada"}, 422),
        ("tina", {**MEETING, "type": "rapport"}, 422),
        ("tina", {**MEETING, "duration": "30"}, 422),
    ]
    for user, payload, status in cases:
        r = client.post("/api/v1/learners/alice/entries", headers=bearer(tokens[user]), json=payload)
        assert r.status_code == status, (user, r.json)
        assert r.mimetype == "application/problem+json"
    bad = client.post("/api/v1/learners/alice/entries", headers=bearer(tokens["tina"]),
                      json={**MEETING, "id": "01JM2Q8V6Z9X3K4T5R6S7W8Y9A", "author": "ada"}).json
    assert {(e["field"], e["pointer"]) for e in bad["errors"]} == {("id", "/id"), ("author", "/author")}
    assert all(e["detail"] == "défini par le serveur : ne pas le fournir" for e in bad["errors"])
    typed = client.post("/api/v1/learners/alice/entries", headers=bearer(tokens["tina"]),
                        json={**MEETING, "competencies": [{"code": "A1", "level": 2}]}).json
    assert typed["errors"] == [{"field": "competencies[0].level", "pointer": "/competencies/0/level",
                                "detail": "texte attendu"}]
    assert client.post("/api/v1/learners/alice/entries", headers=bearer(tokens["tina"]), data="{",
                       content_type="application/json").status_code == 400
    assert client.post("/api/v1/learners/alice/entries", headers=bearer(tokens["tina"]), data="x=1",
                       content_type="application/x-www-form-urlencoded").status_code == 415
    assert len(git_log(project)) == before and project.store.load_learner("alice").entries == []


def test_the_same_invalid_payload_gets_the_same_field_errors_as_the_form(api, accounts_db):
    client, tokens, project = api
    title = "x" * 201
    r = client.post("/api/v1/learners/alice/entries", headers=bearer(tokens["tina"]),
                    json={**MEETING, "title": title, "duration": 0, "competencies": []})
    assert r.status_code == 422
    api_errors = {(e["field"], e["detail"]) for e in r.json["errors"]}
    assert {f for f, _ in api_errors} == {"title", "duration"}
    from forms_app import create_app

    browser = create_app(project.root, testing=True, config={"WTF_CSRF_ENABLED": False}).test_client()
    browser.post("/connexion", data={"username": "tina", "password": password_of("tina")})
    page = browser.post("/apprenants/alice/nouvelle/meeting", data={
        "title": title, "date": "2026-02-02T10:00", "kind": "suivi", "modality": "distance-synchrone",
        "duration": "0"})
    assert page.status_code == 422
    # The form shows each store error next to its field, capitalised; the value it
    # quotes is the text typed ('0') where the API quotes the JSON number (0).
    text = html.unescape(page.get_data(as_text=True))
    for field, message in api_errors:
        core = message.split(" (lu : ")[0]
        assert f'id="{field}-error"' in text
        assert core[0].upper() + core[1:] in text, core
    assert project.store.load_learner("alice").entries == []


def test_upload_then_cite_the_file(api, description):
    client, tokens, project = api
    r = client.post("/api/v1/learners/alice/files", headers=bearer(tokens["alice"]),
                    data={"file": (io.BytesIO(PDF), "compte rendu.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    conforms(description, "Upload", r.json)
    path = r.json["path"]
    assert path.startswith("files/") and path.endswith(".pdf") and (project.portfolios / "alice" / path).is_file()
    evidence = {"type": "evidence", "date": "2026-02-05T09:00:00+01:00", "title": "Compte rendu",
                "competencies": [{"code": "A1"}], "attachments": [path]}
    created = client.post("/api/v1/learners/alice/entries", headers=bearer(tokens["alice"]), json=evidence)
    assert created.status_code == 201, created.json
    assert created.json["attachments"] == [path] and created.json["author"] == "alice"
    refused = client.post("/api/v1/learners/alice/files", headers=bearer(tokens["alice"]),
                          data={"file": (io.BytesIO(b"MZ\x90\x00binary"), "outil.exe")},
                          content_type="multipart/form-data")
    assert refused.status_code == 422 and refused.json["errors"][0]["field"] == "file"
    assert client.post("/api/v1/learners/alice/files", headers=bearer(tokens["audra"]),
                       data={"file": (io.BytesIO(PDF), "a.pdf")}, content_type="multipart/form-data"
                       ).status_code == 403
    assert client.post("/api/v1/learners/alice/files", headers=bearer(tokens["alice"]),
                       data={}, content_type="multipart/form-data").status_code == 400


def test_api_paths_answer_problems_and_pages_stay_html(api):
    client, tokens, _ = api
    missing = client.get("/api/v1/nothing/here", headers=bearer(tokens["ada"]))
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    wrong = client.delete("/api/v1/learners", headers=bearer(tokens["ada"]))
    assert wrong.status_code == 405 and "GET" in wrong.headers["Allow"]
    assert wrong.mimetype == "application/problem+json"
    assert client.get("/pas-une-page").mimetype == "text/html"
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.json["openapi"] == "3.1.0"


def test_created_entry_reaches_the_rebuilt_portfolio(project, accounts_db):
    from forms_app import create_app

    install_accounts(accounts_db, project.instance)
    app = create_app(project.root, testing=True, config={"LIVRET_REBUILD": True})
    worker = app.extensions["livret"].rebuild
    try:
        token = Tokens.for_project(project).create("tina")[1]
        r = app.test_client().post("/api/v1/learners/alice/entries", headers=bearer(token),
                                   json={**MEETING, "title": "Entretien visible sur le site"})
        assert r.status_code == 201
        assert worker.wait_idle(timeout=240)
        assert not worker.state("alice").failed
    finally:
        worker.stop()
    pages = [p for p in (project.build_dir).rglob("*.html") if "alice" in p.parts]
    assert pages, "no site was built"
    assert any("Entretien visible sur le site" in p.read_text(encoding="utf-8") for p in pages)


def test_account_page_creates_shows_once_and_revokes_tokens(api, accounts_db):
    import re

    from forms_app import create_app

    client, tokens, project = api
    browser = create_app(project.root, testing=True, config={"WTF_CSRF_ENABLED": False}).test_client()
    browser.post("/connexion", data={"username": "carl", "password": password_of("carl")})
    assert browser.get("/compte/jetons").status_code == 200
    page = browser.post("/compte/jetons", data={"action": "create", "label": "ERP"}).get_data(as_text=True)
    secret = re.search(r'<code id="nouveau-jeton">(livret_[^<]+)</code>', page).group(1)
    assert client.get("/api/v1/learners", headers=bearer(secret)).json["learners"][0]["id"] == "alice"
    again = browser.get("/compte/jetons").get_data(as_text=True)
    assert secret not in again and "ERP" in again
    mine = next(t for t in Tokens.for_project(project).list("carl") if t.label == "ERP")
    others = next(t for t in Tokens.for_project(project).list("tina"))
    assert browser.post("/compte/jetons", data={"action": "revoke", "token_id": str(others.id)}).status_code == 404
    assert client.get("/api/v1/learners", headers=bearer(tokens["tina"])).status_code == 200
    assert browser.post("/compte/jetons", data={"action": "revoke", "token_id": str(mine.id)}).status_code == 302
    assert client.get("/api/v1/learners", headers=bearer(secret)).status_code == 401


def test_cli_revoke_closes_the_api_at_once(api):
    from click.testing import CliRunner

    from livret.cli import main

    client, tokens, project = api
    bob = Tokens.for_project(project).list("bob")[0]
    assert client.get("/api/v1/learners", headers=bearer(tokens["bob"])).status_code == 200
    result = CliRunner().invoke(main, ["--root", str(project.root), "token", "revoke", str(bob.id)])
    assert result.exit_code == 0 and "révoqué" in result.output
    assert client.get("/api/v1/learners", headers=bearer(tokens["bob"])).status_code == 401
