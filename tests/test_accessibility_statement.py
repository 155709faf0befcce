"""The « déclaration d'accessibilité » (RGAA 4.1) from the ``accessibility:`` block of ``_organisation.yml``:
its text in the RGAA model's form, the footer's mention, the page of every built site."""

from __future__ import annotations

import datetime as dt

import pytest
from factories import add, make_project, meeting
from pydantic import ValidationError

from livret.publish.build import build_learner, site_dir
from livret.store.schema import Organisation
from livret.store.yamlio import dump_yaml
from livret.views.accessibility import declaration, declaration_markdown, footer_label

SECTIONS = ["État de conformité", "Résultats des tests", "Établissement de cette déclaration",
            "Retour d'information et contact", "Voies de recours"]


def test_without_an_audit_the_statement_says_non_conforme_aucun_audit():
    settings = Organisation(name="OF Test", contact="accessibilite@of-test.fr")
    assert footer_label(settings) == "Accessibilité : non conforme (aucun audit)"
    titles = [s.title for s in declaration(settings, "ce portfolio en ligne")]
    assert [t for t in titles if t] == SECTIONS
    text = declaration_markdown(settings, "ce portfolio en ligne")
    assert "Ce portfolio en ligne est non conforme avec le RGAA version 4.1 : aucun audit" in text
    assert "OF Test (accessibilite@of-test.fr)" in text and "Défenseur des droits" in text


def test_an_audit_gives_its_state_rate_and_non_conformities():
    settings = Organisation.model_validate({"name": "OF Test", "accessibility": {
        "organisation": "CFA de la Chambre", "contact": "https://cfa.example/contact", "date": "2026-11-02",
        "state": "partiellement conforme", "audit_date": "2026-10-15", "auditor": "Cabinet A11y", "rate": 82,
        "non_compliant": ["Le graphique de progression n'a pas d'alternative [au format tableau]"]}})
    assert footer_label(settings) == "Accessibilité : partiellement conforme"
    text = declaration_markdown(settings, "ce portfolio en ligne")
    assert "CFA de la Chambre s'engage" in text and "est partiellement conforme avec le RGAA version 4.1" in text
    assert "15 octobre 2026 par Cabinet A11y révèle que 82 % des critères" in text
    assert "établie le 2 novembre 2026" in text
    assert "## Contenus non accessibles" in text and r"\[au format tableau\]" in text  # no markup slips in


@pytest.mark.parametrize("block", [{"state": "conforme"}, {"rate": 101}, {"audit": "oui"}])
def test_a_bad_accessibility_block_is_refused(block):
    with pytest.raises(ValidationError):
        Organisation.model_validate({"accessibility": block})


def test_every_built_site_has_the_statement_and_the_footer_mention(tmp_path):
    project = make_project(tmp_path / "proj")
    (project.portfolios / "_organisation.yml").write_text(dump_yaml({"name": "OF de test", "accessibility": {
        "contact": "a11y@of-test.fr", "date": dt.date(2026, 11, 2).isoformat()}}), encoding="utf-8")
    add(project, "alice", meeting())
    assert build_learner(project, "alice").ok
    for audience in ("staff", "shared"):
        site = site_dir(project, audience, "alice")
        statement = (site / "accessibilite" / "index.html").read_text(encoding="utf-8")
        assert "Déclaration d'accessibilité" in statement and "a11y@of-test.fr" in statement
        for page in (site / "index.html", site / "chronologie" / "index.html"):
            html = page.read_text(encoding="utf-8")
            assert "Accessibilité : non conforme (aucun audit)</a>" in html, page
            assert 'href="accessibilite/"' in html or 'href="../accessibilite/"' in html, page
