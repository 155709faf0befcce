"""Mahara SmartEvidence frameworks: the ``.matrix`` JSON file (import).

A matrix file is ``{"framework": {...}}`` with ``name``, ``description``,
``evidencestatuses`` (the assessment levels), ``standards`` (groups) and
``standardelements`` (the competencies, linked to a standard by
``standardid`` and to a parent element by ``parentelementid``).  Older files
nest the elements of each standard under ``standards[i].standardelement``;
both layouts are read.

livret maps standards to blocks (code from the standard's short name),
elements to competencies (code from ``elementid``, else the short name) and
evidence statuses to the scale, lowest first, in Mahara's own order:
``begun`` (0), ``incomplete`` (1), ``partialcomplete`` (2), ``completed``
(3); ``completed`` is the acquired level.  A file without statuses gets
Mahara's four default statuses, in French.  HTML descriptions become
Markdown text.  Problems name the key path (``framework.standards[2].name``).
"""

from __future__ import annotations

import json
from typing import Any

from .frameworks import (
    CodeBook,
    ImportFailed,
    ImportResult,
    build_framework,
    decode_utf8,
    fit_description,
    fit_title,
    framework_id,
)
from .htmltext import description_text

#: Mahara's evidence status keys and their type numbers (Framework::EVIDENCE_*).
STATUS_TYPES = {"begun": 0, "incomplete": 1, "partialcomplete": 2, "completed": 3,
                "0": 0, "1": 1, "2": 2, "3": 3}
COMPLETED = 3
DEFAULT_STATUSES = {
    0: "Prêt pour l'évaluation",
    1: "Ne satisfait pas au critère",
    2: "Satisfait partiellement au critère",
    3: "Satisfait au critère",
}
SOURCE_PREFIX = "Mahara SmartEvidence (.matrix)"
_JSON_MESSAGES = {
    "Expecting ',' delimiter": "virgule attendue",
    "Expecting ':' delimiter": "deux-points attendus",
    "Expecting property name": "nom de clé entre guillemets attendu",
    "Expecting value": "valeur attendue",
    "Unterminated string": "texte sans guillemet final",
    "Extra data": "contenu en trop après la fin du JSON",
    "Invalid control character": "caractère de contrôle interdit dans un texte",
}


class _Reader:
    """Typed access to the JSON tree, collecting problems with their key path."""

    def __init__(self, name: str):
        self.name = name
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{self.name} : {path} : {message}")

    def get(self, obj: dict, key: str, path: str, kind: type | tuple, *, required: bool = False) -> Any:
        value = obj.get(key)
        where = f"{path}.{key}"
        if value is None:
            if required:
                self.fail(where, "clé obligatoire manquante")
            return None
        if isinstance(value, bool) or not isinstance(value, kind):
            expected = {str: "texte", list: "liste", dict: "objet"}.get(kind, "texte ou nombre")
            self.fail(where, f"{expected} attendu (lu : {json.dumps(value)[:60]})")
            return None
        return value

    def text(self, obj: dict, key: str, path: str, *, required: bool = False) -> str | None:
        value = self.get(obj, key, path, (str, int, float), required=required)
        if value is None:
            return None
        value = str(value).strip()
        if not value and required:
            self.fail(f"{path}.{key}", "ne doit pas être vide")
        return value or None


def _parse(data: bytes | str, name: str) -> Any:
    try:
        return json.loads(decode_utf8(data, name))
    except json.JSONDecodeError as exc:
        message = next((fr for en, fr in _JSON_MESSAGES.items() if exc.msg.startswith(en)), exc.msg)
        raise ImportFailed([f"{name}:{exc.lineno}: JSON invalide : {message} (colonne {exc.colno})"]) from None


def _scale(r: _Reader, fw: dict, warnings: list[str]) -> dict[str, Any] | None:
    raw = r.get(fw, "evidencestatuses", "framework", list)
    if raw is None:
        if "evidencestatuses" in fw and fw["evidencestatuses"] is not None:
            return None
        labels = dict(DEFAULT_STATUSES)
    else:
        labels = {}
        for i, item in enumerate(raw):
            path = f"framework.evidencestatuses[{i}]"
            if not isinstance(item, dict) or len(item) != 1:
                r.fail(path, "objet à une seule clé attendu, ex. {\"completed\": \"Satisfait au critère\"}")
                continue
            key, label = next(iter(item.items()))
            kind = STATUS_TYPES.get(str(key))
            if kind is None:
                r.fail(f"{path}.{key}", "statut inconnu (attendu : begun, incomplete, partialcomplete ou completed)")
                continue
            if kind in labels:
                r.fail(f"{path}.{key}", "statut en double")
                continue
            if not isinstance(label, str) or not label.strip():
                r.fail(f"{path}.{key}", "libellé texte non vide attendu")
                continue
            labels[kind] = label
        if not r.problems and COMPLETED not in labels:
            r.fail("framework.evidencestatuses", "pas de statut « completed » : livret ne peut pas savoir "
                                                 "quand une compétence est acquise")
        if not r.problems and len(labels) < 2:
            r.fail("framework.evidencestatuses", "au moins deux statuts sont attendus")
    values = [{"value": str(k), "label": fit_title(labels[k], f"statut {k}", warnings)} for k in sorted(labels)]
    return {"values": values, "acquired": str(COMPLETED)}


