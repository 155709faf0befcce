"""The issue's scenario in a real browser: a new organisation runs livret without a terminal.

On a fresh ``livret init`` project, the first admin (the only account made
on the command line) creates a group, imports 30 learners from a CSV (one
row with an error is shown, fixed, and the file uploaded again), imports a
framework, creates a tutor account, assigns it to the group's learners; the
tutor opens the invitation link, chooses a password and sees exactly those
learners.  No file is edited by hand; every commit after ``init`` is the
admin's; ``livret check`` passes at the end.

Screenshots of every step (desktop) and of the admin pages on a phone go to
``test-artifacts/admin-*.png``.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from app_support import start_server, stop_server
from factories import REPO
from mail_support import mailed_link
from test_app_browser import CHROMIUM_ARGS, close, new_page

pytestmark = pytest.mark.browser

ADMIN, ADMIN_PASSWORD = "ada.admin", "Premiere-connexion-sûre-2026"
TUTOR, TUTOR_PASSWORD = "tess.tutrice", "Suivi-des-apprenants-2026"
HEADER = "prénom;nom;e-mail;formation;référentiel;début;fin;alternance;contrat;entreprise;groupes"


def livret(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "livret", *args], input=stdin, capture_output=True, text=True,
                          cwd=REPO, check=True)


def learners_csv(broken_row: bool) -> bytes:
    """30 learners of the group; row 12 (line 13 of the file) ends before it starts when ``broken_row``."""
    lines = [HEADER]
    for i in range(1, 31):
        end = "30/06/2026" if broken_row and i == 12 else "30/06/2028"
        work_study = i % 3 == 0
        lines.append(";".join([
            f"Prénom{i:02d}", f"Nom{i:02d}", f"apprenant{i:02d}@example.fr", "BTS MCO", "tuteur", "01/09/2026",
            end, "oui" if work_study else "non", "apprentissage" if work_study else "aucun",
            f"Entreprise {i}" if work_study else "", "Promo BTS 2026"]))
    return ("\n".join(lines) + "\n").encode("cp1252")  # a spreadsheet's Windows export


def shot(page, artifacts_dir, name: str) -> None:
    path = artifacts_dir / f"admin-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def sign_in(page, username: str, password: str) -> None:
    page.goto("/connexion")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/tableau-de-bord|/admin/"))


@pytest.fixture
def fresh(tmp_path):
    """``livret init`` (no example learner: the scenario's learners are the only ones), then the first admin."""
    root = tmp_path / "organisme"
    livret("init", str(root), "--no-example")
    livret("--root", str(root), "user", "add", ADMIN, "--role", "admin", "--password-stdin",
           stdin=ADMIN_PASSWORD + "\n")
    server = start_server(root, tmp_path / "serve.log")
    yield root, server
    stop_server(server)


def test_a_new_organisation_is_set_up_from_the_browser(browser, fresh, tmp_path, artifacts_dir):
    root, server = fresh
    portfolios = root / "portfolios"
    first_commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=portfolios, capture_output=True, text=True,
                                  check=True).stdout.strip()
    page = new_page(browser, server)
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    page.goto("/admin/")
    shot(page, artifacts_dir, "01-premiers-pas")

    # 1. A group.
    page.goto("/admin/groupes/nouveau")
    page.get_by_label("Nom du groupe").fill("Promo BTS 2026")
    page.get_by_label("Formation", exact=True).fill("BTS MCO")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(re.compile(r"/admin/groupes/promo-bts-2026/"))

    # 2. 30 learners from a CSV: the broken row is shown (row, column, message), nothing is written.
    broken, fixed = tmp_path / "apprenants.csv", tmp_path / "apprenants-corrige.csv"
    broken.write_bytes(learners_csv(True))
    fixed.write_bytes(learners_csv(False))
    page.goto("/admin/import/apprenants/")
    page.get_by_label("Fichier").set_input_files(str(broken))
    page.get_by_role("button", name="Voir l'aperçu").click()
    errors = page.locator("table", has_text="Colonne").first
    assert "13" in errors.inner_text() and "fin" in errors.inner_text().lower()
    assert "précède" in page.content()
    shot(page, artifacts_dir, "02-import-erreur")
    assert sorted(p.name for p in portfolios.iterdir() if not p.name.startswith((".", "_"))) == []
    # ... fixed in the spreadsheet and uploaded again.
    page.goto("/admin/import/apprenants/")
    page.get_by_label("Fichier").set_input_files(str(fixed))
    page.get_by_role("button", name="Voir l'aperçu").click()
    page.get_by_role("button", name="Importer 30 apprenant·es").click()
    page.wait_for_url(re.compile(r"/admin/import/apprenants/confirmer"))
    assert "30" in page.locator("main").inner_text()
    shot(page, artifacts_dir, "03-import-fait")

    # 3. A framework, from a Moodle export.
    page.goto("/admin/referentiels/importer")
    page.get_by_label("Fichier").set_input_files(str(REPO / "tests" / "fixtures" / "interop" / "moodle-tuteur-fr.csv"))
    page.get_by_label("Identifiant du référentiel").fill("tuteur-moodle")
    page.get_by_role("button", name="Voir l'aperçu").click()
    shot(page, artifacts_dir, "04-referentiel-apercu")
    page.get_by_role("button", name="Importer", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/referentiels/"))
    assert (portfolios / "_frameworks" / "tuteur-moodle.yml").is_file()

    # 4. A tutor account: the invitation (a one-time link) is mailed; without SMTP, written under instance/outbox/.
    page.goto("/admin/comptes/nouveau")
    page.get_by_label("Identifiant").fill(TUTOR)
    page.get_by_label("Nom affiché").fill("Tess Tutrice")
    page.get_by_label("Adresse e-mail").fill("tess@example.fr")
    page.get_by_label("Rôle").select_option("tutor")
    page.get_by_role("button", name="Créer le compte").click()
    assert "Le lien part par courriel à tess@example.fr" in page.locator("main").inner_text()
    link = mailed_link(root / "instance", "tess@example.fr")
    assert "/lien/" in link
    shot(page, artifacts_dir, "05-compte-lien")

    # 5. Assigned to the group's learners.
    page.goto(f"/admin/comptes/{TUTOR}/affectations?groupe=promo-bts-2026")
    boxes = page.locator("input[name=learners]")
    assert boxes.count() == 30
    for i in range(boxes.count()):
        boxes.nth(i).check()
    shot(page, artifacts_dir, "06-affectations")
    page.get_by_role("button", name="Enregistrer les affectations").click()
    page.wait_for_load_state()
    close(page)

    # 6. The tutor opens the link, chooses a password, and sees exactly the group's learners.
    tutor = new_page(browser, server)
    tutor.goto(link.replace(server.url, ""))
    fields = tutor.locator("input[type=password]")
    for i in range(fields.count()):
        fields.nth(i).fill(TUTOR_PASSWORD)
    tutor.get_by_role("button", name="Enregistrer le mot de passe").click()
    tutor.wait_for_url(re.compile(r"/tableau-de-bord"))
    shot(tutor, artifacts_dir, "07-tutrice-tableau-de-bord")
    names = sorted(tutor.locator("table tbody tr th a").all_inner_texts())
    assert names == sorted(f"Prénom{i:02d} Nom{i:02d}" for i in range(1, 31))
    close(tutor)

    # No file by hand, no CLI: every commit after init is the admin's, and the store is valid.
    authors = subprocess.run(["git", "log", "--format=%an", f"{first_commit}..HEAD"], cwd=portfolios,
                             capture_output=True, text=True, check=True).stdout.split()
    assert authors and set(authors) == {ADMIN}
    assert subprocess.run(["git", "status", "--porcelain"], cwd=portfolios, capture_output=True, text=True,
                          check=True).stdout == ""
    check = subprocess.run([sys.executable, "-m", "livret", "--root", str(root), "check"], capture_output=True,
                           text=True, cwd=REPO)
    assert check.returncode == 0, check.stdout + check.stderr


ADMIN_PAGES = ["/admin/", "/admin/apprenants/", "/admin/apprenants/nouveau", "/admin/groupes/",
               "/admin/groupes/nouveau", "/admin/import/apprenants/", "/admin/comptes/", "/admin/comptes/nouveau",
               "/admin/referentiels/", "/admin/referentiels/importer", "/compte/securite", "/tableau-de-bord"]


def test_admin_pages_fit_a_phone(browser, fresh, artifacts_dir):
    """Every admin page at 390 px: nothing wider than the screen (tables scroll in their own box)."""
    _, server = fresh
    page = new_page(browser, server, phone=True)
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    for n, url in enumerate(ADMIN_PAGES):
        response = page.goto(url)
        assert response.status == 200, url
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        shot(page, artifacts_dir, f"telephone-{n:02d}-{url.strip('/').replace('/', '-') or 'accueil'}")
        assert overflow <= 1, (url, overflow)
    close(page)


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
