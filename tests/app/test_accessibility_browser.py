"""Accessibility (RGAA 4.1 / WCAG 2.1 AA) in Chromium, against one ``livret serve`` of a rich project.

- axe-core (``axe-playwright-python``, which ships ``axe.min.js``: nothing is
  fetched) with the tags wcag2a, wcag2aa, wcag21a, wcag21aa over every app
  page (every GET route of the app, for every role) and over every page type
  of the built sites (staff and shared, the share link's pages included):
  no violation of impact serious or critical; the others only if
  docs/accessibility.md lists their rule with a reason;
- a page with a known violation injected makes the same check fail;
- a tutor's main task with the keyboard alone (sign in, open a learner, write
  a meeting with levels, submit, read the result), the focus visible at every
  step; a form sent with errors focuses its error summary, whose links lead
  to the fields.

One browser and one server for the module; each role's pages in one loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from app_support import install_accounts, make_app, password_of, start_server, stop_server
from buildkit import rich_project
from factories import REPO, add, when
from test_app_browser import CHROMIUM_ARGS

from livret.admin.groups import create_group
from livret.instance.shares import ShareLinks
from livret.publish.build import build_all, site_dir

pytestmark = pytest.mark.browser

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
ROLES = {"learner": "alice", "tutor": "tina", "company": "carl", "auditor": "audra", "admin": "ada"}
#: Route variables and the values the sweep gives them (``entry_type``: every form).
SKIPPED_SUFFIXES = (".pdf", ".csv", ".json", ".ics", ".svg")
#: Routes that are not pages of the app (files, the API, the sites: those are checked by their own loop).
NOT_PAGES = ("/static/", "/api/", "/.well-known/", "/portfolio/", "/s/", "/did.json")
DOCUMENTED = re.compile(r"^\| `([a-z0-9-]+)` \|", re.M)
#: The pages axe checked (printed at the end of each sweep).
CHECKED: list[str] = []


@dataclass(frozen=True)
class Finding:
    rule: str
    impact: str
    where: str
    targets: str

    def __str__(self) -> str:
        return f"{self.rule} ({self.impact}) on {self.where}: {self.targets}"


def axe_findings(page, where: str) -> list[Finding]:
    """axe-core's violations of the WCAG 2.1 A/AA rules on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS},
                                       "resultTypes": ["violations"]})
    return [Finding(v["id"], v["impact"] or "minor", where,
                    "; ".join(" ".join(n["target"]) for n in v["nodes"][:3]))
            for v in results.response["violations"]]


def documented_rules() -> set[str]:
    """The rules docs/accessibility.md lists as remaining, each with its reason."""
    return set(DOCUMENTED.findall((REPO / "docs" / "accessibility.md").read_text(encoding="utf-8")))


def failures(findings: list[Finding]) -> list[str]:
    """What fails the run: any serious or critical violation, and any other one the docs do not explain."""
    known = documented_rules()
    return [str(f) for f in findings if f.impact in BLOCKING or f.rule not in known]


# --------------------------------------------------------------------------
# The project, its sites and the server (once for the module)
# --------------------------------------------------------------------------


@dataclass
class Served:
    url: str
    project: object
    values: dict
    share_token: str


@pytest.fixture(scope="module")
def served(tmp_path_factory, accounts_template):
    from attendance_support import add_session

    root = tmp_path_factory.mktemp("a11y")
    project = rich_project(root / "proj")
    install_accounts(accounts_template, project.instance)
    create_group(project.store, {"name": "Promo"}, ["alice"], author="ada", group_id="promo")
    chain = add_session(project, group="promo", convened=("alice",))
    plan = project.store.append_entry("alice", {
        "type": "planned-meeting", "date": when("2026-12-10"), "title": "Point d'étape", "kind": "suivi",
        "modality": "presentiel", "place": "Salle 1", "duration": 30, "with_learner": False}, "",
        author="tina", role="tutor", now=_fixed_now()).id
    evidence = add(project, "alice", {"type": "evidence", "date": when("2026-06-02"), "title": "Fiche d'accueil",
                                      "competencies": [{"code": "A2"}]}, "Ma fiche.", author="alice", role="learner")
    assert build_all(project, jobs=1).ok
    share = ShareLinks.for_project(project).create("alice", created_by="tina")
    values = {"learner_id": "alice", "entry_id": evidence.id, "plan_id": plan, "chain_id": chain,
              "group_id": "promo", "framework_id": "mini", "username": "tina", "month": "2026-11",
              "token": "pas-un-jeton"}
    server = start_server(project.root, root / "serve.log")
    yield Served(server.url, project, values, share.token)
    stop_server(server)


