"""Learners administered from the browser: create, edit, status, history; admins only, CSRF, stale forms."""

from __future__ import annotations

import html as html_lib
import re
import subprocess

import pytest
from app_support import csrf_from

NEW = {"first_name": "Zoé", "last_name": "Martin", "email": "zoe@example.org", "programme": "BTS MCO",
       "framework": "mini", "start": "2026-09-01", "end": "2028-06-30", "modality": "hybride",
       "contract": "apprentissage", "company_name": "Boulangerie Dupont", "company_city": "Lyon",
       "work_study": "y", "tutors": ["tina"], "company_tutors": ["carl"], "status": "en-cours",
       "body": "Objectifs : le BTS."}


def head(project) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=project.portfolios, capture_output=True, text=True,
                          check=True).stdout.strip()


def log(project, n: int = 1) -> list[str]:
    out = subprocess.run(["git", "log", f"-{n}", "--format=%an|%s"], cwd=project.portfolios, capture_output=True,
                         text=True, check=True).stdout
    return out.splitlines()


def files(project) -> list[str]:
    return sorted(p.relative_to(project.portfolios).as_posix() for p in project.portfolios.rglob("*")
                  if p.is_file() and ".git" not in p.parts)


def field_errors(html: str, field: str) -> str:
    """The error list shown next to an input (empty when none)."""
    match = re.search(rf'<ul class="field-errors" id="{field}-error">(.*?)</ul>', html, flags=re.S)
    if not match:
        return ""
    text = re.sub(r'<span class="visually-hidden">.*?</span>', "", match.group(1))
    return html_lib.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def test_an_admin_creates_a_learner_in_one_commit(app_project, client, auth):
    auth.login("ada")
    page = client.get("/admin/apprenants/nouveau")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    assert "Référentiel de test (mini)" in page.text and 'value="tina"' in page.text
    assert 'value="carl"' in page.text
    before = head(app_project)
    response = auth.post("/admin/apprenants/nouveau", NEW)
    assert response.status_code == 302
    learner_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    assert re.fullmatch(r"[a-z][a-z0-9]{7}", learner_id)
    assert subprocess.run(["git", "rev-list", "--count", f"{before}..HEAD"], cwd=app_project.portfolios,
                          capture_output=True, text=True, check=True).stdout.strip() == "1"
    assert log(app_project) == [f"ada|{learner_id} : nouveau profil (ada)"]
    profile = app_project.store.profile(learner_id)
    assert (profile.name, profile.contract, profile.work_study, profile.modality) == (
        "Zoé Martin", "apprentissage", True, "hybride")
    assert profile.tutors == ["tina"] and profile.company_tutors == ["carl"] and profile.company.city == "Lyon"
    assert app_project.store.load_learner(learner_id).profile_body.strip() == "Objectifs : le BTS."
    assert app_project.store.check() == []
    page = client.get(f"/apprenants/{learner_id}/")
    assert "Administration" in page.text and f"/admin/apprenants/{learner_id}/modifier" in page.text
    assert f"/admin/comptes/nouveau?apprenant={learner_id}" in page.text
    assert learner_id in client.get("/admin/apprenants/").text


@pytest.mark.parametrize("over, field, message", [
    ({"framework": "nope"}, "framework", "Référentiel introuvable : nope"),
    ({"end": "2026-08-01"}, "end", "La date de fin précède la date de début"),
    ({"tutors": ["carl"]}, "tutors", "Carl n'est pas un compte tuteur·rice"),
    ({"company_tutors": ["tina"]}, "company_tutors", "Tina n'est pas un compte tuteur·rice entreprise"),
    ({"company_name": "", "company_city": "", "company_tutors": []}, "company_name",
     "Un contrat d'alternance suppose une entreprise"),
    ({"first_name": "Alice", "last_name": "Test", "start": "2026-01-05"}, "last_name", "Doublon : Alice Test (alice)"),
])
def test_bad_input_is_shown_next_to_its_field_and_nothing_is_written(app_project, client, auth, over, field,
                                                                      message):
    auth.login("ada")
    before = (files(app_project), head(app_project))
    response = auth.post("/admin/apprenants/nouveau", {**NEW, **over})
    assert response.status_code == 422
    assert field_errors(response.text, field).startswith(message)
    assert "(clé company)" not in response.text  # the form speaks of fields, not of the file's keys
    assert 'value="Boulangerie Dupont"' in response.text or over.get("company_name") == ""  # typed values kept
    assert (files(app_project), head(app_project)) == before


