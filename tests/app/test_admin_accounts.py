"""Administration of accounts: list, creation with a one-time invitation, links, roles, assignments."""

from __future__ import annotations

import datetime as dt
import re
import subprocess

import pyotp
import pytest
from app_support import AuthActions, csrf_from, password_of, without_csrf
from factories import make_project  # noqa: F401 - (the ``project`` fixture comes from conftest)

from livret.instance.accounts import LoginRefused
from livret.instance.onetime import OneTimeLinks
from livret.instance.totp import SecondFactor
from livret.store.schema import Group, LearnerProfile
from livret.store.writer import GroupChange, ProfileChange

LINK_RE = re.compile(r'id="lien" class="copy-field" value="([^"]+)"')


def git(project, *args) -> str:
    return subprocess.run(["git", *args], cwd=project.portfolios, capture_output=True, text=True,
                          check=True).stdout.strip()


def snapshot(project, app) -> tuple:
    """What a refused request must leave as it was: the store's files and history, the accounts, the links."""
    files = sorted((p.relative_to(project.portfolios).as_posix(), p.read_bytes())
                   for p in project.portfolios.rglob("*") if p.is_file() and ".git" not in p.parts)
    conn = app.extensions["livret"].accounts.db.connect()
    try:
        users = conn.execute("SELECT username, role, password_hash, disabled, display_name, email, totp_enabled "
                             "FROM users ORDER BY username").fetchall()
        links = conn.execute("SELECT id, used_at, revoked_at FROM onetime_links ORDER BY id").fetchall()
    finally:
        conn.close()
    return files, git(project, "rev-parse", "HEAD"), [tuple(u) for u in users], [tuple(x) for x in links]


def link_path(page: str) -> str:
    url = LINK_RE.search(page).group(1)
    return "/" + url.split("://", 1)[1].split("/", 1)[1] if "://" in url else url


def mailed_link_path(app, address: str) -> str:
    """The one-time link of the latest mail queued for ``address`` (an account with an address gets it by mail)."""
    from livret.mail.outbox import Outbox

    mail = next(m for m in Outbox(accounts_of(app).db).list() if m.recipient == address)
    url = re.search(r"https?://\S+/lien/[A-Za-z0-9_-]{43}", mail.text).group(0)
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def accounts_of(app):
    return app.extensions["livret"].accounts


def signed_in_as(client) -> str | None:
    page = client.get("/compte/securite")
    match = re.search(r"<dt>Identifiant</dt><dd>([^<]+)</dd>", page.text) if page.status_code == 200 else None
    return match.group(1) if match else None


# --------------------------------------------------------------------------
# Who may do what
# --------------------------------------------------------------------------


