"""The second factor in the app: enrolment, the sign-in's second step, recovery codes, the required setting."""

from __future__ import annotations

import re
import subprocess
import time

import pyotp
import pytest
from app_support import VALID_FORMS, csrf_from, password_of

from livret.instance.accounts import MAX_FAILURES_PER_ACCOUNT
from livret.instance.totp import SecondFactor
from livret.store.yamlio import dump_yaml

SECRET_RE = re.compile(r'<code class="secret" id="totp-secret">([A-Z2-7 ]+)</code>')
CODES_RE = re.compile(r"<li><code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code></li>")


def enrol(client, auth) -> tuple[str, list[str]]:
    """Enrol the signed-in user as a person does: read the key on the page, type a code back."""
    page = client.get("/compte/securite/activation")
    assert page.status_code == 200 and "<svg" in page.text and "<script" not in page.text.split("<main", 1)[1]
    secret = SECRET_RE.search(page.text).group(1).replace(" ", "")
    done = auth.post("/compte/securite/activation", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200, done.text
    codes = CODES_RE.findall(done.text)
    assert len(codes) == 10
    return secret, codes


def sign_in_with_code(client, username: str, code: str):
    """Password, then the code page: (first answer, second answer)."""
    page = client.get("/connexion")
    first = client.post("/connexion", data={"username": username, "password": password_of(username),
                                            "csrf_token": csrf_from(page.text)})
    step = client.get("/connexion/code")
    second = client.post("/connexion/code", data={"code": code, "csrf_token": csrf_from(step.text)})
    return first, second


def signed_in_as(client) -> str | None:
    page = client.get("/compte/securite")
    if page.status_code != 200:
        return None
    return re.search(r"<dt>Identifiant</dt><dd>([^<]+)</dd>", page.text).group(1)


def next_code(secret: str) -> str:
    """The code of the next step (within the one step of drift accepted): never the one just used."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def test_enrolment_then_sign_in_in_two_steps(app, client, auth):
    auth.login("tina")
    page = client.get("/compte/securite")
    assert "non activé" in page.text
    secret, _ = enrol(client, auth)
    assert "activé" in client.get("/compte/securite").text
    stored = app.extensions["livret"].accounts.db.connect().execute(
        "SELECT totp_secret FROM users WHERE username = 'tina'").fetchone()[0]
    assert secret not in stored  # encrypted at rest
    assert client.get("/compte/securite/activation").status_code == 302  # never shown again
    auth.logout()

    page = client.get("/connexion")
    first = client.post("/connexion", data={"username": "tina", "password": password_of("tina"),
                                            "csrf_token": csrf_from(page.text)})
    assert first.status_code == 302 and first.headers["Location"].endswith("/connexion/code")
    assert client.get("/tableau-de-bord").status_code == 302  # no session before the code
    assert signed_in_as(client) is None
    step = client.get("/connexion/code")
    wrong = client.post("/connexion/code", data={"code": "12345", "csrf_token": csrf_from(step.text)})
    assert wrong.status_code == 401 and "Code incorrect" in wrong.text
    ok = client.post("/connexion/code", data={"code": next_code(secret), "csrf_token": csrf_from(step.text)})
    assert ok.status_code == 302 and signed_in_as(client) == "tina"


def test_a_code_is_refused_the_second_time(client, auth):
    auth.login("tina")
    secret, _ = enrol(client, auth)
    auth.logout()
    code = next_code(secret)
    _, second = sign_in_with_code(client, "tina", code)
    assert second.status_code == 302 and signed_in_as(client) == "tina"
    auth.logout()
    _, again = sign_in_with_code(client, "tina", code)
    assert again.status_code == 401 and signed_in_as(client) is None


def test_a_recovery_code_works_once(client, auth):
    auth.login("tom")
    _, codes = enrol(client, auth)
    auth.logout()
    _, second = sign_in_with_code(client, "tom", codes[0])
    assert second.status_code == 302 and signed_in_as(client) == "tom"
    assert "Il vous reste 9 codes de secours" in client.get("/compte/securite").text
    auth.logout()
    _, again = sign_in_with_code(client, "tom", codes[0])
    assert again.status_code == 401 and signed_in_as(client) is None


def test_wrong_codes_are_rate_limited(client, auth):
    auth.login("tina")
    secret, _ = enrol(client, auth)
    auth.logout()
    page = client.get("/connexion")
    client.post("/connexion", data={"username": "tina", "password": password_of("tina"),
                                    "csrf_token": csrf_from(page.text)})
    token = csrf_from(client.get("/connexion/code").text)
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        assert client.post("/connexion/code", data={"code": "abcd-efgh-jkmn", "csrf_token": token}).status_code == 401
    limited = client.post("/connexion/code", data={"code": next_code(secret), "csrf_token": token})
    assert limited.status_code == 429 and "Retry-After" in limited.headers and signed_in_as(client) is None
    # the password step from this origin is stopped as well (same counts)
    page = client.get("/connexion")
    assert client.post("/connexion", data={"username": "tina", "password": password_of("tina"),
                                           "csrf_token": csrf_from(page.text)}).status_code == 429


def test_the_code_step_expires_and_needs_the_password_first(client):
    page = client.get("/connexion/code")
    assert page.status_code == 302 and page.headers["Location"].endswith("/connexion")
    with client.session_transaction() as session:
        session["tfa"] = {"u": "tina", "s": "x", "t": time.time() - 3600, "n": ""}
    assert client.get("/connexion/code").status_code == 302


def test_regenerate_and_disable_ask_for_a_proof(app, client, auth):
    auth.login("carl")
    secret, old = enrol(client, auth)
    refused = auth.post("/compte/securite/codes", {"proof": "pas le bon"})
    assert refused.status_code == 422 and "incorrect" in refused.text
    renewed = auth.post("/compte/securite/codes", {"proof": password_of("carl")})
    new = CODES_RE.findall(renewed.text)
    assert renewed.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    factor = SecondFactor(app.extensions["livret"].accounts)
    assert factor.remaining_codes("carl") == 10
    assert auth.post("/compte/securite/desactiver", {"proof": next_code(secret)}).status_code == 303
    assert not app.extensions["livret"].accounts.get("carl").totp_enabled
    auth.logout()
    assert not auth.login("carl").headers["Location"].endswith("/connexion/code")  # the password alone again
    assert signed_in_as(client) == "carl"


def git_head(project) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=project.portfolios, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture
def required(app_project):
    """The organisation requires the second factor (a hand edit of _organisation.yml)."""
    path = app_project.portfolios / "_organisation.yml"
    path.write_text(dump_yaml({"name": "OF de test", "security": {"require_totp": True}}), encoding="utf-8")
    return app_project


@pytest.mark.parametrize("username", ["tina", "audra", "ada"])
def test_required_second_factor_comes_before_anything_else(required, app, client, auth, username):
    assert auth.login(username).status_code == 302
    for url in ("/tableau-de-bord", "/apprenants/alice/", "/admin/", "/compte/jetons", "/qualiopi"):
        answer = client.get(url)
        assert answer.status_code == 303 and answer.headers["Location"].endswith("/compte/securite/activation"), url
    before = git_head(required)
    posted = auth.post("/apprenants/alice/nouvelle/meeting", VALID_FORMS["meeting"])
    assert posted.status_code == 303 and git_head(required) == before  # nothing written
    assert "exige" in client.get("/compte/securite/activation").text
    secret, _ = enrol(client, auth)
    assert client.get("/tableau-de-bord").status_code == 200
    refused = auth.post("/compte/securite/desactiver", {"proof": next_code(secret)})
    assert refused.status_code == 422 and app.extensions["livret"].accounts.get(username).totp_enabled


@pytest.mark.parametrize("username", ["alice", "carl"])
def test_roles_that_do_not_read_staff_entries_are_not_forced(required, client, auth, username):
    auth.login(username)
    answer = client.get("/tableau-de-bord", follow_redirects=True)
    assert answer.status_code == 200 and "/compte/securite/activation" not in answer.request.path
