"""The reminder to a learner who has not signed a session by the end of its window (livret/attendance/reminders.py).

Through the real scheduler (livret/planning/scheduler.py) with fixed clocks, the outbox and a real SMTP
server: nothing before the window closes; then one mail to the learner with an address, a notice shown
once at the next sign-in for the one without; nobody who signed or was marked; never twice.
"""

from __future__ import annotations

import datetime as dt

import pytest
from factories import PARIS
from feeds_support import set_organisation
from mail_support import bodies, smtp_server

from livret.attendance.reminders import missing, take_notices
from livret.instance import db as instance_db
from livret.instance.accounts import Accounts
from livret.mail.outbox import Outbox
from livret.mail.preferences import MailPreferences, user_subject
from livret.mail.sender import MailSender
from livret.mail.settings import SmtpSettings
from livret.planning.scheduler import run_scheduler
from livret.store.schema import Group
from livret.store.signatures import file_sha256
from livret.store.writer import GroupChange

URL = "https://livret.of-test.fr"
DAY = dt.date(2026, 3, 10)  # a Tuesday


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def make_setup(project, learners):
    """``learners`` in one group ``promo``; a morning session 9:00-12:30 trained by tina (window 8:45-9:30)."""
    store = project.store
    group = Group(id="promo", name="Promo", members=list(learners))
    store.write_changes((), [GroupChange(group, "*")], author="tina", message="groupe")
    fields = {"date": DAY.isoformat(), "half_day": "matin", "start": "09:00", "end": "12:30", "group": "promo",
              "title": "Accueil et méthodes", "trainer": "tina", "trainer_name": "Tina Durand"}
    [stored] = store.write_sessions([fields], author="tina", message="séance", now=at(8) - dt.timedelta(days=7))
    return stored


@pytest.fixture
def setup(tmp_path):
    """Learners alice (address), bob (no address: a notice), carol (signs), dan (marked absent) in one
    group, at one session."""
    from factories import make_project

    project = make_project(tmp_path / "proj", learners=("alice", "bob", "carol", "dan"))
    set_organisation(project, public_url=URL, mail={"sender": "formation@of-test.fr"})
    accounts = Accounts.for_project(project)
    accounts.add("tina", "tutor", display_name="Tina Durand", email="tina@of-test.fr")
    for lid in ("alice", "bob", "carol", "dan"):
        accounts.add(lid, "learner", display_name=f"{lid.capitalize()} Test",
                     email="" if lid == "bob" else f"{lid}@exemple.fr")
    store = project.store
    stored = make_setup(project, ("alice", "bob", "carol", "dan"))
    sign(project, "carol", stored, at(9, 5))
    store.append_entry("dan", {"type": "attendance-mark", "date": at(9, 40).isoformat(), "title": "Absent",
                               "session": stored.id, "status": "absent"}, "", author="tina", role="tutor",
                       now=at(9, 40), internal=True)
    return project, stored


def sign(project, learner, stored, now):
    """A learner's typed-name signature of ``stored``, as the attendance service writes it."""
    return project.store.append_entry(learner, {
        "type": "signature", "date": now.isoformat(), "title": "Émargement", "signer_name": f"{learner} Test",
        "method": "password", "session": stored.id, "signed_as": "typed-name", "trainer": "tina",
        "signed": [{"path": stored.path, "sha256": file_sha256(project.portfolios, stored.path)}]},
        "", author=learner, role="learner", now=now, internal=True)


def attendance(report):
    assert report.errors == {}
    return report.rounds["attendance"].sent


def test_one_reminder_after_the_window_to_whoever_neither_signed_nor_was_marked(setup):
    project, stored = setup
    assert project.store.check() == []
    assert attendance(run_scheduler(project, now=at(9, 29))) == []  # the window is still open
    assert missing(project.store, at(9, 29)) == []
    report = run_scheduler(project, now=at(9, 31))
    sent = {r.learner_id: r for r in attendance(report)}
    assert set(sent) == {"alice", "bob"}  # carol signed, dan was marked
    assert sent["alice"].how == "mail" and sent["alice"].to == "alice@exemple.fr"
    assert sent["bob"].how == "notice" and sent["bob"].to == "bob"
    assert attendance(run_scheduler(project, now=at(10))) == []  # once
    assert attendance(run_scheduler(project, now=at(12, 45))) == []
    mails = [m for m in Outbox.for_project(project).list() if m.kind == "attendance-reminder"]
    assert [m.recipient for m in mails] == ["alice@exemple.fr"]
    with smtp_server() as (recorder, port):
        MailSender(project, smtp=SmtpSettings(host="127.0.0.1", port=port, timeout=20)).run_once()
        [message] = [m for m in recorder.wait_for(1) if m["To"].addresses[0].addr_spec == "alice@exemple.fr"]
    assert message["Subject"] == "Émargement manquant : Accueil et méthodes du 10 mars 2026"
    text, html = bodies(message)
    assert "Tina Durand" in text and "de 09:00 à 12:30" in text and f"{URL}/mes-seances" in text
    assert "Tina Durand" in html and message["List-Unsubscribe"]
    assert "Absent" not in text + html and "Carol" not in text + html  # nobody else's state
    # the notice waits for bob's next sign-in, then is gone
    db = instance_db.InstanceDB.for_project(project)
    [notice] = take_notices(db, "bob")
    assert "Accueil et méthodes" in notice and "10 mars 2026" in notice and "Tina Durand" in notice
    assert take_notices(db, "bob") == [] and take_notices(db, "alice") == []
    assert project.store.check() == []


def test_nothing_when_remind_is_off_or_long_after(setup):
    project, _ = setup
    assert attendance(run_scheduler(project, now=at(9, 31, DAY + dt.timedelta(days=2)))) == []  # too late
    set_organisation(project, public_url=URL, mail={"sender": "formation@of-test.fr"}, attendance={"remind": False})
    assert attendance(run_scheduler(project, now=at(9, 31))) == []
    assert not [m for m in Outbox.for_project(project).list() if m.kind == "attendance-reminder"]


def test_an_unsubscribed_learner_gets_the_notice_and_a_dry_run_writes_nothing(setup):
    project, _ = setup
    db = instance_db.InstanceDB.for_project(project)
    MailPreferences(db).set(user_subject("alice"), "attendance-reminder", False)
    dry = attendance(run_scheduler(project, now=at(9, 31), dry_run=True))
    assert {(r.learner_id, r.how) for r in dry} == {("alice", "notice"), ("bob", "notice")}
    assert take_notices(db, "alice") == []  # nothing written
    assert {(r.learner_id, r.how) for r in attendance(run_scheduler(project, now=at(9, 32)))} == {
        ("alice", "notice"), ("bob", "notice")}
    [notice] = take_notices(db, "alice")
    assert "Accueil et méthodes" in notice
