"""The attendance documents' downloads (forms_app/attendance_documents.py): who gets them, and the 400s.

One signed project for the module (tests/signed_attendance.py; tina runs the sessions, alice and bob
are expected), read only: every test signs in on its own client.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from app_support import AuthActions, install_accounts, make_app
from signed_attendance import signed_project

MONTH = "/apprenants/{}/emargement/2026-11.pdf"
CERTIFICATE = "/apprenants/{}/certificat.pdf"


@pytest.fixture(scope="module")
def documents_app(tmp_path_factory, accounts_template):
    project, ids = signed_project(tmp_path_factory.mktemp("documents-app") / "proj")
    install_accounts(accounts_template, project.instance)
    return make_app(project.root), project, ids


@pytest.fixture
def as_user(documents_app):
    app, project, ids = documents_app

    def sign_in(username: str):
        client = app.test_client()
        assert AuthActions(client).login(username).status_code == 302
        return client

    return sign_in


def test_session_sheet_is_for_the_trainer_admins_and_auditors_only(documents_app, as_user):
    _, project, ids = documents_app
    url = f"/seances/{ids['morning']}/emargement.pdf"
    for username, status in {"tina": 200, "ada": 200, "audra": 200, "tom": 404, "alice": 404, "carl": 404}.items():
        answer = as_user(username).get(url)
        assert answer.status_code == status, username
        if status == 200:
            assert answer.mimetype == "application/pdf" and answer.data.startswith(b"%PDF-")
            assert answer.headers["Content-Disposition"] == 'attachment; filename="emargement-2026-11-10-matin.pdf"'
            assert answer.headers["Cache-Control"] == "no-store"
    assert as_user("ada").get("/seances/01JM2Q8V6Z9X3K4T5R6S7W8Y9A/emargement.pdf").status_code == 404
    anonymous = make_app(project.root).test_client().get(url)
    assert anonymous.status_code == 302 and "/connexion" in anonymous.headers["Location"]


def test_learner_month_is_for_the_learners_staff(as_user):
    for username, status in {"tina": 200, "ada": 200, "audra": 200, "tom": 403, "alice": 403, "carl": 403}.items():
        assert as_user(username).get(MONTH.format("alice")).status_code == status, username
    tom = as_user("tom")
    answer = tom.get(MONTH.format("bob"))
    assert answer.status_code == 200 and answer.headers["Content-Disposition"].endswith('"emargement-bob-2026-11.pdf"')
    bad = tom.get("/apprenants/bob/emargement/2026-13.pdf")
    assert bad.status_code == 400 and "Mois : AAAA-MM attendu" in bad.text
    assert tom.get("/apprenants/nobody/emargement/2026-11.pdf").status_code == 404
    assert as_user("alice").get("/apprenants/alice/emargement/2026-13.pdf").status_code == 403  # refused first


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) absent")
def test_certificate_for_staff_and_the_learner_themselves(as_user):
    alice = as_user("alice")
    answer = alice.get(CERTIFICATE.format("alice") + "?du=2026-11-01&au=2026-11-30")
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"].endswith('"certificat-realisation-alice-2026-11-01-2026-11-30.pdf"')
    text = subprocess.run(["pdftotext", "-", "-"], input=answer.data, capture_output=True, check=True).stdout
    assert "du 01/11/2026 au 30/11/2026" in text.decode("utf-8")
    for username, status in {"tina": 200, "ada": 200, "audra": 200, "tom": 403, "carl": 403, "bob": 403}.items():
        assert as_user(username).get(CERTIFICATE.format("alice")).status_code == status, username
    for query, named in {"?du=2026-13-01": "Du : date attendue", "?au=demain": "Au : date attendue",
                         "?du=2026-11-30&au=2026-11-01": "Au : la fin de la période précède"}.items():
        bad = alice.get(CERTIFICATE.format("alice") + query)
        assert bad.status_code == 400 and named in bad.text, query
    assert as_user("carl").get(CERTIFICATE.format("alice") + "?du=x").status_code == 403  # refused first


def test_certificate_without_signatory_is_refused_saying_what_is_missing(documents_app, as_user):
    _, project, _ = documents_app
    settings = project.portfolios / "_organisation.yml"
    before = settings.read_bytes()
    settings.write_text("name: OF de test\n", encoding="utf-8")
    try:
        answer = as_user("tina").get(CERTIFICATE.format("alice"))
    finally:
        settings.write_bytes(before)
    assert answer.status_code == 422 and "signataire des certificats de réalisation" in answer.text
    assert "attendance.signatory" not in answer.text  # a setting's key is for the docs, not for the page


def test_funders_csv_is_for_admins(as_user):
    ada = as_user("ada")
    answer = ada.get("/seances/financeurs.csv?mois=2026-11&groupe=promo")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="heures-financeurs-2026-11-promo.csv"'
    lines = answer.data.decode("utf-8-sig").splitlines()
    assert lines[1].startswith("Test Alice;alice;") and lines[2].endswith(";10,50;3,33;3,50;3,67")
    for query, named in {"": "Mois : indiquez le mois", "?mois=novembre": "Mois : AAAA-MM attendu",
                         "?mois=2026-11&groupe=nope": "Groupe : groupe inconnu"}.items():
        bad = ada.get("/seances/financeurs.csv" + query)
        assert bad.status_code == 400 and named in bad.text, query
    for username in ("tina", "audra", "alice", "carl"):
        assert as_user(username).get("/seances/financeurs.csv?mois=2026-11").status_code == 403, username
