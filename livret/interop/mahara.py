"""Mahara SmartEvidence frameworks: the ``.matrix`` JSON file (import).

A matrix file is ``{"framework": {...}}`` with ``name``, ``description``,
``evidencestatuses`` (the assessment levels), ``standards`` (groups) and
``standardelements`` (the competencies, linked to a standard by
``standardid`` and to a parent element by ``parentelementid``).  Older files
nest the elements of each standard under ``standards[i].standardelement``;
both layouts are read.

livret reads what Mahara itself accepts (module/framework, ``Framework::commit``
and ``Framework::to_json``), and says what it does differently:

- elements map to competencies (code from ``elementid``, else the short
  name), standards to blocks (code from the short name); an identifier used
  twice (Mahara's own example matrix has one) or that gives no code is
  accepted with a warning, the later element getting ``<code>-2``; a parent
  reference names the first element with that identifier, as in Mahara;
- the parent is ``parentelementid`` (what Mahara reads) or ``parentid``
  (what Mahara's *export* writes); an empty value or ``undefined`` means none;
- evidence statuses become the scale, lowest first, in Mahara's order:
  ``begun`` (0), ``incomplete`` (1), ``partialcomplete`` (2), ``completed``
  (3), ``completed`` being the acquired level; a status the file leaves out
  gets Mahara's default label (in French), as Mahara does; a key Mahara does
  not know takes the type of its position in the list, as in Mahara;
- HTML descriptions become Markdown text, plain ones are escaped;
- every key livret does not read is named in a warning.

Problems name the key path (``framework.standards[2].name``).
"""

from __future__ import annotations

import json
from collections import defaultdict
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
STATUS_NAMES = {0: "begun", 1: "incomplete", 2: "partialcomplete", 3: "completed"}
COMPLETED = 3
DEFAULT_STATUSES = {
    0: "Prêt pour l'évaluation",
    1: "Ne satisfait pas au critère",
    2: "Satisfait partiellement au critère",
    3: "Satisfait au critère",
}
SOURCE_PREFIX = "Mahara SmartEvidence (.matrix)"
#: Keys livret reads, per object; any other key is named in a warning.
FRAMEWORK_KEYS = {"name", "description", "evidencestatuses", "standards", "standardelements"}
STANDARD_KEYS = {"shortname", "name", "description", "standardid", "standardelement"}
ELEMENT_KEYS = {"shortname", "name", "description", "standardid", "elementid", "parentelementid", "parentid"}
#: Why some well-known Mahara keys are not read.
UNREAD_REASONS = {
    "institution": "réglage de Mahara",
    "selfassess": "réglage de Mahara",
    "active": "réglage de Mahara",
    "priority": "l'ordre du fichier fait foi",
    "parent": "ancien format : livret lit la parenté dans parentelementid ou parentid",
}
#: Parent values Mahara reads as "no parent" (PHP's empty(), and its editor's "undefined").
_NO_PARENT = (None, "", 0, "0", False, "undefined")
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
        self.unread: dict[tuple[str, str], list[str]] = defaultdict(list)

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{self.name} : {path} : {message}")

    def note_unread(self, obj: dict, known: set[str], container: str, index: str = "") -> None:
        """Remember the keys of ``obj`` livret does not read (``container[index].key``)."""
        for key in obj:
            if key not in known:
                self.unread[(container, str(key))].append(index)

    def unread_warnings(self) -> list[str]:
        out = []
        for (container, key), indexes in self.unread.items():
            shown = ", ".join(indexes[:5]) + (", …" if len(indexes) > 5 else "")
            where = f"{container}[{shown}]" if shown else container
            reason = UNREAD_REASONS.get(key)
            out.append(f"{where}.{key} : clé non lue par livret, ignorée" + (f" ({reason})" if reason else ""))
        return out

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


def _scale(r: _Reader, fw: dict, warnings: list[str]) -> dict[str, Any]:
    """Mahara's four statuses: the file's labels over Mahara's defaults (Framework::get_evidence_statuses)."""
    labels = dict(DEFAULT_STATUSES)
    given: dict[int, str] = {}  # type -> path that set it
    raw = fw.get("evidencestatuses")
    if raw is not None and not isinstance(raw, list):
        warnings.append("framework.evidencestatuses : liste attendue, ignorée (Mahara l'ignore aussi) : "
                        "statuts par défaut")
        raw = None
    for i, item in enumerate(raw or []):
        path = f"framework.evidencestatuses[{i}]"
        if not isinstance(item, dict) or not item:
            r.fail(path, "objet attendu, ex. {\"completed\": \"Satisfait au critère\"}")
            continue
        key, label = next(iter(item.items()))
        if len(item) > 1:
            warnings.append(f"{path} : seule la première clé ({key}) est lue, comme dans Mahara")
        kind = STATUS_TYPES.get(str(key))
        if kind is None:
            if i not in STATUS_NAMES:
                warnings.append(f"{path}.{key} : statut inconnu de Mahara, ignoré")
                continue
            kind = i
            warnings.append(f"{path}.{key} : statut inconnu : pris, comme dans Mahara, pour le statut de "
                            f"sa position ({STATUS_NAMES[i]})")
        if kind in given:
            warnings.append(f"{path}.{key} : statut en double ({given[kind]}) : le dernier l'emporte, "
                            "comme dans Mahara")
        if not isinstance(label, str) or not label.strip():
            warnings.append(f"{path}.{key} : libellé vide ou qui n'est pas un texte : libellé par défaut "
                            f"« {DEFAULT_STATUSES[kind]} »")
            label = DEFAULT_STATUSES[kind]
        labels[kind] = label
        given[kind] = path
    missing = [STATUS_NAMES[k] for k in sorted(labels) if k not in given]
    if raw is not None and missing:
        absent = " absent : libellé" if len(missing) == 1 else " absents : libellés"
        warnings.append("framework.evidencestatuses : " + ", ".join(missing) + absent
                        + " par défaut de Mahara (" + ", ".join(f"« {DEFAULT_STATUSES[STATUS_TYPES[m]]} »"
                                                      for m in missing) + ")")
    values = [{"value": str(k), "label": fit_title(labels[k], f"statut {k}", warnings)} for k in sorted(labels)]
    return {"values": values, "acquired": str(COMPLETED)}


