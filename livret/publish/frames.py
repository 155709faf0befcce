"""Material's page frame, rendered once per site for the pages that differ only
in their title, table of contents and content.

Of the 130 pages of a learner's site, 100 are entry pages: at the same
depth, outside the navigation, with the same metadata keys.  Material
renders the same 17 KB of header, navigation, sidebars and footer around
each of them, and that template work was a quarter of the build time.

A :class:`Framer` (one per build) renders the theme's template once for a
stand-in page whose title, content and table of contents are unique markers,
cuts the output at the markers (the table of contents is cut out whole: it is
rendered per page with the theme's own ``partials/toc.html``), and fills the
pieces for each page.  It never trusts the cut blindly:

- a marker that comes out transformed (escaped, stripped of tags) leaves a
  private-use character in the frame: the frame is refused;
- the first two pages of each kind are rendered both ways and the frame is
  kept only if, for both, the two are byte for byte the same (a page attribute
  the theme prints but the frame does not replace differs between them).

A refused frame means the page is rendered by the theme as usual: a theme
upgrade can make a build slower, never different
(``tests/test_frames.py`` builds the demo both ways and compares every file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import jinja2
from mkdocs.structure.toc import AnchorLink, TableOfContents

#: Private-use character around every marker: nothing a theme writes contains it.
MARK = "\ue000"
TITLE = f"{MARK}livret-title&<b>{MARK}"
CONTENT = f"{MARK}livret-content<h1>{MARK}"  # holds "<h1": Material then adds no title of its own
ANCHOR = f"{MARK}livret-anchor{MARK}"
TOC_TITLE = f"{MARK}livret-toc&<b>{MARK}"
TOC = f"{MARK}livret-toc-region{MARK}"
_SLOTS = re.compile("(" + "|".join(re.escape(m) for m in (TITLE, CONTENT, ANCHOR, TOC)) + ")")
#: Metadata the frame can carry: ``title`` (a slot) and ``tags`` (not printed without the tags plugin).
FRAMED_META = frozenset({"title", "tags"})
_TOC_TEMPLATE = '{% import "partials/language.html" as lang with context %}{% include "partials/toc.html" %}'
_REFUSED: Any = object()
#: Pages of a kind rendered both ways before its frame is trusted.  Two, at two
#: different URLs: a page attribute the frame does not replace (its URL, its
#: file name...) would show up as a difference on the second one.
CHECKS = 2


@dataclass
class _Frame:
    parts: list[str]  # literal text and slot markers, alternately
    checked: int = 0  # pages for which the frame gave the theme's output


class _StandIn:
    """The page as the template sees it, with some attributes replaced."""

    def __init__(self, page: Any, **replaced: Any) -> None:
        self._page = page
        self.__dict__.update(replaced)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._page, name)


def _marker_toc(level: int, children: bool) -> TableOfContents:
    first = AnchorLink(TOC_TITLE, ANCHOR, level)
    if children:
        first.children.append(AnchorLink(TOC_TITLE + "2", ANCHOR + "2", level + 1))
    return TableOfContents([first])


def _toc_key(items) -> tuple:
    """Everything ``partials/toc.html`` reads from a table of contents."""
    return tuple((item.title, item.id, item.level, repr(getattr(item, "typeset", None)), _toc_key(item.children))
                 for item in items)


class Framer:
    """Frames of one build (one site: one navigation, one banner)."""

    def __init__(self) -> None:
        self.frames: dict[tuple, Any] = {}
        #: Pages filled from a frame, pages rendered by the theme (for tests and figures).
        self.framed = 0
        self.rendered = 0
        self._toc_template: jinja2.Template | None = None
        #: Rendered tables of contents by shape: entry pages of one type share their headings.
        self._tocs: dict[tuple, str] = {}

    @staticmethod
    def kind(page: Any) -> tuple | None:
        """What decides the frame of a page, or ``None`` when it must be rendered in full."""
        file = getattr(page, "file", None)
        meta = getattr(page, "meta", None)
        toc = list(getattr(page, "toc", None) or [])
        content = getattr(page, "content", None)
        if file is None or not file.generated_by or file.inclusion.is_in_nav() or not isinstance(meta, dict) \
                or not set(meta) <= FRAMED_META or not isinstance(meta.get("title"), str) or not toc \
                or not content or "<h1" not in content or page.previous_page or page.next_page \
                or page.is_homepage or page.parent is not None or MARK in meta["title"]:
            return None
        return (page.url.count("/"), "tags" in meta, toc[0].level, bool(toc[0].children))

    def render(self, template: jinja2.Template, render, context: dict) -> str:
        """``template.render(context)``, from a frame when the page has one."""
        page = context.get("page")
        kind = self.kind(page)
        frame = self.frames.get(kind) if kind is not None else _REFUSED
        if frame is _REFUSED:
            self.rendered += 1
            return render(context)
        if frame is not None and frame.checked >= CHECKS:
            self.framed += 1
            return self._fill(frame.parts, template, context)
        # One of the first pages of its kind: rendered by the theme, and compared.
        full = render(context)
        self.rendered += 1
        if frame is None:
            parts = self._cut(template, render, context, kind)
            frame = _Frame(parts) if parts is not None else _REFUSED
        if frame is not _REFUSED:
            if self._fill(frame.parts, template, context) == full:
                frame.checked += 1
            else:
                frame = _REFUSED
        self.frames[kind] = frame
        return full

    def _toc(self, template: jinja2.Template, context: dict) -> str:
        """The theme's table of contents for this page (what the full render includes)."""
        if self._toc_template is None or self._toc_template.environment is not template.environment:
            self._toc_template = template.environment.from_string(_TOC_TEMPLATE)
            self._tocs.clear()
        items = list(context["page"].toc)
        # Like partials/toc.html: a first item of level 1 stands for the page, only its children are listed.
        key = (1, _toc_key(items[0].children)) if items and items[0].level == 1 else (0, _toc_key(items))
        toc = self._tocs.get(key)
        if toc is None:
            toc = self._tocs[key] = self._toc_template.render(context)
        return toc

    def _cut(self, template: jinja2.Template, render, context: dict, kind: tuple) -> list | None:
        page = context["page"]
        _, _, level, children = kind
        stand_in = _StandIn(page, meta={**page.meta, "title": TITLE}, content=CONTENT,
                            toc=_marker_toc(level, children))
        marked = {**context, "page": stand_in}
        output = render(marked)
        toc = self._toc(template, marked)
        if not toc.strip() or output.count(toc) != 1:  # the table of contents must be found, once
            return None
        parts = _SLOTS.split(output.replace(toc, TOC))
        if any(MARK in part for part in parts[::2]):  # a marker came out transformed
            return None
        return parts

    def _fill(self, frame: list, template: jinja2.Template, context: dict) -> str:
        page = context["page"]
        values = {TITLE: page.meta["title"], CONTENT: page.content, ANCHOR: next(iter(page.toc)).id}
        out = []
        for i, part in enumerate(frame):
            if not i % 2:
                out.append(part)
            elif part == TOC:
                out.append(self._toc(template, context))
            else:
                out.append(values[part])
        return "".join(out)
