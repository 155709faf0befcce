"""Fuzzing the entry forms and the JSON API through the real server (hypothesis, real HTTP, real git).

For any input: no 5xx; a refusal changes nothing (no file, no commit); an
acceptance stores exactly one valid entry, committed once by the user, and
what the API answers is what the file holds.
"""

from __future__ import annotations

import json
import sys
from collections import Counter

import pytest
from factories import REPO, make_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if str(REPO) not in sys.path:  # the benchmarks package, when pytest is not run from the repository
    sys.path.insert(0, str(REPO))
from fuzz_strategies import BODY, entry_input, form_input, mostly, resolve_refs
from test_fuzz_store import snapshot

from benchmarks.live_app import ENTRY_ANCHOR, Client, serve, stop  # noqa: E402
from livret.instance.accounts import Accounts
from livret.instance.db import InstanceDB
from livret.instance.tokens import Tokens
from livret.store import Store
from livret.store.schema import entry_to_data, types_written_by

pytestmark = pytest.mark.filterwarnings("ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")

PASSWORD = "fuzz-mot-de-passe-1"
#: username -> role, for learner alice (tutor tina, company tutor carl) of the test project.
USERS = {"tina": "tutor", "alice": "learner", "carl": "company"}
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def app_under_fuzz(tmp_path_factory):
    """One project and one real server for all examples; a signed-in client and a token per user."""
    folder = tmp_path_factory.mktemp("fuzz-app")
    project = make_project(folder / "proj")
    accounts = Accounts.for_project(project)
    for name, role in USERS.items():
        accounts.add(name, role, PASSWORD)
    tokens = {name: Tokens(InstanceDB.for_project(project)).create(name, "fuzz")[1] for name in USERS}
    served = serve(project.root, folder / "serve.log")
    clients = {}
    try:
        for name in USERS:
            clients[name] = Client(served)
            clients[name].login(name, PASSWORD)
        yield project, clients, tokens, Counter()
    finally:
        for client in clients.values():
            client.close()
        stop(served)
    assert "Traceback" not in served.output(), served.output()[-3000:]


def _accepted(project, store_before, username: str, entry_id: str):
    """The one new entry: valid, in its own commit by ``username``; returns it as stored."""
    store = Store(project.portfolios, display_root=project.root)
    record = store.load_learner("alice")
    entry = record.entry(entry_id)
    assert entry is not None and entry.meta.author == username
    assert [p for p in record.problems if entry.path in p.path] == []
    files, _ = snapshot(store)
    assert set(files) - set(store_before[0]) >= {entry.path}
    log = store.history.git("log", "-1", "--format=%an", "--name-only").stdout.decode().split()
    assert log[0] == username and entry.path in log[1:]
    return entry


@FUZZ
@given(data=st.data())
def test_entry_forms_never_fail_and_refusals_change_nothing(app_under_fuzz, data):
    project, clients, _, outcomes = app_under_fuzz
    username = data.draw(st.sampled_from(sorted(USERS)), label="user")
    writable = types_written_by(USERS[username])
    entry_type = data.draw(st.sampled_from(writable) | st.sampled_from(["meeting", "evidence", "inconnu"]),
                           label="type")
    framework = project.store.load_learner("alice").framework
    form = data.draw(form_input(framework, entry_type if entry_type != "inconnu" else "meeting"), label="form")
    before = snapshot(project.store)
    response = clients[username].post(f"/apprenants/alice/nouvelle/{entry_type}", form)
    outcomes[f"form {response.status}"] += 1
    assert response.status < 500, response.body[:2000]
    found = ENTRY_ANCHOR.search(response.location) if response.status == 302 else None
    if found:
        _accepted(project, before, username, found.group(1))
    else:
        assert response.status in (403, 404, 413, 422), response.status
        assert snapshot(project.store) == before


@FUZZ
@given(data=st.data())
def test_api_never_fails_and_refusals_change_nothing(app_under_fuzz, data):
    project, clients, tokens, outcomes = app_under_fuzz
    username = data.draw(st.sampled_from(sorted(USERS)), label="user")
    record = project.store.load_learner("alice")
    writable = tuple(types_written_by(USERS[username]))
    fields = data.draw(mostly(entry_input(record.framework, writable), entry_input(record.framework)), label="fields")
    fields = resolve_refs(fields, [e.id for e in record.entries])
    payload = {**fields, **data.draw(st.fixed_dictionaries({}, optional={"body": BODY}), label="body")}
    before = snapshot(project.store)
    response = clients[username].request("POST", "/api/v1/learners/alice/entries", json=payload,
                                         headers={"Authorization": f"Bearer {tokens[username]}"})
    outcomes[f"api {response.status}"] += 1
    assert response.status < 500, response.body[:2000]
    if response.status == 201:
        answer = json.loads(response.body)
        entry = _accepted(project, before, username, answer["id"])
        assert {k: v for k, v in answer.items() if k != "body"} == entry_to_data(entry.meta)
        assert answer["body"] == entry.body.strip("\n")
    else:
        assert response.status in (400, 403, 409, 415, 422), response.status
        assert snapshot(project.store) == before


def test_both_outcomes_were_exercised(app_under_fuzz):
    """Runs after the two fuzz tests (file order): each saw acceptances and refusals."""
    *_, outcomes = app_under_fuzz
    for kind in ("form", "api"):
        seen = {k.split()[1] for k in outcomes if k.startswith(kind)}
        if not seen:
            pytest.skip(f"{kind} fuzz test not run in this session")
        accepted = "302" if kind == "form" else "201"
        assert accepted in seen and seen - {accepted}, outcomes