def _fixed_now():
    import datetime as dt

    from factories import PARIS

    return dt.datetime(2026, 11, 20, 18, 0, tzinfo=PARIS)


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def new_page(browser, served: Served, *, phone: bool = False):
    options = {"base_url": served.url, "locale": "fr-FR", "timezone_id": "Europe/Paris",
               "viewport": {"width": 390, "height": 844} if phone else {"width": 1366, "height": 900}}
    context = browser.new_context(**options)
    context.set_default_timeout(30_000)
    return context.new_page()


def sign_in(page, username: str) -> None:
    page.goto("/connexion")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password_of(username))
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/(tableau-de-bord|apprenants/[a-z0-9-]+/|entreprise/)$"))


# --------------------------------------------------------------------------
# Every app page, for every role
# --------------------------------------------------------------------------

VARIABLE = re.compile(r"<(?:\w+:)?(\w+)>")


def app_pages(project, values: dict) -> list[str]:
    """Every GET route of the app that answers HTML, with the module's values in its variables;
    a route with a variable the sweep has no value for fails the test (give it one)."""
    from app_support import VALID_FORMS

    app = make_app(project.root)
    urls, unknown = [], []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.endswith(SKIPPED_SUFFIXES) \
                or rule.rule.startswith(NOT_PAGES) or rule.endpoint in SKIPPED_ROUTES:
            continue
        names = VARIABLE.findall(rule.rule)
        missing = [n for n in names if n not in values and n != "entry_type"]
        if missing:
            unknown.append(f"{rule.rule} ({', '.join(missing)})")
            continue
        url = VARIABLE.sub(lambda m: values.get(m.group(1), "{entry_type}"), rule.rule)
        urls += [url.replace("{entry_type}", t) for t in VALID_FORMS] if "entry_type" in names else [url]
    assert not unknown, f"routes the axe sweep does not know how to open: {unknown}"
    return sorted(set(urls))


#: Endpoints left out of the sweep, with the reason.
SKIPPED_ROUTES = {
    "audit_pack.job": "the page of a running audit-pack job (a job takes a PDF build; its page is a status line)",
    "audit_pack.download": "a ZIP file",
    "feeds.feed": "an iCalendar file",
}


#: Attributes that make two pages differ for axe (elements, roles, classes, types; not text, ids or links).
KEPT = {"class", "role", "type", "tabindex", "hidden", "open", "disabled", "required", "aria-current",
        "aria-expanded", "aria-hidden", "aria-live", "style", "scope"}


def structure(html: str) -> str:
    """The structure of a page's ``main``: two pages of the same structure differ only in words, which axe's
    WCAG rules do not judge differently (colours and sizes come from the classes)."""
    from html.parser import HTMLParser

    out: list[str] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            out.append(tag + repr(sorted((k, v or "") for k, v in attrs if k in KEPT)))

        def handle_endtag(self, tag):
            out.append("/" + tag)

    Parser().feed(html[html.find("<main"):html.rfind("</main>")] if "<main" in html else html)
    return "".join(out)


def sweep(page, urls: list[str], where: str, structures: set[str] | None = None) -> list[Finding]:
    """Open each URL and check the page, unless a page of the same structure was checked already
    (``structures``, shared by the roles' loops: the header and menu of each role are checked on its first
    page, and every distinct page body once)."""
    findings = []
    structures = set() if structures is None else structures
    first = True
    statuses = set()
    for url in urls:
        # a refusal or a file is asked without the browser (one error page per status is checked)
        answer = page.request.get(url, max_redirects=0)
        if "text/html" not in (answer.headers.get("content-type") or "") or answer.status in statuses:
            continue
        if answer.status != 200:
            statuses.add(answer.status)
        shape = structure(answer.text())
        if shape in structures and not first:
            continue
        structures.add(shape)
        first = False
        response = page.goto(url)
        CHECKED.append(f"{where} {url}")
        findings += axe_findings(page, f"{where} {url} ({response.status})")
    return findings


