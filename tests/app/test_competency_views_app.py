"""The learner page's competencies at a glance (issue 18), in the app: positioning → tutor follow-up →
validated level per competency as chips (label, meter, tone), acquired rows marked; on a 390 px phone
a card per competency and no sideways scrolling (learner page, dashboard); the competency filter of the
entry form hides the competencies and the blocks that do not match."""

from __future__ import annotations

import re

import pytest
from app_support import start_server, stop_server
from factories import add, when
from test_app_browser import CHROMIUM_ARGS, close, sign_in

from livret.views.levels import chip_html, level_mark


def _levels(project):
    """alice: A1 positioned 1, followed up 2 (feedback), assessed 3 (acquired); A2 positioned 2 only."""
    add(project, "alice", {"type": "positioning", "date": when("2026-01-09"), "title": "Positionnement",
                           "competencies": [{"code": "A1", "level": "1"}, {"code": "A2", "level": "2"}]})
    add(project, "alice", {"type": "feedback", "date": when("2026-02-05"), "title": "Retour",
                           "competencies": [{"code": "A1", "level": "2"}]})
    add(project, "alice", {"type": "assessment", "date": when("2026-03-02"), "title": "Évaluation",
                           "competencies": [{"code": "A1", "level": "3"}]})


def test_the_learner_page_shows_the_tutor_follow_up_level_between_positioning_and_assessment(app_project, auth):
    _levels(app_project)
    auth.login("tina")
    html = auth.client.get("/apprenants/alice/").get_data(as_text=True)
    scale = app_project.store.load_learner("alice").framework.scale
    rows = dict(re.findall(r'<span class="code">(\w+)</span>.*?</th>(.*?)</tr>', html, re.S))
    chips = {code: re.findall(r'<td data-label="[^"]+">(.*?)</td>', row, re.S) for code, row in rows.items()}
    # Positionnement, → Suivi du tuteur, → Niveau validé, Auto-évaluation, Entreprise, Preuves
    assert chips["A1"][:3] == [chip_html(level_mark(scale, v)) for v in ("1", "2", "3")]
    assert chips["A2"][:3] == [chip_html(level_mark(scale, v)) for v in ("2", None, None)]
    assert 'data-label="→ Suivi du tuteur"' in html and "lvl-meter" in html
    acquired = re.findall(r'<tr class="(acquired|not-acquired)">\s*<th scope="row"><span class="code">(\w+)', html)
    assert dict((code, cls) for cls, code in acquired) == {"A1": "acquired", "A2": "not-acquired",
                                                          "B1": "not-acquired", "B2": "not-acquired"}
    assert app_project.store.check() == []


@pytest.mark.browser
def test_on_a_phone_the_matrix_is_a_card_list_and_the_filter_hides_what_does_not_match(
        app_project, tmp_path, chromium_path, artifacts_dir):
    from playwright.sync_api import sync_playwright

    _levels(app_project)
    server = start_server(app_project.root, tmp_path / "serve.log")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
            for width, phone in ((390, True), (1366, False)):
                context = browser.new_context(base_url=server.url, locale="fr-FR", is_mobile=phone,
                                              viewport={"width": width, "height": 844})
                context.set_default_timeout(20_000)
                page = context.new_page()
                page.console_errors = []
                page.on("console", lambda msg, page=page: msg.type == "error" and page.console_errors.append(msg.text))
                sign_in(page, "tina")
                for url in ("/", "/apprenants/alice/"):
                    page.goto(url)
                    assert page.evaluate("document.documentElement.scrollWidth") == width, url
                row = page.locator("table.level-matrix tbody tr").first
                assert row.evaluate("r => getComputedStyle(r).display") == ("grid" if phone else "table-row")
                head = page.locator("table.level-matrix thead").evaluate("t => t.getBoundingClientRect().height")
                assert (head <= 1) is phone  # on a phone, each cell names itself instead (its data-label)
                label = row.locator("td").first.evaluate("c => getComputedStyle(c, '::before').content")
                assert (label == '"Positionnement"') is phone
                page.locator("#competences").scroll_into_view_if_needed()
                name = "phone" if phone else "desktop"
                page.locator("section:has(#competences)").screenshot(
                    path=str(artifacts_dir / f"competency-views-learner-{name}.png"))
                if phone:
                    page.goto("/apprenants/alice/nouvelle/meeting")
                    assert page.locator(".competency-row:visible").count() == 4
                    page.get_by_label("Filtrer les compétences").fill("entretien")
                    assert page.locator(".competency-row:visible .competency-label").all_inner_texts() == [
                        "B1 Conduire un entretien de suivi"]
                    assert page.locator(".competency-block:visible").count() == 1
                    page.get_by_label("Filtrer les compétences").fill("")
                    assert page.locator(".competency-block:visible").count() == 2
                close(page)
            browser.close()
    finally:
        stop_server(server)
