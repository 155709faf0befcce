"""The issue's « Done when » in Chromium, the company tutor on a phone (375 × 812).

The organisation asks visit reports (meeting ``visite-entreprise``) to be
signed by the company tutor and the learner.  A tutor signs in and invites
the learner's company tutor; the mail arrives at a real SMTP server
(aiosmtpd, tests/mail_support.py) through the app's outbox and background
sender; on the phone, the company tutor opens the link from the mail,
presses the button, fills the observation grid with one « non vu en
entreprise », writes company feedback and signs the visit report; the
learner signs it too.  The tutor sees the signatures, the built shared site
shows them, ``livret verify`` passes, then fails once the signed entry is
edited by hand.

Screenshots go to ``$LIVRET_SCREENSHOTS`` when set (else test-artifacts/).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from app_support import start_server, stop_server
from factories import add, make_project, password_of, when
from mail_support import Recorder, bodies, link_in, smtp_env, smtp_server
from test_app_browser import CHROMIUM_ARGS, close

from livret.instance.accounts import Accounts
from livret.publish.build import build_learner, site_dir
from livret.seal import witnessed
from livret.store.history import History
from livret.store.yamlio import dump_yaml

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def screenshots(artifacts_dir) -> Path:
    folder = Path(os.environ.get("LIVRET_SCREENSHOTS") or artifacts_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shot(page, folder: Path, name: str) -> None:
    path = folder / f"company-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def new_page(browser, base_url: str, *, phone: bool):
    options = {"base_url": base_url, "locale": "fr-FR", "timezone_id": "Europe/Paris"}
    options.update(PHONE if phone else {"viewport": {"width": 1280, "height": 900}})
    context = browser.new_context(**options)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    return page


def sign_in(page, username: str) -> None:
    page.goto("/connexion")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password_of(username))
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/tableau-de-bord|/apprenants/"))


def fits_the_phone(page) -> None:
    """Nothing wider than the 375 px screen (no sideways scrolling)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{page.url}: {width} px wide"


def livret_cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "livret", "--root", str(root), *args], capture_output=True,
                          text=True)


@pytest.fixture
def organisation(tmp_path):
    """alice (company Entreprise Dupont, tutor tina); visit reports signed by the company tutor and the learner;
    a sender for the mails; a visit report written by tina waiting for signatures."""
    project = make_project(tmp_path / "organisme", git=False)
    (project.portfolios / "_organisation.yml").write_text(dump_yaml({
        "name": "OF de test",
        "mail": {"sender": "formation@of-test.fr", "reply_to": "contact@of-test.fr"},
        "signoff": {"rules": [{"type": "meeting", "kind": "visite-entreprise", "by": ["company", "learner"]}]},
    }), encoding="utf-8")
    History(project.portfolios).init()
    witnessed(project)
    accounts = Accounts.for_project(project)
    accounts.add("tina", "tutor", password_of("tina"), display_name="Tina Martin")
    accounts.add("alice", "learner", password_of("alice"), display_name="Alice Test")
    visit = add(project, "alice", {"type": "meeting", "date": when("2026-11-10"), "title": "Visite en entreprise",
                                   "kind": "visite-entreprise", "modality": "presentiel", "duration": 60},
                "Alice accueille les clients avec aisance.", author_name="Tina Martin")
    return project, visit


