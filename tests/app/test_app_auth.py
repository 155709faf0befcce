"""Sign-in, sessions, CSRF and the security headers."""

from __future__ import annotations

import re

import pytest
from app_support import csrf_from, make_app, password_of

from livret.instance.accounts import Accounts


def cookie_header(response) -> str:
    cookies = [v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("livret_session=")]
    assert cookies, "no session cookie set"
    return cookies[-1]


def entry_files(project, learner="alice"):
    return sorted((project.portfolios / learner / "entries").glob("*.md"))


# ---------------------------------------------------------------- sign-in


def test_sign_in_and_out(client, auth):
    response = auth.login("tina")
    assert response.status_code == 302
    cookie = cookie_header(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = client.get("/tableau-de-bord")
    assert page.status_code == 200 and "tina" in page.text
    assert client.get("/deconnexion").status_code == 405  # never a GET
    response = auth.logout()
    assert response.status_code == 302 and response.headers["Location"].endswith("/connexion")
    assert client.get("/tableau-de-bord").status_code == 302


def test_wrong_password_gives_a_french_message(client, auth):
    response = auth.login("tina", "pas le bon mot de passe")
    assert response.status_code == 401
    assert "Identifiant ou mot de passe incorrect" in response.text
    assert 'value="tina"' in response.text  # what was typed is kept (not the password)
    assert client.get("/tableau-de-bord").status_code == 302


def test_username_is_case_insensitive_on_sign_in(client, auth):
    assert auth.login("TINA", password_of("tina")).status_code == 302


def test_sign_in_is_rate_limited(client, auth):
    for _ in range(5):
        assert auth.login("tina", "faux mot de passe").status_code == 401
    response = auth.login("tina")  # even with the right password
    assert response.status_code == 429
    assert "Trop de tentatives" in response.text and int(response.headers["Retry-After"]) > 0
    assert client.get("/tableau-de-bord").status_code == 302


def test_anonymous_is_sent_to_sign_in_and_back(client, auth):
    response = client.get("/apprenants/alice/")
    assert response.status_code == 302
    assert "/connexion?next=/apprenants/alice/" in response.headers["Location"]
    page = client.get(response.headers["Location"])
    response = client.post("/connexion", data={
        "username": "tina", "password": password_of("tina"), "next": "/apprenants/alice/",
        "csrf_token": csrf_from(page.text)})
    assert response.headers["Location"] == "/apprenants/alice/"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)", "/\t/evil.example", "/\n/evil.example"])
def test_no_open_redirect_after_sign_in(client, target):
    page = client.get("/connexion")
    response = client.post("/connexion", data={
        "username": "tina", "password": password_of("tina"), "next": target, "csrf_token": csrf_from(page.text)})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_disabling_an_account_ends_its_sessions(app, client, auth):
    auth.login("tina")
    assert client.get("/tableau-de-bord").status_code == 200
    Accounts.for_project(app.extensions["livret"].project).set_disabled("tina")
    assert client.get("/tableau-de-bord").status_code == 302


def test_password_change(app, client, auth):
    other = app.test_client()
    auth.login("tina")
    from app_support import AuthActions
    AuthActions(other).login("tina")
    bad = auth.post("/compte/mot-de-passe", {"current": "faux", "new": "nouveau-secret-1",
                                            "confirm": "nouveau-secret-1"})
    assert bad.status_code == 422 and "Mot de passe actuel incorrect" in bad.text
    short = auth.post("/compte/mot-de-passe", {"current": password_of("tina"), "new": "court", "confirm": "court"})
    assert short.status_code == 422 and "trop court" in short.text
    done = auth.post("/compte/mot-de-passe", {"current": password_of("tina"), "new": "nouveau-secret-1",
                                             "confirm": "nouveau-secret-1"})
    assert done.status_code == 302
    assert client.get("/tableau-de-bord").status_code == 200  # this session continues
    assert other.get("/tableau-de-bord").status_code == 302  # the other one is signed out


# ---------------------------------------------------------------- CSRF


