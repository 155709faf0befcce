"""Browser tests: Debian's chromium through Playwright, against ``livret serve`` on loopback.

The issue's scenarios: a tutor writes a meeting log rating two competencies
and finds it in the learner's portfolio with the new levels; a learner
uploads an image as evidence and can open neither a staff entry nor another
learner's portfolio; a form submitted with errors shows them next to their
fields.  Screenshots go to ``test-artifacts/`` (paths printed); the time from
submit to the entry being visible in the served portfolio is printed, never
asserted (figures come from benchmarks, not from timed tests).
"""

from __future__ import annotations

import re
import statistics
import time

import pytest
from app_support import password_of, png_bytes, start_server, stop_server
from factories import add, when

from livret.publish.build import build_all

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
#: Submit-to-visible times of this module's submits (seconds), reported at the end.
TIMES: dict[str, float] = {}


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    if TIMES:
        values = sorted(TIMES.values())
        print("\nsubmit → visible in the served portfolio (s): "
              + ", ".join(f"{k} {v:.2f}" for k, v in TIMES.items())
              + f"; median {statistics.median(values):.2f}")


@pytest.fixture
def served(app_project, tmp_path):
    """The test project with a staff alert for alice, sites built, served by ``livret serve``."""
    add(app_project, "alice", {"type": "alert", "date": when("2026-03-01"), "title": "Alerte confidentielle",
                               "category": "sante", "severity": "haute"}, "Détail médical.")
    build_all(app_project, jobs=1)
    server = start_server(app_project.root, tmp_path / "serve.log")
    yield server
    stop_server(server)
    assert "Détail médical" not in server.output() and "Alerte confidentielle" not in server.output()


def new_page(browser, served, *, phone: bool = False):
    options = {"base_url": served.url, "locale": "fr-FR", "timezone_id": "Europe/Paris"}
    if phone:
        options.update(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True)
    else:
        options.update(viewport={"width": 1280, "height": 900})
    context = browser.new_context(**options)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    return page


def close(page) -> None:
    """No page broke a rule of the CSP (or anything else) on the way."""
    expected = re.compile(r"Failed to load resource: the server responded with a status of (403|404|422|503)")
    errors = [e for e in page.console_errors if not expected.match(e)]
    page.context.close()
    assert errors == []


def shot(page, artifacts_dir, name: str) -> None:
    path = artifacts_dir / f"app-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def sign_in(page, username: str) -> None:
    page.goto("/connexion")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password_of(username))
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/(tableau-de-bord|apprenants/[a-z0-9-]+/)$"))


def entry_id_from(page) -> str:
    return re.search(r"#entree-([0-9A-Z]{26})$", page.url).group(1)


def wait_visible(page, url: str, start: float, label: str, timeout: float = 60) -> None:
    """Reload ``url`` until it is served (the background rebuild is done)."""
    deadline = time.monotonic() + timeout
    while True:
        response = page.goto(url)
        if response.status == 200:
            TIMES[label] = time.perf_counter() - start
            return
        assert time.monotonic() < deadline, f"{url} still {response.status} after {timeout} s"
        page.wait_for_timeout(200)


def test_tutor_writes_a_meeting_rating_two_competencies(browser, served, artifacts_dir):
    page = new_page(browser, served)
    sign_in(page, "tina")
    shot(page, artifacts_dir, "dashboard-tutor")
    page.get_by_role("link", name="Alice Test").click()
    page.get_by_role("link", name="Entretien de suivi").click()
    page.get_by_label("Titre").fill("Bilan de mi-parcours")
    page.get_by_label("Nature de l'entretien").select_option(label="Bilan intermédiaire")
    page.get_by_label("À distance, synchrone").check()
    page.get_by_label("Durée (minutes)").fill("50")
    page.get_by_label("Participants").fill("Alice Test\nTina")
    page.get_by_label("Niveau pour A1").select_option("3")  # choosing a level ticks the competency
    page.get_by_label("B1 Conduire un entretien de suivi").check()
    page.get_by_label("Niveau pour B1").select_option("2")
    page.get_by_label("Texte").fill("Alice a présenté son **dossier**.")
    page.get_by_role("button", name="Aperçu").click()
    page.locator("#body-preview strong").wait_for()
    assert page.locator("#body-preview strong").inner_text() == "dossier"
    assert page.get_by_label("A1 Préparer l'arrivée").is_checked()
    shot(page, artifacts_dir, "meeting-form")
    start = time.perf_counter()
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(re.compile(r"#entree-"))
    assert "enregistrée. Le portfolio" in page.locator(".flashes").inner_text()
    entry_id = entry_id_from(page)
    shot(page, artifacts_dir, "learner-page-tutor")

    wait_visible(page, f"/portfolio/alice/entrees/{entry_id.lower()}/", start, "meeting")
    text = page.locator("article").inner_text()
    assert "Bilan de mi-parcours" in text and "Maîtrisé" in text and "En progression" in text
    # The matrix shows the meeting's levels (tutor's follow-up column), not yet as acquired.
    page.goto("/portfolio/alice/competences/")
    headers = page.locator("article table").first.locator("thead th").all_inner_texts()
    rows = {row.locator("th, td").first.inner_text().split(" — ")[0]:
            dict(zip(headers, row.locator("th, td").all_inner_texts()))
            for row in page.locator("article table tbody tr").all()}
    assert rows["A1"]["Suivi du tuteur"] == "Maîtrisé" and rows["B1"]["Suivi du tuteur"] == "En progression"
    assert rows["A1"]["Évaluation"] == "—" and rows["A1"]["Acquise"].startswith("Non")
    # Each competency's page lists the meeting with its level.
    page.get_by_role("link", name=re.compile("A1")).first.click()
    assert re.search(r"Bilan de mi-parcours.*niveau : Maîtrisé", page.locator("article").inner_text())

    # The official level in the matrix comes from an assessment (docs/format.md): the tutor records it.
    page.goto("/apprenants/alice/nouvelle/assessment")
    page.get_by_label("Titre").fill("Évaluation de mi-parcours")
    page.get_by_label("Niveau pour A1").select_option("3")
    page.get_by_label("Niveau pour B1").select_option("2")
    start = time.perf_counter()
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(re.compile(r"#entree-"))
    wait_visible(page, f"/portfolio/alice/entrees/{entry_id_from(page).lower()}/", start, "assessment")
    page.goto("/portfolio/alice/competences/")
    rows = {row.locator("th, td").first.inner_text().split(" — ")[0]: row.inner_text()
            for row in page.locator("article table tbody tr").all()}
    assert "Maîtrisé" in rows["A1"] and "Oui" in rows["A1"]
    assert "En progression" in rows["B1"]
    shot(page, artifacts_dir, "portfolio-matrix")
    close(page)


