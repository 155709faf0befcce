"""French in the app's pages (issue 18, part 3): ngettext by the French plural rule, numbers with a decimal
comma in every page that shows hours or sizes, and menus that offer each role only what it can use."""

from __future__ import annotations

import html
import re

import pytest
from app_support import USERS
from factories import add, when
from flask import render_template_string

from forms_app.french import ngettext
from livret.store.schema import Group
from livret.store.writer import GroupChange

#: A number with a decimal point (« 31.5 h », « 11.4 Mo »): never in a French page's text.
DECIMAL_POINT = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])")
NAV = re.compile(r'<nav aria-label="Menu principal">(.*?)</nav>', re.S)


def visible_text(page: str) -> str:
    """The text a reader sees: no scripts, styles or tags (attribute values such as ``step="0.5"`` are markup)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_ngettext_follows_the_french_plural_rule_in_python_and_in_templates(app):
    with app.test_request_context():
        assert [ngettext("%(num)d compte", "%(num)d comptes", n) for n in (0, 1, 2)] == \
            ["0 compte", "1 compte", "2 comptes"]
        assert ngettext("%(num)d ligne sur %(total)d", "%(num)d lignes sur %(total)d", 3, total=4) == \
            "3 lignes sur 4"
        source = '{{ ngettext("%(num)d séance", "%(num)d séances", n) }}'
        assert [render_template_string(source, n=n) for n in (0, 1, 5)] == ["0 séance", "1 séance", "5 séances"]
        assert render_template_string("{{ 31.5|hours }} · {{ 11958682|filesize }} · {{ 1234.5|number }}") == \
            "31,5\u00a0h · 11,4\u00a0Mo · 1\u202f234,5"


@pytest.fixture
def decimals(app_project):
    """A group planned at 31.5 h a week and a learner who attended 31.5 h of 35: decimals in several pages."""
    app_project.store.write_changes([], [GroupChange(
        Group(id="promo", name="Promo 2026", weekly_hours=31.5, members=["alice", "bob"]), None)],
        author="ada", message="groupe")
    add(app_project, "alice", {"type": "attendance", "date": when("2026-03-28"), "title": "Assiduité de mars",
                               "period_start": "2026-03-01", "period_end": "2026-03-28", "hours_planned": 35,
                               "hours_attended": 31.5}, author="tina")
    return app_project


def test_no_page_shows_a_number_with_a_decimal_point(decimals, client, auth):
    pages = {
        "ada": ["/admin/groupes/promo/", "/admin/groupes/promo/assiduite?debut=2026-03-02&fin=2026-03-06",
                "/admin/courriels/", "/apprenants/alice/", "/apprenants/alice/assiduite", "/tableau-de-bord"],
        "tina": ["/apprenants/alice/", "/apprenants/alice/assiduite", "/seances/", "/tableau-de-bord"],
        "alice": ["/apprenants/alice/", "/apprenants/alice/assiduite", "/mes-seances"],
    }
    checked = []
    for user, urls in pages.items():
        auth.login(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (user, url, response.status_code)
            text = visible_text(response.text)
            assert DECIMAL_POINT.findall(text) == [], (user, url)
            checked.append(text)
    # The decimals are there, the French way: the test would see a « 31.5 ».
    assert any("31,5" in text for text in checked)
    assert "31,5" in visible_text(client.get("/apprenants/alice/assiduite").text) or \
        any("31,5\u00a0h" in t or "31,5 h" in t for t in checked)
    auth.login("ada")
    assert "31,5" in visible_text(client.get("/admin/groupes/promo/").text)


def test_the_detector_sees_a_decimal_point_in_a_page():
    assert DECIMAL_POINT.findall(visible_text('<p>Heures : <b>31.5 h</b></p><input step="0.5">')) == ["31.5"]


@pytest.mark.parametrize("user", sorted(USERS))
def test_each_menu_offers_only_what_the_role_can_use(app_project, client, auth, user):
    auth.login(user)
    page = client.get("/tableau-de-bord", follow_redirects=True)
    nav = NAV.search(page.text).group(1)
    links = re.findall(r'<a href="([^"]+)"', nav)
    assert links, user
    for href in links:
        assert client.get(html.unescape(href), follow_redirects=True).status_code == 200, (user, href)
    in_menu = "Jetons d" in nav
    assert in_menu == (USERS[user] in ("admin", "tutor")), user
    # Everyone who may hold a token still reaches the page, from « Sécurité du compte ».
    security = client.get("/compte/securite")
    assert security.status_code == 200 and 'href="/compte/jetons"' in security.text
    assert client.get("/compte/jetons").status_code == 200
