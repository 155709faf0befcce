"""Moodle competency frameworks: the CSV of admin/tool/lpimportcsv, both ways.

Moodle's file has one header row, then one row for the framework ("Is
framework" = 1) and one row per competency, linked to its parent by "Parent
ID number".  livret maps it as follows:

- top-level competencies become blocks; their children become the block's
  competencies; deeper ones keep their parent (``parent:``);
- a top-level competency without children becomes a block holding one
  competency with the same code (a block needs at least one competency);
- ID numbers become codes (characters outside ``A-Za-z0-9._:/-`` become
  ``-``; two ID numbers that would give the same code are an error);
- descriptions in HTML (format 0 or 1) become Markdown text;
- the framework's "Scale values" (lowest first) become the scale, valued
  ``1``..``n``; the lowest value marked ``proficient`` in "Scale
  configuration" is the ``acquired`` level.

What livret cannot hold (per-competency scales, completion rules, cross
references, taxonomies) is reported as a warning, never silently lost.

Reading follows Moodle's own importer: the columns are known by their titles
in English or French (Moodle's exporter translates them), and a file whose
titles are not recognised is read by position, as Moodle does, with a
warning.  The delimiter is ``,``, ``;``, tab or ``:``; the text UTF-8 (or
UTF-16 with its mark), else Windows-1252 with a warning (French Excel).
Descriptions in format 2 (plain text) are escaped, format 4 (Markdown) kept.

The export writes the same columns, descriptions as Markdown (format 4),
every cell safe for a spreadsheet (:mod:`livret.views.spreadsheet`), so
importing an export gives back the same framework; what Moodle has no field
for (the framework's ``version``, a non-Moodle ``source``) is a warning.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from ..store import french
from ..store.schema import Framework
from ..views.spreadsheet import csv_text, restore_cell
from .csv_files import sniff_delimiter
from .frameworks import (
    CodeBook,
    ExportFailed,
    ImportFailed,
    ImportResult,
    build_framework,
    decode_spreadsheet_text,
    fit_description,
    fit_title,
    framework_id,
)
from .htmltext import description_text

#: Column titles, in Moodle's order (lang strings of tool_lpimportcsv, English).
HEADERS = (
    "Parent ID number", "ID number", "Short name", "Description", "Description format",
    "Scale values", "Scale configuration", "Rule type (optional)", "Rule outcome (optional)",
    "Rule config (optional)", "Cross-referenced competency ID numbers", "Exported ID (optional)",
    "Is framework", "Taxonomy",
)
#: The same titles in French (Moodle's language pack): Moodle's exporter translates them.
HEADERS_FR = (
    "ID de la compétence parente", "ID", "Nom abrégé", "Description", "Format de description",
    "Valeurs du barème", "Configuration du barème", "Type de règle de compétence (optionnelle)",
    "Règle d’objectif (optionnelle)", "Règle de paramétrage (optionnelle)",
    "IDs des compétences croisées associées", "ID d’exportation (optionnel)", "Est un référentiel",
    "Taxonomie",
)
_KEYS = ("parent", "idnumber", "shortname", "description", "format", "scalevalues", "scaleconfig",
         "ruletype", "ruleoutcome", "ruleconfig", "related", "exportid", "isframework", "taxonomy")


def _norm(header: str) -> str:
    """``"Règle d’objectif (optionnelle)"`` -> ``"regledobjectif"``: letters only, no accent, no aside."""
    ascii_text = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z]", "", re.sub(r"\(.*?\)", "", ascii_text))


#: Normalised title -> key, in English and French; older Moodle versions spell some
#: titles differently ("Parent id number", "Shortname", "Exported id").
_COLUMN_KEYS = {_norm(h): k for titles in (HEADERS, HEADERS_FR) for h, k in zip(titles, _KEYS)}
_COLUMN_KEYS.update({"exportedid": "exportid", "crossreferencedcompetencyidnumbers": "related"})
REQUIRED = ("parent", "idnumber", "shortname", "isframework")
#: Moodle reads the columns by position: a file with at least this many is read that way
#: when its titles are not recognised ("Is framework" is the 13th column).
POSITIONAL_MIN_COLUMNS = _KEYS.index("isframework") + 1
#: Delimiters Moodle's CSV reader offers (csv_import_reader::get_delimiter_list).
DELIMITERS = (",", ";", "\t", ":")

FORMAT_MOODLE, FORMAT_HTML, FORMAT_PLAIN, FORMAT_MARKDOWN = 0, 1, 2, 4
#: Moodle's description formats as livret reads them (FORMAT_MOODLE is Moodle's auto-formatted HTML).
_FORMAT_KINDS = {FORMAT_MOODLE: "html", FORMAT_HTML: "html", FORMAT_PLAIN: "plain", FORMAT_MARKDOWN: "markdown"}
SOURCE_PREFIX = "Moodle (tool_lpimportcsv), ID number"
_SOURCE_RE = re.compile(re.escape(SOURCE_PREFIX) + r" « (.+) »$")
MOODLE_SHORTNAME_MAX = 100


@dataclass
class _Row:
    line: int
    cells: dict[str, str]

    def __getitem__(self, key: str) -> str:
        return (self.cells.get(key) or "").strip()


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "oui", "vrai")


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def _recognised(header: list[str]) -> dict[int, str]:
    """Column index -> key for the titles livret knows (the first column of each key)."""
    keys: dict[int, str] = {}
    for i, title in enumerate(header):
        key = _COLUMN_KEYS.get(_norm(title))
        if key is not None and key not in keys.values():
            keys[i] = key
    return keys


def _delimiter(text: str) -> str:
    """The delimiter whose header has the most known titles, then the most columns."""
    return sniff_delimiter(text, DELIMITERS, lambda header: len(_recognised(header)))


def _column_keys(header: list[str], name: str, warnings: list[str]) -> dict[int, str]:
    """Column index -> key: by title (English or French), else by Moodle's position.

    Moodle itself reads the 14 columns by position, whatever their titles (its
    exporter writes them in the user's language).  A header whose titles do
    not name the required columns is read that way, with a warning, if it has
    Moodle's columns; a title livret knows at another key's place is an error
    (the file is neither Moodle's layout nor titled).
    """
    keys = _recognised(header)
    if all(k in keys.values() for k in REQUIRED):
        for i, title in enumerate(header):
            if i not in keys and title.strip():
                why = "en double" if _norm(title) in _COLUMN_KEYS else "inconnue"
                warnings.append(f"{name}:1: colonne « {title.strip()} » {why} : ignorée")
        return keys
    if len(header) < POSITIONAL_MIN_COLUMNS:
        missing = [HEADERS[_KEYS.index(k)] for k in REQUIRED if k not in keys.values()]
        raise ImportFailed([
            f"{name}:1: {'colonne manquante' if len(missing) == 1 else 'colonnes manquantes'} : "
            + ", ".join(f"« {m} »" for m in missing)
            + f" (en-tête attendu : celui de l'export Moodle des référentiels de compétences, {len(HEADERS)} "
            f"colonnes ; lu : {french.count(len(header), 'colonne', 'colonnes')})"
        ])
    misplaced = [f"colonne {i + 1} « {header[i].strip()} » : Moodle y attend "
                 + (f"« {HEADERS[i]} »" if i < len(HEADERS) else "rien")
                 for i, key in keys.items() if i >= len(_KEYS) or _KEYS[i] != key]
    if misplaced:
        raise ImportFailed([f"{name}:1: en-tête ni reconnu ni dans l'ordre de Moodle : {m}" for m in misplaced])
    unknown = [t.strip() for i, t in enumerate(header[: len(_KEYS)]) if i not in keys and t.strip()]
    warnings.append(
        f"{name}:1: en-tête non reconnu (" + ", ".join(f"« {t} »" for t in unknown[:4])
        + (", …" if len(unknown) > 4 else "") + ") : colonnes lues dans l'ordre de Moodle ("
        + ", ".join(HEADERS) + ")"
    )
    if len(header) > len(_KEYS):
        warnings.append(f"{name}:1: colonnes au-delà de la {len(_KEYS)}e ignorées")
    return dict(enumerate(_KEYS[: len(header)]))


def _rows(text: str, name: str, warnings: list[str]) -> list[_Row]:
    """Records with their first line number; the delimiter is the one the header uses.

    Cells a spreadsheet-safe export prefixed with an apostrophe (livret's own
    export: :mod:`livret.views.spreadsheet`) are read back as they were.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    rows: list[_Row] = []
    keys: dict[int, str] | None = None
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if keys is None:
                keys = _column_keys(record, name, warnings)
                continue
            if not any(cell.strip() for cell in record):
                continue
            rows.append(_Row(line, {k: restore_cell(record[i]) for i, k in keys.items() if i < len(record)}))
    except csv.Error as exc:
        raise ImportFailed([f"{name}:{reader.line_num}: CSV illisible : {exc}"]) from None
    if keys is None:
        raise ImportFailed([f"{name}:1: fichier vide"])
    return rows


def _scale(row: _Row, name: str, problems: list[str], warnings: list[str]) -> dict[str, Any] | None:
    where = f"{name}:{row.line}"
    items = [v.strip() for v in row["scalevalues"].split(",")] if row["scalevalues"] else []
    if len(items) < 2 or not all(items):
        problems.append(f"{where}: « Scale values » : au moins deux niveaux non vides, séparés par des "
                        f"virgules, sont attendus (lu : {row['scalevalues']!r})")
        return None
    values = [{"value": str(i), "label": fit_title(label, f"{where}: niveau {i}", warnings)}
              for i, label in enumerate(items, 1)]
    proficient: list[int] = []
    raw = row["scaleconfig"]
    if not raw:
        warnings.append(f"{where}: « Scale configuration » vide : le niveau le plus haut "
                        f"({items[-1]}) vaut compétence acquise")
        return {"values": values, "acquired": str(len(items))}
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as exc:
        problems.append(f"{where}: « Scale configuration » : JSON invalide ({exc.msg}, caractère {exc.pos + 1})")
        return None
    if not isinstance(config, list):
        problems.append(f"{where}: « Scale configuration » : liste JSON attendue")
        return None
    for i, item in enumerate(config):
        if not isinstance(item, dict):
            problems.append(f"{where}: « Scale configuration »[{i}] : objet JSON attendu")
            return None
        if "id" not in item:
            continue  # the first item only names Moodle's scale id
        try:
            ident = int(item["id"])
        except (TypeError, ValueError):
            problems.append(f"{where}: « Scale configuration »[{i}].id : nombre attendu (lu : {item['id']!r})")
            return None
        if not 1 <= ident <= len(items):
            problems.append(f"{where}: « Scale configuration »[{i}].id : {ident} hors de l'échelle (1 à {len(items)})")
            return None
        if str(item.get("proficient", "0")).strip().lower() in ("1", "true"):
            proficient.append(ident)
    if not proficient:
        problems.append(f"{where}: « Scale configuration » : aucun niveau marqué « proficient » : "
                        "livret ne peut pas savoir quand une compétence est acquise")
        return None
    lowest = min(proficient)
    if set(proficient) != set(range(lowest, len(items) + 1)):
        warnings.append(f"{where}: les niveaux « proficient » ne sont pas tous en haut de l'échelle : "
                        f"dans livret, « {items[lowest - 1]} » et les niveaux au-dessus valent acquis")
    return {"values": values, "acquired": str(lowest)}


def read_moodle_csv(data: bytes | str, *, name: str = "référentiel.csv",
                    framework_id_: str | None = None) -> ImportResult:
    """Parse a Moodle competency framework CSV into a validated framework.

    Raises :class:`ImportFailed` listing every problem found (``file:line: message``).
    """
    warnings: list[str] = []
    rows = _rows(decode_spreadsheet_text(data, name, warnings, " (ré-exportez-le depuis Moodle en UTF-8)"),
                 name, warnings)
    problems: list[str] = []
    frameworks = [r for r in rows if _truthy(r["isframework"])]
    if not frameworks:
        raise ImportFailed([f"{name}: aucune ligne de référentiel (colonne « Is framework » à 1)"])
    for extra in frameworks[1:]:
        problems.append(f"{name}:{extra.line}: deuxième ligne de référentiel (« Is framework » à 1) : "
                        "un fichier ne contient qu'un référentiel")
    fw_row = frameworks[0]
    if not fw_row["shortname"]:
        problems.append(f"{name}:{fw_row.line}: « Short name » du référentiel vide")
    scale = _scale(fw_row, name, problems, warnings)

    codes = CodeBook()
    comps: dict[str, _Row] = {}
    code_of: dict[str, str] = {}
    for row in rows:
        if row is fw_row or _truthy(row["isframework"]):
            continue
        where = f"{name}:{row.line}"
        idn = row["idnumber"]
        if not idn:
            problems.append(f"{where}: « ID number » vide (chaque compétence a un ID number)")
            continue
        if not row["shortname"]:
            problems.append(f"{where}: « Short name » vide pour {idn}")
        code = codes.add(idn, f"{where}:", f"ligne {row.line}", problems)
        if code is None:
            continue
        comps[idn] = row
        code_of[idn] = code
        if row["scalevalues"] and row["scalevalues"] != fw_row["scalevalues"]:
            warnings.append(f"{where}: {idn} a sa propre échelle dans Moodle : livret applique "
                            "celle du référentiel")
        for key in ("ruletype", "related"):
            if row[key] and row[key] != "null":
                warnings.append(f"{where}: {idn} : la colonne « {HEADERS[_KEYS.index(key)]} » "
                                "n'est pas reprise par livret")
    children: dict[str, list[str]] = {}
    for idn, row in comps.items():
        parent = row["parent"]
        if parent == idn:
            problems.append(f"{name}:{row.line}: {idn} est son propre parent")
        elif parent and parent not in comps:
            problems.append(f"{name}:{row.line}: « Parent ID number » « {parent} » : aucune compétence "
                            "avec cet ID number dans le fichier")
        else:
            children.setdefault(parent, []).append(idn)
    reached: set[str] = set()

    def walk(idn: str) -> list[str]:
        reached.add(idn)
        out = [idn]
        for child in children.get(idn, []):
            out += walk(child)
        return out

    blocks_order = [(root, walk(root)[1:]) for root in children.get("", [])]
    for idn, row in comps.items():
        if idn not in reached and row["parent"] in comps and row["parent"] != idn:
            problems.append(f"{name}:{row.line}: {idn} n'est rattachée à aucune compétence de premier "
                            "niveau : boucle de parenté dans « Parent ID number »")
    if not blocks_order and not problems:
        problems.append(f"{name}: aucune compétence de premier niveau (« Parent ID number » vide)")
    if problems:
        raise ImportFailed(problems)

    def text(row: _Row, where: str) -> str | None:
        kind = _FORMAT_KINDS.get(int(row["format"])) if row["format"].isdigit() else None
        return fit_description(description_text(row["description"], kind=kind), where, warnings)

    blocks = []
    for root, descendants in blocks_order:
        row = comps[root]
        where = f"{name}:{row.line}"
        title = fit_title(row["shortname"], where, warnings)
        description = text(row, where)
        if descendants:
            competencies = []
            for idn in descendants:
                child = comps[idn]
                cwhere = f"{name}:{child.line}"
                comp = {"code": code_of[idn], "title": fit_title(child["shortname"], cwhere, warnings),
                        "description": text(child, cwhere)}
                if child["parent"] != root:
                    comp["parent"] = code_of[child["parent"]]
                competencies.append(comp)
        else:
            competencies = [{"code": code_of[root], "title": title, "description": description}]
        blocks.append({"code": code_of[root], "title": title, "description": description,
                       "competencies": competencies})
    title = fit_title(fw_row["shortname"], f"{name}:{fw_row.line}", warnings)
    data = {
        "id": framework_id(framework_id_, title),
        "title": title,
        "source": f"{SOURCE_PREFIX} « {fw_row['idnumber'] or fw_row['shortname']} »",
        "description": text(fw_row, f"{name}:{fw_row.line}"),
        "scale": scale,
        "blocks": blocks,
    }
    return ImportResult(build_framework(data, name), warnings, codes.renamed)


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def write_moodle_csv(framework: Framework) -> tuple[str, list[str]]:
    """The Moodle CSV of a framework, and warnings about what Moodle changes.

    Raises :class:`ExportFailed` when Moodle could not tell two rows apart.
    """
    warnings: list[str] = []
    scale = framework.scale
    if [v.value for v in scale.values] != [str(i) for i in range(1, len(scale.values) + 1)]:
        warnings.append("les valeurs de l'échelle deviennent 1 à "
                        f"{len(scale.values)} dans Moodle (qui ne garde que les libellés)")
    labels = []
    for v in scale.values:
        if "," in v.label:
            warnings.append(f"niveau « {v.label} » : virgule remplacée (Moodle sépare les niveaux par des virgules)")
        labels.append(v.label.replace(",", " /"))
    acquired = scale.rank(scale.acquired) + 1
    config = [{"scaleid": "0"}] + [
        {"id": i, "scaledefault": int(i == acquired), "proficient": 1}
        for i in range(acquired, len(scale.values) + 1)
    ]
    source = _SOURCE_RE.match(framework.source or "")
    if framework.source and not source:
        warnings.append(f"source « {framework.source} » non exportée : Moodle n'a pas de champ pour elle")
    if framework.version:
        warnings.append(f"version « {framework.version} » non exportée : Moodle n'a pas de champ pour elle")
    depth = 1 + max((_depth(framework, c.code) for _, c in framework.competencies()), default=1)
    rows: list[list[Any]] = [list(HEADERS), [
        "", source.group(1) if source else framework.id, framework.title, framework.description or "",
        FORMAT_MARKDOWN, ",".join(labels), json.dumps(config, separators=(",", ":")),
        "", "", "", "", "", 1, ",".join(["competency"] * depth),
    ]]
    seen: set[str] = set()

    def add(parent: str, code: str, title: str, description: str | None) -> None:
        if code in seen:
            raise ExportFailed([f"code « {code} » utilisé par un bloc et une compétence : Moodle ne "
                                "distingue pas les deux (renommez l'un des deux)"])
        seen.add(code)
        if len(title) > MOODLE_SHORTNAME_MAX:
            warnings.append(f"{code} : Moodle raccourcit les intitulés à {MOODLE_SHORTNAME_MAX} caractères")
        rows.append([parent, code, title, description or "", FORMAT_MARKDOWN, "", "", "", 0, "null",
                     "", len(rows) - 1, "", ""])

    for block in framework.blocks:
        single = block.competencies[0] if len(block.competencies) == 1 else None
        if single and single.code == block.code and single.title == block.title \
                and single.description == block.description:
            add("", block.code, block.title, block.description)  # a leaf at the top level
            continue
        add("", block.code, block.title, block.description)
        for comp in block.competencies:
            add(comp.parent or block.code, comp.code, comp.title, comp.description)
    return csv_text(rows, delimiter=",", lineterminator="\n"), warnings


def _depth(framework: Framework, code: str) -> int:
    depth, seen = 1, set()
    comp = framework.competency(code)
    while comp is not None and comp.parent and comp.code not in seen:
        seen.add(comp.code)
        depth += 1
        comp = framework.competency(comp.parent)
    return depth
