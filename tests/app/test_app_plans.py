"""Planned meetings in the app: plan, move, cancel, write the meeting from the plan, the dashboard.

The app runs on the real clock: plans are placed relative to today (in the future: ``ahead(days)``); a plan
whose time has passed is written through the store with an earlier "now", as if planned then.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from factories import PARIS, when

PARIS_TZ = ZoneInfo("Europe/Paris")


def ahead(days: int, hour: int = 10) -> str:
    """A local date-time ``days`` from today, as a form's datetime-local input holds it."""
    day = dt.datetime.now(PARIS_TZ).date() + dt.timedelta(days=days)
    return f"{day.isoformat()}T{hour:02d}:00"


def commits(project) -> list[str]:
    out = subprocess.run(["git", "log", "--format=%an|%s"], cwd=project.portfolios, capture_output=True, text=True,
                         check=True).stdout
    return out.splitlines()


def plans_of(project, learner="alice"):
    return [e for e in project.store.load_learner(learner).entries if e.type == "planned-meeting"]


def plan_form(**over) -> dict:
    data = {"title": "Point d'étape", "date": ahead(10), "kind": "suivi", "modality": "presentiel",
            "place": "Salle 2", "duration": "45", "others": ["Marie Curie", ""],
            "others-email": ["marie.curie@exemple.fr", ""]}
    data.update(over)
    return data


def past_plan(project, learner="alice", title="Entretien prévu", author="tina", **over):
    """A plan for 10 November 2026, written on 1 November: its time has passed."""
    fields = {"type": "planned-meeting", "date": when("2026-11-10"), "title": title, "kind": "bilan-intermediaire",
              "modality": "presentiel", "place": "Salle 4", "duration": 50, "with_learner": False,
              "with_company": False, **over}
    return project.store.append_entry(learner, fields, "", author=author, role="tutor",
                                      now=dt.datetime(2026, 11, 1, 9, 0, tzinfo=PARIS))


