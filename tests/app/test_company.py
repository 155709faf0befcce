"""The company tutor's link, device session and workspace (forms_app.company), with the issue's rules.

A link gives exactly one person access to exactly their learners' shared
view and forms: another learner, a staff page, a staff entry, an expired,
revoked or used link, a link forwarded after use; a revoked device gets
410.  GET and HEAD never use a link.  Real app, real git store, real
instance database and outbox.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html as htmllib
import logging
import re
import sqlite3
import subprocess

import pytest
from app_support import VALID_FORMS, csrf_from
from factories import add, when

from livret.instance.onetime import OneTimeLinks
from livret.mail.outbox import Outbox
from livret.publish.build import build_learner, site_dir

LINK = re.compile(r"http://localhost/lien/([A-Za-z0-9_-]{43})")
JEAN = {"name": "Jean Dupont", "email": "jean.dupont@garage.example"}


def text(response) -> str:
    """The page's text, HTML entities decoded (French apostrophes)."""
    return htmllib.unescape(response.get_data(as_text=True))


def head(project) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=project.portfolios, capture_output=True, text=True,
                          check=True).stdout.strip()


def outbox(app) -> Outbox:
    return Outbox(app.extensions["livret"].accounts.db)


def last_token(app) -> str:
    mails = [m for m in outbox(app).list() if m.kind == "company-link"]
    assert mails, "no company link in the outbox"
    return LINK.search(max(mails, key=lambda m: m.id).text).group(1)


def invite(auth, learner="alice", **data):
    return auth.post(f"/apprenants/{learner}/entreprise", data or JEAN)


def open_link(device, token):
    """What the company tutor does: open the mail's link, press the button."""
    page = device.get(f"/lien/{token}")
    if page.status_code != 200:
        return page
    return device.post(f"/lien/{token}", data={"csrf_token": csrf_from(page.text)})


def page_token(device, url) -> str:
    return csrf_from(device.get(url).text)


@pytest.fixture
def jean(app, auth):
    """Tina invited Jean Dupont for alice: (token of the mailed link)."""
    auth.login("tina")
    response = invite(auth)
    assert response.status_code == 302, response.text[:2000]
    return last_token(app)


@pytest.fixture
def device(app, jean):
    """Jean's phone, after pressing the link's button."""
    phone = app.test_client()
    answer = open_link(phone, jean)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/entreprise/")
    return phone


def test_tutor_invites_and_the_mail_waits_in_the_outbox(app, app_project, client, auth):
    auth.login("tina")
    page = client.get("/apprenants/alice/")
    assert "/apprenants/alice/entreprise" in text(page)
    form = client.get("/apprenants/alice/entreprise")
    assert form.status_code == 200 and "Entreprise Dupont" in text(form) and 'name="email"' in text(form)
    before = head(app_project)
    answer = invite(auth)
    assert answer.status_code == 302
    assert "Lien envoyé par courriel à Jean Dupont" in text(client.get(answer.headers["Location"]))
    [mail] = outbox(app).list()
    assert (mail.kind, mail.recipient) == ("company-link", "jean.dupont@garage.example")
    assert "Alice" not in mail.subject
    assert head(app_project) != before  # the assignment: one commit by tina
    assert subprocess.run(["git", "log", "-1", "--format=%an"], cwd=app_project.portfolios, capture_output=True,
                          text=True).stdout.strip() == "tina"
    assert "jean.dupont" in app_project.store.profile("alice").company_tutors
    assert app_project.store.check() == []
    # the known company tutor is listed, with a button to send a new link
    listed = text(client.get("/apprenants/alice/entreprise"))
    assert "Jean Dupont" in listed and "Renvoyer un lien" in listed and "Retirer l'accès" in listed
    again = auth.post("/apprenants/alice/entreprise", {"renvoi-username": "jean.dupont"})
    assert again.status_code == 302 and len(outbox(app).list()) == 2