def test_a_homonym_is_created_once_declared(app_project, client, auth):
    auth.login("ada")
    twin = {**NEW, "first_name": "Alice", "last_name": "Test", "start": "2026-01-05"}
    page = auth.post("/admin/apprenants/nouveau", twin)
    assert page.status_code == 422 and 'name="homonym"' in page.text
    assert auth.post("/admin/apprenants/nouveau", {**twin, "homonym": "y"}).status_code == 302
    assert len(app_project.store.learner_ids()) == 3


def test_edit_is_prefilled_and_saves_one_commit(app_project, client, auth):
    auth.login("ada")
    page = client.get("/admin/apprenants/alice/modifier")
    assert page.status_code == 200 and 'value="Formation de test"' in page.text
    revision = re.search(r'id="revision" name="revision" type="hidden" value="([0-9a-f]{64})"', page.text).group(1)
    assert revision == app_project.store.revision("alice/learner.md")
    data = {"csrf_token": csrf_from(page.text), "revision": revision, "first_name": "Alice", "last_name": "Durand",
            "programme": "Formation de test", "framework": "mini", "start": "2026-01-05", "end": "2026-12-18",
            "modality": "presentiel", "work_study": "y", "company_name": "Entreprise Dupont",
            "tutors": ["tina", "tom"], "company_tutors": ["carl"], "body": "Objectifs de alice."}
    response = client.post("/admin/apprenants/alice/modifier", data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith("/apprenants/alice/")
    profile = app_project.store.profile("alice")
    assert profile.id == "alice" and profile.last_name == "Durand" and profile.tutors == ["tina", "tom"]
    assert profile.account == "alice"  # what the form does not show is kept
    assert log(app_project) == ["ada|alice : profil modifié (nom, tuteurs) (ada)"]
    assert app_project.store.check() == []


def test_a_hand_edit_made_while_the_form_was_open_is_not_overwritten(app_project, client, auth):
    auth.login("ada")
    page = client.get("/admin/apprenants/alice/modifier")
    revision = re.search(r'name="revision" type="hidden" value="([0-9a-f]{64})"', page.text).group(1)
    path = app_project.portfolios / "alice" / "learner.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Formation de test", "Formation à la main"),
                    encoding="utf-8")
    before = head(app_project)
    data = {"csrf_token": csrf_from(page.text), "revision": revision, "first_name": "Alice",
            "last_name": "Nom tapé", "programme": "Formation de test", "framework": "mini", "start": "2026-01-05",
            "modality": "presentiel", "company_name": "Entreprise Dupont", "tutors": ["tina"],
            "company_tutors": ["carl"]}
    response = client.post("/admin/apprenants/alice/modifier", data=data)
    assert response.status_code == 409
    assert "modifié entre-temps" in response.text and "Recharger la version actuelle" in response.text
    assert 'value="Nom tapé"' in response.text  # what was typed is kept
    assert "Formation à la main" in path.read_text(encoding="utf-8") and head(app_project) == before


def test_status_and_history(app_project, client, auth):
    auth.login("ada")
    page = client.get("/admin/apprenants/alice/statut")
    assert page.status_code == 200
    revision = re.search(r'name="revision" type="hidden" value="([0-9a-f]{64})"', page.text).group(1)
    token = csrf_from(page.text)
    before = head(app_project)
    refused = client.post("/admin/apprenants/alice/statut", data={
        "csrf_token": token, "revision": revision, "status": "abandon", "status_date": "2026-06-15"})
    assert refused.status_code == 422
    assert field_errors(refused.text, "status_reason") == "Le motif de la fin ou de l'abandon est obligatoire"
    assert head(app_project) == before
    done = client.post("/admin/apprenants/alice/statut", data={
        "csrf_token": token, "revision": revision, "status": "abandon", "status_date": "15/06/2026",
        "status_reason": "Déménagement"})
    assert done.status_code == 302
    assert app_project.store.profile("alice").status == "abandon"
    assert log(app_project) == ["ada|alice : statut « Abandon » (ada)"]
    history = client.get("/admin/apprenants/alice/historique")
    assert history.status_code == 200
    text = html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", history.text)))
    assert "Statut : En cours → Abandon" in text
    assert "Date de fin ou d'abandon : — → 15 juin 2026" in text
    assert "Motif : — → Déménagement" in text
    assert "alice : statut « Abandon » (ada)" in text
    page = client.get("/apprenants/alice/")
    assert "Déménagement" in page.text


