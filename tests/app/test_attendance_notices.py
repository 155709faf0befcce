"""The attendance reminder's notice (livret/attendance/reminders.py) is shown once, after the next sign-in."""

from __future__ import annotations

from feeds_support import set_organisation
from test_attendance_reminders import URL, at, make_setup

from livret.instance.accounts import Accounts
from livret.planning.scheduler import run_scheduler


def test_the_notice_is_flashed_once_after_sign_in(app_project, auth):
    Accounts.for_project(app_project).set_profile("bob", "Bob Test", "")  # no address: a notice, not a mail
    set_organisation(app_project, public_url=URL)
    make_setup(app_project, ("alice", "bob"))
    report = run_scheduler(app_project, now=at(9, 31))
    assert {(r.learner_id, r.how) for r in report.rounds["attendance"].sent} == {("alice", "notice"),
                                                                                 ("bob", "notice")}
    page = auth.login("bob")
    assert page.status_code == 302
    home = auth.client.get(page.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "Vous n&#39;avez pas émargé la séance « Accueil et méthodes » du 10 mars 2026" in home
    auth.logout()
    auth.login("bob")
    assert "pas émargé" not in auth.client.get("/tableau-de-bord", follow_redirects=True).get_data(as_text=True)
    assert app_project.store.check() == []
