"""The calendar feed pages (forms_app/feeds.py): a secret URL per person, regenerated at will, what each
role's feed holds, conditional requests, and the « Mes courriels » page."""

from __future__ import annotations

import re

import pytest
from feeds_support import at, events_of, parse_both, plan

from livret.mail.preferences import MailPreferences, user_subject

FEED = re.compile(r"https?://[^\s<>\"']*/agenda/([A-Za-z0-9_-]{43})\.ics")


def subscribe(auth, client) -> str:
    """Create (or regenerate) the signed-in person's feed URL; its path."""
    page = auth.post("/agenda/abonnement")
    assert page.status_code == 200, page.status_code
    match = FEED.search(page.text)
    assert match, "no feed URL in the page"
    return f"/agenda/{match.group(1)}.ics"


def uids(client, path) -> set[str]:
    answer = client.get(path)
    assert answer.status_code == 200
    return {str(e["UID"]).split("@")[0] for e in events_of(parse_both(answer.data)[0])}


@pytest.fixture
def plans(app_project):
    return {"alice": plan(app_project, "alice", at("2026-03-10", 14), now=at("2026-03-01")),
            "visit": plan(app_project, "alice", at("2026-03-11", 14), now=at("2026-03-01"), kind="visite-entreprise",
                          with_company=True, with_learner=False),
            "bob": plan(app_project, "bob", at("2026-03-12", 14), now=at("2026-03-01"), author="tom")}


def test_a_secret_url_per_person_that_regenerating_kills_at_once(app, client, auth, plans):
    auth.login("tina")
    page = client.get("/agenda/abonnement")
    assert page.status_code == 200 and "Créer mon adresse d'abonnement" in page.text and "Thunderbird" in page.text
    path = subscribe(auth, client)
    assert path not in client.get("/agenda/abonnement").text  # shown once: only its hash is kept
    answer = client.get(path)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert answer.headers["Cache-Control"].startswith("private")
    assert uids(client, path) == {plans["alice"].id, plans["visit"].id}
    new_path = subscribe(auth, client)
    assert new_path != path
    assert client.get(path).status_code == 404
    assert client.get(new_path).status_code == 200
    auth.logout()
    assert client.get(new_path).status_code == 200  # a calendar application has no session


def test_each_token_shows_its_owner_s_learners_only(app, client, auth, plans):
    paths = {}
    for username in ("tina", "tom", "alice", "carl", "ada"):
        auth.login(username)
        paths[username] = subscribe(auth, client)
    auth.logout()
    assert uids(client, paths["tina"]) == {plans["alice"].id, plans["visit"].id}
    assert uids(client, paths["tom"]) == {plans["bob"].id}
    assert uids(client, paths["alice"]) == {plans["alice"].id}  # not the visit without her
    assert uids(client, paths["carl"]) == {plans["visit"].id}
    assert uids(client, paths["ada"]) == {p.id for p in plans.values()}
    assert "Bob" not in client.get(paths["tina"]).text and "Alice" not in client.get(paths["tom"]).text


def test_an_unchanged_feed_answers_304_to_its_etag(app, client, auth, plans, app_project):
    auth.login("tina")
    path = subscribe(auth, client)
    first = client.get(path)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and first.data
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    plan(app_project, "alice", at("2026-03-20", 9), now=at("2026-03-02"))
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_a_disabled_account_s_feed_is_404_and_odd_tokens_too(app, client, auth, plans):
    auth.login("tina")
    path = subscribe(auth, client)
    auth.logout()
    app.extensions["livret"].accounts.set_disabled("tina")
    assert client.get(path).status_code == 404
    app.extensions["livret"].accounts.set_disabled("tina", False)
    assert client.get(path).status_code == 200
    for odd in ("x", "A" * 43, "%2e%2e", "A" * 200):
        assert client.get(f"/agenda/{odd}.ics").status_code == 404


def test_who_may_open_the_subscription_page(client, auth):
    assert client.get("/agenda/abonnement").status_code == 302  # signed out: to the sign-in page
    for username, allowed in (("tina", True), ("ada", True), ("alice", True), ("carl", True), ("audra", False)):
        auth.login(username)
        assert client.get("/agenda/abonnement").status_code == (200 if allowed else 403), username
        assert auth.post("/agenda/abonnement").status_code == (200 if allowed else 403), username
    auth.login("tina")
    assert client.post("/agenda/abonnement", data={}).status_code == 400  # no CSRF token: nothing issued


def test_mes_courriels_page_records_each_choice(app, app_project, client, auth):
    prefs = MailPreferences.for_project(app_project)
    auth.login("tina")
    page = client.get("/compte/courriels")
    assert page.status_code == 200 and "Récapitulatif hebdomadaire" in page.text
    assert "Suivis en retard signalés aux administrateurs" not in page.text  # an admin's kind
    answer = auth.post("/compte/courriels", {"kinds": ["digest", "signoff-reminder"]})
    assert answer.status_code == 302
    assert not prefs.wants(user_subject("tina"), "reminder") and prefs.wants(user_subject("tina"), "digest")
    assert 'value="reminder">' in client.get("/compte/courriels").text  # unchecked now
    assert client.post("/compte/courriels", data={"kinds": []}).status_code == 400  # without CSRF: refused
    assert prefs.wants(user_subject("tina"), "digest")
    auth.post("/compte/courriels", {"kinds": ["reminder", "digest", "signoff-reminder"]})
    assert prefs.refused(user_subject("tina")) == set()


@pytest.mark.browser
def test_the_subscription_page_on_a_phone_shows_the_url_without_sideways_scroll(live_server, chromium_path,
                                                                                artifacts_dir):
    """Chromium at 375 px: the learner creates their feed URL (no JavaScript needed), it wraps inside the
    page, and the URL it shows answers a calendar."""
    from factories import password_of
    from playwright.sync_api import sync_playwright
    from test_app_browser import CHROMIUM_ARGS, close

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server.url, locale="fr-FR", java_script_enabled=False,
                                      viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
        page.goto("/connexion")
        page.get_by_label("Identifiant").fill("alice")
        page.get_by_label("Mot de passe").fill(password_of("alice"))
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(lambda url: "/connexion" not in url)
        page.get_by_role("link", name="Mon agenda").click()
        page.get_by_role("button", name="Créer mon adresse d'abonnement").click()
        url = page.locator("#adresse-agenda").inner_text()
        assert FEED.fullmatch(url), url
        width, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= viewport, f"{width} px wide for {viewport}"
        path = artifacts_dir / "agenda-abonnement-phone.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        feed = context.request.get(url)
        assert feed.status == 200 and feed.headers["content-type"] == "text/calendar; charset=utf-8"
        close(page)
        browser.close()
