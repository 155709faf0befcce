"""Material's search sections, read from a page's HTML in one regular-expression pass.

Material's search plugin splits each page into sections (one per heading
with an ``id``) with a pure-Python :class:`html.parser.HTMLParser`; on a
portfolio build that parse was a tenth of the build time.  Every page livret
builds has gone through :func:`livret.publish.markdown.sanitize_page` first, so its
HTML is serialized by html5ever: lower-case tags, quoted attributes, no
comment, script or style.  :func:`sections` tokenizes that HTML with one
regular expression and applies the *same* rules as Material's ``Parser``
(including its quirks: elements are compared by tag name, an empty kept
element is dropped, a section nested in an element ends with it), so the
index is the same, entry for entry (``tests/test_search_index.py`` compares
both on every page of the demo and on a hostile corpus).

Anything this reader does not expect (an element Material would skip, an
attribute that excludes a block, a stray ``<``) returns ``None``: the caller
then uses Material's own parser.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from html import escape, unescape

#: Void elements: Material ignores them (``material.plugins.search.plugin.void``).
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                  "source", "track", "wbr"})
#: Elements kept as markup in a section's text.
KEEP = frozenset({"p", "code", "pre", "li", "ol", "ul", "sub", "sup"})
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
#: What makes Material skip part of a page: left to Material's parser.
_SKIPPED = re.compile(r"<(?:script|style|object)\b|data-search-exclude|linenodiv", re.IGNORECASE)

_ATTRS = r"""(?:\s+[^\s"'=/>]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*"""
_TOKEN = re.compile(
    rf"<([a-zA-Z][a-zA-Z0-9-]*)({_ATTRS})\s*/?>"  # start tag
    r"|</([a-zA-Z][a-zA-Z0-9-]*)\s*>"  # end tag
    r"|([^<]+)"  # text
    r"|(<)",  # anything else: not for this reader
)
_ATTR = re.compile(r"""([^\s"'=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")


@dataclass
class Section:
    """Duck-types ``material.plugins.search.plugin.Section`` for ``create_entry_for_section``."""

    tag: str
    depth: float = 0
    title: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    id: str | None = None

    def is_excluded(self) -> bool:
        return False


def _attrs(raw: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for m in _ATTR.finditer(raw):
        name = m.group(1).lower()
        value = m.group(2) if m.group(2) is not None else m.group(3) if m.group(3) is not None else m.group(4)
        out.setdefault(name, unescape(value) if value is not None else None)
    return out


def sections(html_text: str) -> list[Section] | None:
    """The search sections of ``html_text`` as Material's parser finds them, or ``None``."""
    if _SKIPPED.search(html_text):
        return None
    data: list[Section] = []
    section: Section | None = None
    context: list[str] = []  # open elements, by tag (Material compares elements by tag)
    tags: Counter[str] = Counter()
    headerlinks: list[bool] = []  # per open element: an ``<a class="headerlink">``
    open_headerlinks = 0
    for m in _TOKEN.finditer(html_text):
        start, raw_attrs, end, text, stray = m.groups()
        if stray is not None:
            return None
        if start is not None:
            tag = start.lower()
            if tag in VOID:
                continue
            if m.group(0).endswith("/>"):  # HTMLParser would also close it: not for this reader
                return None
            attrs = _attrs(raw_attrs) if raw_attrs else {}
            context.append(tag)
            tags[tag] += 1
            is_headerlink = tag == "a" and attrs.get("class") == "headerlink"
            headerlinks.append(is_headerlink)
            open_headerlinks += is_headerlink
            if tag in HEADINGS and "id" in attrs:
                depth = len(context)
                if tag != "h1" and not data:
                    data.append(Section("hx", depth))
                section = Section(tag, depth)
                if data:
                    section.id = attrs["id"]
                data.append(section)
            if section is None:
                section = Section("hx")
                data.append(section)
            if tag in KEEP:
                (section.title if tags[section.tag] else section.text).append(f"<{tag}>")
        elif end is not None:
            tag = end.lower()
            if not context or context[-1] != tag:
                continue
            assert section is not None  # an element is open, so a section exists
            if section.depth > len(context):
                for previous in reversed(data):
                    if previous.depth <= len(context):
                        section.depth = float("inf")
                        section = previous
                        break
            context.pop()
            tags[tag] -= 1
            open_headerlinks -= headerlinks.pop()
            if tag in KEEP:
                target = section.title if tags[section.tag] else section.text
                try:
                    index = target.index(f"<{tag}>")
                except ValueError:  # Material's parser fails here too: let it report
                    return None
                for i in range(index + 1, len(target)):
                    if not target[i].isspace():
                        index = len(target)
                        break
                if len(target) > index:
                    del target[index:]
                else:
                    target.append(f"</{tag}>")
        else:
            value = unescape(text)
            if not tags["pre"]:
                value = " " if value.isspace() else value.replace("\n", " ")
            if section is None:
                section = Section("hx")
                data.append(section)
            if tags[section.tag]:
                if not open_headerlinks:
                    section.title.append(escape(value, quote=False))
            elif value.isspace():
                if not section.text or not section.text[-1].isspace() or tags["pre"]:
                    section.text.append(value)
            else:
                section.text.append(escape(value, quote=False))
    return data