def test_axe_on_every_app_page_for_every_role(browser, served):
    urls = app_pages(served.project, served.values)
    findings = []
    page = new_page(browser, served)
    findings += sweep(page, ["/connexion", "/connexion/oubli", "/accessibilite", "/lien/pas-un-jeton"], "anonymous")
    # a form sent with errors: its error summary and the messages at their fields
    page.context.close()
    structures: set[str] = set()
    for role, username in ROLES.items():
        page = new_page(browser, served)
        sign_in(page, username)
        findings += sweep(page, [u for u in urls if not u.startswith("/connexion")], role, structures)
        page.context.close()
    print(f"\naxe: {len(urls)} app routes for {len(ROLES)} roles, {len(CHECKED)} distinct pages checked; "
          f"findings: {len(findings)}")
    for finding in findings:
        print("  ", finding)
    assert not failures(findings), "\n".join(failures(findings))


def test_axe_on_a_form_with_errors(browser, served):
    page = new_page(browser, served, phone=True)
    sign_in(page, "tina")
    page.goto("/apprenants/alice/nouvelle/meeting")
    page.get_by_label("Titre").fill("")
    page.get_by_role("button", name="Enregistrer").click()
    page.locator(".error-summary, [role=alert]").first.wait_for()
    findings = axe_findings(page, "tutor meeting form with errors")
    page.context.close()
    assert not failures(findings), "\n".join(failures(findings))


# --------------------------------------------------------------------------
# Every page type of the built sites
# --------------------------------------------------------------------------


def site_page_types(site: Path) -> list[str]:
    """Every top-level page of a built site, and the first page of each kind below (a competency, an entry)."""
    out = []
    for index in sorted(site.glob("*/index.html")) + [site / "index.html"]:
        out.append("" if index.parent == site else index.parent.name + "/")
    for folder in ("competences", "entrees"):
        pages = sorted(p for p in (site / folder).glob("*/index.html"))
        if pages:
            out.append(f"{folder}/{pages[0].parent.name}/")
    return out


def test_axe_on_every_page_type_of_the_built_sites(browser, served):
    staff = site_page_types(site_dir(served.project, "staff", "alice"))
    shared = site_page_types(site_dir(served.project, "shared", "alice"))
    assert {"", "competences/", "chronologie/", "suivi/", "assiduite/", "accessibilite/"} <= set(staff)
    assert any(p.startswith("entrees/") for p in shared) and any(p.startswith("competences/") and p != "competences/"
                                                                 for p in staff)
    findings = []
    page = new_page(browser, served)
    sign_in(page, "ada")
    findings += sweep(page, [f"/portfolio/alice/{p}" for p in staff], "staff site")
    page.context.close()
    page = new_page(browser, served, phone=True)  # the share link, as the company opens it: no account
    findings += sweep(page, [f"/s/{served.share_token}/{p}" for p in shared], "share link")
    page.context.close()
    print(f"\naxe: {len(staff)} staff and {len(shared)} shared page types; findings: {len(findings)}")
    for finding in findings:
        print("  ", finding)
    assert not failures(findings), "\n".join(failures(findings))


def test_a_known_violation_fails_the_run(browser, served):
    """The check is not blind: an image without text alternative and an unlabelled field, injected into a page
    that passes, are found and fail the run."""
    page = new_page(browser, served)
    page.goto("/accessibilite")
    assert not failures(axe_findings(page, "statement"))
    page.evaluate("""() => {
        const main = document.querySelector('main');
        const img = document.createElement('img');
        img.src = '/static/livret.css';
        main.appendChild(img);
        main.appendChild(document.createElement('input'));
    }""")
    found = failures(axe_findings(page, "statement with injected faults"))
    page.context.close()
    assert any(f.startswith("image-alt (critical)") for f in found), found
    assert any(f.startswith("label (critical)") for f in found), found