def _parent_ref(r: _Reader, el: dict, path: str, warnings: list[str]) -> tuple[str, str] | None:
    """``(key, element id)`` of the element's parent, or None: parentelementid, else parentid."""
    refs = []
    for key in ("parentelementid", "parentid"):
        value = el.get(key)
        if value in _NO_PARENT or isinstance(value, bool):
            continue
        if not isinstance(value, (str, int, float)):
            r.fail(f"{path}.{key}", f"texte ou nombre attendu (lu : {json.dumps(value)[:60]})")
            continue
        if str(value).strip():
            refs.append((key, str(value).strip()))
    if len(refs) == 2 and refs[0][1] != refs[1][1]:
        warnings.append(f"{path} : parentelementid « {refs[0][1]} » et parentid « {refs[1][1]} » diffèrent : "
                        "parentelementid l'emporte (c'est lui que Mahara lit)")
    return refs[0] if refs else None


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
    r.note_unread(root, {"framework"}, "")
    r.note_unread(fw, FRAMEWORK_KEYS, "framework")
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
            blocks.append({"code": None, "title": "", "description": None, "competencies": []})
            continue
        r.note_unread(std, STANDARD_KEYS, "framework.standards", str(i))
        short = r.text(std, "shortname", path)
        long_name = r.text(std, "name", path)
        if not (short or long_name):
            r.fail(path, "ni « shortname » ni « name » : le standard n'a pas de nom")
        sid = std.get("standardid")
        if flat is not None and sid is None:
            r.fail(f"{path}.standardid", "clé obligatoire manquante (les éléments s'y rattachent)")
        elif sid in by_standard:
            first = by_standard[sid]
            warnings.append(f"{path}.standardid : standardid {json.dumps(sid)} déjà utilisé par "
                            f"framework.standards[{first}] : ses éléments vont à ce premier standard "
                            "(Mahara les montrerait sous les deux)")
        elif sid is not None:
            by_standard[sid] = i
        code = block_codes.add_distinct(short or long_name, f"S{i + 1}", f"{path} :", path, warnings) \
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

    standard_of: dict[str, int] = {}  # element id -> index of its standard (first element with that id)
    pending: list[tuple[int, str, dict, tuple[str, str] | None]] = []
    ids_of: list[dict[str, str]] = []  # per standard: element id -> code of the first element with it
    for b, (block, elements) in enumerate(zip(blocks, elements_of)):
        ids: dict[str, str] = {}
        ids_of.append(ids)
        for path, el in elements:
            if not isinstance(el, dict):
                r.fail(path, "objet attendu")
                continue
            container, _, index = path.rpartition("[")
            r.note_unread(el, ELEMENT_KEYS, container, index.rstrip("]"))
            element_id = r.text(el, "elementid", path)
            short = r.text(el, "shortname", path)
            long_name = r.text(el, "name", path)
            if not (element_id or short):
                r.fail(path, "ni « elementid » ni « shortname » : l'élément n'a pas d'identifiant")
                continue
            if not (long_name or short):
                r.fail(path, "ni « name » ni « shortname » : l'élément n'a pas d'intitulé")
                continue
            fallback = f"{block['code'] or f'S{b + 1}'}.{len(block['competencies']) + 1}"
            code = comp_codes.add_distinct(element_id or short, fallback, f"{path} :", path, warnings)
            if element_id:
                ids.setdefault(element_id, code)
                standard_of.setdefault(element_id, b)
            comp = {"code": code, "title": fit_title(long_name or short, path, warnings),
                    "description": fit_description(
                        description_text(r.get(el, "description", path, str)), path, warnings)}
            block["competencies"].append(comp)
            pending.append((b, path, comp, _parent_ref(r, el, path, warnings)))
    parent_of: dict[str, tuple[str, str]] = {}  # code -> (parent code, path of the reference)
    for b, path, comp, ref in pending:
        if ref is None:
            continue
        key, parent = ref
        if parent in ids_of[b]:
            if ids_of[b][parent] == comp["code"]:
                r.fail(f"{path}.{key}", "un élément ne peut pas être son propre parent")
            else:
                comp["parent"] = ids_of[b][parent]
                parent_of[comp["code"]] = (comp["parent"], f"{path}.{key}")
        elif parent in standard_of:
            warnings.append(f"{path}.{key} : le parent « {parent} » est dans un autre standard : livret "
                            "rattache une compétence à une compétence de son bloc, parenté ignorée")
        else:
            r.fail(f"{path}.{key}", f"aucun élément « {parent} » dans ce standard")
    for code, (_, where) in parent_of.items():
        seen, current = {code}, code
        while current in parent_of:
            current = parent_of[current][0]
            if current in seen:
                r.fail(where, "boucle de parenté (un élément est son propre ancêtre)")
                break
            seen.add(current)
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
    return ImportResult(build_framework(data, name), warnings + r.unread_warnings(),
                        {**block_codes.renamed, **comp_codes.renamed})
