"""What the framework importers share: results, errors, codes, writing.

An importer reads another tool's file and returns an :class:`ImportResult`
(a validated :class:`livret.store.schema.Framework`, warnings about what livret
cannot represent, and the codes it had to adapt) or raises
:class:`ImportFailed` with one French message per problem, each naming the
line (CSV) or the key path (JSON).  Nothing is written until the whole file
has been read and the framework validated by the one schema.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..store import FRAMEWORKS_DIR, Store
from ..store.errors import from_validation_error
from ..store.schema import CODE_RE, FRAMEWORK_ID_RE, Framework
from ..store.writer import ANY_REVISION
from .csv_files import Undecodable, decode_utf8_or_cp1252

#: Longest title livret accepts (schema ShortText) and longest description.
MAX_TITLE = 200
MAX_DESCRIPTION = 5000


class ImportFailed(ValueError):
    """The file cannot be imported; ``problems`` are ready-to-print French lines."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ExportFailed(ImportFailed):
    """The framework cannot be written in the other tool's format."""


@dataclass
class ImportResult:
    framework: Framework
    warnings: list[str] = field(default_factory=list)
    #: Original identifiers that had to change to fit livret's code pattern.
    renamed: dict[str, str] = field(default_factory=dict)


def decode_utf8(data: bytes | str, name: str, hint: str = "") -> str:
    """Text of an uploaded file (a BOM is dropped); ImportFailed naming the line if not UTF-8."""
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFailed([f"{name}:{line}: le fichier n'est pas encodé en UTF-8{hint}"]) from None


#: Byte-order marks of the Unicode encodings a spreadsheet saves ("Texte Unicode" is UTF-16).
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def decode_spreadsheet_text(data: bytes | str, name: str, warnings: list[str], hint: str = "") -> str:
    """Text of a CSV file: UTF-8 (a BOM dropped), UTF-16 with its BOM, else Windows-1252.

    French Excel saves "CSV (séparateur : point-virgule)" in Windows-1252: such a
    file is read, with a warning (a UTF-8 file never decodes as anything else,
    so the guess is safe).  Bytes Windows-1252 does not define are an
    ImportFailed naming the line.
    """
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportFailed([f"{name}:1: UTF-16 illisible{hint}"]) from None
    try:
        text, line = decode_utf8_or_cp1252(data)
    except Undecodable as exc:
        raise ImportFailed([f"{name}:{exc.line}: le fichier n'est ni en UTF-8 ni en Windows-1252{hint}"]) from None
    if line is not None:
        warnings.append(f"{name}:{line}: le fichier n'est pas en UTF-8 : lu comme Windows-1252 (l'encodage "
                        "d'Excel en français) ; vérifiez les accents")
    return text


