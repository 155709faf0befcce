"""Mahara .matrix files as Mahara writes and accepts them (module/framework).

Mahara's *export* writes the parent as ``parentid``; its example matrix has an
element id used twice; a hand-written matrix may list fewer than four evidence
statuses (Mahara fills in its defaults).  Each is read, with a warning where
livret does something Mahara would not need to say.  The real Mahara sample
shared with the project (../shared/fixtures) is read too when it is there.
"""

from __future__ import annotations

import json

import pytest
from factories import REPO
from interop_support import FIXTURES, cli, enrol_and_assess

from livret.interop.frameworks import ImportFailed
from livret.interop.mahara import read_mahara_matrix

EXPORT = FIXTURES / "interop" / "mahara-export.matrix"
SHARED_NACE = REPO.parent / "shared" / "fixtures" / "mahara-nace-career-readiness.matrix"


def exported() -> dict:
    return json.loads(EXPORT.read_text(encoding="utf-8"))


def read(data: dict, name: str = "m.matrix"):
    return read_mahara_matrix(json.dumps(data), name=name)


def test_mahara_export_keeps_the_hierarchy_from_parentid():
    result = read_mahara_matrix(EXPORT.read_bytes(), name=EXPORT.name)
    fw = result.framework
    assert [(c.code, c.parent) for c in fw.blocks[0].competencies] == [
        ("1.1", None), ("1.2", None), ("1.2.1", "1.2"), ("1.2.1.1", "1.2.1"), ("1.2.1.1-2", "1.2.1")]
    assert [(c.code, c.parent) for c in fw.blocks[1].competencies] == [("2.1", None), ("2.2", None)]


def test_duplicate_element_id_is_accepted_with_a_warning():
    result = read_mahara_matrix(EXPORT.read_bytes(), name=EXPORT.name)
    assert ("framework.standardelements[4] : identifiant « 1.2.1.1 » en double "
            "(déjà utilisé framework.standardelements[3]) : code 1.2.1.1-2 pour celui-ci") in result.warnings
    # A child of the duplicated id hangs under the first one, as in Mahara.
    data = exported()
    data["framework"]["standardelements"].append(
        {"standardid": 1, "shortname": "EPI", "name": "Fournir les EPI", "elementid": "1.2.1.1.1",
         "parentelementid": "1.2.1.1"})
    assert read(data).framework.competency("1.2.1.1.1").parent == "1.2.1.1"


def test_duplicate_standard_short_names_and_unusable_ids_are_accepted_with_a_warning():
    data = exported()
    data["framework"]["standards"][1]["shortname"] = "Accueil"
    data["framework"]["standardelements"][6]["elementid"] = "…"
    result = read(data)
    assert [b.code for b in result.framework.blocks] == ["Accueil", "Accueil-2"]
    assert result.framework.competencies()[-1][1].code == "Accueil-2.2"
    assert "framework.standards[1] : identifiant « Accueil » en double (déjà utilisé framework.standards[0]) : " \
           "code Accueil-2 pour celui-ci" in result.warnings
    assert "framework.standardelements[6] : identifiant « … » inutilisable comme code (lettres, chiffres et " \
           ". _ : / - seulement) : code Accueil-2.2" in result.warnings


def test_keys_livret_does_not_read_are_named():
    data = exported()
    data["framework"]["standards"][0]["priority"] = 1
    data["framework"]["standardelements"][0]["colour"] = "rouge"
    data["framework"]["standardelements"][2]["colour"] = "vert"
    data["extra"] = True
    warnings = read(data).warnings
    assert "framework.institution : clé non lue par livret, ignorée (réglage de Mahara)" in warnings
    assert "framework.selfassess : clé non lue par livret, ignorée (réglage de Mahara)" in warnings
    assert "framework.standards[0].priority : clé non lue par livret, ignorée (l'ordre du fichier fait foi)" \
        in warnings
    assert "framework.standardelements[0, 2].colour : clé non lue par livret, ignorée" in warnings
    assert ".extra : clé non lue par livret, ignorée" in warnings
    # parentid and parentelementid are read: never named.
    assert not [w for w in warnings if "parentid" in w or "parentelementid" in w]