def test_invite_bad_input_is_named_and_writes_nothing(app, app_project, client, auth):
    auth.login("tina")
    before = head(app_project)
    answer = invite(auth, name="", email="jean@")
    assert answer.status_code == 422
    assert 'id="name-error"' in text(answer) and 'id="email-error"' in text(answer)
    assert "jean@" in text(answer) and outbox(app).list() == []
    auth.login("tom")
    answer = invite(auth, "bob", **JEAN)
    assert answer.status_code == 422 and "Bob Test n'a pas d'entreprise" in text(answer)
    assert head(app_project) == before and outbox(app).list() == []


@pytest.mark.parametrize("who, learner", [("tom", "alice"), ("alice", "alice"), ("carl", "alice"),
                                          ("audra", "alice")])
def test_only_an_assigned_tutor_or_an_admin_invites(who, learner, app, app_project, client, auth):
    auth.login(who)
    before = head(app_project)
    assert client.get(f"/apprenants/{learner}/entreprise").status_code == 403
    assert invite(auth, learner).status_code == 403
    assert auth.post(f"/apprenants/{learner}/entreprise/retirer", {"retrait-username": "carl"}).status_code == 403
    assert head(app_project) == before and outbox(app).list() == []


def test_admin_invites_and_anonymous_is_sent_to_sign_in(app, client, auth):
    assert client.get("/apprenants/alice/entreprise").status_code == 302
    auth.login("ada")
    assert client.get("/apprenants/alice/entreprise").status_code == 200
    assert invite(auth).status_code == 302


def test_scanner_get_and_head_never_use_the_link(app, jean, caplog):
    scanner = app.test_client()  # no cookies, as a mail gateway
    page = scanner.get(f"/lien/{jean}")
    assert page.status_code == 200
    assert "Espace entreprise — OF de test" in text(page) and "Jean Dupont" in text(page)
    assert "Alice Test" in text(page) and "Ouvrir l'espace entreprise" in text(page)
    assert page.headers["X-Robots-Tag"].startswith("noindex")
    assert scanner.head(f"/lien/{jean}").status_code == 200
    assert scanner.get(f"/lien/{jean}").status_code == 200
    assert OneTimeLinks(app.extensions["livret"].accounts.db).peek(jean, "company") is not None
    # the company tutor still opens it afterwards, on their phone
    phone = app.test_client()
    with caplog.at_level(logging.INFO):
        answer = open_link(phone, jean)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/entreprise/")
    assert "lien entreprise utilisé : jean.dupont" in caplog.text
    assert jean not in caplog.text  # never a token in a log line


def test_the_button_opens_a_30_day_mail_link_session(app, jean):
    phone = app.test_client()
    page = phone.get(f"/lien/{jean}")
    answer = phone.post(f"/lien/{jean}", data={"csrf_token": csrf_from(page.text)})
    cookie = answer.headers["Set-Cookie"]
    expires = email.utils.parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))
    left = expires - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=29, hours=23) < left <= dt.timedelta(days=30)
    home = phone.get("/entreprise/")
    assert home.status_code == 200 and "Alice Test" in text(home) and "Remplir la grille d'observation" in text(home)
    # the cookie stays 30 days on later requests too (not the 12 h of a password session)
    later = phone.get("/entreprise/").headers.get("Set-Cookie", cookie)
    expires_later = email.utils.parsedate_to_datetime(re.search(r"Expires=([^;]+)", later).group(1))
    assert abs(expires_later - expires) < dt.timedelta(minutes=1)
    conn = sqlite3.connect(app.extensions["livret"].accounts.db.path)
    try:
        rows = conn.execute("SELECT method FROM sessions WHERE username = 'jean.dupont'").fetchall()
    finally:
        conn.close()
    assert rows == [("mail-link",)]


def test_a_password_session_keeps_its_12_hours(client, auth):
    answer = auth.login("tina")
    expires = email.utils.parsedate_to_datetime(re.search(r"Expires=([^;]+)", answer.headers["Set-Cookie"]).group(1))
    assert expires - dt.datetime.now(dt.UTC) < dt.timedelta(hours=12, minutes=1)


