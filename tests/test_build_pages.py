"""Page generation as pure functions (no MkDocs): which pages exist for each audience, links, escaping."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import posixpath
import re
import sys
from pathlib import Path

import markdown
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from buildkit import OLD_VERSION, PNG, STAFF_ALERT, STAFF_MEETING, rich_project  # noqa: E402
from factories import add, when  # noqa: E402

from livret.publish.site import learner_site  # noqa: E402
from livret.publish.site import text as t  # noqa: E402
from livret.views import progress as pv  # noqa: E402

TODAY = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def alice(tmp_path_factory):
    project = rich_project(tmp_path_factory.mktemp("pages") / "p")
    add(project, "alice", {"type": "feedback", "date": when("2026-03-07"), "title": "Note interne",
                           "visibility": "staff"}, "Voir la photo.", uploads=[("interne.png", PNG)])
    return project, project.store.load_learner("alice")


def sites(alice):
    project, record = alice
    settings = project.store.settings()
    return {aud: learner_site(record, aud, TODAY, settings) for aud in ("staff", "shared")}


def test_shared_pages_hold_no_staff_entry(alice):
    _, record = alice
    built = sites(alice)
    staff_ids = {e.id.lower() for e in record.entries if e.visibility == "staff"}
    shared_paths = {p.path for p in built["shared"].pages}
    staff_paths = {p.path for p in built["staff"].pages}
    assert {f"entrees/{i}.md" for i in staff_ids} <= staff_paths
    assert not {f"entrees/{i}.md" for i in staff_ids} & shared_paths
    shared_text = "\n".join(p.markdown for p in built["shared"].pages)
    for marker in (STAFF_ALERT, STAFF_MEETING, "Note interne", "À surveiller", *staff_ids):
        assert marker not in shared_text
    assert STAFF_ALERT in "\n".join(p.markdown for p in built["staff"].pages)


def test_attachments_follow_the_audience(alice):
    built = sites(alice)
    assert any(f.endswith("-interne.png") for f in built["staff"].files)
    assert not any(f.endswith("-interne.png") for f in built["shared"].files)
    assert {f.rsplit("-", 1)[-1] for f in built["shared"].files} == {"photo.png", "rapport.pdf", "notes.md"}


def test_earlier_versions_only_on_the_staff_site(alice):
    built = sites(alice)
    staff = "\n".join(p.markdown for p in built["staff"].pages)
    shared = "\n".join(p.markdown for p in built["shared"].pages)
    assert OLD_VERSION in staff and "Version précédente du" in staff
    assert OLD_VERSION not in shared and "a été corrigée par" in shared


def test_every_page_converts_and_links_to_existing_pages(alice):
    for site in sites(alice).values():
        paths = {p.path for p in site.pages}
        assert len(paths) == len(site.pages)  # no two pages at one path
        nav = [p.title for p in site.pages if p.nav]
        assert nav[:4] == ["Accueil", "Compétences", "Progression", "Chronologie"]
        urls = {t.page_url(p.path, True) for p in site.pages} | set(site.files)
        checked = 0
        for page in site.pages:
            html = markdown.markdown(page.markdown, extensions=["tables", "toc", "admonition"])
            assert html.startswith("<h1")
            for target in re.findall(r"\]\(([^)\s]+\.md)\)", page.markdown):
                resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page.path), target))
                assert resolved in paths, (page.path, target)
                checked += 1
            # Links written as HTML (raw blocks) carry final URLs: they must lead to a page or a file.
            here = t.page_url(page.path, True)
            base = here if here.endswith("/") or not here else posixpath.dirname(here) + "/"
            for href in re.findall(r'href="([^"#]+)"', page.markdown):
                if re.match(r"[a-z]+:", href):
                    continue
                resolved = posixpath.normpath(posixpath.join(base, html_lib.unescape(href)))
                resolved = "" if resolved == "." else resolved + ("/" if href.endswith("/") else "")
                assert resolved in urls, (page.path, href)
                checked += 1
        assert checked > 100  # entry and competency pages link to each other


def test_matrix_counts_come_from_progress(alice):
    _, record = alice
    shared = sites(alice)["shared"]
    views = pv.competency_views(record.framework, pv.for_audience(record.entries, "shared"))
    progress = pv.progress(views)
    home = next(p for p in shared.pages if p.path == "index.md").markdown
    assert f"**{progress.acquired} compétences acquises sur {progress.total}**" in home


@pytest.mark.parametrize("value", ["# titre", "1. liste", "- puce", "a_b*c*", "[x](javascript:y)", "<b>h</b>",
                                   "x | y", "`code`", "!!! note", "> citation", "\\ fin \\"])
def test_escaped_text_renders_as_itself(value):
    html = markdown.markdown(t.esc(value), extensions=["tables", "admonition"])
    assert html_lib.unescape(html) == f"<p>{value}</p>"


@pytest.mark.parametrize("from_path,to_path,directory,expected", [
    ("index.md", "competences/a1.md", True, "competences/a1/"),
    ("entrees/x.md", "competences/a1.md", True, "../../competences/a1/"),
    ("entrees/x.md", "index.md", True, "../../"),
    ("entrees/x.md", "files/a.pdf", True, "../../files/a.pdf"),
    ("chronologie.md", "entrees/x.md", True, "../entrees/x/"),
    ("entrees/x.md", "competences/a1.md", False, "../competences/a1.html"),
    ("chronologie.md", "entrees/x.md", False, "entrees/x.html"),
    ("competences/index.md", "competences/a1.md", True, "a1/"),
])
def test_page_urls(from_path, to_path, directory, expected):
    page = not to_path.startswith("files/")
    assert t.url(from_path, to_path, directory, page=page) == expected


def test_root_prefix_and_headings():
    assert t.root_prefix("entrees/x.md", True) == "../../"
    assert t.root_prefix("entrees/x.md", False) == "../"
    assert t.root_prefix("index.md", True) == ""
    assert t.shift_headings("<h1>a</h1><h5>b</h5><h6>c</h6>", 2) == "<h3>a</h3><h6>b</h6><h6>c</h6>"
    assert t.unique_slugs(["B1.1", "b1-1", "B1/1"]) == {"B1.1": "b1-1", "b1-1": "b1-1-2", "B1/1": "b1-1-3"}