# --------------------------------------------------------------------------
# A tutor's main task with the keyboard alone
# --------------------------------------------------------------------------

#: Whether the focused element shows it: an outline or a box shadow of at least 2 px, or the error summary's.
FOCUS_SHOWN = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return 'nothing focused';
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
    const shadow = style.boxShadow && style.boxShadow !== 'none';
    return outline || shadow ? '' : (el.tagName + ' ' + (el.id || el.name || el.textContent.trim().slice(0, 40)));
}"""


class Keyboard:
    """Tab through a page as a keyboard user does, checking at each stop that the focus is visible."""

    def __init__(self, page):
        self.page = page
        self.unseen: list[str] = []
        self.stops = 0

    def tab_to(self, locator, limit: int = 120) -> None:
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            self.stops += 1
            hidden = self.page.evaluate(FOCUS_SHOWN)
            if hidden:
                self.unseen.append(f"{self.page.url}: {hidden}")
            if locator.evaluate("el => el === document.activeElement"):
                return
        raise AssertionError(f"{locator} not reached with {limit} presses of Tab on {self.page.url}")

    def press(self, *keys: str) -> None:
        for key in keys:
            self.page.keyboard.press(key)


def test_a_tutor_writes_a_meeting_with_the_keyboard_alone(browser, served):
    page = new_page(browser, served)
    keys = Keyboard(page)
    page.goto("/connexion")
    keys.tab_to(page.get_by_label("Identifiant"))
    page.keyboard.type("tina")
    keys.tab_to(page.get_by_label("Mot de passe"))
    page.keyboard.type(password_of("tina"))
    keys.press("Enter")
    page.wait_for_url(re.compile(r"/tableau-de-bord$"))

    keys.tab_to(page.get_by_role("link", name="Alice Test").first)
    keys.press("Enter")
    page.wait_for_url(re.compile(r"/apprenants/alice/$"))
    keys.tab_to(page.get_by_role("link", name="Entretien de suivi", exact=True))
    keys.press("Enter")
    page.wait_for_url(re.compile(r"/nouvelle/meeting$"))

    # sent without a title: the error summary takes the focus; its link leads to the field
    keys.tab_to(page.get_by_role("button", name="Enregistrer"))
    keys.press("Enter")
    page.locator("#erreurs").wait_for()
    assert page.evaluate("document.activeElement.id") == "erreurs"
    assert not page.evaluate(FOCUS_SHOWN)
    keys.tab_to(page.locator("#erreurs a").first)
    keys.press("Enter")
    assert page.evaluate("document.activeElement.id") == page.locator("#erreurs a").first.get_attribute(
        "href").lstrip("#")

    title = page.get_by_label("Titre")
    keys.tab_to(title) if not title.evaluate("el => el === document.activeElement") else None
    page.keyboard.type("Bilan au clavier")
    keys.tab_to(page.get_by_label("Nature de l'entretien"))
    keys.press("ArrowDown")
    keys.tab_to(page.locator("input[name=modality]").first)
    keys.press("Space")
    keys.tab_to(page.get_by_label("Durée (minutes)"))
    page.keyboard.type("40")
    keys.tab_to(page.get_by_label("Niveau pour A1"))
    keys.press("ArrowDown", "ArrowDown", "ArrowDown")  # « 3 » : choosing a level ticks the competency
    keys.tab_to(page.get_by_role("button", name="Enregistrer"))
    with page.expect_navigation():
        keys.press("Enter")
    assert "#entree-" in page.url, page.locator("main").inner_text()[:600]

    flash = page.locator(".flashes")
    assert "Bilan au clavier" in flash.inner_text()
    entry = page.locator(f"#{page.url.split('#')[1]}")
    assert "Bilan au clavier" in entry.inner_text() and "A1" in entry.inner_text()
    print(f"\nkeyboard: {keys.stops} presses of Tab from sign-in to the saved meeting")
    page.context.close()
    assert keys.unseen == [], keys.unseen
