"""Issue 18, the small things that add up, and the share page for people (real app, real git store, real SQLite).

Entry titles are links; a long « À propos de l'entrée » list gets a filter box (no external JS); the
file-type error names the file; ``next=/`` without a stray ``?``; the Markdown syntax only for those who
write Markdown; the share page names people and shows a new link whole with a copy button.
"""

from __future__ import annotations

from io import BytesIO
from urllib.parse import parse_qs, urlsplit

import pytest
from app_support import VALID_FORMS
from factories import add, meeting, when
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from livret.instance.accounts import Accounts
from livret.instance.db import InstanceDB

MARKDOWN_HINT = "Mise en forme Markdown"


def test_sign_in_brings_back_to_the_page_without_a_stray_question_mark(client):
    for url, back in (("/", "/"), ("/tableau-de-bord", "/tableau-de-bord"),
                      ("/tableau-de-bord?tri=nom", "/tableau-de-bord?tri=nom")):
        response = client.get(url)
        assert response.status_code == 302
        assert parse_qs(urlsplit(response.headers["Location"]).query)["next"] == [back]


def test_entry_titles_are_links_to_their_page(app_project, client, auth):
    first = add(app_project, "alice", meeting(title="Entretien de rentrée"))
    fixed = add(app_project, "alice", meeting(title="Entretien corrigé", corrects=first.id))
    auth.login("tina")
    page = client.get("/apprenants/alice/").text
    assert f'<a href="/portfolio/alice/entrees/{fixed.id.lower()}/">Entretien corrigé</a>' in page
    assert f'/entrees/{first.id.lower()}/"' not in page  # the corrected version has no page of its own
    assert "Entretien de rentrée</p>" in page
    assert app_project.store.check() == []


def test_a_long_about_list_gets_a_filter_box(app_project, client, auth):
    auth.login("tina")
    short = client.get("/apprenants/alice/nouvelle/meeting").text
    assert "select-filter.js" in short and 'data-filter="' not in short
    for n in range(13):
        add(app_project, "alice", meeting(title=f"Entretien n° {n}", date=when(f"2026-02-{n + 1:02d}")))
    page = client.get("/apprenants/alice/nouvelle/meeting").text
    assert 'data-filter="Rechercher dans la liste « À propos de l&#39;entrée »"' in page
    assert '<script src="/static/select-filter.js" defer></script>' in page
    assert client.get("/static/select-filter.js").status_code == 200


def upload(auth, name: str, content: bytes):
    data = dict(VALID_FORMS["evidence"], csrf_token=auth.token())
    data["attachments"] = [FileStorage(BytesIO(content), filename=name)]
    boundary, body = encode_multipart(MultiDict([(k, v) for k, vs in data.items()
                                                 for v in (vs if isinstance(vs, list) else [vs])]))
    return auth.client.post("/apprenants/alice/nouvelle/evidence", data=body,
                            content_type=f"multipart/form-data; boundary={boundary}")


def test_the_file_type_error_names_the_file(app_project, auth):
    auth.login("alice")
    before = app_project.store.history.git("rev-parse", "HEAD").stdout
    response = upload(auth, "outil de suivi.exe", b"MZ\x90\x00\x03" + b"\x00" * 100)
    assert response.status_code == 422
    assert "« outil de suivi.exe » : type de fichier non accepté" in response.text
    assert app_project.store.history.git("rev-parse", "HEAD").stdout == before  # nothing written


@pytest.mark.parametrize("user, hint", [("tina", True), ("ada", True), ("alice", False)])
def test_the_markdown_hint_only_for_those_who_write_markdown(client, auth, user, hint):
    auth.login(user)
    page = client.get("/apprenants/alice/nouvelle/evidence" if user == "alice"
                      else "/apprenants/alice/nouvelle/meeting").text
    assert (MARKDOWN_HINT in page) is hint and ("**gras**" in page) is hint
    assert ("laissez une ligne vide entre deux paragraphes" in page) is not hint


def test_company_tutor_sees_no_markdown_syntax(client, auth):
    auth.login("carl")
    page = client.get("/apprenants/alice/nouvelle/company-feedback")
    assert page.status_code == 200 and MARKDOWN_HINT not in page.text


def test_share_page_names_people_and_shows_the_link_whole(app_project, client, auth):
    Accounts(InstanceDB(app_project.instance)).set_profile("tina", "Sophie Bernard", "")
    auth.login("tina")
    response = auth.post("/apprenants/alice/partage", {"label": "Jury", "days": "10"})
    assert response.status_code == 201
    page = response.text
    assert '<textarea id="created-url" readonly rows="3" class="copy-field whole"' in page
    assert 'data-copy="created-url"' in page and "copy-link.js" in page
    assert "par Sophie Bernard" in page and "par tina" not in page
    assert '<table class="stack">' in page and 'data-label="Créé"' in page


@pytest.mark.browser
def test_on_a_phone_the_share_page_fits_and_the_copy_button_copies_the_whole_link(app_project, live_server,
                                                                                   chromium_path):
    """390 px: no sideways scrolling with a link created and listed; « Copier le lien » copies it whole.
    The « À propos de l'entrée » filter box keeps the matching entries only."""
    import re

    from factories import password_of
    from playwright.sync_api import sync_playwright
    from test_app_browser import CHROMIUM_ARGS

    for n in range(13):
        add(app_project, "alice", meeting(title=f"Entretien n° {n}", date=when(f"2026-02-{n + 1:02d}")))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server.url, locale="fr-FR", timezone_id="Europe/Paris",
                                      viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        context.set_default_timeout(30_000)
        page = context.new_page()
        page.goto("/connexion")
        page.get_by_label("Identifiant").fill("tina")
        page.get_by_label("Mot de passe").fill(password_of("tina"))
        page.get_by_role("button", name=re.compile("connecter", re.I)).click()
        page.goto("/apprenants/alice/partage")
        page.get_by_label("Pour qui est ce lien ?").fill("Jury de certification professionnelle")
        page.get_by_role("button", name="Créer le lien").click()
        field = page.locator("#created-url")
        link = field.input_value()
        assert re.fullmatch(re.escape(live_server.url) + r"/s/[A-Za-z0-9_-]{43}/", link)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        box = field.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert field.evaluate("el => el.scrollHeight <= el.clientHeight")  # shown whole: nothing hidden
        button = page.get_by_role("button", name="Copier le lien")
        button.click()
        page.get_by_role("button", name="Copié").wait_for()
        assert page.evaluate("navigator.clipboard.readText()") == link

        page.goto("/apprenants/alice/nouvelle/meeting")
        search = page.get_by_label("Rechercher dans la liste « À propos de l'entrée »")
        search.fill("13 fevrier")  # accents and case ignored
        visible = page.locator("#about option").evaluate_all("os => os.filter(o => !o.hidden).map(o => o.text)")
        assert len(visible) == 2 and "Entretien n° 12" in visible[1], visible  # « — aucune — » stays
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        browser.close()
