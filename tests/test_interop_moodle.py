"""Moodle competency framework CSV: import, errors, export and round trip."""

from __future__ import annotations

import pytest
from interop_support import MOODLE_CSV, cli, commits, enrol_and_assess, snapshot

from livret.interop.frameworks import ImportFailed
from livret.interop.moodle import read_moodle_csv, write_moodle_csv

FIXTURE = MOODLE_CSV.read_text(encoding="utf-8")


def problems_of(text: str) -> list[str]:
    with pytest.raises(ImportFailed) as caught:
        read_moodle_csv(text.encode("utf-8"), name="f.csv")
    return caught.value.problems


def test_fixture_keeps_hierarchy_codes_texts_and_scale():
    result = read_moodle_csv(MOODLE_CSV.read_bytes(), name=MOODLE_CSV.name)
    fw = result.framework
    assert fw.id == "referentiel-du-tuteur-en-entreprise"
    assert fw.source == "Moodle (tool_lpimportcsv), ID number « TUT-2026 »"
    assert [b.code for b in fw.blocks] == ["ACC", "SUI", "SEC"]
    # Three levels: ACC (block) > ACC.1 > ACC.1.a / ACC.1.b.
    acc = fw.blocks[0]
    assert [(c.code, c.parent) for c in acc.competencies] == [
        ("ACC.1", None), ("ACC.1.a", "ACC.1"), ("ACC.1.b", "ACC.1"), ("ACC.2", None)]
    # A top-level competency without children is a block holding itself.
    sec = fw.blocks[2]
    assert [(c.code, c.title) for c in sec.competencies] == [("SEC", sec.title)]
    # HTML became Markdown; entities decoded; plain text and Markdown kept.
    assert fw.description == ("Compétences attendues du **tuteur** en entreprise.\n\n"
                              "Version de test écrite pour livret.")
    assert fw.competency("ACC.1").description == "Avant le premier jour :\n\n- poste de travail\n- planning"
    assert fw.competency("ACC.1.a").description == "Matériel & accès informatiques."
    assert fw.competency("ACC.2").description == \
        "Visite, règles, [livret d'accueil](https://example.org/livret-accueil)."
    assert fw.competency("SUI.2").description == "**Repérer** les signaux faibles."
    # Scale: labels in order, valued 1..n, acquired from "proficient".
    assert [(v.value, v.label) for v in fw.scale.values] == [
        ("1", "Non acquis"), ("2", "En cours d'acquisition"), ("3", "Acquis"), ("4", "Expert")]
    assert fw.scale.acquired == "3"
    # An ID number outside livret's code pattern is adapted and reported.
    assert result.renamed == {"SUI 1": "SUI-1"}
    assert fw.competency("SUI-1").title == "Conduire un entretien de suivi"
    assert any("Cross-referenced competency ID numbers" in w and "ACC.2" in w for w in result.warnings)


def test_cli_import_writes_a_valid_committed_framework_a_learner_can_be_assessed_against(project):
    result = cli(project, "framework", "import", str(MOODLE_CSV), "--format", "moodle", "--id", "tuteur")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("portfolios/_frameworks/tuteur.yml")
    assert "code adapté : « SUI 1 » → SUI-1" in result.stderr
    assert (project.portfolios / "_frameworks" / "tuteur.yml").is_file()
    assert commits(project)[0].endswith("|Référentiel tuteur importé de Moodle (moodle-tuteur.csv)")
    check = cli(project, "check")
    assert check.exit_code == 0, check.output + check.stderr
    views = enrol_and_assess(project, "tuteur", {"ACC.1.a": "3", "SUI-1": "2", "SEC": "4"})
    assert views["ACC.1.a"].acquired and views["SEC"].acquired and not views["SUI-1"].acquired
    assert cli(project, "check").exit_code == 0


def test_round_trip_export_reimports_to_the_same_framework(project, tmp_path):
    assert cli(project, "framework", "import", str(MOODLE_CSV), "--format", "moodle",
               "--id", "tuteur").exit_code == 0
    out = tmp_path / "export.csv"
    result = cli(project, "framework", "export", "tuteur", "--format", "moodle", "-o", str(out))
    assert result.exit_code == 0, result.output
    original = project.store.framework("tuteur")[0]
    again = read_moodle_csv(out.read_bytes(), name=out.name, framework_id_="tuteur")
    assert again.framework == original
    assert again.warnings == [] and again.renamed == {}
    # And a second export is byte-identical: the format is stable.
    assert write_moodle_csv(again.framework)[0] == out.read_text(encoding="utf-8")


def test_export_of_a_hand_written_framework_warns_about_renumbered_values(project):
    fw = project.store.framework("mini")[0]
    text, warnings = write_moodle_csv(fw)
    assert warnings == []  # mini's scale is already 1..4
    again = read_moodle_csv(text, name="mini.csv", framework_id_="mini").framework
    assert [b.code for b in again.blocks] == ["A", "B"] and again.scale == fw.scale
    zero_based = fw.model_copy(update={"scale": fw.scale.model_copy(update={
        "values": [v.model_copy(update={"value": str(i)}) for i, v in enumerate(fw.scale.values)],
        "acquired": "2"})})
    assert any("deviennent 1 à 4" in w for w in write_moodle_csv(zero_based)[1])