class FormValues(HTMLParser):
    """What a browser would submit from the page's entry form, untouched (inputs, checked boxes, selected
    options, text areas)."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, list[str]] = {}
        self._select = self._textarea = None
        self._in_form = False

    def add(self, name, value):
        self.values.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("method") == "post":
            self._in_form = True
        if not self._in_form:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("file", "submit"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.add(a["name"], a.get("value", "y" if a.get("type") == "checkbox" else ""))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.add(self._select, a.get("value", ""))
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.add(self._textarea, "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea][-1] += data


def form_values(html: str) -> dict[str, list[str]]:
    parser = FormValues()
    parser.feed(html)
    return parser.values


# ---------------------------------------------------------------- plan


def test_planning_a_meeting_is_one_commit_by_the_tutor_and_shows_on_the_learners_page(app_project, client, auth):
    auth.login("tina")
    page = client.get("/apprenants/alice/").text
    assert "Planifier un rendez-vous" in page and "/apprenants/alice/nouvelle/planned-meeting" in page
    form = client.get("/apprenants/alice/nouvelle/planned-meeting").text
    assert 'name="with_company"' in form and 'name="with_learner"' in form and 'name="others-email"' in form
    before = len(commits(app_project))
    response = auth.post("/apprenants/alice/nouvelle/planned-meeting", plan_form())
    assert response.status_code == 302, response.text[:3000]
    [plan] = plans_of(app_project)
    assert (plan.meta.author, plan.meta.status, plan.meta.with_learner) == ("tina", "planned", False)
    assert [(o.name, o.email) for o in plan.meta.others] == [("Marie Curie", "marie.curie@exemple.fr")]
    assert len(commits(app_project)) == before + 1 and commits(app_project)[0].startswith("tina|")
    assert app_project.store.check() == []
    page = client.get("/apprenants/alice/").text
    assert "Point d&#39;étape" in page and "À venir (1)" in page and f"/rendez-vous/{plan.id}/deplacer" in page


def test_the_company_box_only_for_a_learner_with_a_company_tutor(client, auth):
    auth.login("ada")
    assert 'name="with_company"' not in client.get("/apprenants/bob/nouvelle/planned-meeting").text
    assert 'name="with_company"' in client.get("/apprenants/alice/nouvelle/planned-meeting").text


def test_a_plan_with_the_learner_needs_an_address_the_account_one_counts(app_project, app, client, auth):
    auth.login("tina")
    response = auth.post("/apprenants/alice/nouvelle/planned-meeting", plan_form(with_learner="y"))
    assert response.status_code == 422 and "Alice Test n&#39;a pas d&#39;adresse e-mail" in response.text
    assert plans_of(app_project) == []
    app.extensions["livret"].accounts.set_profile("alice", "Alice Test", "alice@exemple.fr")
    visit = plan_form(with_learner="y", with_company="y", kind="visite-entreprise")
    response = auth.post("/apprenants/alice/nouvelle/planned-meeting", visit)
    assert response.status_code == 422 and "entreprise carl" in response.text  # carl has no address either
    app.extensions["livret"].accounts.set_profile("carl", "Carl Entreprise", "carl@exemple.fr")
    assert auth.post("/apprenants/alice/nouvelle/planned-meeting", visit).status_code == 302
    assert [p.meta.kind for p in plans_of(app_project)] == ["visite-entreprise"]


def test_a_plan_in_the_past_is_refused_with_what_to_write_instead(app_project, client, auth):
    auth.login("tina")
    response = auth.post("/apprenants/alice/nouvelle/planned-meeting", plan_form(date="2026-11-02T10:00"))
    assert response.status_code == 422
    assert "un rendez-vous planifié est à venir ; pour ce qui a eu lieu, écrivez un entretien" in response.text
    assert plans_of(app_project) == []


# ---------------------------------------------------------------- move, cancel


def test_move_writes_a_new_record_of_the_chain_with_its_reason(app_project, client, auth):
    auth.login("tina")
    auth.post("/apprenants/alice/nouvelle/planned-meeting", plan_form())
    [first] = plans_of(app_project)
    url = f"/apprenants/alice/rendez-vous/{first.id}/deplacer"
    form = client.get(url).text
    assert f'value="{ahead(10)}"' in form and 'value="Salle 2"' in form
    refused = auth.post(url, {"date": "2026-11-02T10:00", "duration": "45", "place": "Salle 2", "reason": "Report"})
    assert refused.status_code == 422, refused.text
    assert "Date passée : un rendez-vous planifié est à venir" in refused.text and len(plans_of(app_project)) == 1
    no_reason = auth.post(url, {"date": ahead(12), "duration": "45", "place": "Salle 2", "reason": ""})
    assert no_reason.status_code == 422 and "donne son motif" in no_reason.text
    before = len(commits(app_project))
    response = auth.post(url, {"date": ahead(12, 14), "duration": "60", "place": "Salle 3",
                               "reason": "Salle indisponible"})
    assert response.status_code == 302
    assert len(commits(app_project)) == before + 1 and "déplacé" in commits(app_project)[0]
    first, moved = plans_of(app_project)
    assert (moved.meta.updates, moved.meta.reason, moved.meta.place, moved.meta.duration) == (
        first.id, "Salle indisponible", "Salle 3", 60)
    assert [(o.name, o.email) for o in moved.meta.others] == [("Marie Curie", "marie.curie@exemple.fr")]
    page = client.get("/apprenants/alice/").text
    assert "déplacé" in page and "Salle indisponible" in page and "Salle 3" in page and "À venir (1)" in page
    assert app_project.store.check() == []


def test_cancel_writes_a_cancellation_shown_struck_with_its_reason(app_project, client, auth):
    auth.login("tina")
    auth.post("/apprenants/alice/nouvelle/planned-meeting", plan_form())
    [first] = plans_of(app_project)
    url = f"/apprenants/alice/rendez-vous/{first.id}/annuler"
    assert "Annuler le rendez-vous" in client.get(url).text
    assert auth.post(url, {"reason": ""}).status_code == 422
    assert auth.post(url, {"reason": "Grève des transports"}).status_code == 302
    _, cancelled = plans_of(app_project)
    assert (cancelled.meta.status, cancelled.meta.updates) == ("cancelled", first.id)
    page = client.get("/apprenants/alice/").text
    section = page[page.index('id="rendez-vous"'):]
    assert "<del>" in section and "Grève des transports" in section and "À venir (0)" in section
    again = client.get(url, follow_redirects=True)
    assert "déjà annulé" in again.text and len(plans_of(app_project)) == 2  # nothing more written


def test_a_plan_whose_time_has_passed_may_still_be_moved(app_project, client, auth):
    first = past_plan(app_project)
    auth.login("tina")
    response = auth.post(f"/apprenants/alice/rendez-vous/{first.id}/deplacer",
                         {"date": ahead(3), "duration": "50", "place": "Salle 4", "reason": "Oubli"})
    assert response.status_code == 302 and len(plans_of(app_project)) == 2


# ---------------------------------------------------------------- held: the meeting written from the plan


def test_write_the_meeting_from_the_plan_prefilled_and_linked(app_project, client, auth):
    plan = past_plan(app_project, with_company=True)
    auth.login("tina")
    dashboard = client.get("/tableau-de-bord").text
    assert "Rendez-vous à compléter (1)" in dashboard
    link = f"/apprenants/alice/nouvelle/meeting?rendez-vous={plan.id}"
    assert link in dashboard.replace("&amp;", "&")
    page = client.get("/apprenants/alice/").text
    assert "À compléter (1)" in page and link in page.replace("&amp;", "&")
    form = client.get(link).text
    values = form_values(form)
    assert values["date"] == ["2026-11-10T10:00"] and values["kind"] == ["bilan-intermediaire"]
    assert values["modality"] == ["presentiel"] and values["duration"] == ["50"] and values["about"] == [plan.id]
    assert values["participants"][0].strip().splitlines() == ["carl", "tina"]  # the company tutor, the planner
    values["decisions"] = ["Poursuivre le module B"]
    response = auth.post(link, values)  # the page as it came, one decision added
    assert response.status_code == 302, response.text[:3000]
    [meeting] = [e for e in app_project.store.load_learner("alice").entries if e.type == "meeting"]
    assert (meeting.meta.about, meeting.meta.kind, meeting.meta.duration) == (plan.id, "bilan-intermediaire", 50)
    assert meeting.meta.date == dt.datetime(2026, 11, 10, 10, 0, tzinfo=PARIS_TZ)
    page = client.get("/apprenants/alice/").text
    assert "Tenus récemment" in page and f"#entree-{meeting.id}" in page and "À compléter (" not in page
    assert "Rendez-vous à compléter" not in client.get("/tableau-de-bord").text
    assert app_project.store.check() == []


def test_the_dashboard_lists_the_next_seven_days(app_project, client, auth):
    auth.login("tina")
    auth.post("/apprenants/alice/nouvelle/planned-meeting", plan_form(date=ahead(3), title="Bientôt"))
    auth.post("/apprenants/alice/nouvelle/planned-meeting", plan_form(date=ahead(20), title="Plus tard"))
    dashboard = client.get("/tableau-de-bord").text
    assert "Prochains rendez-vous (7 jours) (1)" in dashboard
    assert "Rendez-vous à compléter" not in dashboard
    assert "Bob" not in dashboard[dashboard.index('id="rendez-vous"'):dashboard.index("</section>",
                                                                                      dashboard.index('id="rendez-vous"'))]


# ---------------------------------------------------------------- who may


def test_only_the_learners_tutors_and_admins_plan_move_or_cancel(app_project, client, auth):
    plan = past_plan(app_project)
    for user in ("tom", "alice", "carl", "audra"):
        auth.login(user)
        before = commits(app_project)
        assert client.get("/apprenants/alice/nouvelle/planned-meeting").status_code == 403, user
        assert auth.post("/apprenants/alice/nouvelle/planned-meeting", plan_form()).status_code == 403, user
        for action in ("deplacer", "annuler"):
            url = f"/apprenants/alice/rendez-vous/{plan.id}/{action}"
            assert client.get(url).status_code == 403, (user, action)
            assert auth.post(url, {"date": ahead(5), "duration": "30", "reason": "x"}).status_code == 403
        assert commits(app_project) == before
    auth.login("ada")
    assert client.get(f"/apprenants/alice/rendez-vous/{plan.id}/deplacer").status_code == 200
    assert client.get("/apprenants/alice/rendez-vous/01JM2Q8V6Z9X3K4T5R6S7W8Y9A/annuler").status_code == 404


def test_the_learner_sees_upcoming_shared_plans_without_the_staff_ones(app_project, client, auth):
    auth.login("tina")
    auth.post("/apprenants/alice/nouvelle/planned-meeting", plan_form(title="Rendez-vous partagé"))
    auth.post("/apprenants/alice/nouvelle/planned-meeting", plan_form(title="Préparation interne",
                                                                       visibility="staff"))
    past_plan(app_project, title="Plan passé")
    for user in ("alice", "carl"):
        auth.login(user)
        page = client.get("/apprenants/alice/").text
        assert "Rendez-vous partagé" in page and "Préparation interne" not in page
        assert "Déplacer" not in page and "Planifier un rendez-vous" not in page
        assert "À compléter" not in page  # the staff's follow-up


@pytest.mark.parametrize("user", ["alice", "carl", "audra", "tom"])
def test_the_meeting_prefill_needs_the_right_to_write_a_meeting(user, app_project, client, auth):
    plan = past_plan(app_project)
    auth.login(user)
    assert client.get(f"/apprenants/alice/nouvelle/meeting?rendez-vous={plan.id}").status_code == 403
    assert re.search("Entretien prévu", client.get("/tableau-de-bord").text or "") is None
