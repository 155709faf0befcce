"""Odd requests get a 4xx answer, never a 500 (the app in testing mode: an unhandled error would raise).

By class, not by payload: every route of the app with a path segment longer
than the file system allows, a number larger than the database stores, a
byte sequence it cannot take; JSON nested deeper than any entry (100,000
levels included); a share link whose learner left the store.  The table
that maps exception classes to statuses (:func:`forms_app.errors.classify`)
is checked with exceptions raised for real.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import sqlite3

import pytest
from factories import add, meeting

from forms_app.errors import classify
from livret.instance.shares import ShareLinks
from livret.instance.tokens import Tokens
from livret.publish.build import build_learner, site_dir

LONG = "a" * 300  # NAME_MAX is 255 on the usual file systems
ODD_SEGMENTS = [LONG, "é" * 200, "%ff" * 300, "x" * 5000, "a/" * 100 + LONG]
HUGE = str(10 ** 30)  # beyond SQLite's 64-bit integers
CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def urls_of(app, segment: str, learner: str) -> list[tuple[str, str]]:
    """(method, url) of every route: ``learner_id`` is ``learner``, an int variable a huge number,
    every other variable (a path, a token, a job id) ``segment``."""
    def value(m: re.Match) -> str:
        if m.group(1) == "int":
            return HUGE
        return learner if m.group(2) == "learner_id" else segment

    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "auth.logout"):  # (signing out would end the sweep's session)
            continue
        url = CONVERTER.sub(value, rule.rule)
        for method in sorted(rule.methods & {"GET", "POST"}):
            out.append((method, url))
    return out


@pytest.fixture(scope="module")
def built_template(tmp_path_factory):
    """alice's sites built once for the module (an MkDocs build takes seconds)."""
    from factories import make_project

    project = make_project(tmp_path_factory.mktemp("odd") / "proj")
    add(project, "alice", meeting())
    assert build_learner(project, "alice").ok
    return project


@pytest.fixture
def built_app(built_template, accounts_template, tmp_path):
    from app_support import install_accounts, make_app

    from livret.store.project import Project

    shutil.copytree(built_template.root, tmp_path / "proj", symlinks=True)
    project = Project.at(tmp_path / "proj")
    install_accounts(accounts_template, project.instance)
    ShareLinks.for_project(project).create("alice", created_by="tina")
    Tokens.for_project(project).create("tina")
    return make_app(project.root)


@pytest.mark.parametrize("segment", ODD_SEGMENTS + [HUGE])
@pytest.mark.parametrize("user", ["ada", "alice", None])
def test_no_route_answers_500_to_an_odd_segment(built_app, segment, user):
    from app_support import AuthActions

    client = built_app.test_client()
    auth = AuthActions(client)
    if user:
        auth.login(user)
    token = auth.token() if user else ""
    for learner in ("alice", segment):
        for method, url in urls_of(built_app, segment, learner):
            query = f"?page={HUGE}&q={LONG}&tri={LONG}&next=/{LONG}"
            if method == "GET":
                response = client.get(url + query)
            else:
                response = client.post(url, data={"csrf_token": token, "audience": "shared", "token_id": HUGE,
                                                  "action": "revoke", "label": LONG, "days": HUGE,
                                                  "username": LONG, "password": LONG})
            assert response.status_code < 500, (method, url, response.status_code)


def test_a_long_path_in_a_portfolio_or_a_share_link_is_a_404(app_project, app, client, auth):
    add(app_project, "alice", meeting())
    assert build_learner(app_project, "alice").ok
    link = ShareLinks.for_project(app_project).create("alice", created_by="tina")
    auth.login("tina")
    for segment in ODD_SEGMENTS:
        for path in (segment, f"{segment}/", f"entrees/{segment}", f"{segment}/index.html"):
            assert client.get(f"/portfolio/alice/{path}").status_code == 404, path
            response = client.get(f"/s/{link.token}/{path}")
            assert response.status_code == 404, path
            assert "Page introuvable" in response.get_data(as_text=True)  # the share link's own page
    assert client.get(f"/s/{link.token}/").status_code == 200


def test_a_share_link_of_a_learner_gone_from_the_store_is_410(app_project, app, client):
    add(app_project, "alice", meeting())
    assert build_learner(app_project, "alice").ok
    links = ShareLinks.for_project(app_project)
    link = links.create("alice", created_by="tina")
    shutil.rmtree(app_project.portfolios / "alice")  # removed from the store; its site lingers in build/
    for path in ("", "index.html", "assets/x.css"):
        response = client.get(f"/s/{link.token}/{path}")
        assert response.status_code == 410, path
        text = response.get_data(as_text=True)
        assert "plus disponible" in text and "Alice" not in text
    shutil.rmtree(site_dir(app_project, "shared", "alice"))  # and once its site is gone too: never a 503
    assert client.get(f"/s/{link.token}/").status_code == 410
    assert {v.status for v in links.visits(learner_id="alice")} == {410}


