"""HTML and plain-text descriptions (Moodle, Mahara) turned into Markdown text.

Other tools store descriptions as HTML fragments or plain text.  livret
keeps text that reads well in a YAML file and renders, through
:func:`livret.publish.markdown.render_markdown`, to the same words:

- paragraphs, line breaks, lists, emphasis, web links and tables survive
  (a table becomes a Markdown table, one row per line); every other tag is
  dropped and its text kept; the content of ``script``/``style`` disappears;
- no text is lost to broken HTML: a link, a table or an emphasis left open
  ends where the fragment ends, a block inside a link ends the link;
- text is text: characters Markdown would read as formatting (``*``,
  ``_``, ``[``, backquote, ``|``, ``~``, a ``#``, ``-``, ``+``, ``>`` or
  ``1.`` at the start of a line, something that looks like a tag or an
  entity) are escaped, so ``*not emphasis*`` in the source stays as typed.

No HTML reaches the framework file, so nothing depends on a later sanitizer
to make an imported description safe.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = {"p", "div", "section", "article", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
           "pre", "dl", "dt", "dd", "header", "footer", "aside", "nav", "figure", "figcaption",
           "address", "details", "summary", "hr"}
_SKIP = {"script", "style", "head", "title", "noscript", "template"}
_CELLS = {"td", "th"}
_SAFE_LINK = re.compile(r"^(https?://|mailto:)[^\s<>\"'`]+$", re.IGNORECASE)
_TAG = re.compile(r"<[a-zA-Z/!][^>]*>")
_ENTITY = re.compile(r"&(?:[a-zA-Z]+|#[0-9]+|#x[0-9a-fA-F]+);")
_EMPHASIS = {"strong": "**", "b": "**", "em": "*", "i": "*"}
#: Text Markdown emphasis reliably wraps: starting and ending with a letter or digit.
_EMPHASIZABLE = re.compile(r"^[^\W_](?:.*[^\W_])?$", re.S)
#: What the renderer turns into a link by itself (pymdownx.magiclink): it would swallow a marker.
_ADDRESS = re.compile(r"://|^www\.|@", re.IGNORECASE)
_LIST_ITEM = re.compile(r"^(?: {4})*(?:-|\d+\.) ")
_EMPTY_ITEM = re.compile(r"^ *(?:-|\d+\.)$")

# -- escaping (Python-Markdown with livret's extensions: tables, tilde, def_list...)
#: Always escaped with a backslash (all are in Python-Markdown's escapable set).
_INLINE = re.compile(r"([\\`*\[\]|~])")
#: ``_`` between two letters or digits (``snake_case``) never starts emphasis; any other may.
_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
#: ``<`` that would open a tag, a comment or an autolink; ``&`` that would start an entity.
_TAG_START = re.compile(r"<(?=[a-zA-Z/!?])")
_ENTITY_START = re.compile(r"&(?=[#0-9A-Za-z])")  # browsers read "&copy" or "&#1" without ";" too
#: Block syntax at the start of a line: heading, quote, list, setext underline, definition.
_LINE_START = re.compile(r"^(?:([#>+-])|(\d+)([.)])|(=)|(:))")
#: Characters of a URL that would end a Markdown link or split a table cell.
#: An unescaped ``!`` right before ``[``: only a link livret wrote can follow it.
_BANG_LINK = re.compile(r"(?<!\\)((?:\\\\)*)!\[")
_URL_ESCAPES = {"(": "%28", ")": "%29", "|": "%7C", "\\": "%5C", "[": "%5B", "]": "%5D"}


def _escape_inline(text: str) -> str:
    text = _INLINE.sub(r"\\\1", text)
    text = _UNDERSCORE.sub(r"\\_", text)
    text = _ENTITY_START.sub("&amp;", text)
    return _TAG_START.sub("&lt;", text)


def _escape_line_start(text: str) -> str:
    """``text`` (already escaped inline) starting a line: no block syntax at its start."""
    def repl(m: re.Match[str]) -> str:
        if m.group(1):
            return "\\" + m.group(1)
        if m.group(2):
            return m.group(2) + "\\" + m.group(3)
        return "&#61;" if m.group(4) else "&#58;"
    return _LINE_START.sub(repl, text, count=1)


def escape_markdown(text: str) -> str:
    """Plain text as Markdown that renders to the same characters (line breaks kept)."""
    lines = [_escape_line_start(_escape_inline(line.strip())) for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _link_target(href: str) -> str:
    return "".join(_URL_ESCAPES.get(c, c) for c in href)


def looks_like_html(text: str) -> bool:
    """A tag or an entity (``&amp;``, ``&#233;``) gives HTML away."""
    return bool(_TAG.search(text or "") or _ENTITY.search(text or ""))


class _Table:
    """The outermost table being read: finished rows, the open row and cell."""

    def __init__(self, start: int):
        self.start = start  # position in the output where the table goes
        self.rows: list[list[str]] = []
        self.row: list[str] | None = None
        self.cell: int | None = None  # position in the output where the open cell's text starts
        self.stray: list[str] = []  # text outside any cell (a caption, stray text): shown before
        self.depth = 1  # nested tables are read as text of the outer cell

    def markdown(self) -> str:
        width = max((len(r) for r in self.rows), default=0)
        if not width:
            return ""
        if len(self.rows) == 1:  # a Markdown table needs a header and a body: one line will do
            return _escape_line_start(" | ".join(self.rows[0]))
        rows = [r + [""] * (width - len(r)) for r in self.rows]
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(lines)


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.lists: list[list] = []  # [kind, counter]
        self.link: tuple[str, int] | None = None  # (href, position of its text in out)
        self.link_raw: list[str] = []
        self.emphasis: list[tuple[str, int]] = []  # (marker, position in out)
        self.table: _Table | None = None
        self.line_start = True
        self.bullet = -1  # position in out just after the last list bullet
        self.in_item = False  # the current line continues a list item

    # -- output helpers
    def _break(self, blank: bool) -> None:
        self._end_link()
        if self.bullet == len(self.out):
            return  # a block opening a list item (<li><p>): its text follows the bullet
        self.out.append("\n\n" if blank else "\n")
        self.in_item = self.in_item and not blank
        self.line_start = True

    def _end_link(self) -> None:
        """Write the open link, if any, from the text gathered since it opened."""
        if self.link is None:
            return
        href, start = self.link
        self.link = None
        inner = "".join(self.out[start:])
        label = " ".join(inner.split())
        # Blanks at the ends of the link's text stay around it ("un [deux](…) trois").
        lead, trail = (" " if inner[:1].isspace() else ""), (" " if inner[-1:].isspace() else "")
        raw = " ".join("".join(self.link_raw).split())
        if not raw or raw == href:
            label = _escape_inline(href)
        # "[a\\]: b](…)" at a line start would read as a reference definition.
        label = label.replace("\\[", "&#91;").replace("\\]", "&#93;")
        self.out[start:] = [f"{lead}[{label}]({_link_target(href)}){trail}"]
        self.line_start = False

    def _after_address(self, position: int) -> bool:
        """Whether the text before ``position`` ends with a web or mail address (it would absorb a marker)."""
        tail = "".join(self.out[max(0, position - 8):position])
        words = tail.split()
        return bool(tail) and not tail[-1].isspace() and bool(words) and bool(_ADDRESS.search(words[-1]))

    def _drop_emphasis_from(self, start: int) -> None:
        """Forget emphasis opened at or after ``start`` (its text is being rewritten)."""
        while self.emphasis and self.emphasis[-1][1] >= start:
            _, pos = self.emphasis.pop()
            self.out[pos] = ""

    def _end_cell(self) -> None:
        table = self.table
        if table is None or table.cell is None:
            return
        if self.link is not None and self.link[1] >= table.cell:
            self._end_link()
        self._drop_emphasis_from(table.cell)
        text = " ".join("".join(self.out[table.cell:]).split())
        del self.out[table.cell:]
        if table.row is None:
            table.row = []
        table.row.append(text)
        table.cell = None

    def _end_row(self) -> None:
        table = self.table
        if table is None:
            return
        self._end_cell()
        if table.row is not None:
            table.rows.append(table.row)
            table.row = None

    def _end_table(self) -> None:
        table = self.table
        if table is None:
            return
        self._end_row()
        self._drop_emphasis_from(table.start)
        del self.out[table.start:]
        self.table = None
        stray = " ".join(" ".join(table.stray).split())
        self.out.append("\n\n")
        if stray:
            self.out.append(_escape_line_start(_escape_inline(stray)) + "\n\n")
        body = table.markdown()
        if body:
            self.out.append(body + "\n\n")
        self.line_start = True

    def finish(self) -> None:
        """Close what the fragment left open: a link, a table; an emphasis left open loses its marker."""
        self._end_link()
        self._end_table()
        self._drop_emphasis_from(0)

    # -- parser callbacks
    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip += 1
            return
        if self.skip:
            return
        if self.table is not None and tag in ("table", "tr", *_CELLS):
            self._table_tag(tag)
        elif tag == "table":
            self._end_link()
            self.table = _Table(len(self.out))
        elif tag == "br":
            self.out.append("\n")
            self.line_start = True
        elif tag in ("ul", "ol"):
            self.lists.append([tag, 0])
            self._break(blank=len(self.lists) == 1)
        elif tag == "li":
            if not self.in_item:
                self._break(blank=True)  # after a paragraph, a list must start on its own
            self._end_link()
            depth = 1 + sum(1 for outer in self.lists[:-1] if outer[1])  # lists with an item open
            kind = self.lists[-1] if self.lists else ["ul", 0]
            kind[1] += 1
            bullet = f"{kind[1]}." if kind[0] == "ol" else "-"
            self.out.append("\n" + "    " * (depth - 1) + bullet + " ")
            self.bullet = len(self.out)
            self.in_item = True
            self.line_start = True
        elif tag in _EMPHASIS and self.link is None:
            self.emphasis.append((_EMPHASIS[tag], len(self.out)))
            self.out.append(_EMPHASIS[tag])
        elif tag == "a":
            self._end_link()  # a link inside a link: the first one ends here
            href = (dict(attrs).get("href") or "").strip()
            in_cell = self.table is None or self.table.cell is not None
            if _SAFE_LINK.match(href) and in_cell:
                self.link = (href, len(self.out))
                self.link_raw = []
        elif tag in _BLOCKS:
            self._break(blank=True)

    def _table_tag(self, tag: str) -> None:
        table = self.table
        assert table is not None
        if tag == "table":
            table.depth += 1
        elif table.depth > 1:
            self.out.append(" ")  # a nested table's rows and cells: words apart, in the outer cell
        elif tag == "tr":
            self._end_row()
        else:
            self._end_cell()
            table.cell = len(self.out)
            self.line_start = False  # a cell holds inline text only

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if self.table is not None and tag in ("table", "tr", *_CELLS):
            if tag == "table":
                self.table.depth -= 1
                if not self.table.depth:
                    self._end_table()
            elif self.table.depth == 1 and tag == "tr":
                self._end_row()
            elif self.table.depth == 1:
                self._end_cell()
            return
        if tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self._break(blank=not self.lists)
        elif tag in _EMPHASIS and self.link is None:
            if self.emphasis and self.emphasis[-1][0] == _EMPHASIS[tag]:
                marker, start = self.emphasis.pop()
                inner = "".join(self.out[start + 1:])
                if _EMPHASIZABLE.match(inner.strip()) and "\n" not in inner and not self._after_address(start):
                    # Markdown emphasis must hug its text: "**a** b", not "** a **".
                    lead = inner[: len(inner) - len(inner.lstrip())]
                    trail = inner[len(inner.rstrip()):]
                    self.out[start:] = [lead, marker, inner.strip(), marker, trail]
                else:
                    self.out[start] = ""
        elif tag == "a":
            self._end_link()
        elif tag in _BLOCKS:
            self._break(blank=True)

    def handle_data(self, data):
        if self.skip:
            return
        text = re.sub(r"\s+", " ", data)
        table = self.table
        if table is not None and table.cell is None:
            table.stray.append(text)
            return
        if self.link is not None:
            self.link_raw.append(text)
        if self.line_start:
            text = text.lstrip()
            if not text:
                return
            self.out.append(_escape_line_start(_escape_inline(text)))
            self.line_start = False
        else:
            self.out.append(_escape_inline(text))


def html_to_markdown(html: str) -> str:
    """Markdown text of an HTML fragment (see the module docstring)."""
    if not html:
        return ""
    parser = _Converter()
    parser.feed(html)
    parser.close()
    parser.finish()
    # Text that looks like a tag must stay text, even when the parser handed it
    # over in pieces ("<" then "b" for an unfinished "<b" at the end).
    text = _TAG_START.sub("&lt;", "".join(parser.out))
    # A "!" of the text just before a link would make it an image.
    text = _BANG_LINK.sub(r"\1\\![", text)
    lines = [line.rstrip() if _LIST_ITEM.match(line) else line.strip() for line in text.split("\n")]
    lines = [line for line in lines if not _EMPTY_ITEM.match(line)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def description_text(raw: str | None, *, kind: str | None = None) -> str | None:
    """A description as livret stores it: Markdown text, or None when empty.

    ``kind`` is what the source says the text is: ``"html"``, ``"plain"``
    (escaped, so it renders as typed) or ``"markdown"`` (kept as it is);
    None means "guess": HTML when a tag or an entity gives it away, else plain.
    """
    if raw is None:
        return None
    raw = str(raw)
    if kind is None:
        kind = "html" if looks_like_html(raw) else "plain"
    if kind == "html":
        text = html_to_markdown(raw)
    elif kind == "plain":
        text = escape_markdown(raw)
    else:
        text = raw.replace("\r\n", "\n").strip()
    return text or None
