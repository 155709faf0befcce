"""Signing off in the app: the sign route, what pages show, the built site (real app, store, git, build)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from app_support import csrf_from, without_csrf
from factories import add, when
from signoff_support import add_visit, signoff_project

from livret.instance.tokens import Tokens
from livret.publish.build import build_learner, site_dir

UNKNOWN_ID = "01JM2Q8V6Z9X3K4T5R6S7W8Y9A"


@pytest.fixture
def project(tmp_path):
    """The ``project`` of the app fixtures, with sign-off rules (visit: learner and company; evidence,
    assessment: company)."""
    return signoff_project(tmp_path / "proj")


def state(project) -> tuple:
    files = sorted(p.relative_to(project.portfolios).as_posix() for p in project.portfolios.rglob("*")
                   if p.is_file() and ".git" not in p.parts)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project.portfolios, capture_output=True, text=True,
                          check=True).stdout
    return files, head


def sign_url(learner: str, entry_id: str) -> str:
    return f"/apprenants/{learner}/entrees/{entry_id}/signer"


def test_the_learner_signs_the_three_party_visit_report(app_project, client, auth):
    report = add_visit(app_project)
    auth.login("alice")
    page = client.get("/apprenants/alice/").text
    assert "À signer" in page and "Je confirme l&#39;exactitude de ce compte rendu de visite." in page
    assert "En attente de la signature de :" in page
    answer = auth.post(sign_url("alice", report.id), {"comment": "Conforme à la visite.",
                                                       "next": "/apprenants/alice/"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/apprenants/alice/")
    page = client.get("/apprenants/alice/").text
    assert "Signature enregistrée." in page
    assert re.search(r"Signé par Alice Test \(apprenant·e\) le \d+\w* \w+ \d{4} — session ouverte par mot de passe",
                     page)
    assert "intact" in page and "« Conforme à la visite. »" in page
    assert "tuteur·rice entreprise (carl)" in page  # still waiting for the company tutor
    assert page.count('<li id="entree-') == 1 and "Entrées (1)" in page  # no card of its own
    assert app_project.store.check() == []
    author = subprocess.run(["git", "log", "-1", "--format=%an"], cwd=app_project.portfolios, capture_output=True,
                            text=True, check=True).stdout.strip()
    assert author == "alice"
    assert client.get("/apprenants/alice/").text.count("À signer") == 0


def test_staff_entry_unknown_id_and_another_learner_get_the_same_404_and_nothing_is_written(app_project, client,
                                                                                            auth):
    staff = add(app_project, "alice", {"type": "assessment", "date": when("2026-11-04"), "title": "Évaluation",
                                       "visibility": "staff", "competencies": [{"code": "A1", "level": "3"}]})
    bobs = add_visit(app_project, "bob", author="tom")
    auth.login("carl")
    before = state(app_project)
    hidden = auth.post(sign_url("alice", staff.id))
    unknown = auth.post(sign_url("alice", UNKNOWN_ID))
    other = auth.post(sign_url("bob", bobs.id))
    nobody = auth.post(sign_url("nobody", UNKNOWN_ID))
    assert [r.status_code for r in (hidden, unknown, other, nobody)] == [404] * 4
    assert len({without_csrf(r.text) for r in (hidden, unknown, other, nobody)}) == 1  # one answer, whatever the cause
    assert state(app_project) == before


def test_double_signature_unasked_roles_and_missing_csrf_are_refused(app_project, client, auth):
    report = add_visit(app_project)
    feedback = add(app_project, "alice", {"type": "feedback", "date": when("2026-11-05"), "title": "Retour"})
    auth.login("carl")
    assert client.post(sign_url("alice", report.id), data={"comment": "x"}).status_code == 400
    assert auth.post(sign_url("alice", report.id)).status_code == 303
    before = state(app_project)
    again = auth.post(sign_url("alice", report.id))
    assert again.status_code == 422 and "Déjà signé le" in again.text
    unasked = auth.post(sign_url("alice", feedback.id))
    assert unasked.status_code == 422 and "Cette entrée n&#39;attend pas votre signature" in unasked.text
    long = auth.post(sign_url("alice", report.id), {"comment": "x" * 2001})
    assert long.status_code in (422,) and "Commentaire" in long.text
    auth.login("audra")
    assert auth.post(sign_url("alice", report.id)).status_code == 404  # an auditor signs nothing
    assert state(app_project) == before


def test_dashboards_show_what_waits_and_the_company_tutor_signs_from_theirs(app_project, client, auth):
    report = add_visit(app_project)
    auth.login("tina")
    board = client.get("/tableau-de-bord").text
    assert "Signatures en attente (2)" in board and "Visite en entreprise" in board
    auth.login("carl")
    board = client.get("/tableau-de-bord").text
    assert "À signer (1)" in board and sign_url("alice", report.id) in board
    answer = auth.post(sign_url("alice", report.id), {"next": "/tableau-de-bord"})
    assert answer.headers["Location"].endswith("/tableau-de-bord")
    assert "À signer (" not in client.get("/tableau-de-bord").text
    auth.login("tina")
    page = client.get("/apprenants/alice/").text
    assert re.search(r"Signé par carl \(tuteur·rice entreprise\) le", page)
    assert "Signatures en attente (1)" in client.get("/tableau-de-bord").text


def test_the_api_never_takes_a_signature(app_project, client):
    report = add_visit(app_project)
    _, secret = Tokens.for_project(app_project).create("carl")
    forged = {"type": "signature", "date": when("2026-11-06"), "title": "Fausse", "about": report.id,
              "signer_name": "Carl", "method": "password", "signed": [{"path": report.path, "sha256": "0" * 64}]}
    answer = client.post("/api/v1/learners/alice/entries", data=json.dumps(forged),
                         headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"})
    assert answer.status_code == 422 and "Signer" in answer.text
    assert len(app_project.store.load_learner("alice").entries) == 1
    doc = client.get("/api/v1/openapi.json").json
    assert "SignatureCreate" not in doc["components"]["schemas"]


def test_the_built_site_shows_shared_signatures_and_a_broken_seal(app_project, client, auth):
    report = add_visit(app_project)
    auth.login("carl")
    assert auth.post(sign_url("alice", report.id)).status_code == 303
    assert build_learner(app_project, "alice").ok
    page = (site_dir(app_project, "shared", "alice") / "entrees" / report.id.lower() / "index.html").read_text()
    assert "Signé par carl (tuteur·rice entreprise) le" in page and "intact" in page
    assert "En attente de la signature de : apprenant·e" in page
    timeline = (site_dir(app_project, "shared", "alice") / "chronologie" / "index.html").read_text()
    assert "Signature :" not in timeline
    path = app_project.portfolios / report.path
    path.write_text(path.read_text(encoding="utf-8").replace("Compte rendu", "Compte rendu modifié"),
                    encoding="utf-8")
    assert build_learner(app_project, "alice").ok
    page = (site_dir(app_project, "shared", "alice") / "entrees" / report.id.lower() / "index.html").read_text()
    assert "l&#39;entrée a changé depuis la signature" in page or "l'entrée a changé depuis la signature" in page
    assert "l&#39;entrée a changé depuis la signature" in client.get("/apprenants/alice/").text


def test_people_are_shown_by_name_in_the_app_and_the_built_site(app_project, client, auth):
    from livret.instance.accounts import Accounts

    Accounts.for_project(app_project).set_profile("tina", "Tina Durand", "tina@of-test.fr")
    auth.login("tina")
    form = client.get("/apprenants/alice/nouvelle/feedback")
    answer = client.post("/apprenants/alice/nouvelle/feedback", data={
        "csrf_token": csrf_from(form.text), "title": "Retour nommé", "date": "2026-11-02T10:00", "body": "Bien."})
    assert answer.status_code == 302
    stored = next(e for e in app_project.store.load_learner("alice").entries if e.meta.title == "Retour nommé")
    assert stored.meta.author_name == "Tina Durand"
    add(app_project, "alice", {"type": "feedback", "date": when("2026-11-03"), "title": "Écrit en ligne de commande"},
        author="tom")  # no author_name: the command line leaves it unset
    (app_project.portfolios / "_people.yml").write_text("tom: Thomas Petit\n", encoding="utf-8")
    page = client.get("/apprenants/alice/").text
    assert "par Tina Durand" in page and "par Thomas Petit" in page and "par tom " not in page
    assert app_project.store.check() == []
    assert build_learner(app_project, "alice").ok
    timeline = (site_dir(app_project, "shared", "alice") / "chronologie" / "index.html").read_text()
    assert "Tina Durand (Tuteur·rice)" in timeline and "Thomas Petit (Tuteur·rice)" in timeline