def test_the_link_gives_exactly_their_learners_shared_view_and_forms(app, app_project, device):
    alert = add(app_project, "alice", {"type": "alert", "date": when("2026-03-01"), "title": "Situation personnelle",
                                       "category": "personnelle", "severity": "haute"}, "Confidentiel.").id
    bob_meeting = add(app_project, "bob", {"type": "meeting", "date": when("2026-02-02"), "title": "Entretien de Bob",
                                           "kind": "suivi", "modality": "presentiel", "duration": 30},
                      author="tom").id
    before = head(app_project)
    assert device.get("/apprenants/alice/").status_code == 200
    assert "Situation personnelle" not in text(device.get("/apprenants/alice/"))
    for url in ("/apprenants/alice/nouvelle/observation", "/apprenants/alice/nouvelle/company-feedback"):
        assert device.get(url).status_code == 200
    for url in ("/apprenants/bob/", "/portfolio/bob/", "/apprenants/bob/nouvelle/observation",
                "/apprenants/alice/entreprise", "/admin/", "/admin/comptes/", "/rapport-qualiopi",
                "/apprenants/alice/nouvelle/meeting", "/compte/jetons"):
        status = device.get(url).status_code
        assert status in (403, 404), (url, status)
        assert status == 403 or url == "/rapport-qualiopi", (url, status)
    assert device.get(f"/apprenants/alice/corriger/{alert}").status_code == 404  # a staff entry: unknown
    assert device.get(f"/apprenants/bob/corriger/{bob_meeting}").status_code == 403
    token = page_token(device, "/entreprise/")
    posted = device.post("/apprenants/bob/nouvelle/observation",
                         data={**VALID_FORMS["observation"], "csrf_token": token})
    assert posted.status_code == 403 and head(app_project) == before
    home = text(device.get("/entreprise/"))
    assert "Alice Test" in home and "Bob" not in home


def test_a_used_link_forwarded_to_another_browser_opens_nothing(app, device, jean):
    other = app.test_client()
    page = other.get(f"/lien/{jean}")
    assert page.status_code == 404 and "Ce lien n'est pas valable" in text(page)
    assert 'action="/entreprise/nouveau-lien"' in text(page)  # with the form to ask for a new link
    assert other.post(f"/lien/{jean}", data={"csrf_token": csrf_from(page.text)}).status_code == 404
    assert other.get("/entreprise/").status_code == 302  # anonymous: asked for a new link
    assert device.get("/entreprise/").status_code == 200  # the first device goes on


