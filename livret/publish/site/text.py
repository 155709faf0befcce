"""Writing Markdown and HTML fragments safely from data.

Every value that comes from a file (a title, a name, a label read from a
framework) goes through :func:`esc` before it reaches a page: the Markdown
engine must read it as text, never as markup.  Links between generated pages
are written relative to the page's source path (``../entrees/x.md``), the
convention every Markdown site engine resolves; raw HTML fragments (charts,
the timeline filter) need final URLs, which :func:`page_url` computes.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Iterable, Sequence

#: Characters that start inline Markup anywhere in a line (``<`` and ``&`` are HTML-escaped).
_MD_INLINE = re.compile(r"([\\`*_\[\]|])")
#: What would start a block (heading, list, quote, admonition) at the start of a line.
_MD_BLOCK_START = re.compile(r"^([#+\-!>])")
_MD_NUMBERED = re.compile(r"^(\d+)\.")
#: Anything :func:`esc` would change once whitespace is collapsed (most values: nothing).
_ESC_NEEDED = re.compile(r"[\\`*_\[\]|&<>]|^[#+\-!>]|^\d+\.")


def esc(value: object) -> str:
    """Plain text -> Markdown that renders as exactly that text, on one line.

    Only what Markdown would read as markup is escaped: each backslash escape
    is one more inline pattern for the Markdown engine to process, and pages
    hold hundreds of values.
    """
    text = " ".join(str(value).split())
    if not _ESC_NEEDED.search(text):
        return text
    text = _MD_INLINE.sub(r"\\\1", html.escape(text, quote=False))
    return _MD_NUMBERED.sub(r"\1\\.", _MD_BLOCK_START.sub(r"\\\1", text))


def attr(value: object) -> str:
    """Plain text -> an HTML attribute value (to put between double quotes)."""
    return html.escape(" ".join(str(value).split()), quote=True)


def h(value: object) -> str:
    """Plain text -> HTML text."""
    return html.escape(str(value), quote=False)


def rel(from_path: str, to_path: str) -> str:
    """Relative link from one source page to another source file (both site-relative).

    Same result as ``posixpath.relpath(to_path, dirname(from_path))`` for the
    normalized paths of a site (no ``.``, ``..`` or leading ``/``), without its
    two ``abspath`` calls: pages hold hundreds of links.
    """
    base = from_path.rpartition("/")[0]
    if not base:
        return to_path
    if base == to_path or base.startswith(to_path + "/"):  # a folder of the page itself
        return posixpath.relpath(to_path, base)
    here, there = base.split("/"), to_path.split("/")
    common = 0
    while common < len(here) and common < len(there) - 1 and here[common] == there[common]:
        common += 1
    return "../" * (len(here) - common) + "/".join(there[common:])


def link(text: object, from_path: str, to_path: str) -> str:
    return f"[{esc(text)}]({rel(from_path, to_path)})"


def page_url(path: str, directory_urls: bool) -> str:
    """The URL (relative to the site root) MkDocs gives to a source page."""
    stem = path[:-3] if path.endswith(".md") else path
    if not directory_urls:
        return stem + ".html" if path.endswith(".md") else path
    if stem == "index":
        return ""
    if stem.endswith("/index"):
        return stem[: -len("index")]
    return stem + "/" if path.endswith(".md") else path


def url(from_path: str, to_path: str, directory_urls: bool, *, page: bool = True) -> str:
    """Final relative URL from a page to another page (or, ``page=False``, a file), for raw HTML."""
    here = page_url(from_path, directory_urls)
    base = here if here.endswith("/") or here == "" else posixpath.dirname(here) + "/"
    target = page_url(to_path, directory_urls) if page else to_path
    out = posixpath.relpath(target or ".", base.rstrip("/") or ".")
    if target.endswith("/") or target == "":
        out = out.rstrip("/") + "/"
    return "./" if out in (".", "./") else out


def root_prefix(path: str, directory_urls: bool) -> str:
    """Prefix that leads from the page of ``path`` to the site root (``""`` or ``../``...)."""
    return "../" * page_url(path, directory_urls).count("/")


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table; cells must already be Markdown (use :func:`esc`)."""
    rows = list(rows)
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(cell.replace("\n", " ") or " " for cell in row) + " |")
    return "\n".join(lines)


def bullets(items: Iterable[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


#: Lines around a raw HTML block (see :mod:`livret.publish.site.rawblocks`).
RAW_START = "<!-- livret:html -->"
RAW_END = "<!-- /livret:html -->"


def raw_block(html_text: str) -> str:
    """Already-safe HTML as a Markdown block (blank lines around it).

    Between two comment lines: with :class:`livret.publish.site.rawblocks.RawBlocks`
    Markdown stores it unparsed; without, it is an ordinary raw HTML block.
    """
    return f"\n\n{RAW_START}\n<div class=\"livret-html\">\n{html_text}\n</div>\n{RAW_END}\n\n"


def line(value: object) -> str:
    """Plain text -> HTML text on one line (what :func:`esc` is for Markdown)."""
    return html.escape(" ".join(str(value).split()), quote=False)


def anchor(text: object, href: str) -> str:
    """An HTML link; ``href`` is a final URL (see :func:`url`)."""
    return f'<a href="{attr(href)}">{line(text)}</a>'


def labelled(label: str, value_html: str) -> str:
    """``<strong>Label</strong> : value`` (a line of details; the value is already HTML)."""
    return f"<strong>{line(label)}</strong> : {value_html}"


def html_list(items: Iterable[str]) -> str:
    """``<ul>`` of items that are already HTML."""
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def html_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """An HTML table; headers are plain text, cells already HTML."""
    head = "".join(f"<th>{line(x)}</th>" for x in headers)
    body = "\n".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table>\n<thead>\n<tr>{head}</tr>\n</thead>\n<tbody>\n{body}\n</tbody>\n</table>"


_HEADING = re.compile(r"<(/?)h([1-6])>")


def shift_headings(html_text: str, by: int) -> str:
    """Move user headings down (``<h1>`` -> ``<h3>`` for ``by=2``), so they nest under the page's own.

    Only for sanitized HTML, where headings carry no attribute.
    """
    return _HEADING.sub(lambda m: f"<{m.group(1)}h{min(6, int(m.group(2)) + by)}>", html_text)


def slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-") or "x"


def unique_slugs(values: Iterable[str]) -> dict[str, str]:
    """A distinct file-name-safe slug for each value (``B1.1`` -> ``b1-1``)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for value in values:
        base = candidate = slug(value)
        n = 2
        while candidate in used:
            candidate = f"{base}-{n}"
            n += 1
        used.add(candidate)
        out[value] = candidate
    return out
