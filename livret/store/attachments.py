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
import zlib
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


#: Office files are zips: their type is named by a small member (``mimetype``) or by which members exist.
#: Nothing is inflated beyond these bounds, whatever a member declares (a zip bomb costs nothing).
ZIP_MAX_MEMBERS = 10_000  # a real document holds tens to a few thousand
ZIP_MIMETYPE_MAX = 256  # bytes of the ``mimetype`` member (about 50 in a real file)
ZIP_MAX_RATIO = 100  # inflated / compressed size of the member read
ZIP_MAX_DIRECTORY = 2 * 1024 * 1024  # bytes of the central directory (names and sizes of the members)
_READABLE_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # inflated a bounded amount at a time
_END = b"PK\x05\x06"  # end of central directory record (22 bytes, then a comment of up to 64 KiB)
_END64_LOCATOR = b"PK\x06\x07"  # ZIP64 (over 4 GiB or 65,535 members): no office document needs it


def _directory_size(data: bytes) -> int | None:
    """The size of the zip's central directory as its end record declares it (found as zipfile finds it).

    None for a ZIP64 archive or no end record.  Read before zipfile lists the
    members, whose list in memory would otherwise grow with what the archive
    claims to hold.
    """
    at = len(data) - 22 if data[-22:-18] == _END else data.rfind(_END, max(0, len(data) - 22 - 65535))
    if at < 0 or len(data) - at < 22 or (at >= 20 and data[at - 20:at - 16] == _END64_LOCATOR):
        return None
    if data[at + 10:at + 12] == b"\xff\xff" or data[at + 12:at + 16] == b"\xff\xff\xff\xff":
        return None  # (ZIP64 markers)
    return int.from_bytes(data[at + 12:at + 16], "little")


def _sniff_zip(data: bytes) -> str | None:
    """The type of an office file, reading at most :data:`ZIP_MIMETYPE_MAX` inflated bytes.

    Only the central directory (names and sizes) and the ``mimetype``
    member are read; that member is refused when it declares more than the
    bound, is compressed more than :data:`ZIP_MAX_RATIO` to one, uses a
    method that cannot be inflated a little at a time, or inflates to more
    than it declared.  Every refusal reads as "not an allowed type".
    """
    directory = _directory_size(data)
    if directory is None or directory > ZIP_MAX_DIRECTORY:
        return None
    try:
        with zipfile.ZipFile(BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > ZIP_MAX_MEMBERS:
                return None
            names = {info.filename for info in infos}
            if "mimetype" in names:
                mimetype = _small_member(zf, zf.getinfo("mimetype"))
                if mimetype is None:
                    return None
                mimetype = mimetype.decode("ascii", "replace").strip()
                return mimetype if mimetype in ALLOWED_TYPES else None
            if "word/document.xml" in names:
                return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            if "xl/workbook.xml" in names:
                return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            if "ppt/presentation.xml" in names:
                return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError,
            RuntimeError, zlib.error):
        return None
    return None


def _small_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """The bytes of a member that is small inflated and honest about it, else None (never more is inflated)."""
    if info.compress_type not in _READABLE_METHODS or info.file_size > ZIP_MIMETYPE_MAX:
        return None
    if info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1):
        return None
    with zf.open(info) as member:
        # ZipExtFile inflates at most what is asked (plus its small buffer): never the whole member.
        content = member.read(ZIP_MIMETYPE_MAX + 1)
    if len(content) > min(ZIP_MIMETYPE_MAX, info.file_size):
        return None  # inflates to more than it declared
    return content


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