def test_learner_uploads_an_image_and_cannot_see_staff_or_others(browser, served, app_project, artifacts_dir,
                                                                tmp_path):
    staff = next(e for e in app_project.store.load_learner("alice").entries if e.visibility == "staff")
    image = tmp_path / "photo-atelier.png"
    image.write_bytes(png_bytes(320, 200, (200, 120, 40)))
    page = new_page(browser, served, phone=True)
    sign_in(page, "alice")
    assert page.url.endswith("/apprenants/alice/")  # a learner lands on their own page
    assert "Alerte confidentielle" not in page.content()
    shot(page, artifacts_dir, "phone-learner-page")
    page.get_by_role("link", name="Preuve").click()
    page.get_by_label("Titre").fill("Photo de l'atelier")
    page.get_by_label("B2 Prévenir le décrochage").check()
    page.get_by_label("Pièces jointes").set_input_files(str(image))
    shot(page, artifacts_dir, "phone-evidence-form")
    start = time.perf_counter()
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(re.compile(r"#entree-"))
    entry_id = entry_id_from(page)
    wait_visible(page, f"/portfolio/alice/entrees/{entry_id.lower()}/", start, "evidence")
    img = page.locator("article img").first
    img.wait_for()
    assert page.evaluate("(img) => img.complete && img.naturalWidth", img.element_handle()) == 320
    shot(page, artifacts_dir, "phone-portfolio-evidence")

    staff_page = page.goto(f"/portfolio/alice/entrees/{staff.id.lower()}/")
    assert staff_page.status == 404 and "Alerte confidentielle" not in page.content()
    other = page.goto("/portfolio/bob/")
    assert other.status == 403 and "Accès refusé" in page.content()
    shot(page, artifacts_dir, "phone-forbidden")
    assert page.goto("/apprenants/bob/").status == 403
    assert page.goto(f"/apprenants/alice/corriger/{staff.id}").status == 404  # as an unknown id
    close(page)


def test_errors_are_shown_next_to_their_fields(browser, served, artifacts_dir):
    page = new_page(browser, served)
    # Keyboard only: Tab to the fields, type, Enter.
    page.goto("/connexion")
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "username":
            break
    page.keyboard.type("tina")
    page.keyboard.press("Tab")
    page.keyboard.type(password_of("tina"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/tableau-de-bord$"))

    page.goto("/apprenants/alice/nouvelle/meeting")
    page.get_by_label("Durée (minutes)").fill("0")
    page.get_by_label("Participants").fill("Alice Test")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_load_state()
    summary = page.locator("#erreurs")
    assert summary.is_visible() and page.evaluate("document.activeElement.id") == "erreurs"
    for field, message in (("title", "Ce champ est obligatoire."), ("kind", "Ce champ est obligatoire."),
                           ("modality", "Ce champ est obligatoire."), ("duration", "Doit être au moins 1")):
        error = page.locator(f"#{field}-error")
        assert error.is_visible() and message in error.inner_text(), field
        described = page.locator(f"#{field}").get_attribute("aria-describedby") if field in ("title", "duration") \
            else page.locator(f"#{field}-field fieldset, #{field}-field select").first.get_attribute("aria-describedby")
        assert f"{field}-error" in (described or ""), field
        # The message sits right by its field: in the same field group.
        assert page.locator(f"#{field}-field #{field}-error").count() == 1
    assert page.get_by_label("Participants").input_value() == "Alice Test"
    assert page.get_by_label("Durée (minutes)").input_value() == "0"
    shot(page, artifacts_dir, "meeting-errors")
    # The summary's links lead to the fields.
    page.locator("#erreurs a", has_text="Titre").click()
    assert page.evaluate("location.hash") == "#title"
    close(page)