def test_company_tutor_on_a_phone_from_invitation_to_signature(browser, organisation, tmp_path, screenshots):
    project, visit = organisation
    with smtp_server(Recorder()) as (smtp, port):
        server = start_server(project.root, tmp_path / "serve.log", env=smtp_env(port))
        try:
            run_scenario(browser, project, visit, server, smtp, screenshots)
        finally:
            stop_server(server)
    log = server.output()
    assert "lien entreprise utilisé : jean.dupont" in log or "jean.dupont" in log
    assert not re.search(r"/lien/[A-Za-z0-9_-]{43}", log)  # never a token in the logs

    # livret verify passes; then the signed visit report is edited by hand: it fails, naming it
    ok = livret_cli(project.root, "verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    path = project.portfolios / visit.path
    path.write_text(path.read_text(encoding="utf-8") + "\nAjout fait à la main après la signature.\n",
                    encoding="utf-8")
    broken = livret_cli(project.root, "verify")
    assert broken.returncode != 0
    assert "signature" in (broken.stdout + broken.stderr).lower()


def run_scenario(browser, project, visit, server, smtp, screenshots) -> None:
    # ---------------------------------------------------------------- the tutor invites
    tutor = new_page(browser, server.url, phone=False)
    sign_in(tutor, "tina")
    tutor.goto("/apprenants/alice/")
    tutor.get_by_role("link", name="Inviter le tuteur entreprise / renvoyer un lien").click()
    tutor.get_by_label("Prénom et nom").fill("Jean Dupont")
    tutor.get_by_label("Adresse e-mail").fill("jean.dupont@garage-dupont.example")
    tutor.get_by_role("button", name="Envoyer le lien").click()
    tutor.get_by_text("Lien envoyé par courriel à Jean Dupont").wait_for()
    shot(tutor, screenshots, "01-tutor-invited")

    # ---------------------------------------------------------------- the mail arrives
    [mail] = smtp.wait_for(1, timeout=120)
    assert mail["To"].addresses[0].addr_spec == "jean.dupont@garage-dupont.example"
    assert "Alice" not in mail["Subject"] and "Dupont" not in mail["Subject"]
    text, html = bodies(mail)
    assert "Alice Test" in text and "OF de test" in text and "<img" not in html
    url = link_in(mail)
    assert url.startswith(server.url + "/lien/")

    # ---------------------------------------------------------------- on the phone
    phone = new_page(browser, server.url, phone=True)
    phone.goto(url)
    phone.get_by_role("heading", name="Espace entreprise — OF de test").wait_for()
    assert "Jean Dupont" in phone.content() and "Alice Test" in phone.content()
    fits_the_phone(phone)
    shot(phone, screenshots, "02-phone-link-page")
    phone.get_by_role("button", name="Ouvrir l'espace entreprise").click()
    phone.wait_for_url(re.compile(r"/entreprise/$"))
    fits_the_phone(phone)
    shot(phone, screenshots, "03-phone-workspace")
    cookie = next(c for c in phone.context.cookies() if c["name"] == "livret_session")
    assert 29.9 * 86400 < cookie["expires"] - time.time() <= 30 * 86400  # the device keeps it 30 days

    # the observation grid, one « non vu en entreprise »
    phone.get_by_role("link", name="Remplir la grille d'observation").first.click()
    phone.locator("select[name=competencies-0-level]").select_option("3")
    phone.locator("select[name=competencies-1-level]").select_option("non-vu")
    phone.locator("select[name=competencies-2-level]").select_option("2")
    fits_the_phone(phone)
    shot(phone, screenshots, "04-phone-grid")
    phone.get_by_role("button", name="Enregistrer").click()
    phone.get_by_text("enregistrée. Le portfolio").wait_for()

    # company feedback
    phone.goto("/entreprise/")
    phone.get_by_role("link", name="Écrire un retour (période, missions, observations)").first.click()
    phone.fill("[name=title]", "Retour de l'entreprise — octobre")
    phone.fill("[name=period_start]", "2026-10-01")
    phone.fill("[name=period_end]", "2026-10-31")
    phone.fill("[name=missions]", "Accueil des clients\nMise en rayon")
    phone.fill("[name=observations]", "Ponctuelle et impliquée.")
    fits_the_phone(phone)
    phone.get_by_role("button", name="Enregistrer").click()
    phone.get_by_text("enregistrée. Le portfolio").wait_for()

    # the visit report, signed
    phone.goto("/entreprise/")
    item = phone.locator(f"#a-signer-{visit.id}")
    item.get_by_label("Commentaire (facultatif)").fill("Conforme à la visite.")
    shot(phone, screenshots, "05-phone-to-sign")
    item.get_by_role("button", name=re.compile("Signer")).click()
    phone.get_by_text("Signature enregistrée.").wait_for()
    fits_the_phone(phone)
    shot(phone, screenshots, "06-phone-signed")
    close(phone)

    # the learner signs too (three-party visit)
    learner = new_page(browser, server.url, phone=False)
    sign_in(learner, "alice")
    learner.goto("/apprenants/alice/")
    learner.locator(f"#a-signer-{visit.id}").get_by_role("button", name=re.compile("Signer")).click()
    learner.get_by_text("Signature enregistrée.").wait_for()
    close(learner)

    # ---------------------------------------------------------------- the tutor sees the signatures
    tutor.goto(f"/apprenants/alice/#entree-{visit.id}")
    entry = tutor.locator(f"#entree-{visit.id}")
    entry.get_by_text(re.compile(r"Signé par Jean Dupont \(tuteur.*entreprise\)")).wait_for()
    entry.get_by_text(re.compile(r"Signé par Alice Test")).wait_for()
    assert "lien reçu par e-mail" in entry.inner_text()
    assert "non vu en entreprise : A2" in tutor.locator("main").inner_text()  # the observation grid's line
    shot(tutor, screenshots, "07-tutor-sees-signatures")
    close(tutor)

    # ---------------------------------------------------------------- the shared site shows them
    assert build_learner(project, "alice").ok
    root = site_dir(project, "shared", "alice")
    [visit_page] = [p for p in root.rglob("*.html") if visit.id.lower() in p.as_posix()]
    built = visit_page.read_text(encoding="utf-8")
    assert "Signé par Jean Dupont" in built and "Signé par Alice Test" in built
    [grid] = [e for e in project.store.load_learner("alice").entries if e.type == "observation"]
    assert grid.meta.not_observed == ["A2"] and grid.meta.author == "jean.dupont"
    [grid_page] = [p for p in root.rglob("*.html") if grid.id.lower() in p.as_posix()]
    assert "Non vu en entreprise" in grid_page.read_text(encoding="utf-8")
    viewer = new_page(browser, server.url, phone=True)
    sign_in(viewer, "alice")
    relative = visit_page.relative_to(root).as_posix()
    viewer.goto(f"/portfolio/alice/{relative}")
    viewer.get_by_text("Signé par Jean Dupont").first.wait_for()
    shot(viewer, screenshots, "08-shared-site-signatures")
    close(viewer)
