"""Server-side sessions and sign-in throttling, through the real app and the real server.

- A cookie captured before sign-out, a password change, a disable or a role
  change opens nothing afterwards (the session row is gone).
- The cookie carries an opaque random id only; the database keeps its hash.
- Failed sign-ins count per (account, origin) and per origin: a stranger's
  wrong passwords never lock the owner out from elsewhere; concurrent
  correct sign-ins are never refused; parallel wrong guesses cannot get
  past the limit.
"""

from __future__ import annotations

import sqlite3
import threading
import urllib.error
import urllib.parse
import urllib.request

from app_support import AuthActions, csrf_from, make_app, password_of
from click.testing import CliRunner

from livret.cli import main
from livret.instance import db as instance_db
from livret.instance.accounts import MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ORIGIN, Accounts, hash_password
from livret.instance.db import DB_NAME, InstanceDB
from livret.instance.sessions import SESSION_LIFETIME, Sessions

COOKIE = "livret_session"


def captured(client) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None, "no session cookie"
    return cookie.value


def replay(app, value: str):
    """A new browser presenting a captured cookie: the dashboard's answer."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, value)
    return thief.get("/tableau-de-bord")


def signed_out(response) -> bool:
    return response.status_code == 302 and "/connexion" in response.headers["Location"]


def payload(app, value: str) -> dict:
    return app.session_interface.get_signing_serializer(app).loads(value)


def from_origin(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client, AuthActions(client)


# ---------------------------------------------------------------- ending sessions


def test_cookie_replayed_after_sign_out_is_signed_out(app, client, auth):
    auth.login("tina")
    cookie = captured(client)
    assert replay(app, cookie).status_code == 200  # the captured cookie works while the session lives
    auth.logout()
    assert signed_out(replay(app, cookie))
    assert signed_out(client.get("/tableau-de-bord"))


def test_cookie_replayed_after_password_change_is_signed_out(app, client, auth):
    other = app.test_client()
    auth.login("tina")
    AuthActions(other).login("tina")
    mine, theirs = captured(client), captured(other)
    done = auth.post("/compte/mot-de-passe", {"current": password_of("tina"), "new": "nouveau-secret-1",
                                             "confirm": "nouveau-secret-1"})
    assert done.status_code == 302
    assert client.get("/tableau-de-bord").status_code == 200  # the person who changed it goes on (new id)
    assert signed_out(other.get("/tableau-de-bord"))
    assert signed_out(replay(app, theirs)) and signed_out(replay(app, mine))
    assert payload(app, captured(client))["sid"] != payload(app, mine)["sid"]
    assert Sessions(InstanceDB.for_project(app.extensions["livret"].project)).count("tina") == 1


def test_cookie_replayed_after_disable_is_signed_out(app, app_project, client, auth):
    auth.login("tina")
    cookie = captured(client)
    result = CliRunner().invoke(main, ["--root", str(app_project.root), "user", "disable", "tina"])
    assert result.exit_code == 0, result.output
    assert signed_out(replay(app, cookie))
    CliRunner().invoke(main, ["--root", str(app_project.root), "user", "enable", "tina"])
    assert signed_out(replay(app, cookie))  # enabling again does not bring an ended session back


def test_cookie_replayed_after_role_change_is_signed_out(app, app_project, client, auth):
    auth.login("audra")  # (an auditor has no assignment the new role could not hold)
    cookie = captured(client)
    result = CliRunner().invoke(main, ["--root", str(app_project.root), "user", "set-role", "audra", "--role", "tutor"])
    assert result.exit_code == 0 and "Ses sessions sont fermées" in result.output
    assert signed_out(replay(app, cookie))
    assert auth.login("audra").status_code == 302  # signs in again with the new role
    assert Accounts.for_project(app_project).get("audra").role == "tutor"
    unknown = CliRunner().invoke(main, ["--root", str(app_project.root), "user", "set-role", "personne",
                                        "--role", "tutor"])
    assert unknown.exit_code == 2 and "compte inconnu : personne" in unknown.output


def test_a_session_whose_account_changed_elsewhere_is_signed_out(app, app_project, client, auth):
    """A change that bypassed the app and the CLI (the database edited by hand) counts too."""
    auth.login("tina")
    with sqlite3.connect(app_project.instance / DB_NAME) as raw:
        raw.execute("UPDATE users SET role = 'admin' WHERE username = 'tina'")
    assert signed_out(client.get("/tableau-de-bord"))


def test_expired_session_is_signed_out(app, app_project, client, auth):
    auth.login("tina")
    with sqlite3.connect(app_project.instance / DB_NAME) as raw:
        raw.execute("UPDATE sessions SET expires = 0")
    assert signed_out(client.get("/tableau-de-bord"))
    with sqlite3.connect(app_project.instance / DB_NAME) as raw:
        assert raw.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0  # and its row is removed


def test_session_id_changes_at_sign_in(app, client, auth):
    """No fixation: whatever id the browser had, signing in gives a new one and ends the old."""
    auth.login("alice")
    before = captured(client)
    response = client.post("/connexion", data={"username": "tina", "password": password_of("tina"),
                                               "csrf_token": auth.token()})
    assert response.status_code == 302
    after = captured(client)
    assert payload(app, after)["sid"] != payload(app, before)["sid"]
    assert signed_out(replay(app, before))
    assert "tina" in client.get("/tableau-de-bord").get_data(as_text=True)


def test_cookie_holds_an_opaque_id_and_the_database_its_hash(app, app_project, client, auth):
    auth.login("tina")
    client.get("/tableau-de-bord")  # shows (and drops) the welcome message
    data = payload(app, captured(client))
    assert set(data) <= {"sid", "csrf_token", "_permanent"}
    assert "tina" not in repr(data)
    sid = data["sid"]
    assert len(sid) >= 40
    info = Sessions(InstanceDB.for_project(app_project)).info(sid)
    assert info is not None and info.username == "tina" and info.origin == "127.0.0.1"
    assert info.expires - info.created == SESSION_LIFETIME == app.permanent_session_lifetime.total_seconds()
    with sqlite3.connect(app_project.instance / DB_NAME) as raw:
        rows = raw.execute("SELECT * FROM sessions").fetchall()
    assert len(rows) == 1 and sid not in repr(rows)


def test_sessions_are_shared_by_every_process_of_the_app(app, app_project, client, auth):
    """Two app instances on one project (as two server processes): one ends, the other sees it."""
    second = make_app(app_project.root)
    auth.login("tina")
    cookie = captured(client)
    assert replay(second, cookie).status_code == 200
    auth.logout()
    assert signed_out(replay(second, cookie))


# ---------------------------------------------------------------- throttling by account and origin


def test_wrong_passwords_from_one_origin_do_not_lock_the_owner_out(app):
    attacker, attacker_auth = from_origin(app, "203.0.113.66")
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        assert attacker_auth.login("tina", "devine-moi-0000").status_code == 401
    refused = attacker_auth.login("tina")  # from there, even the right password
    assert refused.status_code == 429 and "Trop de tentatives" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 0
    owner, owner_auth = from_origin(app, "198.51.100.7")
    assert owner_auth.login("tina").status_code == 302
    assert owner.get("/tableau-de-bord").status_code == 200


def test_an_origin_trying_many_accounts_is_throttled(app):
    attacker, attacker_auth = from_origin(app, "2001:db8:1:2::66")
    for i in range(MAX_FAILURES_PER_ORIGIN):
        assert attacker_auth.login(f"compte{i:02d}", "devine-moi-0000").status_code == 401
    # another address of the same /64 is the same origin
    _, neighbour_auth = from_origin(app, "2001:db8:1:2::99")
    assert neighbour_auth.login("tom").status_code == 429
    _, elsewhere = from_origin(app, "2001:db8:1:3::1")
    assert elsewhere.login("tom").status_code == 302


def test_accounts_upgrade_from_the_first_schema(tmp_path):
    """A database made by the previous version (no sessions table) is migrated; accounts stay."""
    first = instance_db._registry["accounts"][0]
    with sqlite3.connect(tmp_path / DB_NAME) as raw:
        for statement in instance_db.split_statements(first):
            raw.execute(statement)
        raw.execute("CREATE TABLE migrations (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
        raw.execute("INSERT INTO migrations VALUES ('accounts', 1)")
        raw.execute("INSERT INTO users VALUES ('tina', 'tutor', ?, 0, '2026-01-01T00:00:00+00:00', 'abc')",
                    (hash_password("un mot de passe"),))
    accounts = Accounts(InstanceDB(tmp_path))
    user = accounts.authenticate("tina", "un mot de passe", origin="10.0.0.1")
    sid = Sessions(accounts.db).start(user, "10.0.0.1")
    assert Sessions(accounts.db).user(sid) == user


# ---------------------------------------------------------------- the real server: concurrency


def _post_sign_ins(base: str, username: str, passwords: list[str]) -> list[int]:
    """One browser per password (its own cookie and CSRF token), all posting at the same moment."""
    import http.cookiejar

    prepared = []
    for password in passwords:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoFollow)
        with opener.open(base + "/connexion", timeout=60) as resp:
            token = csrf_from(resp.read().decode())
        body = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token}).encode()
        prepared.append((opener, body))
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(prepared))

    def post(opener, body) -> None:
        barrier.wait(60)
        try:
            with opener.open(urllib.request.Request(base + "/connexion", data=body, method="POST"),
                             timeout=120) as resp:
                status = resp.status
        except urllib.error.HTTPError as err:
            status = err.code
            err.close()
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=post, args=item) for item in prepared]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    return statuses


def test_six_simultaneous_correct_sign_ins_all_succeed(live_server):
    assert _post_sign_ins(live_server.url, "tina", [password_of("tina")] * 6) == [302] * 6


def test_parallel_wrong_guesses_cannot_pass_the_limit(live_server):
    statuses = _post_sign_ins(live_server.url, "tina", [f"devine-{i:02d}-secret" for i in range(10)])
    assert sorted(statuses) == [401] * MAX_FAILURES_PER_ACCOUNT + [429] * (10 - MAX_FAILURES_PER_ACCOUNT)
    assert _post_sign_ins(live_server.url, "tina", [password_of("tina")]) == [429]  # same origin: locked


class NoFollow(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

