"""Attachment names and types.

A name given by a user never reaches the filesystem as it is: names with a
path separator, a NUL byte or ``..`` are refused with a clear error, and the
rest is reduced to ``[A-Za-z0-9._-]``.  The type is read from the content
(magic bytes), never from the name; the stored extension is the one of the
detected type, so a PDF named ``photo.jpg`` is stored as ``photo.pdf``.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from io import BytesIO

from .errors import FieldError

#: Detected type -> (canonical extension, French label).
ALLOWED_TYPES: dict[str, tuple[str, str]] = {
    "application/pdf": ("pdf", "PDF"),
    "image/png": ("png", "image PNG"),
    "image/jpeg": ("jpg", "photo JPEG"),
    "image/gif": ("gif", "image GIF"),
    "image/webp": ("webp", "image WebP"),
    "image/heic": ("heic", "photo HEIC (téléphone)"),
    "text/plain": ("txt", "texte"),
    "application/vnd.oasis.opendocument.text": ("odt", "document OpenDocument"),
    "application/vnd.oasis.opendocument.spreadsheet": ("ods", "tableur OpenDocument"),
    "application/vnd.oasis.opendocument.presentation": ("odp", "présentation OpenDocument"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx", "document Word"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx", "classeur Excel"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("pptx", "présentation PowerPoint"),
    "audio/mpeg": ("mp3", "audio MP3"),
    "audio/mp4": ("m4a", "audio M4A"),
    "video/mp4": ("mp4", "vidéo MP4"),
}
#: Types a browser shows inline (images); the rest is served as a download.
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
TEXT_EXTENSIONS = {"txt", "md", "csv"}


def sniff(data: bytes) -> str | None:
    """The MIME type of ``data`` read from its content, or None if not allowed."""
    head = data[:64]
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis", b"hevc", b"hevx"):
            return "image/heic"
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        if brand in (b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"qt  ", b"M4V ", b"dash"):
            return "video/mp4"
        return None
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(data)
    if b"\0" not in data[:8192]:
        try:
            data[:65536].decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < 65536 - 4:  # not just a character cut at the boundary
                return None
        return "text/plain"
    return None


def _sniff_zip(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(BytesIO(data)) as zf:
            names = set(zf.namelist())
            if "mimetype" in names:
                mimetype = zf.read("mimetype").decode("ascii", "replace").strip()
                return mimetype if mimetype in ALLOWED_TYPES else None
            if "word/document.xml" in names:
                return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            if "xl/workbook.xml" in names:
                return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            if "ppt/presentation.xml" in names:
                return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    return None


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, loc: tuple = ("attachments",)) -> str:
    """A file name reduced to safe characters; raise FieldError-bearing ValueError when refused."""
    if not name or not name.strip():
        raise AttachmentError(FieldError(loc, "nom de fichier vide"))
    if "\0" in name:
        raise AttachmentError(FieldError(loc, "nom de fichier invalide : caractère NUL"))
    if "/" in name or "\\" in name:
        raise AttachmentError(FieldError(loc, "nom de fichier invalide : séparateur de chemin (/ ou \\)"))
    if name in (".", "..") or ".." in name:
        raise AttachmentError(FieldError(loc, "nom de fichier invalide : « .. »"))
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    cleaned = _UNSAFE.sub("-", ascii_name).strip("-.") or "fichier"
    return cleaned[:80]


def stored_name(name: str, mime: str) -> str:
    """``safe_name`` with the extension of the detected type."""
    base = safe_name(name)
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    expected = ALLOWED_TYPES[mime][0]
    if mime == "text/plain" and ext.lower() in TEXT_EXTENSIONS:
        expected = ext.lower()
    if mime == "image/jpeg" and ext.lower() == "jpeg":
        expected = "jpeg"
    return f"{stem or 'fichier'}.{expected}"


class AttachmentError(ValueError):
    def __init__(self, error: FieldError):
        self.error = error
        super().__init__(str(error))


def allowed_labels() -> str:
    return ", ".join(sorted({label for _, label in ALLOWED_TYPES.values()}))
