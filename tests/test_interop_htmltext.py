"""HTML and plain-text descriptions to Markdown: no text lost, text stays text.

The oracle is independent of the converter: the words a browser shows for the
HTML (nh3, an html5ever parser, with every tag stripped) against the words of
the Markdown once rendered by livret's own renderer (the one the sites use).
"""

from __future__ import annotations

import html
import re
import urllib.parse
from collections import Counter

import nh3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livret.interop.htmltext import description_text, escape_markdown, html_to_markdown
from livret.publish.markdown import render_markdown

PROPERTY = settings(max_examples=400, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def shown_text(fragment: str) -> str:
    """The text a browser shows for an HTML fragment (script and style contents excluded)."""
    return html.unescape(nh3.clean(fragment, tags=set(), clean_content_tags={"script", "style"}))


def rendered(markdown: str, hide_links_to: set[str] = frozenset()) -> str:
    """The text of the Markdown as the sites render it; links whose text is their own address
    (an empty link of the source, shown as its address) can be hidden."""
    out = render_markdown(markdown)
    def link(m: re.Match) -> str:
        text, href = html.unescape(m.group(2)), urllib.parse.unquote(html.unescape(m.group(1)))
        return "" if text == href and text in hide_links_to else m.group(2)
    return shown_text(re.sub(r'<a [^>]*?href="([^"]*)"[^>]*>([^<]*)</a>', link, out))


def same_characters(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


# ----------------------------------------------------------------- what the real files do


def test_text_after_an_unclosed_link_is_kept():
    # As in Mahara's shipped ptc_nz.matrix: <i><a href=…>Source</i></p>, the link never closed.
    source = ('<p>Les critères décrivent un enseignement de qualité. <i><a href="http://example.org/criteres">'
              'Source</i></p><p>Suite du texte.</p>')
    assert html_to_markdown(source) == ("Les critères décrivent un enseignement de qualité. "
                                        "[Source](http://example.org/criteres)\n\nSuite du texte.")
    assert html_to_markdown('Voir <a href="https://example.org/x">le guide') == \
        "Voir [le guide](https://example.org/x)"
    assert html_to_markdown('<a href="https://a.example">un <a href="https://b.example">deux</a> trois') == \
        "[un](https://a.example) [deux](https://b.example) trois"


def test_table_cells_become_a_markdown_table():
    source = ("<table><caption>Grille</caption><tr><th>Critère</th><th>Niveau</th></tr>"
              "<tr><td>Accueil <b>réussi</b></td><td>2</td></tr><tr><td>Suivi | bilan<td>3</table>Après.")
    assert html_to_markdown(source) == ("Grille\n\n| Critère | Niveau |\n| --- | --- |\n"
                                        "| Accueil **réussi** | 2 |\n| Suivi \\| bilan | 3 |\n\nAprès.")
    page = render_markdown(html_to_markdown(source))
    assert "<th>Critère</th>" in page and "<td>Suivi | bilan</td>" in page
    # One row: the cells on one line, apart.
    assert html_to_markdown("<table><tr><td>a</td><td>b</td></tr></table>") == "a | b"


@pytest.mark.parametrize("text", [
    "*pas d'emphase* et _pas plus_", "# pas un titre", "- pas une liste", "1. pas une liste", "+ non",
    "> pas une citation", "[pas](un lien)", "![pas](une image)", "`pas de code`", "~~pas barré~~",
    "a | b", "<b>pas une balise</b>", "&amp; &copy &#65;", "\\* antislash", "===", ": pas une définition",
    "snake_case et __init__", "https://example.org/a_b_c",
])
def test_markdown_characters_in_text_stay_text(text):
    as_html = f"<p>{html.escape(text)}</p>"
    assert same_characters(rendered(html_to_markdown(as_html)), text)
    assert same_characters(rendered(escape_markdown(text)), text)


def test_readable_text_is_not_over_escaped():
    assert html_to_markdown("<p>Mise en place du poste, l'apprenti·e & le tuteur : 100 % réussi !</p>") == \
        "Mise en place du poste, l'apprenti·e & le tuteur : 100 % réussi !"
    assert escape_markdown("snake_case, 2 - 1 = 1") == "snake_case, 2 - 1 = 1"


def test_description_kinds():
    assert description_text("<p>Un *vrai* texte</p>") == "Un \\*vrai\\* texte"  # guessed HTML
    assert description_text("Un *vrai* texte") == "Un \\*vrai\\* texte"  # guessed plain
    assert description_text("Un *vrai* texte", kind="markdown") == "Un *vrai* texte"
    assert description_text("  ", kind="plain") is None and description_text(None) is None


# ----------------------------------------------------------------- properties

TAGS = ["p", "div", "b", "i", "em", "strong", "span", "u", "code", "pre", "blockquote", "h2", "ul", "ol", "li",
        "table", "tr", "td", "th", "caption", "br", "hr", "dl", "dt", "dd", "script", "style"]
WORDS = list("*_[]()<>#+-=:!|~`\\&;.1") + ["a", "é", "ab_cd", "&amp;", "1.", "- ", "# ", "http://x.org", "www.x.org"]
TEXT = st.lists(st.sampled_from(WORDS + [" ", "\n"]), max_size=12).map("".join)
HREF = st.lists(st.sampled_from(list("ab()[]|*_~\\/!:#")), max_size=6).map(lambda x: "https://e.org/x" + "".join(x))


def _open(tag: str) -> str:
    return f"<{tag}>"


FRAGMENT = st.lists(st.one_of(
    TEXT.map(html.escape),
    st.sampled_from(TAGS).map(_open),
    st.sampled_from(TAGS).map(lambda t: f"</{t}>"),
    HREF.map(lambda h: f'<a href="{html.escape(h)}">'),
    st.sampled_from(['<a href="javascript:alert(1)">', "<a>", "</a>"]),
), max_size=16).map("".join)


@PROPERTY
@given(FRAGMENT)
def test_every_character_a_browser_shows_survives(fragment):
    markdown = html_to_markdown(fragment)
    hrefs = {html.unescape(h) for h in re.findall(r'href="([^"]*)"', fragment)}
    expected, got = shown_text(fragment), rendered(markdown, hrefs)
    if "<t" in fragment or "<caption" in fragment:
        # A table's caption and stray text go before it: same characters, maybe another order.
        assert not Counter("".join(expected.split())) - Counter("".join(got.split())), (fragment, markdown)
    else:
        assert same_characters(got, expected), (fragment, markdown)


@PROPERTY
@given(TEXT)
def test_plain_text_renders_as_typed(text):
    assert same_characters(rendered(escape_markdown(text)), text)
