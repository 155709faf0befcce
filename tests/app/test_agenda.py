"""The agenda (``/agenda``): the week and the month, planned meetings, due follow-ups, work-study periods,
the filters, who sees what, and the page on a 375 px phone (Chromium).

The app runs on the real clock: everything is placed around ``TARGET``, three days from today.
Screenshots go to ``$LIVRET_SCREENSHOTS`` when set (else test-artifacts/).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from factories import add, meeting, password_of, when

from livret.store.schema import CalendarPeriod, Group
from livret.store.writer import GroupChange
from livret.store.yamlio import dump_yaml
from livret.views.plans import week_of

PARIS = ZoneInfo("Europe/Paris")
TODAY = dt.datetime.now(PARIS).date()
TARGET = TODAY + dt.timedelta(days=3)
#: The contact rule falls due on TARGET: N days after alice's meeting of 20 November 2026.
EVERY = (TARGET - dt.date(2026, 11, 20)).days


def plan(project, learner, title, hour, author, **over):
    fields = {"type": "planned-meeting", "date": dt.datetime.combine(TARGET, dt.time(hour), PARIS).isoformat(),
              "title": title, "kind": "suivi", "modality": "presentiel", "place": f"Salle {hour}", "duration": 30,
              "with_learner": False, **over}
    return project.store.append_entry(learner, fields, "", author=author, role="tutor")


@pytest.fixture
def agenda_data(app_project):
    """Rules (a welcome meeting within 7 days: overdue for both; a contact every EVERY days: due on TARGET for
    alice), alice in the company around TARGET, bob in group g1, a plan each on TARGET."""
    if not 1 <= EVERY <= 365:
        pytest.skip("the shipped test learners' programme is too far in the past for this clock")
    p = app_project
    (p.portfolios / "_organisation.yml").write_text(dump_yaml({"name": "OF de test", "followup": {"rules": [
        {"id": "accueil", "what": "welcome", "within_days": 7, "label": "Entretien d'accueil"},
        {"id": "contact", "what": "contact", "every_days": EVERY, "label": "Contact régulier"},
    ]}}), encoding="utf-8")
    add(p, "alice", meeting(date=when("2026-11-20")))
    alice = p.store.profile("alice")
    monday, sunday = week_of(TARGET)
    calendar = [CalendarPeriod(start=monday - dt.timedelta(days=7), end=sunday + dt.timedelta(days=7),
                               kind="entreprise", label="Chantier Nord")]
    p.store.write_profile(alice.model_copy(update={"calendar": calendar}), None, author="ada", message="calendrier")
    p.store.write_changes(groups=[GroupChange(Group(id="g1", name="Groupe Un", members=["bob"]))], author="ada",
                          message="groupe")
    return {"alice": plan(p, "alice", "Point Alice", 10, "tina"),
            "bob": plan(p, "bob", "Point Bob", 14, "tom")}


def agenda(client, **args):
    args.setdefault("date", TARGET.isoformat())
    response = client.get("/agenda", query_string=args)
    assert response.status_code == 200
    return response.text


def test_a_tutors_week_shows_their_plans_due_and_overdue_followups_and_periods(agenda_data, client, auth):
    auth.login("tina")
    page = agenda(client)
    monday, sunday = week_of(TARGET)
    assert "Semaine du" in page and f'<time datetime="{TARGET.isoformat()}">' in page
    assert "Alice Test" in page and "Salle 10" in page and "Bob Test" not in page and "Salle 14" not in page
    # the due contact on its day, the overdue welcome at the top
    day = page[page.index(f'<time datetime="{TARGET.isoformat()}">'):]
    day = day[:day.index("</li>\n    \n    <li") if "</li>\n    \n    <li" in day else len(day)]
    assert "Salle 10" in day and "À faire :" in day and "Contact régulier" in day
    overdue = page[page.index('id="en-retard"'):page.index("</section>", page.index('id="en-retard"'))]
    assert "Entretien d&#39;accueil" in overdue and "Alice Test" in overdue
    # the company period once, as a range over the week
    assert page.count("en entreprise") == 1 and "Chantier Nord" in page
    assert f"du lundi {monday.day}" in page.replace("1er", "1"), page[page.index("alternance"):][:800]
    assert "S'abonner à mon agenda (iCalendar)" in page
    assert f'date={(monday - dt.timedelta(days=7)).isoformat()}' in page  # « semaine précédente »
    assert f'date={(monday + dt.timedelta(days=7)).isoformat()}' in page


def test_the_other_tutor_sees_only_their_learner(agenda_data, client, auth):
    auth.login("tom")
    page = agenda(client)
    assert "Bob Test" in page and "Salle 14" in page
    assert "Alice Test" not in page and "Salle 10" not in page and "Chantier Nord" not in page
    assert 'name="tuteur"' not in page  # the tutor filter is the admins'
    assert "Salle 10" not in agenda(client, apprenant="alice")  # naming someone else's learner shows nothing


def test_the_admin_filters_by_learner_group_and_tutor(agenda_data, client, auth):
    auth.login("ada")
    page = agenda(client)
    assert "Salle 10" in page and "Salle 14" in page and 'name="tuteur"' in page
    only_bob = [agenda(client, tuteur="tom"), agenda(client, groupe="g1"), agenda(client, apprenant="bob")]
    for page in only_bob:
        assert "Salle 14" in page and "Salle 10" not in page and "Contact régulier" in page  # bob's is overdue
    page = agenda(client, apprenant="alice")
    assert "Salle 10" in page and "Salle 14" not in page


def test_the_month_view(agenda_data, client, auth):
    auth.login("ada")
    page = agenda(client, vue="mois")
    first = TARGET.replace(day=1)
    assert "Mois du" in page and f'<time datetime="{first.isoformat()}">' in page
    assert "Salle 10" in page and "Salle 14" in page and "Vue semaine" in page
    assert "Alice Test : en entreprise" in page  # each day of the month carries where the learner is
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    assert f"date={previous.isoformat()}" in page.replace("&amp;", "&")


def test_cancelled_and_to_complete_plans_are_marked(agenda_data, app_project, client, auth):
    first = agenda_data["alice"]
    app_project.store.append_entry("alice", {
        "type": "planned-meeting", "date": first.meta.date.isoformat(), "title": "Point Alice", "kind": "suivi",
        "modality": "presentiel", "place": "Salle 10", "duration": 30, "with_learner": False,
        "status": "cancelled", "updates": first.id, "reason": "Grève"}, "", author="tina", role="tutor")
    auth.login("tina")
    page = agenda(client)
    assert re.search(r"<del>\s*<strong>", page) and "annulé" in page


@pytest.mark.parametrize("user", ["alice", "carl", "audra"])
def test_only_tutors_and_admins_open_the_agenda(user, client, auth):
    auth.login(user)
    assert client.get("/agenda").status_code == 403


# ---------------------------------------------------------------- on a phone


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright
    from test_app_browser import CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.mark.browser
def test_the_agenda_on_a_phone_has_no_sideways_scroll(agenda_data, live_server, browser, artifacts_dir):
    from test_app_browser import close

    folder = Path(os.environ.get("LIVRET_SCREENSHOTS") or artifacts_dir)
    folder.mkdir(parents=True, exist_ok=True)
    sizes = {"phone": {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 2, "is_mobile": True,
                       "has_touch": True},
             "desktop": {"viewport": {"width": 1280, "height": 900}}}
    for name, options in sizes.items():
        context = browser.new_context(base_url=live_server.url, locale="fr-FR", timezone_id="Europe/Paris", **options)
        context.set_default_timeout(30_000)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda msg, page=page: msg.type == "error" and page.console_errors.append(msg.text))
        page.goto("/connexion")
        page.get_by_label("Identifiant").fill("ada")
        page.get_by_label("Mot de passe").fill(password_of("ada"))
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(re.compile(r"/tableau-de-bord"))
        for view in ("", "&vue=mois"):
            page.goto(f"/agenda?date={TARGET.isoformat()}{view}")
            assert page.get_by_text("Point Alice", exact=False).count() == 0  # titles stay on the learner's page
            assert page.locator(".agenda-event.plan").count() == 2
            width = page.evaluate("document.documentElement.scrollWidth")
            viewport = page.evaluate("window.innerWidth")
            assert width <= viewport, f"{name} {view or 'semaine'}: {width} px wide for {viewport}"
            path = folder / f"agenda-{name}{'-mois' if view else ''}.png"
            page.screenshot(path=str(path), full_page=True)
            print(f"screenshot: {path}")
        close(page)
