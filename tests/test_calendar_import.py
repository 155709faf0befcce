"""Work-study calendar from a CSV file (livret/interop/calendar_csv.py) and ``livret calendar import``."""

from __future__ import annotations

import datetime as dt
import subprocess

from click.testing import CliRunner

from livret.cli import main
from livret.interop.calendar_csv import parse_calendar_csv

GOOD = ("debut;fin;lieu;precision\n"
        "02/02/2026;06/02/2026;centre;Semaine 1\n"
        "2026-02-09;2026-02-27;Entreprise;\n"
        "16/02/2026;16/02/2026;absence;Arrêt maladie\n")


def head(project) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=project.portfolios, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_a_good_file_in_utf8_or_excel_windows_1252():
    for data in (GOOD.encode("utf-8"), GOOD.encode("cp1252"), GOOD.replace(";", ",").encode("utf-8-sig")):
        parsed = parse_calendar_csv(data)
        assert parsed.ok, parsed.errors
        assert [(p.start, p.kind, p.label) for p in parsed.periods] == [
            (dt.date(2026, 2, 2), "centre", "Semaine 1"), (dt.date(2026, 2, 9), "entreprise", None),
            (dt.date(2026, 2, 16), "absence", "Arrêt maladie")]


def test_columns_in_any_order_with_accents():
    parsed = parse_calendar_csv("Lieu;Début;Fin\ncentre;02/02/2026;06/02/2026\n".encode())
    assert parsed.ok and parsed.periods[0].end == dt.date(2026, 2, 6)


def test_bad_rows_are_named_by_line_and_column():
    data = ("debut;fin;lieu;precision\n"
            "02/02/2026;06/02/2026;centre;\n"
            "31/02/2026;06/03/2026;entreprise;\n"       # line 3: no such date
            "09/03/2026;02/03/2026;centre;\n"           # line 4: end before start
            "10/03/2026;12/03/2026;vacances;\n"         # line 5: unknown place
            ";13/03/2026;centre;\n")                    # line 6: no start
    parsed = parse_calendar_csv(data.encode())
    assert not parsed.ok and parsed.periods[:1]
    assert parsed.errors == [
        "ligne 3, debut : date inexistante (lu : '31/02/2026')",
        "ligne 4, fin : la fin de la période précède son début",
        "ligne 5, lieu : « vacances » inconnu (centre, entreprise ou absence)",
        "ligne 6, debut : date obligatoire",
    ]


def test_overlaps_and_header_and_encoding_errors():
    overlap = parse_calendar_csv(b"debut;fin;lieu\n02/02/2026;13/02/2026;centre\n09/02/2026;27/02/2026;entreprise\n")
    assert len(overlap.errors) == 1
    assert overlap.errors[0].startswith("ligne 3, debut : chevauche la période du 02/02/2026")
    assert parse_calendar_csv(b"du;au;lieu\n").errors == [
        "ligne 1, en-tête : colonnes manquantes : debut, fin (attendu : debut;fin;lieu;precision)"]
    assert parse_calendar_csv(b"").errors[0].startswith("fichier : vide")
    assert parse_calendar_csv(b"debut;fin;lieu\n\x81\x8d;x;y\n").errors == [
        "ligne 2, fichier : encodage illisible (ni UTF-8 ni Windows-1252)"]


def test_cli_imports_a_learner_calendar_in_one_commit(project, tmp_path):
    good = tmp_path / "calendrier.csv"
    good.write_text(GOOD, encoding="utf-8")
    runner = CliRunner()
    before = head(project)
    dry = runner.invoke(main, ["--root", str(project.root), "calendar", "import", str(good), "--learner", "alice",
                               "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "3 périodes" in dry.output and "rien n'a été écrit" in dry.output and head(project) == before
    done = runner.invoke(main, ["--root", str(project.root), "calendar", "import", str(good), "--learner", "alice",
                                "--author", "ada"])
    assert done.exit_code == 0, done.output
    assert head(project) != before
    log = subprocess.run(["git", "log", "-1", "--format=%an|%s"], cwd=project.portfolios, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert log == "ada|alice : calendrier de l'alternance importé (3 périodes) (ada)"
    assert [p.kind for p in project.store.profile("alice").calendar] == ["centre", "entreprise", "absence"]
    assert project.store.check() == []
    again = runner.invoke(main, ["--root", str(project.root), "calendar", "import", str(good), "--learner", "alice"])
    assert again.exit_code == 0 and "Rien à écrire" in again.output


def test_cli_writes_nothing_from_a_bad_file_and_imports_a_group(project, tmp_path):
    from livret.admin.groups import create_group

    bad = tmp_path / "mauvais.csv"
    bad.write_text("debut;fin;lieu\n02/02/2026;06/02/2026;centre\n09/02/2026;x;entreprise\n", encoding="utf-8")
    before = head(project)
    result = CliRunner().invoke(main, ["--root", str(project.root), "calendar", "import", str(bad), "--learner",
                                       "alice"])
    assert result.exit_code == 1
    assert f"{bad}: ligne 3, fin : date attendue au format JJ/MM/AAAA ou AAAA-MM-JJ (lu : 'x')" in result.output
    assert head(project) == before and project.store.profile("alice").calendar == []
    usage = CliRunner().invoke(main, ["--root", str(project.root), "calendar", "import", str(bad)])
    assert usage.exit_code == 2 and "--learner ID ou --group ID" in usage.output
    gid = create_group(project.store, {"name": "BTS 2026"}, ["alice", "bob"], author="ada")
    good = tmp_path / "groupe.csv"
    good.write_text(GOOD, encoding="utf-8")
    result = CliRunner().invoke(main, ["--root", str(project.root), "calendar", "import", str(good), "--group", gid])
    assert result.exit_code == 0, result.output
    group, _ = project.store.group(gid)
    assert len(group.calendar) == 3 and group.members == ["alice", "bob"]
    assert project.store.check() == []