def test_an_expired_link_opens_nothing(app, jean):
    db = app.extensions["livret"].accounts.db
    with db.transaction() as conn:
        conn.execute("UPDATE onetime_links SET expires = ? WHERE purpose = 'company'",
                     ((dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat(),))
    phone = app.test_client()
    assert phone.get(f"/lien/{jean}").status_code == 404
    assert open_link(phone, jean).status_code == 404
    assert phone.get("/entreprise/").status_code == 302


def test_a_disabled_account_link_opens_nothing(app, jean):
    app.extensions["livret"].accounts.set_disabled("jean.dupont")
    assert open_link(app.test_client(), jean).status_code == 404


def test_revocation_kills_links_and_answers_410_on_the_device(app, app_project, client, auth, device, caplog):
    auth.post("/apprenants/alice/entreprise", {"renvoi-username": "jean.dupont"})  # a second link, unused
    unused = last_token(app)
    before = head(app_project)
    with caplog.at_level(logging.INFO):
        answer = auth.post("/apprenants/alice/entreprise/retirer", {"retrait-username": "jean.dupont"})
    assert answer.status_code == 302 and "Accès retiré à Jean Dupont" in text(client.get(answer.headers["Location"]))
    assert "accès entreprise retiré : jean.dupont" in caplog.text and unused not in caplog.text
    assert head(app_project) == before  # nothing in the store changes
    gone = device.get("/entreprise/")
    assert gone.status_code == 410 and "L'organisme a retiré cet accès" in text(gone)
    assert 'action="/entreprise/nouveau-lien"' in text(gone)
    assert device.get("/apprenants/alice/").status_code == 410
    assert device.get("/apprenants/alice/").status_code == 410  # not once: as long as the session would have lasted
    assert device.get("/entreprise/nouveau-lien").status_code == 200  # may still ask for a new link
    assert open_link(app.test_client(), unused).status_code == 404
    # an unknown or ended session is simply anonymous (no 410)
    stranger = app.test_client()
    stranger.set_cookie("livret_session", "nonsense")
    assert stranger.get("/entreprise/").status_code == 302
    # a new link, pressed on the revoked device, opens a new session there
    auth.post("/apprenants/alice/entreprise", {"renvoi-username": "jean.dupont"})
    assert open_link(device, last_token(app)).status_code == 302
    assert device.get("/entreprise/").status_code == 200


def test_revoke_only_a_company_tutor_of_this_learner(app, auth, jean):
    assert auth.post("/apprenants/alice/entreprise/retirer", {"retrait-username": "tina"}).status_code == 404
    assert auth.post("/apprenants/alice/entreprise/retirer", {"retrait-username": "nobody"}).status_code == 404


def test_asking_for_a_new_link_gives_the_same_answer_whatever_the_address(app, jean):
    phone = app.test_client()
    answers = []
    for address in ("jean.dupont@garage.example", "inconnu@example.org", "pas une adresse"):
        token = page_token(phone, "/entreprise/nouveau-lien")
        answer = phone.post("/entreprise/nouveau-lien", data={"email": address, "csrf_token": token})
        answers.append((answer.status_code, re.sub(r'content="[^"]+"|value="[^"]*"', "", text(answer))))
    assert len({a for a in answers}) == 1 and answers[0][0] == 200
    assert "un nouveau lien vient d'y être envoyé" in answers[0][1]
    mails = [m.recipient for m in outbox(app).list()]
    assert mails == ["jean.dupont@garage.example", "jean.dupont@garage.example"]
    fresh = last_token(app)
    assert fresh != jean and open_link(phone, fresh).status_code == 302


def test_the_new_link_form_needs_its_csrf_token(app):
    assert app.test_client().post("/entreprise/nouveau-lien", data={"email": "x@y.example"}).status_code == 400


def test_other_roles_get_403_on_the_workspace(client, auth):
    for who in ("tina", "alice", "ada"):
        auth.login(who)
        assert client.get("/entreprise/").status_code == 403
    auth.login("carl")  # a company tutor with a password sees it too
    assert client.get("/entreprise/").status_code == 200


# ---------------------------------------------------------------- the observation grid


def test_observation_grid_with_one_non_vu_is_written_and_shown(app, app_project, device):
    form = device.get("/apprenants/alice/nouvelle/observation")
    html = text(form)
    # one line per competency of the framework
    assert html.count('<option value="non-vu">Non vu en entreprise</option>') == 4
    assert 'name="competencies-3-level"' in html and "— (pas dans cette grille)" in html
    start = re.search(r'id="period_start" name="period_start"[^>]* value="([^"]+)"', html).group(1)
    end = re.search(r'id="period_end" name="period_end"[^>]* value="([^"]+)"', html).group(1)
    today = dt.date.today()
    assert dt.date.fromisoformat(end) == today.replace(day=1) - dt.timedelta(days=1)  # last month
    assert dt.date.fromisoformat(start).day == 1
    answer = device.post("/apprenants/alice/nouvelle/observation", data={
        "title": "Grille d'octobre", "date": "2026-11-02T10:00", "period_start": "2026-10-01",
        "period_end": "2026-10-31", "competencies-0-level": "3", "competencies-1-level": "non-vu",
        "csrf_token": csrf_from(html)})
    assert answer.status_code == 302, text(answer)[:3000]
    [entry] = [e for e in app_project.store.load_learner("alice").entries if e.type == "observation"]
    assert [(c.code, c.level) for c in entry.meta.competencies] == [("A1", "3")]
    assert entry.meta.not_observed == ["A2"]
    assert (entry.meta.author, entry.meta.role) == ("jean.dupont", "company")
    assert subprocess.run(["git", "log", "-1", "--format=%an"], cwd=app_project.portfolios, capture_output=True,
                          text=True).stdout.strip() == "jean.dupont"
    assert app_project.store.check() == []
    # the built site shows the grid as a table: competency, level or « Non vu en entreprise »
    assert build_learner(app_project, "alice").ok
    for audience in ("shared", "staff"):
        pages = [p for p in (site_dir(app_project, audience, "alice") / "entrees").rglob("*.html")
                 if entry.id.lower() in p.as_posix()]
        assert pages, audience
        built = pages[0].read_text(encoding="utf-8")
        table = re.search(r'<h2 id="grille-dobservation".*?</table>', built, re.S).group(0)
        assert "A1" in table and "Maîtrisé" in table and "A2" in table and "Non vu en entreprise" in table
        assert "B1" not in table
    # the observed level reaches the competency matrix (informative: « acquise » only comes from an assessment)
    learner = text(device.get("/apprenants/alice/"))
    assert "Grille d'octobre" in learner and "A1 — non vu en entreprise : A2" in learner


def test_bad_grid_input_is_named_and_writes_nothing(app, app_project, device):
    before = head(app_project)
    token = page_token(device, "/apprenants/alice/nouvelle/observation")
    base = {"title": "Grille", "date": "2026-11-02T10:00", "period_start": "2026-10-01", "period_end": "2026-10-31",
            "csrf_token": token}
    empty = device.post("/apprenants/alice/nouvelle/observation", data=base)
    assert empty.status_code == 422 and "La grille porte sur au moins une compétence" in text(empty)
    assert 'id="competencies-error"' in text(empty)
    off_scale = device.post("/apprenants/alice/nouvelle/observation", data={**base, "competencies-3-level": "9",
                                                                           "competencies-0-level": "non-vu"})
    assert off_scale.status_code == 422
    assert "B2 : Niveau hors de l'échelle : 9" in text(off_scale) and 'id="comp-3-error"' in text(off_scale)
    assert re.search(r'<option value="non-vu" selected>', text(off_scale))  # what was chosen is kept
    backwards = device.post("/apprenants/alice/nouvelle/observation", data={
        **base, "period_start": "2026-10-31", "period_end": "2026-10-01", "competencies-0-level": "2"})
    assert backwards.status_code == 422 and "La fin de la période précède son début" in text(backwards)
    assert head(app_project) == before


def test_not_observed_codes_are_checked_against_the_framework(app_project):
    from livret.store.errors import InvalidInput

    with pytest.raises(InvalidInput) as exc:
        add(app_project, "alice", {"type": "observation", "date": when("2026-11-02"), "title": "Grille",
                                   "period_start": "2026-10-01", "period_end": "2026-10-31",
                                   "not_observed": ["A1", "Z9"]}, author="carl", role="company")
    [error] = exc.value.errors
    assert error.loc == ("not_observed", 1) and "Z9" in error.message and "mini" in error.message


# ---------------------------------------------------------------- what waits for their signature


def test_the_workspace_lists_what_to_sign_and_the_signature_says_mail_link(app, app_project, device):
    from livret.store.yamlio import dump_yaml, load_yaml

    path = app_project.portfolios / "_organisation.yml"
    settings = load_yaml(path.read_text(encoding="utf-8")).data
    settings["signoff"] = {"rules": [{"type": "meeting", "kind": "visite-entreprise", "by": ["company", "learner"]}]}
    path.write_text(dump_yaml(settings), encoding="utf-8")
    visit = add(app_project, "alice", {"type": "meeting", "date": when("2026-11-10"), "title": "Visite en entreprise",
                                       "kind": "visite-entreprise", "modality": "presentiel", "duration": 60})
    home = device.get("/entreprise/")
    assert home.status_code == 200 and "Visite en entreprise" in text(home)
    answer = device.post(f"/apprenants/alice/entrees/{visit.id}/signer",
                         data={"comment": "Conforme.", "csrf_token": csrf_from(home.get_data(as_text=True)),
                               "next": "/entreprise/"})
    assert answer.status_code in (302, 303) and answer.headers["Location"].endswith("/entreprise/")
    [signature] = [e for e in app_project.store.load_learner("alice").entries if e.type == "signature"]
    assert (signature.meta.about, signature.meta.author, signature.meta.method) == (visit.id, "jean.dupont",
                                                                                     "mail-link")
    assert signature.meta.signer_name == "Jean Dupont"
    assert "Visite en entreprise" not in text(device.get("/entreprise/")).split("À signer", 1)[1]
