"""HTML descriptions (Moodle, Mahara) turned into plain Markdown text.

Other tools store descriptions as HTML fragments.  livret keeps text that
reads well in a YAML file and renders as Markdown: paragraphs, line breaks,
lists, emphasis and web links survive; every other tag is dropped (its text
is kept), and the content of ``script``/``style`` disappears entirely.  No
HTML reaches the framework file, so nothing depends on a later sanitizer to
make an imported description safe.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = {"p", "div", "section", "article", "blockquote", "table", "tr", "h1", "h2", "h3",
           "h4", "h5", "h6", "ul", "ol", "pre", "dl", "dt", "dd"}
_SKIP = {"script", "style", "head", "title", "noscript", "template"}
_SAFE_LINK = re.compile(r"^(https?://|mailto:)[^\s<>\"'`]+$", re.IGNORECASE)
_TAG = re.compile(r"<[a-zA-Z/!][^>]*>")
_ENTITY = re.compile(r"&(?:[a-zA-Z]+|#[0-9]+|#x[0-9a-fA-F]+);")
_EMPHASIS = {"strong": "**", "b": "**", "em": "*", "i": "*"}
_TAG_START = re.compile(r"<(?=[a-zA-Z/!?])")
_LIST_ITEM = re.compile(r"^(?: {4})*(?:-|\d+\.) ")


def looks_like_html(text: str) -> bool:
    """A tag or an entity (``&amp;``, ``&#233;``) gives HTML away."""
    return bool(_TAG.search(text or "") or _ENTITY.search(text or ""))


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.lists: list[list] = []  # [kind, counter]
        self.link: str | None = None
        self.link_text: list[str] = []
        self.emphasis: list[tuple[str, int]] = []  # (marker, position in out)

    # -- output helpers
    def _emit(self, text: str) -> None:
        if self.link is not None:
            self.link_text.append(text)
        else:
            self.out.append(text)

    def _break(self, blank: bool) -> None:
        self.out.append("\n\n" if blank else "\n")

    # -- parser callbacks
    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip += 1
            return
        if self.skip:
            return
        if tag == "br":
            self._emit("\n")
        elif tag in ("ul", "ol"):
            self.lists.append([tag, 0])
            self._break(blank=len(self.lists) == 1)
        elif tag == "li":
            depth = max(len(self.lists), 1)
            kind = self.lists[-1] if self.lists else ["ul", 0]
            kind[1] += 1
            bullet = f"{kind[1]}." if kind[0] == "ol" else "-"
            self.out.append("\n" + "    " * (depth - 1) + bullet + " ")
        elif tag in _EMPHASIS and self.link is None:
            self.emphasis.append((_EMPHASIS[tag], len(self.out)))
            self.out.append(_EMPHASIS[tag])
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            if _SAFE_LINK.match(href.strip()):
                self.link = href.strip()
                self.link_text = []
        elif tag in _BLOCKS:
            self._break(blank=True)

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self._break(blank=not self.lists)
        elif tag in _EMPHASIS and self.link is None:
            if self.emphasis and self.emphasis[-1][0] == _EMPHASIS[tag]:
                marker, start = self.emphasis.pop()
                inner = "".join(self.out[start + 1:])
                if inner.strip() and "\n" not in inner:
                    # Markdown emphasis must hug its text: "**a** b", not "** a **".
                    lead = inner[: len(inner) - len(inner.lstrip())]
                    trail = inner[len(inner.rstrip()):]
                    self.out[start:] = [lead, marker, inner.strip(), marker, trail]
                else:
                    del self.out[start]
        elif tag == "a" and self.link is not None:
            text = " ".join("".join(self.link_text).split())
            href, self.link = self.link, None
            self.out.append(f"[{text}]({href})" if text and text != href else f"<{href}>")
        elif tag in _BLOCKS:
            self._break(blank=True)

    def handle_data(self, data):
        if self.skip:
            return
        self._emit(re.sub(r"\s+", " ", data))


def html_to_markdown(html: str) -> str:
    """Markdown text of an HTML fragment (see the module docstring)."""
    if not html:
        return ""
    parser = _Converter()
    parser.feed(html)
    parser.close()
    # An unclosed emphasis leaves a stray marker: drop it.
    for marker, start in parser.emphasis:
        if start < len(parser.out) and parser.out[start] == marker:
            parser.out[start] = ""
    text = "".join(parser.out)
    lines = [line.rstrip() if _LIST_ITEM.match(line) else line.strip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    # Text that looks like a tag (written as &lt;tag&gt; in the source) must
    # stay text when the Markdown is rendered.
    return _TAG_START.sub("&lt;", text)


def description_text(raw: str | None, *, html: bool | None = None) -> str | None:
    """A description as livret stores it: Markdown text, or None when empty.

    ``html`` says whether the source marks it as HTML; None means "guess".
    """
    if raw is None:
        return None
    raw = str(raw)
    if html is None:
        html = looks_like_html(raw)
    text = html_to_markdown(raw) if html else raw.replace("\r\n", "\n").strip()
    return text or None
