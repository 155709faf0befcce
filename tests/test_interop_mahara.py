"""Mahara SmartEvidence .matrix import: mapping, errors with key paths, CLI."""

from __future__ import annotations

import json

import pytest
from interop_support import MAHARA_MATRIX, cli, commits, enrol_and_assess, snapshot

from livret.interop.frameworks import ImportFailed
from livret.interop.mahara import read_mahara_matrix

FIXTURE = json.loads(MAHARA_MATRIX.read_text(encoding="utf-8"))


def problems_of(data) -> list[str]:
    text = data if isinstance(data, str) else json.dumps(data)
    with pytest.raises(ImportFailed) as caught:
        read_mahara_matrix(text, name="m.matrix")
    return caught.value.problems


def mutated(change) -> dict:
    data = json.loads(json.dumps(FIXTURE))
    change(data["framework"])
    return data


def test_fixture_maps_standards_elements_statuses_and_texts():
    result = read_mahara_matrix(MAHARA_MATRIX.read_bytes(), name=MAHARA_MATRIX.name)
    fw = result.framework
    assert fw.id == "accompagnement-des-apprentis" and fw.title == "Accompagnement des apprentis"
    assert fw.description == ("Référentiel d'essai pour livret, au format *SmartEvidence*. "
                              "[Source](https://example.org/referentiel)")
    assert [(b.code, b.title) for b in fw.blocks] == [("Accueil", "Accueillir et intégrer"),
                                                      ("Suivi", "Suivre et évaluer")]
    assert [(c.code, c.parent) for c in fw.blocks[0].competencies] == [
        ("1.1", None), ("1.2", None), ("1.2.1", "1.2")]
    assert fw.competency("1.1").description == "- Poste\n- Planning"
    assert fw.competency("1.2").description == "Visite & règles."
    assert fw.competency("2.1").description == "Au moins **un par mois**."
    assert fw.blocks[1].description is None
    assert [(v.value, v.label) for v in fw.scale.values] == [
        ("0", "Prêt pour l'évaluation"), ("1", "Ne satisfait pas au critère"),
        ("2", "Satisfait partiellement"), ("3", "Satisfait au critère")]
    assert fw.scale.acquired == "3"
    assert result.warnings == [
        "framework.standards[2] (Standard sans élément) : aucun élément, standard ignoré",
        "framework.institution : clé non lue par livret, ignorée (réglage de Mahara)",
        "framework.selfassess : clé non lue par livret, ignorée (réglage de Mahara)",
    ]


def test_statuses_default_to_mahara_s_four_levels_in_french():
    data = mutated(lambda fw: fw.pop("evidencestatuses"))
    fw = read_mahara_matrix(json.dumps(data)).framework
    assert [v.label for v in fw.scale.values][-1] == "Satisfait au critère" and fw.scale.acquired == "3"


def test_older_layout_with_nested_elements_is_read():
    data = {"framework": {"name": "Ancien format", "standards": [
        {"shortname": "S1", "name": "Premier", "standardelement": [
            {"shortname": "1.1", "name": "Un point un"}, {"shortname": "1.2", "name": "Un point deux"}]}]}}
    fw = read_mahara_matrix(json.dumps(data)).framework
    assert [c.code for _, c in fw.competencies()] == ["1.1", "1.2"]


def test_cli_import_is_checked_committed_and_assessable(project):
    result = cli(project, "framework", "import", str(MAHARA_MATRIX), "--format", "mahara")
    assert result.exit_code == 0, result.stderr
    assert "standard ignoré" in result.stderr
    assert (project.portfolios / "_frameworks" / "accompagnement-des-apprentis.yml").is_file()
    assert "Référentiel accompagnement-des-apprentis importé de Mahara" in commits(project)[0]
    assert cli(project, "check").exit_code == 0
    views = enrol_and_assess(project, "accompagnement-des-apprentis", {"1.2.1": "3", "2.1": "2"})
    assert views["1.2.1"].acquired and not views["2.1"].acquired


@pytest.mark.parametrize("change, expected", [
    (lambda fw: fw.pop("name"), "m.matrix : framework.name : clé obligatoire manquante"),
    (lambda fw: fw.update(name=["liste"]), "m.matrix : framework.name : texte ou nombre attendu"),
    (lambda fw: fw.update(standards={}), "m.matrix : framework.standards : liste attendu"),
    (lambda fw: fw["standardelements"][1].update(standardid=9),
     "m.matrix : framework.standardelements[1].standardid : aucun standard avec standardid 9"),
    (lambda fw: fw["standardelements"][2].update(parentelementid="1.9"),
     "m.matrix : framework.standardelements[2].parentelementid : aucun élément « 1.9 » dans ce standard"),
    (lambda fw: fw["standards"][1].pop("standardid"),
     "m.matrix : framework.standards[1].standardid : clé obligatoire manquante"),
    (lambda fw: fw["evidencestatuses"].append("completed"),
     "m.matrix : framework.evidencestatuses[4] : objet attendu"),
])
def test_malformed_matrices_name_the_key_path(change, expected):
    problems = problems_of(mutated(change))
    assert any(p.startswith(expected) for p in problems), problems


def test_bad_json_names_the_line():
    text = MAHARA_MATRIX.read_text(encoding="utf-8").replace('"standardid": 2, "elementid": "2.1"},',
                                                            '"standardid": 2, "elementid": "2.1"}', 1)
    problems = problems_of(text)
    assert problems == ["m.matrix:22: JSON invalide : virgule attendue (colonne 9)"]


def test_missing_framework_key():
    assert problems_of({"name": "x"}) == [
        'm.matrix : framework : clé obligatoire manquante (le fichier doit être {"framework": {...}})']


def test_cli_bad_matrix_changes_nothing(project, tmp_path):
    before, log = snapshot(project.portfolios), commits(project)
    bad = tmp_path / "bad.matrix"
    bad.write_text(json.dumps(mutated(lambda fw: fw["standardelements"][1].update(standardid=9))),
                   encoding="utf-8")
    result = cli(project, "framework", "import", str(bad), "--format", "mahara")
    assert result.exit_code == 1
    assert "bad.matrix : framework.standardelements[1].standardid" in result.stderr
    assert snapshot(project.portfolios) == before and commits(project) == log