def test_numbers_beyond_the_database_change_nothing(app_project, client, auth):
    link = ShareLinks.for_project(app_project).create("alice", created_by="tina")
    Tokens.for_project(app_project).create("tina")
    auth.login("tina")
    assert auth.post(f"/apprenants/alice/partage/{HUGE}/revoquer").status_code == 404
    assert auth.post("/compte/jetons", {"action": "revoke", "token_id": HUGE}).status_code == 404
    assert auth.post("/compte/jetons", {"action": "revoke", "token_id": "-" + HUGE}).status_code == 404
    assert ShareLinks.for_project(app_project).get(link.link.id).revoked is None
    assert all(t.active for t in Tokens.for_project(app_project).list("tina"))


# --------------------------------------------------------------------------
# JSON bodies (API)
# --------------------------------------------------------------------------


@pytest.fixture
def api(app_project, client):
    secret = Tokens.for_project(app_project).create("tina")[1]

    def post(data: bytes):
        return client.post("/api/v1/learners/alice/entries", data=data,
                           headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"})

    return post


def entry(**extra) -> dict:
    return {"type": "meeting", "date": "2026-02-02T10:00:00+01:00", "title": "Entretien", "kind": "suivi",
            "modality": "presentiel", "duration": 45, **extra}


DEEP = [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    b"[{" * 50_000,  # deep and unfinished
    json.dumps(entry(extra=json.loads("[" * 33 + "]" * 33))).encode(),  # just past the limit, in a real entry
]


@pytest.mark.parametrize("body", DEEP, ids=["arrays", "objects", "unfinished", "33-levels"])
def test_json_nested_too_deep_is_a_400_naming_the_body(app_project, api, body):
    response = api(body)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 400 and "corps JSON imbriqué sur plus de 32 niveaux" in problem["detail"]
    assert app_project.store.load_learner("alice").entries == []


@pytest.mark.parametrize("body", [b"\xff\xfe\x00garbage", b"[1, 2", b"1" * 5000, b"", b"   "],
                         ids=["bad-utf8", "truncated", "huge-integer", "empty", "blank"])
def test_json_the_parser_cannot_take_is_a_400(app_project, api, body):
    response = api(body)
    assert response.status_code == 400 and "corps JSON" in response.get_json()["detail"]
    assert app_project.store.load_learner("alice").entries == []


def test_a_json_body_larger_than_any_entry_is_a_413(app_project, api):
    response = api(json.dumps(entry(body="x" * (3 * 1024 * 1024))).encode())
    assert response.status_code == 413 and "corps JSON trop volumineux" in response.get_json()["detail"]
    assert app_project.store.load_learner("alice").entries == []


def test_brackets_inside_strings_are_text_not_depth(app_project, api):
    text = "[" * 500 + "{ citation }" + "]" * 500
    response = api(json.dumps(entry(body=text)).encode())
    assert response.status_code == 201, response.get_json()
    assert app_project.store.load_learner("alice").entries[0].body.strip() == text
    nested = api(json.dumps(entry(competencies=[{"code": "A1", "level": "2"}])).encode())
    assert nested.status_code != 400  # an entry's own nesting is far below the limit


# --------------------------------------------------------------------------
# The table of exception classes, with exceptions raised for real
# --------------------------------------------------------------------------


def raised(action) -> BaseException:
    try:
        action()
    except BaseException as exc:  # noqa: BLE001 - the point is to get what the call raises
        return exc
    raise AssertionError("nothing raised")


def test_exception_classes_map_to_client_or_unavailable_statuses(app, tmp_path):
    read_only = tmp_path / "ro.sqlite3"
    sqlite3.connect(read_only).execute("CREATE TABLE t (x)").connection.commit()
    ro = sqlite3.connect(f"file:{read_only}?mode=ro", uri=True)
    cases = [
        (raised(lambda: os.stat(tmp_path / LONG)), 404),
        (raised(lambda: json.loads("[" * 100_000)), 400),
        (raised(lambda: sqlite3.connect(":memory:").execute("SELECT ?", (10 ** 30,))), 400),
        (raised(lambda: ro.execute("INSERT INTO t VALUES (1)")), 503),
        (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), 503),
        (raised(lambda: open(tmp_path / "missing")), None),  # a bug stays a bug
        (raised(lambda: 1 / 0), None),
    ]
    with app.test_request_context():
        for exc, status in cases:
            found = classify(exc)
            assert (found[0] if found else None) == status, repr(exc)
            if status == 503:
                assert found[1].startswith(("Disque plein", "Le dossier instance/ est en lecture seule")), found[1]
    ro.close()
