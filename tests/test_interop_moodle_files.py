"""Moodle competency CSV as Moodle and French Excel really write it.

Moodle's importer (admin/tool/lpimportcsv) reads the 14 columns by position
and its exporter writes the titles in the user's language; French Excel saves
in Windows-1252 with ``;``.  Every variant must give the framework the English
fixture gives, with a warning where livret had to guess.
"""

from __future__ import annotations

import csv
import io

import pytest
from interop_support import FIXTURES, MOODLE_CSV, cli, commits, snapshot

from livret.interop.frameworks import ImportFailed
from livret.interop.moodle import HEADERS, read_moodle_csv, write_moodle_csv

FRENCH_CSV = FIXTURES / "interop" / "moodle-tuteur-fr.csv"
ENGLISH = MOODLE_CSV.read_text(encoding="utf-8")
FRENCH = FRENCH_CSV.read_text(encoding="utf-8")
#: Titles of Moodle's German language pack: livret knows neither, Moodle reads them by position.
GERMAN = ("Übergeordnete ID-Nummer", "ID-Nummer", "Kurzname", "Beschreibung", "Beschreibungsformat",
          "Skalenwerte", "Skalenkonfiguration", "Regeltyp (optional)", "Regelergebnis (optional)",
          "Regelkonfiguration (optional)", "Querverweisende Kompetenz-ID-Nummern", "Exportierte ID (optional)",
          "Ist Kompetenzrahmen", "Taxonomie")


def expected():
    return read_moodle_csv(ENGLISH, name="en.csv", framework_id_="tuteur")


def with_header(titles, text: str = ENGLISH, delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerow(titles)
    return out.getvalue() + text.split("\n", 1)[1]


def semicolons(text: str) -> str:
    """The same file re-written with ``;``, as French Excel saves it."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def test_french_titles_are_recognised():
    result = read_moodle_csv(FRENCH_CSV.read_bytes(), name=FRENCH_CSV.name, framework_id_="tuteur")
    assert result.framework == expected().framework
    assert result.warnings == [w.replace("en.csv", FRENCH_CSV.name) for w in expected().warnings]


@pytest.mark.parametrize("titles", [GERMAN, tuple(f"Colonne {i}" for i in range(1, 15)),
                                    HEADERS[:12] + ("Référentiel ?", "Taxo")])
def test_unknown_titles_are_read_in_moodle_s_order_with_a_warning(titles):
    result = read_moodle_csv(with_header(titles), name="x.csv", framework_id_="tuteur")
    assert result.framework == expected().framework
    [warning] = [w for w in result.warnings if "en-tête" in w]
    assert warning.startswith("x.csv:1: en-tête non reconnu (") and "colonnes lues dans l'ordre de Moodle" in warning


def test_french_excel_windows_1252_and_semicolons():
    data = semicolons(FRENCH).encode("cp1252")
    result = read_moodle_csv(data, name="excel.csv", framework_id_="tuteur")
    assert result.framework == expected().framework
    assert any(w.startswith("excel.csv:1: le fichier n'est pas en UTF-8 : lu comme Windows-1252")
               for w in result.warnings)


def test_utf16_tab_separated_unicode_text():
    rows = list(csv.reader(io.StringIO(FRENCH, newline="")))
    out = io.StringIO()
    csv.writer(out, delimiter="\t", lineterminator="\r\n").writerows(rows)
    result = read_moodle_csv(out.getvalue().encode("utf-16"), name="unicode.txt", framework_id_="tuteur")
    assert result.framework == expected().framework
    assert not [w for w in result.warnings if "Windows-1252" in w]


def test_a_known_title_out_of_moodle_s_place_is_refused():
    titles = list(HEADERS)
    titles[0], titles[1], titles[2] = "Parent", "Short name", "ID number"
    with pytest.raises(ImportFailed) as caught:
        read_moodle_csv(with_header(titles), name="x.csv")
    assert caught.value.problems == [
        "x.csv:1: en-tête ni reconnu ni dans l'ordre de Moodle : colonne 2 « Short name » : Moodle y attend "
        "« ID number »",
        "x.csv:1: en-tête ni reconnu ni dans l'ordre de Moodle : colonne 3 « ID number » : Moodle y attend "
        "« Short name »",
    ]


def test_too_few_columns_for_moodle_s_layout_is_refused():
    text = "Nom;Code;Parent\nA;B;C\n"
    with pytest.raises(ImportFailed) as caught:
        read_moodle_csv(text, name="x.csv")
    assert caught.value.problems == [
        "x.csv:1: colonnes manquantes : « Parent ID number », « ID number », « Short name », "
        "« Is framework » (en-tête attendu : celui de l'export Moodle des référentiels de compétences, "
        "14 colonnes ; lu : 3 colonnes)"
    ]


def test_an_extra_titled_column_is_named():
    text = ENGLISH.replace(",Taxonomy\n", ",Taxonomy,Commentaire,Description\n", 1)
    result = read_moodle_csv(text, name="x.csv", framework_id_="tuteur")
    assert result.framework == expected().framework
    assert "x.csv:1: colonne « Commentaire » inconnue : ignorée" in result.warnings
    assert "x.csv:1: colonne « Description » en double : ignorée" in result.warnings


def test_plain_text_descriptions_are_escaped():
    text = ENGLISH.replace('"Texte brut, sans balise.",2', '"Texte *brut*, # sans [balise].",2')
    fw = read_moodle_csv(text, name="x.csv").framework
    assert fw.competency("SUI-1").description == "Texte \\*brut\\*, # sans \\[balise\\]."


def test_cli_imports_a_french_excel_file_and_prints_the_warnings(project, tmp_path):
    path = tmp_path / "referentiel.csv"
    path.write_bytes(semicolons(with_header(GERMAN, FRENCH)).encode("cp1252"))
    result = cli(project, "framework", "import", str(path), "--format", "moodle", "--id", "tuteur")
    assert result.exit_code == 0, result.stderr
    assert "attention : referentiel.csv:1: le fichier n'est pas en UTF-8 : lu comme Windows-1252" in result.stderr
    assert "attention : referentiel.csv:1: en-tête non reconnu" in result.stderr
    assert project.store.framework("tuteur")[0] == expected().framework
    assert cli(project, "check").exit_code == 0


def test_export_says_what_moodle_has_no_field_for(project, tmp_path):
    fw = project.store.framework("mini")[0].model_copy(
        update={"version": "2026", "source": "France compétences, RNCP 35000"})
    _, warnings = write_moodle_csv(fw)
    assert warnings == [
        "source « France compétences, RNCP 35000 » non exportée : Moodle n'a pas de champ pour elle",
        "version « 2026 » non exportée : Moodle n'a pas de champ pour elle",
    ]
    # A Moodle source is Moodle's own ID number: carried, not warned about.
    moodle = expected().framework
    assert write_moodle_csv(moodle)[1] == []


def test_cli_export_prints_the_warnings(project, tmp_path):
    path = project.portfolios / "_frameworks" / "mini.yml"
    path.write_text(path.read_text(encoding="utf-8") + "version: '2026'\n", encoding="utf-8")
    before, log = snapshot(project.portfolios), commits(project)
    out = tmp_path / "mini.csv"
    result = cli(project, "framework", "export", "mini", "--format", "moodle", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert "attention : version « 2026 » non exportée : Moodle n'a pas de champ pour elle" in result.stderr
    assert snapshot(project.portfolios) == before and commits(project) == log
