"""A4 PDF pages with livret's fonts: the base of every printable document.

The follow-up record of the audit pack (:mod:`livret.audit.record_pdf`) and
the attendance documents (:mod:`livret.attendance.documents`) start from
:class:`LivretPDF`.

Fonts: a Unicode TrueType font is needed for French typography (« », —, ’,
œ, ☐).  Debian's ``fonts-dejavu-core`` is used when installed; otherwise the
PDF falls back to the PDF core font Helvetica, with the few characters
outside Latin-1 replaced by close equivalents, so a machine without the
font still gets a readable PDF rather than an error.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path

from fpdf import FPDF

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}

#: Replacements for the core-font fallback (Latin-1 only).
_LATIN1 = str.maketrans({
    "—": "-", "–": "-", "’": "'", "‘": "'", "“": '"', "”": '"', "…": "...", "œ": "oe", "Œ": "OE",
    "\u202f": " ", "\u2009": " ", "≥": ">=", "≤": "<=", "→": "->", "€": "EUR", "•": "-",
    "☐": "[ ]", "☒": "[X]", "·": ".",
})

GREY = (235, 238, 242)


def font_dir() -> Path | None:
    """Where the DejaVu fonts are, or None (then the core font fallback is used)."""
    for d in FONT_DIRS:
        if all((d / name).is_file() for name in FONT_FILES.values()):
            return d
    return None


#: What the compact fonts keep: Latin scripts (accents of every Latin alphabet), punctuation,
#: currency, a few arrows and signs, the boxes of a form (☐ ☒) and the check mark.
COMPACT_RANGES = ((0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F), (0x1E00, 0x1EFF), (0x2000, 0x206F),
                  (0x20A0, 0x20CF), (0x2190, 0x2193), (0x2264, 0x2265), (0x2610, 0x2613), (0x2713, 0x2714))

_compact_lock = threading.Lock()
_compact_dir: Path | None = None


def compact_font_dir() -> Path | None:
    """DejaVu cut down to :data:`COMPACT_RANGES`, made once per process in a private temporary folder.

    fpdf2 parses and subsets the font file for every document: with the
    compact files a short document takes a third of the time (the attendance
    sheets of a month come by dozens).  A character outside the ranges prints
    as an empty box.  None when DejaVu is not installed.
    """
    global _compact_dir
    source = font_dir()
    if source is None:
        return None
    with _compact_lock:
        if _compact_dir is None or not all((_compact_dir / n).is_file() for n in FONT_FILES.values()):
            from fontTools import subset  # (a dependency of fpdf2)
            from fontTools.ttLib import TTFont

            folder = Path(tempfile.mkdtemp(prefix="livret-fonts-"))
            atexit.register(shutil.rmtree, folder, True)
            unicodes = {c for first, last in COMPACT_RANGES for c in range(first, last + 1)}
            for name in FONT_FILES.values():
                font = TTFont(source / name, recalcTimestamp=False)
                options = subset.Options(notdef_outline=True, name_IDs=["*"], layout_features=[])
                options.drop_tables += ["GPOS", "GSUB", "GDEF", "FFTM", "hdmx", "kern"]
                subsetter = subset.Subsetter(options)
                subsetter.populate(unicodes=unicodes)
                subsetter.subset(font)
                font.save(folder / name)
            _compact_dir = folder
        return _compact_dir


class LivretPDF(FPDF):
    """A4 pages (millimetres) in DejaVu, or Helvetica without it; :meth:`text` fits a string to the font.

    ``compact``: the fonts of :func:`compact_font_dir` (documents made by dozens).
    """

    def __init__(self, title: str, *, orientation: str = "portrait", compact: bool = False):
        super().__init__(orientation=orientation, unit="mm", format="A4")
        fonts = compact_font_dir() if compact else font_dir()
        if fonts is not None:
            for style, name in FONT_FILES.items():
                self.add_font("DejaVu", style, str(fonts / name))
            self.family = "DejaVu"
            self.unicode = True
        else:
            self.family = "Helvetica"
            self.unicode = False
        self.alias_nb_pages()
        self.set_title(self.text(title))
        self.set_lang("fr-FR")
        self.set_creator("livret")

    def text(self, value: object) -> str:
        """The text to write: as is with a Unicode font, Latin-1 with the core font."""
        text = "" if value is None else str(value)
        if self.unicode:
            return text
        return text.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")
