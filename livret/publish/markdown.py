"""The one sanitizing Markdown renderer, and the HTML allowlists of the sites.

Text written by people (entry bodies, a learner's profile text) can contain
raw HTML: Markdown allows it.  A portfolio is read by tutors, companies and
auditors, so nothing a writer types may run a script, load something from
another host, or restyle the page to hide or fake content.  Two policies:

- :func:`sanitize_html` (and :func:`render_markdown`, which uses it) is the
  policy for *user* content: formatting, lists, tables, links, images that
  are part of the site (relative URLs only); no ``class``, ``id`` or
  ``style``, no script, event handler, ``javascript:``/``data:`` URL,
  iframe, object, embed, form or ``<style>``.
- :func:`sanitize_page` is the policy for a whole generated page (the build
  runs it on every page's content HTML): the user policy plus the structure
  livret itself writes (``class``/``id``/ARIA attributes, ``<details>``,
  ``<time>``) and the inline SVG elements of the charts.  It is a second
  barrier: user text already went through :func:`sanitize_html`.

The forms app uses :func:`render_markdown` for its preview, so what a writer
sees before saving is what the portfolio shows.
"""

from __future__ import annotations

import functools
import re
import threading

import markdown as _markdown
import nh3

__all__ = ["EXTENSIONS", "render_markdown", "sanitize_html", "sanitize_page"]

#: Python-Markdown extensions for user text (entry bodies, profile text).
EXTENSIONS: tuple[str, ...] = (
    "tables",
    "fenced_code",
    "sane_lists",
    "def_list",
    "nl2br",
    "pymdownx.tilde",
    "pymdownx.magiclink",
)

# --------------------------------------------------------------------------
# Allowlists
# --------------------------------------------------------------------------

_USER_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "dl", "dt", "em",
    "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd",
    "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var",
})
_USER_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "ol": {"start"},
    "code": {"class"},  # fenced code: language-xxx only (see _filter)
}
#: Tags removed with everything inside them (their text must not show either).
_DROP_WITH_CONTENT = frozenset({"script", "style", "template", "noscript", "xmp", "noembed",
                                "noframes", "iframe", "object", "textarea", "select"})
_URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})

_SVG_TAGS = frozenset({"svg", "g", "rect", "line", "polyline", "polygon", "path", "circle",
                       "text", "tspan", "title", "desc"})
_SVG_PAINT = {"fill", "stroke", "stroke-width", "stroke-dasharray", "opacity", "fill-opacity"}
_SVG_ATTRIBUTES: dict[str, set[str]] = {
    "svg": {"viewBox", "width", "height", "preserveAspectRatio", "focusable"},
    "g": {"transform"} | _SVG_PAINT,
    "rect": {"x", "y", "width", "height", "rx", "ry"} | _SVG_PAINT,
    "line": {"x1", "y1", "x2", "y2"} | _SVG_PAINT,
    "polyline": {"points"} | _SVG_PAINT,
    "polygon": {"points"} | _SVG_PAINT,
    "path": {"d"} | _SVG_PAINT,
    "circle": {"cx", "cy", "r"} | _SVG_PAINT,
    "text": {"x", "y", "dx", "dy", "text-anchor", "dominant-baseline", "font-size", "font-weight"}
    | _SVG_PAINT,
    "tspan": {"x", "y", "dx", "dy", "font-weight"},
}
_PAGE_TAGS = _USER_TAGS | _SVG_TAGS | {
    "div", "nav", "section", "article", "aside", "header", "footer", "details", "summary",
    "time", "col", "colgroup",
}
_PAGE_GENERIC = {"id", "class", "title", "role", "lang", "dir", "aria-label", "aria-labelledby",
                 "aria-describedby", "aria-hidden", "aria-current"}


def _page_attributes() -> dict[str, set[str]]:
    attrs: dict[str, set[str]] = {tag: set(values) for tag, values in _USER_ATTRIBUTES.items()}
    for tag, values in _SVG_ATTRIBUTES.items():
        attrs.setdefault(tag, set()).update(values)
    attrs["details"] = {"open"}
    attrs["time"] = {"datetime"}
    attrs["a"] = attrs["a"] | {"download"}
    attrs["img"] = attrs["img"] | {"loading"}
    attrs["*"] = set(_PAGE_GENERIC)
    for values in attrs.values():  # generic attributes may not be repeated per tag
        if values is not attrs["*"]:
            values -= _PAGE_GENERIC
    return attrs


