"""livret's search-section reader gives Material's index, entry for entry.

``livret.publish.search_index.sections`` replaces the HTML parse of Material's
search plugin for speed; it must never change what the search finds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from material.plugins.search.plugin import Parser

sys.path.insert(0, str(Path(__file__).parent))

from buildkit import DEMO_TODAY, demo_or_skip, rich_project  # noqa: E402
from test_markdown import HOSTILE  # noqa: E402

import livret.publish.mkdocs_plugin as plugin  # noqa: E402
from livret.publish.build import build_all  # noqa: E402
from livret.publish.markdown import render_markdown, sanitize_page  # noqa: E402
from livret.publish.search_index import sections  # noqa: E402


def material(html: str) -> list[tuple]:
    parser = Parser()
    parser.feed(html)
    parser.close()
    return [(s.id, s.title, s.text, s.is_excluded()) for s in parser.data]


def ours(html: str) -> list[tuple] | None:
    found = sections(html)
    return None if found is None else [(s.id, s.title, s.text, s.is_excluded()) for s in found]


def indexes(build: Path) -> dict[str, bytes]:
    return {str(p.relative_to(build)): p.read_bytes() for p in sorted(build.rglob("search_index.json"))}


@pytest.mark.parametrize("which", ["demo", "rich"])
def test_built_indexes_are_those_of_materials_parser(tmp_path, monkeypatch, which):
    project = demo_or_skip(tmp_path / "p") if which == "demo" else rich_project(tmp_path / "p")
    calls = []
    real = plugin.sections
    monkeypatch.setattr(plugin, "sections", lambda html: calls.append(1) or real(html))
    build_all(project, today=DEMO_TODAY, jobs=1, out=tmp_path / "fast")
    monkeypatch.setattr(plugin, "sections", lambda html: None)  # Material's own parser for every page
    build_all(project, today=DEMO_TODAY, jobs=1, out=tmp_path / "material")
    fast, slow = indexes(tmp_path / "fast"), indexes(tmp_path / "material")
    assert len(fast) >= 4 and fast.keys() == slow.keys()
    assert len(calls) > 50
    for name in fast:
        assert fast[name] == slow[name], name
        docs = json.loads(fast[name])["docs"]
        assert any(d["location"].startswith("entrees/") and "#" in d["location"] for d in docs)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_text_gives_the_same_sections(name):
    html = sanitize_page("<h1 id=\"t\">T</h1><div class=\"livret-html\">" + render_markdown(HOSTILE[name])
                         + "</div><h2 id=\"s\">Suite<a class=\"headerlink\" href=\"#s\">¶</a></h2><p>x</p>")
    assert ours(html) == material(html)


@pytest.mark.parametrize("html", [
    "<script>x</script><p>a</p>",
    '<div data-search-exclude><p>a</p></div>',
    '<table class="linenodiv"><tr><td>1</td></tr></table>',
    "<p>a < b</p>",
    "<div/><p>a</p>",
])
def test_what_the_reader_does_not_expect_is_left_to_material(html):
    assert sections(html) is None


TAGS = ["p", "div", "ul", "li", "ol", "code", "pre", "strong", "a", "sub", "table", "td", "details", "summary"]


@st.composite
def fragments(draw, depth=0):
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        choice = draw(st.integers(0, 9 if depth < 3 else 3))
        if choice <= 2:
            parts.append(draw(st.sampled_from(["texte", " ", "\n", "a & b", "  x\n y ", "é", "1 < 2", "\n\n"])))
        elif choice == 3:
            parts.append(draw(st.sampled_from(["<br>", "<hr>", "<img src=\"x.png\" alt=\"i\">"])))
        elif choice <= 5:
            level = draw(st.integers(1, 6))
            ident = draw(st.sampled_from(["", ' id="a"', ' id="b-2"']))
            link = draw(st.sampled_from(["", '<a class="headerlink" href="#a">¶</a>']))
            parts.append(f"<h{level}{ident}>{draw(fragments(depth + 1))}{link}</h{level}>")
        else:
            tag = draw(st.sampled_from(TAGS))
            parts.append(f"<{tag}>{draw(fragments(depth + 1))}</{tag}>")
    return "".join(parts)


@settings(max_examples=300, deadline=None)
@given(fragments())
def test_any_sanitized_page_gives_the_same_sections(fragment):
    html = sanitize_page(fragment)
    assert ours(html) == material(html)
