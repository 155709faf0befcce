"""A demo portfolio in Debian's Chromium, served over loopback HTTP: search, filter, screenshot.

Every request the page makes is recorded: anything that is not the local
server fails the test (the site must work with the network cut), and so does
any console error (a Content-Security-Policy violation shows up there).
"""

from __future__ import annotations

import functools
import http.server
import re
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from buildkit import DEMO_TODAY, demo_or_skip  # noqa: E402

from livret.publish.build import build_learner, build_offline  # noqa: E402
from livret.views import progress as pv  # noqa: E402

pytestmark = pytest.mark.browser

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
TODAY = DEMO_TODAY


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The demo learner with the most entries, built, and an HTTP server on 127.0.0.1 over build/."""
    project = demo_or_skip(tmp_path_factory.mktemp("browser") / "demo")
    ids = project.store.learner_ids()
    learner = max(ids, key=lambda lid: len(project.store.entry_paths(lid)))
    report = build_learner(project, learner, today=TODAY)
    assert report.built, report
    handler = functools.partial(_Quiet, directory=str(project.build_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield project, learner, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def page(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
        outside: list[str] = []

        def guard(route):
            url = route.request.url
            if url.startswith(("http://127.0.0.1", "file://", "data:", "blob:", "about:")):
                route.continue_()
            else:
                outside.append(url)
                route.abort()

        context.route("**/*", guard)
        tab = context.new_page()
        errors: list[str] = []
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: errors.append(str(e)))
        yield tab
        browser.close()
    assert outside == [], f"requests outside the site: {outside}"
    assert errors == [], f"console errors: {errors}"


def _search(page, word: str) -> None:
    """Type in Material's search box once its index is loaded (earlier keystrokes are not searched)."""
    page.locator("label.md-search__icon, .md-search__input").first.click()
    page.locator(".md-search-result__meta", has_text="Taper pour démarrer").wait_for(timeout=15000)
    page.locator("input.md-search__input").press_sequentially(word, delay=40)


def _search_word(record) -> tuple[str, str]:
    """A word found in exactly one shared entry's title, and that entry's id."""
    entries = pv.effective(pv.for_audience(record.entries, "shared"))
    words = Counter(w.lower() for e in entries for w in set(re.findall(r"[A-Za-zÀ-ÿ]{7,}", e.meta.title)))
    for e in entries:
        for word in re.findall(r"[A-Za-zÀ-ÿ]{7,}", e.meta.title):
            if words[word.lower()] == 1:
                return word, e.id
    pytest.skip("no distinctive word in the demo's entry titles")


def test_search_finds_an_entry_and_the_matrix_is_captured(served, page, artifacts_dir):
    project, learner, base = served
    record = project.store.load_learner(learner)
    word, entry_id = _search_word(record)

    page.goto(f"{base}/shared/{learner}/")
    assert record.profile.name in page.locator("article").inner_text()
    _search(page, word)
    result = page.locator(f".md-search-result__item a[href*='entrees/{entry_id.lower()}']").first
    result.wait_for(state="visible", timeout=15000)
    result.click()
    page.wait_for_url(re.compile(f"entrees/{entry_id.lower()}/"))
    title = record.entry(entry_id).meta.title
    assert " ".join(title.split()) in " ".join(page.locator("article h1").inner_text().split())

    page.goto(f"{base}/staff/{learner}/competences/")
    assert page.locator("article table").count() == len(record.framework.blocks)
    shot = artifacts_dir / "matrice-des-competences.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\ncapture de la matrice des compétences : {shot}")
    assert shot.stat().st_size > 10_000


def test_timeline_filter_shows_one_type(served, page):
    project, learner, base = served
    record = project.store.load_learner(learner)
    entries = [e for e in pv.effective(record.entries) if e.type != "signature"]  # signatures: under their entry
    kind = Counter(e.type for e in entries).most_common()[-1][0]  # the rarest type
    page.goto(f"{base}/staff/{learner}/chronologie/")
    everything = page.locator("#tout li")
    assert everything.count() == len(entries)
    page.click(f"a[href='#type-{kind}']")
    visible = page.locator(f"#type-{kind} li")
    assert visible.count() == sum(e.type == kind for e in entries)
    assert visible.first.is_visible()
    assert not everything.first.is_visible()
    page.click(f"#type-{kind} a[href='#tout']")
    assert everything.first.is_visible()


def test_offline_copy_searches_from_the_file_system(served, page, tmp_path):
    project, learner, _ = served
    record = project.store.load_learner(learner)
    word, entry_id = _search_word(record)
    out = tmp_path / "offline"
    build_offline(project, learner, "shared", out, today=TODAY)
    page.goto((out / "index.html").as_uri())
    _search(page, word)
    result = page.locator(f".md-search-result__item a[href*='entrees/{entry_id.lower()}']").first
    result.wait_for(state="visible", timeout=15000)
    result.click()
    page.wait_for_url(re.compile(f"entrees/{entry_id.lower()}.html"))
