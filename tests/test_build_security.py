"""A portfolio full of hostile text, built with MkDocs: no page runs a script or loads anything from outside.

Hostile text is everywhere a writer can type: entry bodies (the corpus of
test_markdown), titles, list fields, free-text fields, the learner's name and
profile text, a company name, a framework's titles, and attachments with
active content (.html, .svg) placed by hand in files/.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from buildkit import LOADING_ATTRIBUTES, content_of, external_loads, parse  # noqa: E402
from factories import SMALL_FRAMEWORK, add, make_project, meeting, when  # noqa: E402
from test_markdown import HOSTILE  # noqa: E402

from livret.publish.build import build_all, site_dir  # noqa: E402
from livret.store.yamlio import dump_yaml, parse_front_matter, render_front_matter  # noqa: E402

TODAY = dt.date(2026, 6, 1)
TITLE_SCRIPT = "</title><script>alert('titre')</script>"
TITLE_IMG = '<img src=x onerror="alert(2)"> [lien](javascript:alert(3)) **gras** | # x'
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'
PAGE = b"<html><body><script>alert(1)</script></body></html>"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile") / "proj"
    framework = {**SMALL_FRAMEWORK, "title": "Référentiel <img src=//evil.example/f.png>"}
    framework["blocks"] = [dict(b) for b in SMALL_FRAMEWORK["blocks"]]
    framework["blocks"][0] = {**framework["blocks"][0], "title": "Bloc <script>alert(4)</script>"}
    project = make_project(root)
    (project.portfolios / "_frameworks" / "mini.yml").write_text(dump_yaml(framework), encoding="utf-8")
    profile = project.portfolios / "alice" / "learner.md"
    doc = parse_front_matter(profile.read_text(encoding="utf-8"))
    data = {**doc.data, "first_name": '<b onmouseover="alert(5)">Alice</b>',
            "company": {"name": "Dupont](javascript:alert(6))", "city": "<i>Lyon</i>"}}
    profile.write_text(render_front_matter(data, HOSTILE["svg with script"] + "\n\n" + HOSTILE["event handler"]),
                       encoding="utf-8")
    for name, data_ in (("abcd1234-page.html", PAGE), ("abcd1235-image.svg", SVG)):
        (project.portfolios / "alice" / "files" / name).write_bytes(data_)
    for day, (name, text) in enumerate(sorted(HOSTILE.items()), start=1):
        add(project, "alice", meeting(date=when(f"2026-02-{day:02d}"), title=f"Corpus : {name}",
                                      participants=[TITLE_IMG], decisions=[HOSTILE["javascript link"]]), text)
    add(project, "alice", meeting(date=when("2026-03-02"), title=TITLE_SCRIPT), "Texte.")
    add(project, "alice", {"type": "evidence", "date": when("2026-03-03"), "title": TITLE_IMG,
                           "context": HOSTILE["style element"] + HOSTILE["remote image"],
                           "attachments": ["files/abcd1234-page.html", "files/abcd1235-image.svg"]},
        HOSTILE["iframe"], author="alice", role="learner")
    add(project, "alice", {"type": "company-feedback", "date": when("2026-03-04"), "title": "Retour",
                           "period_start": "2026-02-01", "period_end": "2026-02-28",
                           "missions": [HOSTILE["script tag"]], "observations": HOSTILE["svg onload"]},
        HOSTILE["data url link"], author="carl", role="company")
    report = build_all(project, today=TODAY, jobs=1)
    assert report.ok and not report.warnings, report
    return project


def html_pages(project):
    for audience in ("staff", "shared"):
        yield from site_dir(project, audience, "alice").rglob("*.html")


def test_no_page_gains_a_script_or_a_handler(hostile):
    pages = list(html_pages(hostile))
    assert len(pages) > 40
    baseline = None
    for page in pages:
        doc = parse(page)
        scripts = [attrs for tag, attrs in doc.tags if tag == "script"]
        if baseline is None:
            baseline = len(scripts)
        assert len(scripts) == baseline, page  # the theme's own scripts, nothing more
        for attrs in scripts:
            src = attrs.get("src")
            assert src is None or "assets/javascripts/" in src, (page, src)
        assert not any("alert(" in s for s in doc.scripts), page
        for tag, attrs in doc.tags:
            for key, value in attrs.items():
                assert not key.startswith("on"), (page, tag, key)
                squeezed = "".join((value or "").split()).lower()
                assert not squeezed.startswith(("javascript:", "data:text", "vbscript:")), (page, tag, key, value)
                if (tag, key) in LOADING_ATTRIBUTES:
                    assert "evil.example" not in squeezed and "tracker.example" not in squeezed, (page, value)


def test_article_content_has_no_frame_form_style_or_active_element(hostile):
    for page in html_pages(hostile):
        text = page.read_text(encoding="utf-8")
        start, end = text.find("<article"), text.find("</article>")
        if start < 0:
            continue
        article = parse_fragment(text[start:end])
        for tag, attrs in article:
            assert tag not in {"iframe", "object", "embed", "form", "input", "style", "link", "meta", "base",
                               "script", "template"}, (page, tag)
            assert "style" not in attrs, (page, tag, attrs)
            assert "mermaid" not in (attrs.get("class") or "").split(), page


def parse_fragment(text: str):
    from buildkit import Tags

    parser = Tags()
    parser.feed(text)
    parser.close()
    return parser.tags


def test_nothing_loads_from_outside(hostile):
    assert external_loads(hostile.build_dir) == []


def test_hostile_text_is_shown_as_text(hostile):
    site = site_dir(hostile, "staff", "alice")
    timeline = content_of(site / "chronologie" / "index.html")
    assert TITLE_SCRIPT in timeline
    assert "[lien](javascript:alert(3)) **gras** | # x" in timeline
    home = content_of(site / "index.html")
    assert '<b onmouseover="alert(5)">Alice</b>' in home
    assert "Dupont](javascript:alert(6))" in home
    title = (site / "index.html").read_text(encoding="utf-8")
    assert "<b onmouseover" not in title


def test_active_attachments_are_not_published(hostile):
    for audience in ("staff", "shared"):
        files = site_dir(hostile, audience, "alice") / "files"
        names = {p.name for p in files.iterdir()} if files.exists() else set()
        assert not names & {"abcd1234-page.html", "abcd1235-image.svg"}
    entry = next(p for p in (site_dir(hostile, "staff", "alice") / "entrees").glob("*/index.html")
                 if "page.html" in content_of(p))
    assert "non publiée" in content_of(entry)
