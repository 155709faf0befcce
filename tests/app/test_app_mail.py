"""Mail in the app: « mot de passe oublié », a tutor inviting a learner, admin links mailed, the outbox page.

Real components: the app on a real project, the instance database, and a
real SMTP server (aiosmtpd) that the outbox's sender delivers to.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from app_support import csrf_from, without_csrf
from mail_support import PUBLIC_URL, Recorder, free_port, link_in, mail_project, smtp_server

from livret.instance.accounts import Accounts
from livret.instance.onetime import OneTimeLinks
from livret.mail.outbox import Outbox
from livret.mail.sender import MailSender
from livret.mail.settings import SmtpSettings

NEW_PASSWORD = "Nouveau-mdp-2026!x"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """The organisation names a sender; bob has no account yet (his address is in his profile)."""
    monkeypatch.delenv("LIVRET_SMTP_URL", raising=False)
    return mail_project(tmp_path / "proj", without_account={"bob": "bob.test@exemple.fr"})


def accounts(app) -> Accounts:
    return app.extensions["livret"].accounts


def outbox(app) -> Outbox:
    return Outbox(accounts(app).db)


def deliver(app, port: int) -> None:
    report = MailSender(app.extensions["livret"].project, smtp=SmtpSettings("127.0.0.1", port, timeout=20)).run_once()
    assert report.stopped is None, report.stopped


def git(project, *args) -> str:
    return subprocess.run(["git", *args], cwd=project.portfolios, capture_output=True, text=True,
                          check=True).stdout.strip()


def path_of(url: str) -> str:
    assert url.startswith(PUBLIC_URL)
    return url[len(PUBLIC_URL):]


# --------------------------------------------------------------------------
# Mot de passe oublié
# --------------------------------------------------------------------------


def ask(client, address: str):
    page = client.get("/connexion/oubli")
    assert page.status_code == 200
    return client.post("/connexion/oubli", data={"email": address, "csrf_token": csrf_from(page.text)})


def test_forgotten_password_end_to_end_with_a_real_smtp_server(app_project, app, client):
    users = accounts(app)
    users.set_profile("tina", "Tina Tutrice", "tina@exemple.fr")
    users.set_profile("tom", "Tom Tuteur", "tom@exemple.fr")
    users.set_disabled("tom")
    users.add("jean.dupont", "company", None, display_name="Jean Dupont", email="jean@entreprise.fr")
    assert "Mot de passe oublié ?" in client.get("/connexion").text

    answers = [ask(app.test_client(), a) for a in ("tina@exemple.fr", "personne@exemple.fr", "tom@exemple.fr",
                                                   "jean@entreprise.fr", "TINA@exemple.fr")]
    assert {a.status_code for a in answers} == {200}
    assert len({without_csrf(a.text) for a in answers}) == 1  # the same answer, whatever the address
    assert "Si un compte correspond à cette adresse" in answers[0].text
    waiting = outbox(app).list()
    assert [m.recipient for m in waiting] == ["tina@exemple.fr", "tina@exemple.fr"]  # nobody else
    assert all(m.subject == "Réinitialisation de votre mot de passe" for m in waiting)

    with smtp_server() as (server, port):
        deliver(app, port)
        mails = server.wait_for(2)
    first, latest = link_in(mails[0]), link_in(mails[1])
    assert "valable 1 heure" in mails[1].get_body(("plain",)).get_content()
    visitor = app.test_client()
    assert visitor.get(path_of(first)).status_code == 404  # asking again replaced the earlier link
    for _ in range(2):  # a mail scanner, then the person: looking never uses it
        page = visitor.get(path_of(latest))
        assert page.status_code == 200
    done = visitor.post(path_of(latest), data={"new": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                               "csrf_token": csrf_from(page.text)})
    assert done.status_code == 302
    assert users.authenticate("tina", NEW_PASSWORD).username == "tina"
    assert app.test_client().get(path_of(latest)).status_code == 404  # used
    link = OneTimeLinks(users.db)
    assert link.pending("tina") == []


def test_a_forgotten_password_link_lives_one_hour(app_project, app):
    users = accounts(app)
    users.set_profile("tina", "Tina Tutrice", "tina@exemple.fr")
    assert ask(app.test_client(), "tina@exemple.fr").status_code == 200
    conn = users.db.connect()
    try:
        row = conn.execute("SELECT created, expires FROM onetime_links WHERE subject = 'tina'").fetchone()
        import datetime as dt

        assert (dt.datetime.fromisoformat(row["expires"]) - dt.datetime.fromisoformat(row["created"])
                == dt.timedelta(hours=1))
        with smtp_server() as (server, port):
            deliver(app, port)
            url = link_in(server.wait_for(1)[0])
        # an hour later (the row's expiry moved to the past): the link opens nothing
        conn.execute("UPDATE onetime_links SET expires = '2000-01-01T00:00:00+00:00' WHERE subject = 'tina'")
    finally:
        conn.close()
    assert app.test_client().get(path_of(url)).status_code == 404


def test_forgotten_password_bad_input_and_limits(app_project, app):
    client = app.test_client()
    bad = ask(client, "pas-une-adresse")
    assert bad.status_code == 422 and "Adresse e-mail invalide" in bad.text
    empty = ask(client, "")
    assert empty.status_code == 422 and "saisissez l&#39;adresse e-mail de votre compte" in empty.text.lower()
    no_token = client.post("/connexion/oubli", data={"email": "x@exemple.fr"})
    assert no_token.status_code == 400
    answers = [ask(client, "quelquun@exemple.fr").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]  # per address
    assert outbox(app).list() == []


# --------------------------------------------------------------------------
# A tutor invites a learner
# --------------------------------------------------------------------------


def test_a_tutor_invites_their_learner(app_project, app, client, auth):
    store = app_project.store
    head = git(app_project, "rev-parse", "HEAD")
    for who in ("tina", "carl", "alice", "audra"):  # not bob's tutor, or not a tutor
        auth.login(who)
        assert client.get("/apprenants/bob/inviter").status_code == 403, who
        assert auth.post("/apprenants/bob/inviter", {"email": "bob.test@exemple.fr"}).status_code == 403, who
    assert git(app_project, "rev-parse", "HEAD") == head and outbox(app).list() == []

    auth.login("tom")
    assert "Inviter l'apprenant·e à créer son compte" in client.get("/apprenants/bob/").text
    form = client.get("/apprenants/bob/inviter")
    assert form.status_code == 200 and 'value="bob.test@exemple.fr"' in form.text
    empty = auth.post("/apprenants/bob/inviter", {"email": ""})
    assert empty.status_code == 422 and "Adresse e-mail requise" in empty.text
    wrong = auth.post("/apprenants/bob/inviter", {"email": "bob@"})
    assert wrong.status_code == 422 and "Adresse e-mail invalide" in wrong.text
    assert git(app_project, "rev-parse", "HEAD") == head

    sent = auth.post("/apprenants/bob/inviter", {"email": "bob.perso@exemple.fr"})
    assert sent.status_code == 200 and "bob.perso@exemple.fr" in sent.text and "/lien/" not in sent.text
    assert store.profile("bob").account == "bob.test" and store.check() == []
    assert git(app_project, "log", "-1", "--format=%an") == "tom"
    user = accounts(app).get("bob.test")
    assert (user.role, user.display_name, user.email, user.has_password) == (
        "learner", "Bob Test", "bob.perso@exemple.fr", False)
    again = auth.post("/apprenants/bob/inviter", {"email": "bob.perso@exemple.fr"})
    assert again.status_code == 422 and "a déjà un compte" in again.text

    with smtp_server() as (server, port):
        deliver(app, port)
        mail = server.wait_for(1)[0]
    assert mail["To"] == "Bob Test <bob.perso@exemple.fr>" and "Bob" not in mail["Subject"]
    visitor = app.test_client()
    page = visitor.get(path_of(link_in(mail)))
    assert page.status_code == 200
    done = visitor.post(path_of(link_in(mail)), data={"new": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                                      "csrf_token": csrf_from(page.text)})
    assert done.status_code == 302
    assert accounts(app).authenticate("bob.test", NEW_PASSWORD).role == "learner"
    assert visitor.get("/apprenants/bob/").status_code == 200


def test_an_admin_invites_too_and_the_invitation_mail_is_queued_with_the_link(app_project, app, client, auth):
    auth.login("ada")
    assert auth.post("/apprenants/bob/inviter", {"email": "bob.test@exemple.fr"}).status_code == 200
    [queued] = outbox(app).list()
    assert queued.kind == "invitation" and f"{PUBLIC_URL}/lien/" in queued.text
    assert app_project.store.check() == []


# --------------------------------------------------------------------------
# Administration: links mailed, the outbox page
# --------------------------------------------------------------------------


def test_an_account_with_an_address_gets_its_link_by_mail_not_on_screen(app_project, app, client, auth):
    auth.login("ada")
    created = auth.post("/admin/comptes/nouveau", {"username": "paul.martin", "display_name": "Paul Martin",
                                                   "email": "paul@exemple.fr", "role": "tutor"})
    assert created.status_code == 200
    assert "Le lien part par courriel à paul@exemple.fr" in created.text and 'id="lien"' not in created.text
    assert "Compte de Paul Martin créé" in created.text
    [mail] = outbox(app).list()
    assert mail.kind == "invitation" and mail.recipient == "paul@exemple.fr"
    reset = auth.post("/admin/comptes/tina/lien")  # tina has no address: the link is for the admin to hand over
    assert reset.status_code == 200 and 'id="lien"' in reset.text and len(outbox(app).list()) == 1
    accounts(app).set_profile("tina", "Tina Tutrice", "tina@exemple.fr")
    mailed = auth.post("/admin/comptes/tina/lien")
    assert "tina@exemple.fr" in mailed.text and 'id="lien"' not in mailed.text
    assert outbox(app).list()[0].kind == "reset"


def test_the_outbox_page_is_for_admins_and_masks_links(app_project, app, client, auth):
    box = outbox(app)
    auth.login("ada")
    auth.post("/apprenants/bob/inviter", {"email": "bob.test@exemple.fr"})
    [mail] = box.list()
    token = re.search(r"/lien/([A-Za-z0-9_-]{43})", mail.text).group(1)
    for who in ("tina", "carl", "alice", "audra"):
        auth.login(who)
        assert client.get("/admin/courriels/").status_code == 403
        assert auth.post(f"/admin/courriels/{mail.id}/reessayer").status_code == 403
    anonymous = app.test_client().get("/admin/courriels/")
    assert anonymous.status_code == 302 and "/connexion" in anonymous.headers["Location"]

    auth.login("ada")
    assert "/admin/courriels/" in client.get("/admin/").text
    page = client.get("/admin/courriels/")
    assert page.status_code == 200 and "instance/outbox/" in page.text and "bob.test@exemple.fr" in page.text
    assert token not in page.text and f"/lien/…{token[-4:]}" in page.text
    # embedded mode: written as a file; the page still shows its text, masked
    assert MailSender(app_project, smtp=None).run_once().sent == [mail.id]
    page = client.get("/admin/courriels/?etat=sent")
    assert "envoyé" in page.text and token not in page.text and f"/lien/…{token[-4:]}" in page.text
    assert "outbox/" in page.text and "Bonjour Bob Test" in page.text


def test_a_failed_mail_is_shown_with_the_servers_answer_retried_and_warned_about(app_project, app, client, auth):
    box = outbox(app)
    auth.login("ada")
    auth.post("/apprenants/bob/inviter", {"email": "bob.test@exemple.fr"})
    [mail] = box.list()
    with smtp_server(Recorder(refuse_all="550 5.1.1 Boite inconnue")) as (_, port):
        deliver(app, port)
    assert box.get(mail.id).state == "failed"
    dashboard = client.get("/tableau-de-bord").text
    assert "1 courriel en échec" in dashboard
    assert "1 courriel en échec" in client.get("/admin/").text
    page = client.get("/admin/courriels/?etat=failed")
    assert "550 5.1.1 Boite inconnue" in page.text and "Réessayer" in page.text
    assert auth.post(f"/admin/courriels/{mail.id}/reessayer").status_code == 303
    assert box.get(mail.id).state == "queued"
    assert auth.post("/admin/courriels/999999/reessayer").status_code == 404
    assert auth.post(f"/admin/courriels/{10**30}/reessayer").status_code == 404
    auth.login("tom")
    assert "en échec : le serveur" not in client.get("/tableau-de-bord").text  # admins only
    with smtp_server(port=free_port()) as (server, port):
        deliver(app, port)
        assert len(server.wait_for(1)) == 1
    assert box.get(mail.id).state == "sent"