def slugify(text: str, *, max_length: int = 64) -> str:
    """``"Référentiel Tuteur 2026"`` -> ``"referentiel-tuteur-2026"`` (a valid framework id)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-")


def sanitize_code(raw: str) -> str:
    """The nearest livret code (``[A-Za-z0-9][A-Za-z0-9._:/-]*``, 64 max) to an identifier."""
    ascii_text = unicodedata.normalize("NFKD", raw.strip()).encode("ascii", "ignore").decode()
    code = re.sub(r"[^A-Za-z0-9._:/-]+", "-", ascii_text)
    code = re.sub(r"^[^A-Za-z0-9]+", "", code)[:64].rstrip("-")
    return code if CODE_RE.match(code) else ""


class CodeBook:
    """Maps another tool's identifiers to livret codes, refusing collisions.

    ``prefix`` starts each error message (``"f.csv:12:"``, ``"f.matrix : framework.x :"``);
    ``place`` names the identifier's place in later messages (``"ligne 12"``).
    """

    def __init__(self) -> None:
        self.by_code: dict[str, tuple[str, str]] = {}  # code -> (original, place)
        self.renamed: dict[str, str] = {}

    def add(self, original: str, prefix: str, place: str, problems: list[str]) -> str | None:
        code = sanitize_code(original)
        if not code:
            problems.append(f"{prefix} identifiant « {original} » inutilisable comme code "
                            "(lettres, chiffres et . _ : / - seulement)")
            return None
        if code in self.by_code:
            first, first_place = self.by_code[code]
            if first == original:
                problems.append(f"{prefix} identifiant « {original} » en double (déjà utilisé {first_place})")
            else:
                problems.append(f"{prefix} l'identifiant « {original} » donne le même code « {code} » "
                                f"que « {first} » ({first_place}) : renommez l'un des deux")
            return None
        self.by_code[code] = (original, place)
        if code != original:
            self.renamed[original] = code
        return code


    def add_distinct(self, original: str, fallback: str, prefix: str, place: str,
                     warnings: list[str]) -> str:
        """Like :meth:`add`, for a tool that accepts any identifier (Mahara): never refuses.

        An identifier that gives no code gets ``fallback`` (made a valid code); one
        whose code is taken gets ``<code>-2``, ``-3``...  Each case is a warning.
        """
        code = sanitize_code(original)
        said = not code
        if not code:
            code = sanitize_code(fallback) or "X"
            warnings.append(f"{prefix} identifiant « {original} » inutilisable comme code "
                            f"(lettres, chiffres et . _ : / - seulement) : code {code}")
        if code in self.by_code:
            first, first_place = self.by_code[code]
            base, n = code, 2
            while code in self.by_code:
                suffix = f"-{n}"
                code, n = base[: 64 - len(suffix)] + suffix, n + 1
            same = "en double" if first == original else f"qui donne le même code que « {first} »"
            warnings.append(f"{prefix} identifiant « {original} » {same} (déjà utilisé {first_place}) : "
                            f"code {code} pour celui-ci")
            said = True
        self.by_code[code] = (original, place)
        if code != original and not said:
            self.renamed[original] = code
        return code


def fit_title(text: str, where: str, warnings: list[str]) -> str:
    """A title within livret's limit (cut with an ellipsis, and said so)."""
    text = " ".join(text.split())
    if len(text) > MAX_TITLE:
        warnings.append(f"{where} : intitulé raccourci à {MAX_TITLE} caractères")
        return text[: MAX_TITLE - 1].rstrip() + "…"
    return text


def fit_description(text: str | None, where: str, warnings: list[str]) -> str | None:
    if text and len(text) > MAX_DESCRIPTION:
        warnings.append(f"{where} : description raccourcie à {MAX_DESCRIPTION} caractères")
        return text[: MAX_DESCRIPTION - 1].rstrip() + "…"
    return text


def framework_id(requested: str | None, title: str) -> str:
    """``--id`` when given, else the slugified title; raise ImportFailed if unusable."""
    fid = requested if requested is not None else slugify(title)
    if not FRAMEWORK_ID_RE.match(fid or ""):
        if requested is not None:
            raise ImportFailed([f"--id « {requested} » invalide : minuscules, chiffres et tirets "
                                "(ex. tuteur-2026)"])
        raise ImportFailed([f"impossible de tirer un identifiant du nom « {title} » : indiquez --id"])
    return fid


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def build_framework(data: dict[str, Any], source_name: str) -> Framework:
    """Validate importer output (None values dropped) with the one schema; raise ImportFailed."""
    try:
        return Framework.model_validate(_without_none(data))
    except ValidationError as exc:
        raise ImportFailed([f"{source_name} : référentiel obtenu invalide : {e}"
                            for e in from_validation_error(exc)]) from None


def framework_data(framework: Framework) -> dict[str, Any]:
    """The YAML mapping of a framework, as a person would write it (no empty keys)."""
    return framework.model_dump(mode="json", exclude_none=True)


def framework_path(store: Store, fid: str) -> Path:
    return store.root / FRAMEWORKS_DIR / f"{fid}.yml"


def write_framework(store: Store, framework: Framework, *, author: str, force: bool = False,
                    message: str | None = None, expected: str | None = ANY_REVISION) -> Path:
    """Write ``_frameworks/<id>.yml`` through the store (atomic, one commit, witnessed).

    Refuses to replace an existing framework unless ``force``; raises
    :class:`StoreError` with a French message (:class:`StaleWrite` when
    ``expected`` is not the replaced file's revision).
    """
    return store.write_framework(framework.id, framework_data(framework), author=author, force=force,
                                 message=message or f"Référentiel {framework.id} importé ({author})",
                                 expected=expected)