def test_semicolon_separated_file_from_french_excel_is_read():
    text = FIXTURE.replace('"Parent ID number","ID number","Short name",Description,',
                           '"Parent ID number";"ID number";"Short name";Description;')
    header, rest = text.split("\n", 1)
    header = header.replace(",", ";")
    rows = [
        ';TUT;"Tuteur";"<p>x</p>";1;"Non acquis,Acquis";"[{""scaleid"":""1""},{""id"":2,""proficient"":1}]";;;;;;1;',
        ';A;"Bloc A";;1;;;;0;null;;1;;',
        'A;A.1;"Compétence A.1";;1;;;;0;null;;2;;',
    ]
    fw = read_moodle_csv("\n".join([header, *rows]) + "\n", name="excel.csv").framework
    assert [c.code for _, c in fw.competencies()] == ["A.1"] and fw.scale.acquired == "2"


@pytest.mark.parametrize("mutate, expected", [
    (lambda t: t.replace("ACC.1,ACC.1.b,", "ACC.9,ACC.1.b,"),
     "f.csv:7: « Parent ID number » « ACC.9 » : aucune compétence avec cet ID number"),
    (lambda t: t.replace('""scaledefault"":1,', '""scaledefault"":1', 1),
     "f.csv:2: « Scale configuration » : JSON invalide"),
    (lambda t: t.replace('"Non acquis,En cours d\'acquisition,Acquis,Expert"', '"Seul niveau"'),
     "f.csv:2: « Scale values » : au moins deux niveaux"),
    (lambda t: t.replace("SUI,SUI.2,", "SUI.2,SUI.2,"), "f.csv:11: SUI.2 est son propre parent"),
    (lambda t: t.replace(",1,\"domain,competency,skill\"", ",,\"domain,competency,skill\""),
     "f.csv: aucune ligne de référentiel"),
])
def test_malformed_files_are_refused_with_the_line(mutate, expected):
    text = mutate(FIXTURE)
    assert text != FIXTURE
    problems = problems_of(text)
    assert any(p.startswith(expected) for p in problems), problems


def test_duplicate_id_number_names_both_lines():
    text = FIXTURE.replace("ACC.1,ACC.1.b,", "ACC.1,ACC.1.a,")
    assert problems_of(text) == [
        "f.csv:7: identifiant « ACC.1.a » en double (déjà utilisé ligne 6)"]


def test_codes_that_collide_after_adaptation_are_refused():
    text = FIXTURE.replace('SUI,SUI.2,', 'SUI,"SUI?1",')
    assert problems_of(text) == ["f.csv:11: l'identifiant « SUI?1 » donne le même code « SUI-1 » que "
                                 "« SUI 1 » (ligne 10) : renommez l'un des deux"]


def test_parent_loop_is_refused():
    loop = FIXTURE.rstrip("\n") + "\nLOOP.B,LOOP.A,\"A\",,1,,,,0,null,,10,,\nLOOP.A,LOOP.B,\"B\",,1,,,,0,null,,11,,\n"
    problems = problems_of(loop)
    assert sum("boucle de parenté" in p for p in problems) == 2, problems
    assert any(p.startswith("f.csv:13:") for p in problems) and any(p.startswith("f.csv:14:") for p in problems)


def test_not_utf8_is_read_as_windows_1252_with_a_warning_naming_the_line():
    data = MOODLE_CSV.read_bytes().replace("Présenter".encode(), "Pr\xe9senter".encode("latin-1"))
    result = read_moodle_csv(data, name="latin1.csv")
    assert result.framework.competency("ACC.2").title == "Présenter l'entreprise"
    assert result.warnings[0].startswith("latin1.csv:8: le fichier n'est pas en UTF-8 : lu comme Windows-1252")


def test_neither_utf8_nor_windows_1252_gives_the_line():
    data = MOODLE_CSV.read_bytes().replace("Présenter".encode(), b"Pr\x81senter")
    with pytest.raises(ImportFailed) as caught:
        read_moodle_csv(data, name="binaire.csv")
    assert caught.value.problems == ["binaire.csv:8: le fichier n'est ni en UTF-8 ni en Windows-1252 "
                                     "(ré-exportez-le depuis Moodle en UTF-8)"]


def test_cli_refuses_bad_files_and_existing_frameworks_and_changes_nothing(project, tmp_path):
    before, log = snapshot(project.portfolios), commits(project)
    bad = tmp_path / "bad.csv"
    bad.write_text(FIXTURE.replace("ACC.1,ACC.1.b,", "ACC.9,ACC.1.b,"), encoding="utf-8")
    result = cli(project, "framework", "import", str(bad), "--format", "moodle")
    assert result.exit_code == 1
    assert "bad.csv:7: « Parent ID number » « ACC.9 »" in result.stderr
    assert "rien n'a été écrit" in result.stderr
    # An id that is not a framework id, and an existing framework without --force.
    assert cli(project, "framework", "import", str(MOODLE_CSV), "--format", "moodle",
               "--id", "../x").exit_code == 1
    refused = cli(project, "framework", "import", str(MOODLE_CSV), "--format", "moodle", "--id", "mini")
    assert refused.exit_code == 1 and "existe déjà" in refused.stderr and "--force" in refused.stderr
    assert snapshot(project.portfolios) == before and commits(project) == log
    # --force replaces it (and is committed).
    forced = cli(project, "framework", "import", str(MOODLE_CSV), "--format", "moodle",
                 "--id", "mini", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert project.store.framework("mini")[0].title == "Référentiel du tuteur en entreprise"
    assert len(commits(project)) == len(log) + 1
