"""The issue's « Done when » in Chromium: a half-day signed in the room, marked, countersigned, and its documents.

The trainer (tina) opens the session on a desktop viewport: the rotating QR code, who has signed (refreshed
by the page's script). Learners on phones (390 × 844, touch) open the QR code's URL, sign in and sign: alice
draws with her finger (touch events), bob types his name; carol, without a phone, signs on the trainer's device
with her password. The trainer marks bob late (15 min) and dan absent with a justification and a proof, then
signs the sheet. The feuille d'émargement and alice's certificat de réalisation are downloaded, written to
test-artifacts/attendance/, checked with ``pdftotext`` and rendered with ``pdftoppm`` for a person to look at.

The session is placed around the real clock (it started 5 minutes ago: the window is open, the trainer may
mark and sign); the learners' programmes are moved around today.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from app_support import start_server, stop_server
from attendance_support import add_live_session, around_today, attendance_project
from factories import password_of
from test_app_browser import CHROMIUM_ARGS, close

from livret.attendance import qr
from livret.instance.accounts import Accounts
from livret.instance.db import InstanceDB

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
LEARNERS = ("alice", "bob", "carol", "dan")


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def organisation(tmp_path_factory):
    root = tmp_path_factory.mktemp("emargement") / "organisme"
    project = attendance_project(root, learners=LEARNERS, members=LEARNERS, organisation={
        "name": "OF de test", "address": "1 rue de la Formation, 75001 Paris", "nda": "11755555575",
        "attendance": {"signatory": {"name": "Ada Admin", "title": "directrice", "place": "Paris"},
                       "siret": "123 456 789 00012"},
    })
    around_today(project)
    accounts = Accounts.for_project(project)
    accounts.add("tina", "tutor", password_of("tina"), display_name="Tina Martin")
    for lid in LEARNERS:
        accounts.add(lid, "learner", password_of(lid), display_name=f"{lid.capitalize()} Test")
    chain = add_live_session(project, started=True)
    server = start_server(project.root, root.parent / "serve.log")
    yield project, chain, server
    stop_server(server)


@pytest.fixture(scope="module")
def artifacts(artifacts_dir) -> Path:
    folder = artifacts_dir / "attendance"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def new_page(browser, base_url: str, options: dict):
    context = browser.new_context(base_url=base_url, locale="fr-FR", timezone_id="Europe/Paris", **options)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    return page


def sign_in_then(page, username: str, target: str) -> None:
    """Open ``target``: the sign-in page comes first, then the app goes back to it."""
    page.goto(target)
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password_of(username))
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(re.escape(target.split("?")[0])))


def fits_the_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url}: {width} px wide"


def draw_with_a_finger(page) -> None:
    """Touch events, as a finger on the phone's screen (Chromium turns them into pointer events)."""
    canvas = page.locator("canvas[data-drawing-canvas]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    cdp = page.context.new_cdp_session(page)
    x0, y0 = box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.6

    def touch(kind, x=None, y=None):
        points = [] if kind == "touchEnd" else [{"x": x, "y": y}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", x0, y0)
    for i in range(1, 25):
        touch("touchMove", x0 + i * box["width"] * 0.03, y0 - (i % 6) * box["height"] * 0.06)
    touch("touchEnd")


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def render(path: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(path.with_suffix(""))], check=True)
    return sorted(path.parent.glob(path.stem + "*.png"))


def test_a_half_day_signed_marked_countersigned_and_its_documents(browser, organisation, artifacts):
    project, chain, server = organisation
    day = project.store.session(chain).session.date
    trainer = new_page(browser, server.url, DESKTOP)
    sign_in_then(trainer, "tina", f"/seances/{chain}")
    trainer.get_by_role("button", name="Exiger le code QR").click()
    trainer.get_by_text("Code QR exigé").wait_for()
    qr_image = trainer.locator("img[data-qr-src]")
    assert trainer.evaluate("img => img.complete && img.naturalWidth > 100", qr_image.element_handle())
    trainer.screenshot(path=str(artifacts / "formateur-qr.png"), full_page=True)
    db = InstanceDB(project.instance)

    def qr_url() -> str:  # what the learner's phone reads from the code on the screen
        now = dt.datetime.now(ZoneInfo("Europe/Paris"))
        return f"/seances/{chain}/emarger?code={qr.current_code(db, chain, now, 30)}"

    # alice draws on her phone
    alice = new_page(browser, server.url, PHONE)
    sign_in_then(alice, "alice", qr_url())
    alice.get_by_label("Dessiner ma signature").check()
    draw_with_a_finger(alice)
    assert alice.locator("input[data-drawing-input]").input_value().startswith("[[[")
    fits_the_phone(alice)
    alice.get_by_role("button", name="Émarger").click()
    alice.get_by_text("Émargement enregistré.").wait_for()
    assert alice.locator("figure.signature-image svg path").count() == 1
    alice.screenshot(path=str(artifacts / "apprenante-dessin.png"), full_page=True)
    # the trainer's page shows it without being reloaded
    alice_row = trainer.locator('tr[data-learner="alice"] [data-cell="label"]')
    alice_row.filter(has_text="Présent·e (signé)").wait_for()

    # bob types his name on his phone
    bob = new_page(browser, server.url, PHONE)
    sign_in_then(bob, "bob", qr_url())
    bob.get_by_label("Saisir mon nom").check()
    bob.get_by_label("Votre nom et prénom").fill("Bob Test")
    fits_the_phone(bob)
    bob.get_by_role("button", name="Émarger").click()
    bob.get_by_text("Émargement enregistré.").wait_for()
    bob.goto("/mes-seances")
    assert "Présent·e (signé)" in bob.content()
    fits_the_phone(bob)

    # carol has no phone: the trainer's device, her password, her typed name
    trainer.get_by_role("link", name="Appareil du formateur").click()
    trainer.get_by_label("Votre nom", exact=True).select_option("carol")
    trainer.get_by_label("Votre mot de passe ou votre code personnel").fill(password_of("carol"))
    trainer.get_by_label("Saisir mon nom").check()
    trainer.get_by_label("Votre nom et prénom").fill("Carol Test")
    trainer.get_by_role("button", name="Émarger").click()
    trainer.get_by_text("Émargement de Carol Test enregistré.").wait_for()

    # marks: bob late, dan absent with a justification and its proof
    trainer.goto(f"/seances/{chain}/releve")
    trainer.get_by_label("Apprenant·e").select_option("bob")
    trainer.get_by_label("Relevé").select_option("late")
    trainer.get_by_label("Minutes de retard ou d'avance").fill("15")
    trainer.get_by_role("button", name="Enregistrer le relevé").click()
    trainer.get_by_text("Relevé enregistré pour Bob Test.").wait_for()
    trainer.get_by_label("Apprenant·e").select_option("dan")
    trainer.get_by_label("Relevé").select_option("justified")
    trainer.get_by_label("Motif").fill("Rendez-vous médical")
    trainer.get_by_label("Justificatif (absence justifiée)").set_input_files(
        files=[{"name": "certificat-medical.pdf", "mimeType": "application/pdf",
                "buffer": b"%PDF-1.4\n% certificat\n"}])
    trainer.get_by_role("button", name="Enregistrer le relevé").click()
    trainer.get_by_text("Relevé enregistré pour Dan Test.").wait_for()

    trainer.goto(f"/seances/{chain}")
    assert trainer.locator("[data-state-count]").inner_text() == "(3 / 4)"
    states = {lid: trainer.locator(f'tr[data-learner="{lid}"] [data-cell="label"]').inner_text() for lid in LEARNERS}
    assert states == {"alice": "Présent·e (signé)", "bob": "En retard (15 min)", "carol": "Présent·e (signé)",
                      "dan": "Absence justifiée"}
    assert "Rendez-vous médical" in trainer.content()  # the staff note, on the trainer's page only
    trainer.get_by_role("button", name="Signer la feuille").click()
    trainer.get_by_text("Feuille signée (4 lignes).").wait_for()
    trainer.screenshot(path=str(artifacts / "formateur-feuille-signee.png"), full_page=True)

    # the documents, from the trainer's session (D's routes)
    sheet = trainer.request.get(f"/seances/{chain}/emargement.pdf")
    assert sheet.status == 200 and sheet.body().startswith(b"%PDF")
    (artifacts / "feuille-emargement.pdf").write_bytes(sheet.body())
    text = pdf_text(artifacts / "feuille-emargement.pdf")
    for expected in ("TEST Alice", "TEST Bob", "TEST Carol", "TEST Dan", "Retard de 15 min", "Absence justifiée",
                     "Tina Martin", "par code QR", "par l'appareil"):
        assert expected in text, expected
    assert "Rendez-vous médical" not in text  # the reason is a staff note
    certificate = trainer.request.get(f"/apprenants/alice/certificat.pdf?du={day}&au={day}")
    assert certificate.status == 200, certificate.text()[:500]
    (artifacts / "certificat-alice.pdf").write_bytes(certificate.body())
    text = pdf_text(artifacts / "certificat-alice.pdf")
    for expected in ("CERTIFICAT DE RÉALISATION", "Alice Test", "OF de test", "Ada Admin"):
        assert expected in text, expected
    assert render(artifacts / "feuille-emargement.pdf") and render(artifacts / "certificat-alice.pdf")
    print(f"\nattendance documents and their pages: {artifacts}")

    assert project.store.check() == []
    for page in (alice, bob, trainer):
        close(page)