def admin_routes(app) -> list[tuple[str, str]]:
    """(method, url) of every route of the accounts' administration, on tina's account."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin_accounts."):
            url = rule.rule.replace("<username>", "tina")
            out += [(m, url) for m in sorted(rule.methods & {"GET", "POST"})]
    return out


POST_DATA = {"username": "intrus", "role": "admin", "display_name": "X", "email": "x@exemple.fr",
             "learners": ["alice"], "shown": ["alice"]}


@pytest.mark.parametrize("username", ["tina", "carl", "alice", "audra"])
def test_only_admins_administer_and_a_refusal_writes_nothing(app_project, app, client, auth, username):
    routes = admin_routes(app)
    assert len(routes) >= 11  # list, new (GET, POST), page, profile, role, disable, enable, link, 2FA, assignments
    auth.login(username)
    before = snapshot(app_project, app)
    for method, url in routes:
        answer = client.get(url) if method == "GET" else auth.post(url, {**POST_DATA, "role": "admin"})
        assert answer.status_code == 403, (method, url, answer.status_code)
    assert client.get("/admin/comptes/nouveau?apprenant=alice").status_code == 403
    assert snapshot(app_project, app) == before


def test_anonymous_visitors_are_sent_to_sign_in(app, client):
    for method, url in admin_routes(app):
        answer = client.open(url, method=method, data={})
        assert answer.status_code in (302, 400), (method, url)  # (a POST without its CSRF token: 400 first)
        if answer.status_code == 302:
            assert "/connexion" in answer.headers["Location"]


def test_a_form_without_its_csrf_token_is_refused(app_project, app, client, auth):
    auth.login("ada")
    before = snapshot(app_project, app)
    for method, url in admin_routes(app):
        if method == "POST":
            assert client.post(url, data=POST_DATA).status_code == 400, url
    assert snapshot(app_project, app) == before


# --------------------------------------------------------------------------
# Creating an account, the invitation link
# --------------------------------------------------------------------------


def test_creation_hands_over_a_one_time_invitation(app_project, app, client, auth):
    auth.login("ada")
    head = git(app_project, "rev-parse", "HEAD")
    created = auth.post("/admin/comptes/nouveau", {"username": "paul.martin", "display_name": "Paul Martin",
                                                   "email": "paul@exemple.fr", "role": "tutor",
                                                   "learners": ["alice", "bob"]})
    assert created.status_code == 200 and "7 jours" in created.text
    assert "Le lien part par courriel à paul@exemple.fr" in created.text and not LINK_RE.search(created.text)
    path = mailed_link_path(app, "paul@exemple.fr")  # mailed, never on screen
    assert path.startswith("/lien/")
    # one commit by the admin for both assignments
    assert git(app_project, "rev-list", "--count", f"{head}..HEAD") == "1"
    assert git(app_project, "log", "-1", "--format=%an") == "ada"
    assert "affectation de paul.martin" in git(app_project, "log", "-1", "--format=%s")
    store = app_project.store
    assert "paul.martin" in store.profile("alice").tutors and "paul.martin" in store.profile("bob").tutors
    assert store.check() == []
    user = accounts_of(app).get("paul.martin")
    assert (user.display_name, user.email, user.has_password) == ("Paul Martin", "paul@exemple.fr", False)
    listing = client.get("/admin/comptes/?q=paul").text
    assert "invitation en attente" in listing and "Alice Test" in listing

    visitor = app.test_client()
    for _ in range(2):  # a mail scanner, then the person: looking never uses the link
        page = visitor.get(path)
        assert page.status_code == 200 and "Bienvenue" in page.text and "12 caractères" in page.text
    token = csrf_from(page.text)
    weak = visitor.post(path, data={"new": "paul2026", "confirm": "paul2026", "csrf_token": token})
    assert weak.status_code == 422 and "contient l&#39;identifiant" in weak.text
    short = visitor.post(path, data={"new": "motdepasse", "confirm": "motdepasse", "csrf_token": token})
    assert short.status_code == 422 and "trop courant" in short.text
    differ = visitor.post(path, data={"new": "Vx7!kq2#Lm9z", "confirm": "Vx7!kq2#Lm9y", "csrf_token": token})
    assert differ.status_code == 422 and "diffèrent" in differ.text
    done = visitor.post(path, data={"new": "Vx7!kq2#Lm9z", "confirm": "Vx7!kq2#Lm9z", "csrf_token": token})
    assert done.status_code == 302 and signed_in_as(visitor) == "paul.martin"
    assert accounts_of(app).get("paul.martin").last_login is not None
    assert accounts_of(app).authenticate("paul.martin", "Vx7!kq2#Lm9z").role == "tutor"
    # used: the same page as any other link that opens nothing
    used = app.test_client().get(path)
    unknown = app.test_client().get("/lien/" + "A" * 43)
    assert used.status_code == unknown.status_code == 404 and without_csrf(used.text) == without_csrf(unknown.text)
    token = csrf_from(visitor.get("/compte/mot-de-passe").text)  # (a new session, a new CSRF secret)
    again = visitor.post(path, data={"new": "Autre-Vx7!kq2#", "confirm": "Autre-Vx7!kq2#", "csrf_token": token})
    assert again.status_code == 404
    assert "actif" in client.get("/admin/comptes/paul.martin/").text


@pytest.mark.parametrize("data, field, message", [
    ({"username": "tina", "role": "tutor"}, "username", "Le compte tina existe déjà"),
    ({"username": "Paul Martin", "role": "tutor"}, "username", "Nom d&#39;utilisateur invalide"),
    ({"username": "paul", "role": "tutor", "email": "pas-une-adresse"}, "email", "Adresse e-mail invalide"),
    ({"username": "paul", "role": "chef"}, "role", "Rôle inconnu : choisissez"),
    ({"username": "paul", "role": "company", "learners": ["alice", "bob"]}, None,
     "Bob Test (bob) : pas de tuteur·rice entreprise sans entreprise"),
    ({"username": "paul", "role": "admin", "learners": ["alice"]}, None, "n&#39;est affecté à aucun·e"),
    ({"username": "paul", "role": "learner", "learners": ["alice"]}, None,
     "Alice Test (alice) a déjà un compte apprenant·e : alice"),
    ({"username": "paul", "role": "learner", "learners": ["alice", "bob"]}, None, "un seul portfolio"),
    ({"username": "paul", "role": "tutor", "learners": ["nobody"]}, None, "Apprenant·e inconnu·e : nobody"),
])
def test_bad_input_is_named_and_nothing_is_written(app_project, app, client, auth, data, field, message):
    auth.login("ada")
    before = snapshot(app_project, app)
    answer = auth.post("/admin/comptes/nouveau", data)
    assert answer.status_code == 422 and message in answer.text, answer.text
    if field:
        assert re.search(rf'id="{field}-field"[^>]*>', answer.text) and f'id="{field}-error"' in answer.text
    assert snapshot(app_project, app) == before


def add_learner_without_account(project, learner_id: str = "chloe"):
    profile = LearnerProfile(id=learner_id, first_name="Chloé", last_name="Martin", programme="Formation de test",
                             framework="mini", start=dt.date(2026, 1, 5), email="chloe@exemple.fr")
    project.store.write_changes([ProfileChange(profile, "", None)], author="ada", message="nouvelle apprenante")


def test_a_learners_account_from_the_learners_page(app_project, app, client, auth):
    add_learner_without_account(app_project)
    auth.login("ada")
    form = client.get("/admin/comptes/nouveau?apprenant=chloe")
    assert form.status_code == 200
    for value in ('value="chloe.martin"', 'value="Chloé Martin"', 'value="chloe@exemple.fr"'):
        assert value in form.text
    assert client.get("/admin/comptes/nouveau?apprenant=nobody").status_code == 404
    head = git(app_project, "rev-parse", "HEAD")
    data = {k: v for k, v in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.text)
            if k not in ("csrf_token",)}
    created = auth.post("/admin/comptes/nouveau", data)
    assert created.status_code == 200 and "Le lien part par courriel à chloe@exemple.fr" in created.text
    assert app_project.store.profile("chloe").account == "chloe.martin"
    assert accounts_of(app).get("chloe.martin").role == "learner"
    assert git(app_project, "rev-list", "--count", f"{head}..HEAD") == "1"
    assert git(app_project, "log", "-1", "--format=%an") == "ada" and app_project.store.check() == []
    # a second account for the same portfolio is refused, naming the one it has
    again = auth.post("/admin/comptes/nouveau", {**data, "username": "chloe.bis"})
    assert again.status_code == 422 and "a déjà un compte apprenant·e : chloe.martin" in again.text
    assert accounts_of(app).get("chloe.bis") is None


# --------------------------------------------------------------------------
# Assignments of a tutor or a company tutor
# --------------------------------------------------------------------------


def form_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(rev-[a-z0-9-]+)" value="([^"]*)"', page))


def test_assignments_are_saved_in_one_commit_by_the_admin(app_project, app, client, auth):
    auth.login("ada")
    page = client.get("/admin/comptes/tom/affectations")
    assert page.status_code == 200 and 'name="learners" value="bob" id="a-bob" checked' in page.text
    head = git(app_project, "rev-parse", "HEAD")
    saved = auth.post("/admin/comptes/tom/affectations", {"role": "tutor", "shown": ["alice", "bob"],
                                                          "learners": ["alice", "bob"], **form_fields(page.text)})
    assert saved.status_code == 303
    assert git(app_project, "rev-list", "--count", f"{head}..HEAD") == "1"
    assert git(app_project, "log", "-1", "--format=%an") == "ada"
    assert app_project.store.profile("alice").tutors == ["tina", "tom"] and app_project.store.check() == []
    # taken off one learner, kept on the other
    page = client.get("/admin/comptes/tom/affectations")
    auth.post("/admin/comptes/tom/affectations", {"role": "tutor", "shown": ["alice", "bob"], "learners": ["alice"],
                                                  **form_fields(page.text)})
    assert app_project.store.profile("bob").tutors == [] and "tom" in app_project.store.profile("alice").tutors
    assert app_project.store.check() == []
    listing = client.get("/admin/comptes/?role=tutor").text
    assert "tom" in listing and "ada" not in re.sub(r"<(header|nav)[\s\S]*?</\1>", "", listing).split("<table", 1)[1]


def test_a_group_filter_changes_only_the_learners_shown(app_project, app, client, auth):
    app_project.store.write_changes(groups=[GroupChange(Group(id="promo", name="Promo 2026", members=["alice"]),
                                                        expected=None)], author="ada", message="groupe")
    auth.login("ada")
    page = client.get("/admin/comptes/tom/affectations?groupe=promo")
    assert 'value="alice"' in page.text and 'value="bob"' not in page.text
    auth.post("/admin/comptes/tom/affectations", {"role": "tutor", "groupe": "promo", "shown": ["alice"],
                                                  "learners": ["alice"], **form_fields(page.text)})
    assert "tom" in app_project.store.profile("alice").tutors
    assert app_project.store.profile("bob").tutors == ["tom"]  # not listed: untouched


@pytest.mark.parametrize("username, data, message", [
    ("carl", {"role": "company", "shown": ["alice", "bob"], "learners": ["alice", "bob"]},
     "Bob Test (bob) : pas de tuteur·rice entreprise sans entreprise"),
    ("ada", {"role": "admin", "learners": ["alice"]}, "n&#39;est affecté à aucun·e"),
    ("tom", {"role": "company", "shown": ["alice"], "learners": ["alice"]}, "désormais tuteur·rice"),
    ("alice", {"role": "learner", "shown": ["bob"], "learners": ["bob"]}, "Bob Test (bob) a déjà un compte"),
])
def test_refused_assignments_name_the_learner_and_write_nothing(app_project, app, client, auth, username, data,
                                                                message):
    auth.login("ada")
    before = snapshot(app_project, app)
    answer = auth.post(f"/admin/comptes/{username}/affectations", data)
    assert answer.status_code == 422 and message in answer.text, answer.text
    assert snapshot(app_project, app) == before


def test_a_profile_edited_meanwhile_is_not_overwritten(app_project, app, client, auth):
    auth.login("ada")
    page = client.get("/admin/comptes/tom/affectations")
    profile = app_project.portfolios / "alice" / "learner.md"
    edited = profile.read_text(encoding="utf-8").replace("Objectifs de alice.", "Objectifs revus à la main.")
    profile.write_text(edited, encoding="utf-8")
    head = git(app_project, "rev-parse", "HEAD")
    answer = auth.post("/admin/comptes/tom/affectations", {"role": "tutor", "shown": ["alice", "bob"],
                                                           "learners": ["alice", "bob"], **form_fields(page.text)})
    assert answer.status_code == 409 and "modifié entre-temps" in answer.text
    assert 'value="alice" id="a-alice" checked' in answer.text  # what was ticked is kept
    assert profile.read_text(encoding="utf-8") == edited and git(app_project, "rev-parse", "HEAD") == head


# --------------------------------------------------------------------------
# Roles, disabling, reset links, the second factor
# --------------------------------------------------------------------------


def test_role_changes_keep_an_admin_and_name_what_is_left(app_project, app, client, auth):
    auth.login("ada")
    before = snapshot(app_project, app)
    last = auth.post("/admin/comptes/ada/role", {"role": "tutor"})
    assert last.status_code == 422 and "dernier compte administrateur actif" in last.text
    left = auth.post("/admin/comptes/tina/role", {"role": "company"})
    assert left.status_code == 422 and "Alice Test (alice, tuteur·rice)" in left.text
    assert auth.post("/admin/comptes/tina/role", {"role": "auditor"}).status_code == 422
    assert snapshot(app_project, app) == before
    # an auditor becomes a tutor: its sessions end
    other = app.test_client()
    AuthActions(other).login("audra")
    assert signed_in_as(other) == "audra"
    assert auth.post("/admin/comptes/audra/role", {"role": "tutor"}).status_code == 303
    assert accounts_of(app).get("audra").role == "tutor" and signed_in_as(other) is None
    # with a second admin, the first may step down
    assert auth.post("/admin/comptes/audra/role", {"role": "admin"}).status_code == 303
    assert auth.post("/admin/comptes/ada/role", {"role": "auditor"}).status_code == 303
    assert accounts_of(app).get("ada").role == "auditor"


def test_disable_ends_sessions_and_enable_restores(app_project, app, client, auth):
    other = app.test_client()
    AuthActions(other).login("tina")
    auth.login("ada")
    assert auth.post("/admin/comptes/ada/desactiver").status_code == 422  # the last admin
    assert auth.post("/admin/comptes/tina/desactiver").status_code == 303
    assert signed_in_as(other) is None
    assert "désactivé" in client.get("/admin/comptes/?q=tina").text
    with pytest.raises(LoginRefused):
        accounts_of(app).authenticate("tina", password_of("tina"))
    refused = auth.post("/admin/comptes/tina/lien")
    assert refused.status_code == 422 and "désactivé" in refused.text
    assert auth.post("/admin/comptes/tina/reactiver").status_code == 303
    assert accounts_of(app).authenticate("tina", password_of("tina")).username == "tina"


def test_reset_links_replace_each_other_and_expire(app_project, app, client, auth):
    auth.login("ada")
    first = auth.post("/admin/comptes/tina/lien")
    assert first.status_code == 200 and "24 heures" in first.text
    second = auth.post("/admin/comptes/tina/lien")
    old, new = link_path(first.text), link_path(second.text)
    visitor = app.test_client()
    assert visitor.get(old).status_code == 404 and visitor.get(new).status_code == 200
    # an expired link opens nothing either
    links = OneTimeLinks(accounts_of(app).db)
    with links.db.transaction() as conn:
        conn.execute("UPDATE onetime_links SET expires = ? WHERE used_at IS NULL AND revoked_at IS NULL",
                     ((dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)).isoformat(),))
    expired = visitor.get(new)
    assert expired.status_code == 404 and without_csrf(expired.text) == without_csrf(visitor.get(old).text)
    third = link_path(auth.post("/admin/comptes/tina/lien").text)
    page = visitor.get(third)
    done = visitor.post(third, data={"new": "Nouveau-Vx7!kq2#", "confirm": "Nouveau-Vx7!kq2#",
                                     "csrf_token": csrf_from(page.text)})
    assert done.status_code == 302 and signed_in_as(visitor) == "tina"
    with pytest.raises(LoginRefused):
        accounts_of(app).authenticate("tina", password_of("tina"))


def test_a_reset_link_of_an_account_with_a_second_factor_asks_for_the_code(app_project, app, client, auth):
    factor = SecondFactor(accounts_of(app))
    secret = factor.begin("tom")
    factor.confirm("tom", pyotp.TOTP(secret).now())
    auth.login("ada")
    path = link_path(auth.post("/admin/comptes/tom/lien").text)
    visitor = app.test_client()
    page = visitor.get(path)
    done = visitor.post(path, data={"new": "Nouveau-Vx7!kq2#", "confirm": "Nouveau-Vx7!kq2#",
                                    "csrf_token": csrf_from(page.text)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/connexion/code")
    assert signed_in_as(visitor) is None


def test_an_admin_resets_a_lost_second_factor(app_project, app, client, auth):
    factor = SecondFactor(accounts_of(app))
    secret = factor.begin("tom")
    factor.confirm("tom", pyotp.TOTP(secret).now())
    auth.login("ada")
    page = client.get("/admin/comptes/tom/")
    assert "Réinitialiser le second facteur" in page.text
    assert "activé" in client.get("/admin/comptes/?q=tom").text
    assert auth.post("/admin/comptes/tom/second-facteur").status_code == 303
    assert not accounts_of(app).get("tom").totp_enabled and factor.remaining_codes("tom") == 0


def test_name_and_address_are_edited_and_checked(app_project, app, client, auth):
    auth.login("ada")
    bad = auth.post("/admin/comptes/tina/profil", {"display_name": "Tina Durand", "email": "tina"})
    assert bad.status_code == 422 and 'id="email-error"' in bad.text
    assert accounts_of(app).get("tina").display_name == ""
    assert auth.post("/admin/comptes/tina/profil", {"display_name": "Tina Durand",
                                                    "email": "tina@exemple.fr"}).status_code == 303
    listing = client.get("/admin/comptes/?q=durand").text
    assert "Tina Durand" in listing and "tina@exemple.fr" in listing and ">tom<" not in listing


@pytest.mark.parametrize("segment", ["Nobody", "a" * 65, "..", "personne"])
def test_unknown_accounts_are_404(client, auth, segment):
    auth.login("ada")
    assert client.get(f"/admin/comptes/{segment}/").status_code == 404
    assert auth.post(f"/admin/comptes/{segment}/desactiver").status_code == 404
