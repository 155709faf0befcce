"""The follow-up record PDF for an auditor (issue 18): people by name and role, never a login;
the evidence, the company feedback (indicator 13) and the sign-offs listed, not only meetings and levels.

Real git store (tests/signoff_support.py), real signature through the sign-off service, the pack's PDF
read back through :func:`record_document` (what the PDF says, as plain data).
"""

from __future__ import annotations

import datetime as dt

import pytest
from factories import add, when
from signoff_support import NOW, add_visit, signoff_project

from livret.audit.record_pdf import record_document
from livret.interop.badges import credentials
from livret.signoff.service import sign
from livret.store.uploads import shown_name
from livret.store.yamlio import dump_yaml
from livret.views.qualiopi import store_reports, to_csv

TODAY = dt.date(2026, 11, 25)
PEOPLE = {"tina": "Sophie Bernard", "carl": "Carl Martin"}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = signoff_project(tmp_path_factory.mktemp("pdf") / "proj")
    (project.portfolios / "_people.yml").write_text(dump_yaml(PEOPLE), encoding="utf-8")
    add(project, "alice", {"type": "assessment", "date": when("2026-10-01"), "title": "Évaluation de mi-parcours",
                           "competencies": [{"code": "A1", "level": "3"}]})
    add(project, "alice", {"type": "evidence", "date": when("2026-10-05"), "title": "Fiche de poste rédigée",
                           "competencies": [{"code": "A1"}]}, "Ma fiche.", author="alice", role="learner",
        uploads=[("fiche-de-poste.txt", b"Fiche\n")], author_name="Alice Durand")
    add(project, "alice", {"type": "company-feedback", "date": when("2026-10-20"), "title": "Bilan d'octobre",
                           "period_start": "2026-10-01", "period_end": "2026-10-20",
                           "missions": ["Accueil des clients"], "observations": "Très investie."},
        author="carl", role="company")
    report = add_visit(project)
    sign(project.store, "alice", report.id, username="carl", name="Carl Martin", role="company",
         method="mail-link", comment="Bonne visite.", now=NOW + dt.timedelta(days=1))
    return project


@pytest.fixture(scope="module")
def document(project):
    record = project.store.load_learner("alice")
    assert record.problems == []
    return record_document(record, project.store.settings(), audience="shared", today=TODAY,
                           people=project.store.people_names())


def section(document, title: str):
    return next(s for s in document.sections if s.title.endswith(title))


def text_of(s) -> str:
    return "\n".join(b if isinstance(b, str) else "\n".join([*b.headings, *(c for r in b.rows for c in r)])
                     for b in s.blocks)


def test_people_show_by_name_and_role_never_by_login(document):
    everything = "\n".join(document.strings())
    assert "Sophie Bernard (tuteur·rice)" in everything  # profile's tutors, the assessment's author
    assert "Carl Martin (tuteur·rice entreprise)" in everything  # company tutors, the feedback's author
    assert "Alice Durand (apprenant·e)" in everything  # the name stored in the entry at write time
    for login in ("tina", "carl"):
        assert not any(login in s.split() or s == login for s in document.strings()), login
    assert "Par" in section(document, "Évaluations").blocks[0].headings
    assert "Sophie Bernard (tuteur·rice)" in text_of(section(document, "Évaluations"))


def test_the_record_lists_evidence_company_feedback_and_signoffs(document):
    titles = [s.title for s in document.sections]
    assert titles[4:7] == ["5. Preuves", "6. Retours de l'entreprise", "7. Signatures"]
    evidence = text_of(section(document, "Preuves"))
    assert "Fiche de poste rédigée" in evidence and "fiche-de-poste.txt" in evidence and "A1" in evidence
    company = text_of(section(document, "Retours de l'entreprise"))
    assert "Bilan d'octobre" in company and "Accueil des clients" in company and "Très investie." in company
    signatures = text_of(section(document, "Signatures"))
    assert "Visite en entreprise (02/11/2026)" in signatures
    assert "Signé par Carl Martin (tuteur·rice entreprise)" in signatures and "« Bonne visite. »" in signatures


def test_an_empty_record_says_so(project):
    record = project.store.load_learner("bob")
    doc = record_document(record, project.store.settings(), audience="shared", today=TODAY, people={})
    assert text_of(section(doc, "Preuves")) == "Aucune preuve déposée."
    assert text_of(section(doc, "Retours de l'entreprise")) == "Aucun retour de l'entreprise enregistré."
    assert text_of(section(doc, "Signatures")) == "Aucune entrée signée."
    assert "tom (tuteur·rice)" in "\n".join(doc.strings())  # no name known anywhere: the login, with the role


def test_qualiopi_proofs_name_the_company_tutor(project):
    """Indicator 13's figures, in the app's report, its CSV and the staff site: the name, not « carl »."""
    report = next(r for r in store_reports(project.store, TODAY) if r.id == "alice")
    figures = dict(next(i for i in report.indicators if i.number == 13).figures)
    assert figures["Tuteurs entreprise"] == "Carl Martin (tuteur·rice entreprise)"
    assert "Carl Martin (tuteur·rice entreprise)" in to_csv([report]) and ",carl" not in to_csv([report])


def test_open_badges_name_the_assessor(project):
    record = project.store.load_learner("alice")
    documents = credentials(record, project.store.settings(), people=project.store.people_names())
    assert documents, "A1 assessed at the acquired level gives a badge"
    for _, doc in documents:
        narrative = doc["credentialSubject"]["narrative"]
        assert "par Sophie Bernard (tuteur·rice)" in narrative and "tina" not in narrative
        assert "Alice Durand (apprenant·e)" in " ".join(e["narrative"] for e in doc["evidence"])


def test_a_sent_file_is_named_by_its_last_part_printable_and_short():
    assert shown_name("C:\\Users\\alice\\outil.exe") == "outil.exe"
    assert shown_name("dossier/rapport\x00\n.pdf") == "rapport.pdf"
    assert shown_name("") == "fichier sans nom"
    assert shown_name("a" * 200 + ".exe") == "a" * 77 + "…"
