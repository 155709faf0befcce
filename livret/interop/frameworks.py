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

from ..store import FRAMEWORKS_DIR, Store, StoreError, atomic
from ..store.errors import from_validation_error
from ..store.schema import CODE_RE, FRAMEWORK_ID_RE, Framework
from ..store.yamlio import dump_yaml

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
                    message: str | None = None) -> Path:
    """Write ``_frameworks/<id>.yml`` atomically and commit it when the store has git.

    Refuses to replace an existing framework unless ``force``; raises
    :class:`StoreError` with a French message.
    """
    path = framework_path(store, framework.id)
    text = dump_yaml(framework_data(framework)).encode("utf-8")
    rel = path.relative_to(store.root).as_posix()
    with store.history.lock():
        try:
            if force and path.is_file() and path.read_bytes() == text:
                return path  # same framework: nothing to write, nothing to commit
            if force:
                atomic.replace(path, text)
            else:
                atomic.create_new(path, text)
        except FileExistsError:
            raise StoreError(f"le référentiel {framework.id} existe déjà ({rel}) : "
                             "choisissez un autre --id ou ajoutez --force pour le remplacer") from None
        except OSError as exc:
            raise StoreError(f"écriture impossible de {rel} : {exc.strerror}") from None
        store.history.commit([rel], author=author,
                             message=message or f"Référentiel {framework.id} importé ({author})")
    return path