@pytest.mark.parametrize("statuses, labels, warning", [
    ([{"completed": "Acquis"}],
     ["Prêt pour l'évaluation", "Ne satisfait pas au critère", "Satisfait partiellement au critère", "Acquis"],
     "framework.evidencestatuses : begun, incomplete, partialcomplete absents : libellés par défaut de "
     "Mahara (« Prêt pour l'évaluation », « Ne satisfait pas au critère », "
     "« Satisfait partiellement au critère »)"),
    ([{"begun": "À évaluer"}, {"incomplete": "Pas encore"}],
     ["À évaluer", "Pas encore", "Satisfait partiellement au critère", "Satisfait au critère"],
     "framework.evidencestatuses : partialcomplete, completed absents : libellés par défaut de Mahara "
     "(« Satisfait partiellement au critère », « Satisfait au critère »)"),
    ([],
     ["Prêt pour l'évaluation", "Ne satisfait pas au critère", "Satisfait partiellement au critère",
      "Satisfait au critère"], "framework.evidencestatuses : begun, incomplete, partialcomplete, completed absents"),
    ([{"begun": "A"}, {"parfait": "B"}, {"partialcomplete": "C"}, {"completed": "D"}],
     ["A", "B", "C", "D"],
     "framework.evidencestatuses[1].parfait : statut inconnu : pris, comme dans Mahara, pour le statut de sa "
     "position (incomplete)"),
    ([{"begun": "A"}, {"incomplete": "B"}, {"partialcomplete": "C"}, {"completed": "D"}, {"parfait": "E"}],
     ["A", "B", "C", "D"], "framework.evidencestatuses[4].parfait : statut inconnu de Mahara, ignoré"),
    ([{"completed": "D"}, {"begun": "A"}, {"completed": "Acquis"}],
     ["A", "Ne satisfait pas au critère", "Satisfait partiellement au critère", "Acquis"],
     "framework.evidencestatuses[2].completed : statut en double (framework.evidencestatuses[0]) : le dernier "
     "l'emporte, comme dans Mahara"),
    ([{"completed": ""}],
     ["Prêt pour l'évaluation", "Ne satisfait pas au critère", "Satisfait partiellement au critère",
      "Satisfait au critère"],
     "framework.evidencestatuses[0].completed : libellé vide ou qui n'est pas un texte : libellé par défaut "
     "« Satisfait au critère »"),
])
def test_missing_statuses_get_mahara_s_defaults(statuses, labels, warning):
    data = exported()
    data["framework"]["evidencestatuses"] = statuses
    result = read(data)
    assert [v.label for v in result.framework.scale.values] == labels
    assert [v.value for v in result.framework.scale.values] == ["0", "1", "2", "3"]
    assert result.framework.scale.acquired == "3"
    assert any(w.startswith(warning) for w in result.warnings), result.warnings


@pytest.mark.parametrize("change, expected", [
    (lambda els: els[2].update(parentid="9.9"),
     "m.matrix : framework.standardelements[2].parentid : aucun élément « 9.9 » dans ce standard"),
    (lambda els: (els[1].update(parentid="1.2.1"), els[2].update(parentid="1.2")),
     "m.matrix : framework.standardelements[1].parentid : boucle de parenté"),
    (lambda els: els[2].update(parentid={"id": 1}),
     "m.matrix : framework.standardelements[2].parentid : texte ou nombre attendu"),
])
def test_bad_parents_are_refused_with_the_key_path(change, expected):
    data = exported()
    change(data["framework"]["standardelements"])
    with pytest.raises(ImportFailed) as caught:
        read(data)
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems


def test_empty_parents_mean_none_and_parentelementid_wins():
    data = exported()
    els = data["framework"]["standardelements"]
    els[0].update(parentelementid="undefined", parentid="")
    els[3].update(parentelementid="1.2", parentid="1.2.1")
    els[6]["parentelementid"] = "1.1"  # in another standard: Mahara allows it, livret keeps blocks apart
    result = read(data)
    fw = result.framework
    assert fw.competency("1.1").parent is None and fw.competency("1.2.1.1").parent == "1.2"
    assert fw.competency("2.2").parent is None
    assert any("parentelementid « 1.2 » et parentid « 1.2.1 » diffèrent" in w for w in result.warnings)
    assert any(w.startswith("framework.standardelements[6].parentelementid : le parent « 1.1 » est dans un "
                            "autre standard") for w in result.warnings)


def test_descriptions_keep_their_text():
    fw = read_mahara_matrix(EXPORT.read_bytes(), name=EXPORT.name).framework
    assert fw.description == ("Référentiel écrit pour les tests de livret, au format d'export de Mahara. "
                              "[Source](https://example.org/tutorat)\n\nIl décrit le tutorat en entreprise.")
    assert fw.blocks[0].description == ("| Période | Attendu |\n| --- | --- |\n| Semaine 1 | Poste prêt |\n"
                                        "| Mois 1 | Point d'étape |")
    assert fw.blocks[1].description == "Entretiens \\*réguliers\\* : au moins 1 par mois."
    assert fw.competency("2.1").description == "- Préparer\n\n- Mener"  # <li><p>: a loose list


def test_cli_imports_mahara_s_export_and_it_can_be_assessed(project):
    result = cli(project, "framework", "import", str(EXPORT), "--format", "mahara", "--id", "tutorat")
    assert result.exit_code == 0, result.stderr
    assert "attention : framework.standardelements[4] : identifiant « 1.2.1.1 » en double" in result.stderr
    assert "attention : framework.institution : clé non lue par livret" in result.stderr
    assert cli(project, "check").exit_code == 0
    views = enrol_and_assess(project, "tutorat", {"1.2.1.1-2": "3", "2.1": "2"})
    assert views["1.2.1.1-2"].acquired and not views["2.1"].acquired


def test_the_real_mahara_sample_imports():
    if not SHARED_NACE.is_file():
        pytest.skip(f"real Mahara sample absent ({SHARED_NACE}): nothing to check it against")
    result = read_mahara_matrix(SHARED_NACE.read_bytes(), name=SHARED_NACE.name)
    fw = result.framework
    assert fw.title == "Career Readiness" and [b.code for b in fw.blocks] == ["Career-Readiness"]
    assert [c.code for _, c in fw.competencies()] == ["1.0", "2.0", "3.0", "4.0", "5.0", "6.0", "7.0"]
    assert fw.description.endswith("[Source](http://www.naceweb.org/knowledge/career-readiness-competencies.aspx)")
    assert [v.label for v in fw.scale.values][-1] == "Meets the competency"
    assert result.warnings == ["framework.institution : clé non lue par livret, ignorée (réglage de Mahara)",
                               "framework.selfassess : clé non lue par livret, ignorée (réglage de Mahara)"]