def test_csrf_is_required_on_every_form(app_project, client, auth):
    page = client.get("/connexion")
    response = client.post("/connexion", data={"username": "tina", "password": password_of("tina")})
    assert response.status_code == 400 and "jeton CSRF" in response.text
    auth.login("tina")
    before = entry_files(app_project)
    posts = {
        "/deconnexion": {},
        "/compte/mot-de-passe": {"current": password_of("tina"), "new": "nouveau-secret-1",
                                 "confirm": "nouveau-secret-1"},
        "/apprenants/alice/nouvelle/feedback": {"title": "Retour", "date": "2026-11-02T10:00"},
        "/apercu": {"text": "**gras**"},
    }
    for url, data in posts.items():
        assert client.post(url, data=data).status_code == 400, url
        forged = client.post(url, data={**data, "csrf_token": "forged." + csrf_from(page.text)[7:]})
        assert forged.status_code == 400, url
    assert entry_files(app_project) == before
    assert client.get("/tableau-de-bord").status_code == 200  # still signed in: logout was refused
    assert Accounts.for_project(app_project).authenticate("tina", password_of("tina"))


def test_csrf_token_of_another_session_is_refused(app, client, auth):
    other = app.test_client()
    stolen = csrf_from(other.get("/connexion").text)
    auth.login("tina")
    response = client.post("/apprenants/alice/nouvelle/feedback",
                           data={"title": "Retour", "date": "2026-11-02T10:00", "csrf_token": stolen})
    assert response.status_code == 400


# ---------------------------------------------------------------- cookies and keys


def test_secure_cookie_when_https_is_forced(app_project, monkeypatch):
    monkeypatch.setenv("LIVRET_HTTPS", "1")
    from app_support import AuthActions
    client = make_app(app_project.root).test_client()
    assert "Secure" in cookie_header(AuthActions(client).login("tina"))


def test_secure_cookie_over_https_and_trusted_proxy(app_project, monkeypatch):
    from app_support import AuthActions

    direct = make_app(app_project.root).test_client()
    page = direct.get("/connexion", base_url="https://localhost")
    response = direct.post("/connexion", base_url="https://localhost", data={
        "username": "tina", "password": password_of("tina"), "csrf_token": csrf_from(page.text)},
        headers={"Referer": "https://localhost/connexion"})
    assert "Secure" in cookie_header(response)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")

    # X-Forwarded-Proto is trusted only behind a declared proxy.
    untrusted = make_app(app_project.root).test_client()
    assert "Secure" not in cookie_header(AuthActions(untrusted).login("tina"))
    monkeypatch.setenv("LIVRET_PROXY", "1")
    proxied = make_app(app_project.root).test_client()
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    page = proxied.get("/connexion", headers=headers)
    response = proxied.post("/connexion", headers={**headers, "Referer": "https://localhost/connexion"}, data={
        "username": "tina", "password": password_of("tina"), "csrf_token": csrf_from(page.text)})
    assert "Secure" in cookie_header(response)


def test_secret_key_is_generated_once_and_private(app_project, monkeypatch):
    monkeypatch.delenv("LIVRET_SECRET_KEY", raising=False)
    first = make_app(app_project.root)
    key_file = app_project.instance / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert len(first.config["SECRET_KEY"]) >= 32
    assert make_app(app_project.root).config["SECRET_KEY"] == first.config["SECRET_KEY"]
    monkeypatch.setenv("LIVRET_SECRET_KEY", "k" * 40)
    assert make_app(app_project.root).config["SECRET_KEY"] == "k" * 40
    monkeypatch.setenv("LIVRET_SECRET_KEY", "court")
    with pytest.raises(RuntimeError, match="trop courte"):
        make_app(app_project.root)


def test_security_headers(client, auth):
    auth.login("tina")
    response = client.get("/tableau-de-bord")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert not re.search(r"https?://", csp), "no external host in the CSP"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_pages_load_nothing_from_another_host(client, auth):
    auth.login("tina")
    for url in ("/connexion", "/tableau-de-bord", "/apprenants/alice/", "/apprenants/alice/nouvelle/meeting"):
        html = client.get(url).text
        assert not re.search(r'(src|href)="(https?:)?//', html), url
