"""A Python-Markdown extension that hands livret's raw HTML blocks to the page as they are.

Generated pages are Markdown for their headings (ids, permalinks and table
of contents come from the ``toc`` extension, as on any MkDocs page) and raw
HTML for the rest: lists, tables, charts, entry texts already rendered and
sanitized.  Python-Markdown reads a raw HTML block with its HTML parser
before storing it; for generated HTML that parse was a third of a page's
Markdown time.  :func:`livret.publish.site.text.raw_block` puts each block between
two comment lines; this extension stores what lies between them directly
(``htmlStash``, the same store Markdown's own raw-HTML handling uses), so
the block comes out unchanged and unparsed.

Without the extension the page is still ordinary Markdown: the comments and
the ``<div>`` between them are read as raw HTML, and give the same page.
"""

from __future__ import annotations

from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

from .text import RAW_END, RAW_START


class _RawBlockPreprocessor(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        if RAW_START not in lines:
            return lines
        out: list[str] = []
        i, count = 0, len(lines)
        while i < count:
            line = lines[i]
            if line == RAW_START:
                try:
                    end = lines.index(RAW_END, i + 1)
                except ValueError:  # not one of ours: leave it to Markdown
                    out.append(line)
                    i += 1
                    continue
                out += ["", self.md.htmlStash.store("\n".join(lines[i + 1:end])), ""]
                i = end + 1
            else:
                out.append(line)
                i += 1
        return out


class RawBlocks(Extension):
    """``markdown.Markdown(extensions=[RawBlocks(), ...])``."""

    def extendMarkdown(self, md) -> None:  # noqa: N802 (Python-Markdown's name)
        # After whitespace normalisation (30), before Markdown's raw HTML parser (20).
        md.preprocessors.register(_RawBlockPreprocessor(md), "livret_raw_blocks", 25)

    def __repr__(self) -> str:  # stable: the build keys its page cache on the extension list
        return "livret.publish.site.rawblocks.RawBlocks()"