def test_the_learner_page_shows_the_administration_box_to_admins_only(app_project, client, auth):
    auth.login("tina")
    assert "/admin/apprenants/alice/modifier" not in client.get("/apprenants/alice/").text
    auth.login("ada")
    assert "/admin/apprenants/alice/modifier" in client.get("/apprenants/alice/").text


def test_list_filters(app_project, client, auth):
    auth.login("ada")
    page = client.get("/admin/apprenants/?statut=abandon")
    assert page.status_code == 200 and "/apprenants/alice/" not in page.text
    assert "/apprenants/alice/" in client.get("/admin/apprenants/?statut=en-cours").text
    assert client.get("/admin/apprenants/?groupe=inconnu").status_code == 200


ROUTES = [("GET", "/admin/apprenants/"), ("GET", "/admin/apprenants/nouveau"), ("POST", "/admin/apprenants/nouveau"),
          ("GET", "/admin/apprenants/alice/modifier"), ("POST", "/admin/apprenants/alice/modifier"),
          ("GET", "/admin/apprenants/alice/statut"), ("POST", "/admin/apprenants/alice/statut"),
          ("GET", "/admin/apprenants/alice/historique")]


@pytest.mark.parametrize("username", ["alice", "tina", "carl", "audra"])
def test_every_route_is_refused_to_non_admins_and_writes_nothing(app_project, client, auth, username):
    auth.login(username)
    before = (files(app_project), head(app_project))
    data = {**NEW, "revision": app_project.store.revision("alice/learner.md"), "status": "abandon",
            "status_date": "2026-06-01", "status_reason": "x", "last_name": "Pirate"}
    for method, url in ROUTES:
        response = client.get(url) if method == "GET" else auth.post(url, data)
        assert response.status_code == 403, (method, url)
    assert (files(app_project), head(app_project)) == before


def test_anonymous_is_sent_to_sign_in_and_unknown_learner_is_404(app_project, client, auth):
    assert client.get("/admin/apprenants/alice/modifier").status_code == 302
    auth.login("ada")
    for url in ("/admin/apprenants/nobody/modifier", "/admin/apprenants/nobody/statut",
                "/admin/apprenants/nobody/historique", "/admin/apprenants/..%2fx/modifier"):
        assert client.get(url).status_code == 404, url


def test_a_post_without_its_csrf_token_is_refused(app_project, client, auth):
    auth.login("ada")
    before = (files(app_project), head(app_project))
    assert client.post("/admin/apprenants/nouveau", data=NEW).status_code == 400
    assert client.post("/admin/apprenants/alice/statut", data={"status": "abandon"}).status_code == 400
    assert (files(app_project), head(app_project)) == before


def test_an_invalid_profile_can_be_rewritten_from_the_form(app_project, client, auth):
    path = app_project.portfolios / "alice" / "learner.md"
    path.write_text(path.read_text(encoding="utf-8").replace("programme:", "programe:"), encoding="utf-8")
    assert app_project.store.profile("alice") is None
    auth.login("ada")
    page = client.get("/admin/apprenants/alice/modifier")
    assert page.status_code == 200 and "Le fichier du profil est invalide" in page.text
    assert "programe" in page.text  # the problem, as livret check says it
    assert client.get("/admin/apprenants/alice/statut").status_code == 302  # the profile first
    revision = re.search(r'name="revision" type="hidden" value="([0-9a-f]{64})"', page.text).group(1)
    response = client.post("/admin/apprenants/alice/modifier", data={
        "csrf_token": csrf_from(page.text), "revision": revision, "first_name": "Alice", "last_name": "Test",
        "programme": "Formation de test", "framework": "mini", "start": "2026-01-05", "modality": "presentiel",
        "tutors": ["tina"], "body": "Objectifs de alice."})
    assert response.status_code == 302
    profile = app_project.store.profile("alice")
    assert profile is not None and profile.programme == "Formation de test" and profile.tutors == ["tina"]
    assert app_project.store.check() == []


def test_a_framework_gone_from_the_store_is_shown_and_not_silently_replaced(app_project, client, auth):
    path = app_project.portfolios / "alice" / "learner.md"
    path.write_text(path.read_text(encoding="utf-8").replace("framework: mini", "framework: ancien"),
                    encoding="utf-8")
    auth.login("ada")
    page = client.get("/admin/apprenants/alice/modifier")
    assert '<option selected value="ancien">ancien (introuvable)</option>' in page.text