def read_mahara_matrix(data: bytes | str, *, name: str = "référentiel.matrix",
                       framework_id_: str | None = None) -> ImportResult:
    """Parse a SmartEvidence matrix into a validated framework; raise ImportFailed."""
    root = _parse(data, name)
    r = _Reader(name)
    warnings: list[str] = []
    if not isinstance(root, dict) or not isinstance(root.get("framework"), dict):
        raise ImportFailed([f"{name} : framework : clé obligatoire manquante (le fichier doit être "
                            "{\"framework\": {...}})"])
    fw = root["framework"]
    title = r.text(fw, "name", "framework", required=True)
    description = r.get(fw, "description", "framework", str)
    scale = _scale(r, fw, warnings)
    standards = r.get(fw, "standards", "framework", list, required=True) or []
    flat = r.get(fw, "standardelements", "framework", list)

    blocks: list[dict[str, Any]] = []
    block_codes = CodeBook()
    comp_codes = CodeBook()
    by_standard: dict[Any, int] = {}
    elements_of: list[list[tuple[str, dict]]] = []
    for i, std in enumerate(standards):
        path = f"framework.standards[{i}]"
        if not isinstance(std, dict):
            r.fail(path, "objet attendu")
            elements_of.append([])
            continue
        short = r.text(std, "shortname", path)
        long_name = r.text(std, "name", path)
        if not (short or long_name):
            r.fail(path, "ni « shortname » ni « name » : le standard n'a pas de nom")
        sid = std.get("standardid")
        if flat is not None and sid is None:
            r.fail(f"{path}.standardid", "clé obligatoire manquante (les éléments s'y rattachent)")
        elif sid is not None:
            if sid in by_standard:
                r.fail(f"{path}.standardid", f"standardid {sid!r} en double")
            by_standard[sid] = i
        code = block_codes.add(short or long_name, f"{name} : {path} :", path, r.problems) \
            if (short or long_name) else None
        blocks.append({"code": code, "title": long_name or short,
                       "description": r.get(std, "description", path, str), "competencies": []})
        nested = r.get(std, "standardelement", path, list) or []
        elements_of.append([(f"{path}.standardelement[{j}]", el) for j, el in enumerate(nested)])
    for j, el in enumerate(flat or []):
        path = f"framework.standardelements[{j}]"
        if not isinstance(el, dict):
            r.fail(path, "objet attendu")
            continue
        sid = el.get("standardid")
        if sid not in by_standard:
            r.fail(f"{path}.standardid", f"aucun standard avec standardid {json.dumps(sid)}")
            continue
        elements_of[by_standard[sid]].append((path, el))

    for block, elements in zip(blocks, elements_of):
        ids: dict[str, str] = {}  # elementid -> code, within this standard
        pending: list[tuple[str, dict, str | None]] = []
        for path, el in elements:
            if not isinstance(el, dict):
                r.fail(path, "objet attendu")
                continue
            element_id = r.text(el, "elementid", path)
            short = r.text(el, "shortname", path)
            long_name = r.text(el, "name", path)
            if not (element_id or short):
                r.fail(path, "ni « elementid » ni « shortname » : l'élément n'a pas d'identifiant")
                continue
            if not (long_name or short):
                r.fail(path, "ni « name » ni « shortname » : l'élément n'a pas d'intitulé")
                continue
            code = comp_codes.add(element_id or short, f"{name} : {path} :", path, r.problems)
            if code is None:
                continue
            if element_id:
                ids[element_id] = code
            comp = {"code": code, "title": fit_title(long_name or short, path, warnings),
                    "description": fit_description(
                        description_text(r.get(el, "description", path, str)), path, warnings)}
            block["competencies"].append(comp)
            pending.append((path, comp, r.text(el, "parentelementid", path)))
        for path, comp, parent in pending:
            if parent is None:
                continue
            if parent not in ids:
                r.fail(f"{path}.parentelementid", f"aucun élément « {parent} » dans ce standard")
            elif ids[parent] == comp["code"]:
                r.fail(f"{path}.parentelementid", "un élément ne peut pas être son propre parent")
            else:
                comp["parent"] = ids[parent]
    if r.problems:
        raise ImportFailed(r.problems)

    kept = []
    for i, block in enumerate(blocks):
        if not block["competencies"]:
            warnings.append(f"framework.standards[{i}] ({block['title']}) : aucun élément, standard ignoré")
            continue
        block["title"] = fit_title(block["title"], f"framework.standards[{i}]", warnings)
        block["description"] = fit_description(description_text(block["description"]),
                                               f"framework.standards[{i}]", warnings)
        kept.append(block)
    if not kept:
        raise ImportFailed([f"{name} : framework.standardelements : aucun élément : rien à importer"])
    title = fit_title(title or "", "framework.name", warnings)
    data = {
        "id": framework_id(framework_id_, title),
        "title": title,
        "source": f"{SOURCE_PREFIX} « {title} »",
        "description": fit_description(description_text(description), "framework.description", warnings),
        "scale": scale,
        "blocks": kept,
    }
    return ImportResult(build_framework(data, name), warnings,
                        {**block_codes.renamed, **comp_codes.renamed})