# --------------------------------------------------------------------------
# Attribute values
# --------------------------------------------------------------------------

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
#: Values dropped from any attribute: CSS tricks, and script URLs even where inert (a title),
#: so that no "javascript:" survives anywhere a later template might reuse the value.
_UNSAFE_VALUE = re.compile(r"url\s*\(|expression\s*\(|^\W*(?:javascript|vbscript|data)\s*:", re.IGNORECASE)
_PAINT = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]+|none)$")
_CODE_CLASS = re.compile(r"^language-[A-Za-z0-9_+#-]{1,30}$")
#: Classes that make the theme's JavaScript load code from another host.
_CDN_CLASSES = frozenset({"mermaid"})


def local_url(value: str) -> bool:
    """A URL the browser resolves inside the site: relative, no scheme, no host.

    ``//host/x`` and ``/\\host/x`` are protocol-relative for browsers; tabs and
    newlines inside a URL are dropped by browsers, so any whitespace or
    control character is refused too.
    """
    if not value or value.startswith(("//", "/\\", "\\")):
        return False
    if any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in value):
        return False
    return not _SCHEME.match(value)


def _filter(tag: str, attribute: str, value: str) -> str | None:
    """Per-attribute check after the allowlist: no remote loads, no CSS tricks."""
    if attribute == "src":
        return value if local_url(value) else None
    if attribute == "href":
        return value  # schemes are checked by nh3 (url_schemes)
    if _UNSAFE_VALUE.search(value):
        return None
    if attribute in ("fill", "stroke"):
        return value if _PAINT.match(value) else None
    if tag == "code" and attribute == "class":
        return value if _CODE_CLASS.match(value) else None
    if attribute == "class":
        # Material fetches a diagram library from a CDN for any ``pre.mermaid``.
        kept = [c for c in value.split() if c.lower() not in _CDN_CLASSES]
        return " ".join(kept) or None
    return value


@functools.lru_cache(maxsize=64)
def _user_cleaner(base: str) -> nh3.Cleaner:
    def relative(url: str) -> str | None:
        # A writer refers to an attachment as files/<name> (as in the front
        # matter); on a page that is not at the site root it needs a prefix.
        return base + url if base and url.startswith("files/") else url

    return nh3.Cleaner(
        tags=set(_USER_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={k: set(v) for k, v in _USER_ATTRIBUTES.items()},
        attribute_filter=_filter,
        url_schemes=set(_URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        url_relative=relative,
        strip_comments=True,
    )


@functools.lru_cache(maxsize=1)
def _page_cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(_PAGE_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes=_page_attributes(),
        attribute_filter=_filter,
        url_schemes=set(_URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def sanitize_html(html: str, *, base: str = "") -> str:
    """User-content HTML reduced to the allowlist.

    ``base`` prefixes relative ``files/...`` URLs (attachments), so that a
    link written as in the front matter works from a page in a subfolder.
    """
    return _user_cleaner(base).clean(html)


def sanitize_page(html: str) -> str:
    """A generated page's content HTML reduced to the page allowlist (adds SVG, classes, ids)."""
    return _page_cleaner().clean(html)


# --------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------

_local = threading.local()


def _converter() -> _markdown.Markdown:
    # Building a Markdown instance costs more than converting a short text:
    # keep one per thread (instances are not thread-safe).
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = _markdown.Markdown(
            extensions=list(EXTENSIONS),
            extension_configs={"pymdownx.magiclink": {"hide_protocol": False}},
            output_format="html",
        )
    return md


def render_markdown(text: str, *, base: str = "") -> str:
    """Markdown written by a person -> safe HTML (see :func:`sanitize_html`)."""
    return _render(text or "", base)


@functools.lru_cache(maxsize=4096)
def _render(text: str, base: str) -> str:
    # Cached: a learner's staff and shared sites render the same entry texts.
    md = _converter()
    try:
        html = md.reset().convert(text)
    finally:
        md.reset()
    return sanitize_html(html, base=base)
