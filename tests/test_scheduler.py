"""The scheduler (livret/planning/scheduler.py) with fixed clocks, through the outbox to a real SMTP server.

Reminders the day before at the organisation's hour, once; a moved plan gets a new one; the weekly
digest once per week; an escalation once per overdue follow-up; each person's preferences; the
one-click unsubscribe link (GET shows a button, POST unsubscribes); ``livret notify`` queues and drains.
"""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from factories import add, when
from feeds_support import at, events_of, move, parse_both, plan, set_organisation, set_profile
from mail_support import bodies, smtp_server

from livret.cli import main
from livret.instance.accounts import Accounts
from livret.mail.outbox import Outbox
from livret.mail.preferences import MailPreferences, address_subject, user_subject
from livret.mail.sender import MailSender
from livret.mail.settings import SmtpSettings
from livret.planning.scheduler import run_scheduler
from livret.signoff.reminders import run_round

URL = "https://livret.of-test.fr"
PEOPLE = [("tina", "tutor", "Tina Durand", "tina@of-test.fr"), ("tom", "tutor", "Tom Petit", "tom@of-test.fr"),
          ("alice", "learner", "Alice Test", "alice@exemple.fr"), ("bob", "learner", "Bob Test", ""),
          ("carl", "company", "Carl Martin", "carl@entreprise.fr"), ("ada", "admin", "Ada Admin", "ada@of-test.fr")]


@pytest.fixture
def sched(project):
    set_organisation(project, public_url=URL, mail={"sender": "formation@of-test.fr"},
                     notify={"reminder_hour": 17, "digest_weekday": 0, "digest_hour": 7})
    accounts = Accounts.for_project(project)
    for username, role, name, email in PEOPLE:
        accounts.add(username, role, display_name=name, email=email)
    return project


def reminders(report) -> list:
    return [n for n in report.queued if n.kind == "reminder"]


def outbox(project):
    return sorted(Outbox.for_project(project).list(), key=lambda m: m.id)


def deliver(project, count: int):
    with smtp_server() as (recorder, port):
        report = MailSender(project, smtp=SmtpSettings(host="127.0.0.1", port=port, timeout=20)).run_once()
        assert report.stopped is None, report.stopped
        return recorder.wait_for(count) if count else recorder.messages


def ics_of(message) -> bytes:
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1 and parts[0].get_filename() == "rendez-vous.ics"
    return parts[0].get_payload(decode=True)


def test_a_reminder_goes_the_day_before_at_the_hour_once_to_every_participant(sched):
    first = plan(sched, "alice", at("2026-03-10", 14), now=at("2026-03-01"), kind="visite-entreprise",
                 with_company=True, others=[{"name": "Jeanne Autre", "email": "jeanne@exemple.fr"}])
    assert reminders(run_scheduler(sched, now=at("2026-03-09", 16, 59))) == []
    report = run_scheduler(sched, now=at("2026-03-09", 17))
    assert sorted(n.to for n in reminders(report)) == ["alice@exemple.fr", "carl@entreprise.fr", "jeanne@exemple.fr",
                                                  "tina@of-test.fr"]
    assert reminders(run_scheduler(sched, now=at("2026-03-09", 18))) == []  # idempotent
    assert reminders(run_scheduler(sched, now=at("2026-03-10", 13))) == []
    assert len([m for m in outbox(sched) if m.kind == "meeting-reminder"]) == 4
    received = [m for m in deliver(sched, 5) if "rendez-vous demain" in m["Subject"]]
    assert len(received) == 4
    for message in received:
        text, html = bodies(message)
        assert message["Subject"] == "Rappel : un rendez-vous demain" and "Alice" not in message["Subject"]
        assert "Visite en entreprise" in text and "Alice Test" in text and "10 mars 2026 à 14 h 00" in text
        assert "Salle 3, 12 rue des Lilas" in html and "Notes de préparation" not in text + html
        unsubscribe = message["List-Unsubscribe"]
        assert unsubscribe.startswith(f"<{URL}/desabonnement/") and unsubscribe[1:-1] in text
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        cal, other = parse_both(ics_of(message))
        [event] = events_of(cal)
        assert str(event["UID"]) == f"{first.id}@livret" and int(event["SEQUENCE"]) == 0
        assert event.decoded("DTSTART") == at("2026-03-10", 14) and other.events[0].dtstart == at("2026-03-10", 14)
        assert "URL" not in event  # the app's page is for staff feeds only
    # the outbox forgot the attachment and the link once sent (like the bodies)
    assert all(m.state == "sent" and m.attachments == () and m.unsubscribe_url == "" for m in outbox(sched))


def test_a_moved_plan_gets_a_new_reminder_for_its_new_time(sched):
    first = plan(sched, "alice", at("2026-03-10", 14), now=at("2026-03-01"))
    assert len(reminders(run_scheduler(sched, now=at("2026-03-09", 17, 30)))) == 2  # alice and tina
    move(sched, "alice", first.id, at("2026-03-12", 9), now=at("2026-03-09", 19))
    assert reminders(run_scheduler(sched, now=at("2026-03-10", 17))) == []  # the old time: nothing
    again = run_scheduler(sched, now=at("2026-03-11", 17, 5))
    assert sorted(n.to for n in reminders(again)) == ["alice@exemple.fr", "tina@of-test.fr"]
    assert reminders(run_scheduler(sched, now=at("2026-03-11", 20))) == []
    received = [m for m in deliver(sched, 4) if "rendez-vous demain" in m["Subject"]]
    moved = [m for m in received if "12 mars 2026 à 9 h 00" in bodies(m)[0]]
    assert len(moved) == 2
    event = events_of(parse_both(ics_of(moved[0]))[0])[0]
    assert str(event["UID"]) == f"{first.id}@livret" and int(event["SEQUENCE"]) == 1


def test_a_cancelled_or_staff_plan_sends_no_reminder(sched):
    first = plan(sched, "alice", at("2026-03-10", 14), now=at("2026-03-01"))
    plan(sched, "alice", at("2026-03-10", 14), now=at("2026-03-01"), updates=first.id, status="cancelled",
         reason="Annulé")
    plan(sched, "alice", at("2026-03-10", 16), now=at("2026-03-01"), visibility="staff")
    assert reminders(run_scheduler(sched, now=at("2026-03-09", 17))) == []


def test_the_weekly_digest_goes_once_a_week_with_counts_of_alerts_never_their_text(sched):
    add(sched, "alice", {"type": "alert", "date": when("2026-02-20"), "title": "Situation personnelle grave",
                         "category": "personnelle", "severity": "haute"}, "Détail confidentiel.")
    plan(sched, "alice", at("2026-03-04", 14), now=at("2026-03-01"))
    plan(sched, "alice", at("2026-03-06", 10), now=at("2026-03-01"), visibility="staff", place="Bureau secret")
    monday = at("2026-03-02", 7)
    assert [n for n in run_scheduler(sched, now=monday - dt.timedelta(minutes=1)).queued if n.kind == "digest"] == []
    report = run_scheduler(sched, now=monday)
    digests = [n for n in report.queued if n.kind == "digest"]
    assert [n.to for n in digests] == ["tina@of-test.fr"]  # tom has nothing this week: no mail
    assert [n for n in run_scheduler(sched, now=at("2026-03-05", 9)).queued if n.kind == "digest"] == []
    [message] = [m for m in deliver(sched, 1) if m["To"].endswith("tina@of-test.fr>")]
    text, html = bodies(message)
    assert "Alice Test : 1 alerte ouverte" in text and "4 mars 2026 à 14 h 00" in text
    for secret in ("Situation personnelle", "confidentiel", "Bureau secret", "6 mars 2026"):
        assert secret not in text + html
    assert "Alice" not in message["Subject"] and message["List-Unsubscribe-Post"]
    following = run_scheduler(sched, now=at("2026-03-09", 8))
    assert [n.to for n in following.queued if n.kind == "digest"] == ["tina@of-test.fr"]


def test_an_overdue_follow_up_is_escalated_to_the_admins_once(sched):
    set_organisation(sched, followup={"rules": [{"id": "accueil", "what": "welcome", "within_days": 7}],
                                      "escalate_after_days": 5})
    # start 2026-01-05: the welcome meeting is due on 2026-01-12, escalated from 2026-01-17
    assert [n for n in run_scheduler(sched, now=at("2026-01-16", 12)).queued if n.kind == "escalation"] == []
    report = run_scheduler(sched, now=at("2026-01-17", 12))
    [notice] = [n for n in report.queued if n.kind == "escalation"]
    assert notice.to == "ada@of-test.fr" and len(notice.keys) == 2  # alice and bob
    assert [n for n in run_scheduler(sched, now=at("2026-01-20", 12)).queued if n.kind == "escalation"] == []
    [message] = [m for m in deliver(sched, 2) if "ada@of-test.fr" in m["To"]]
    text, _ = bodies(message)
    assert "Alice Test : Entretien d'accueil" in text and "12 janvier 2026" in text and "Tina Durand" in text
    assert message["Subject"] == "Des suivis en retard"


def test_preferences_are_obeyed_and_the_one_click_link_unsubscribes(sched):
    from forms_app import create_app

    prefs = MailPreferences.for_project(sched)
    prefs.set(user_subject("carl"), "reminder", False)
    prefs.set(address_subject("Jeanne@Exemple.fr"), "reminder", False)
    plan(sched, "alice", at("2026-03-10", 14), now=at("2026-03-01"), with_company=True,
         kind="visite-entreprise", others=[{"name": "Jeanne Autre", "email": "jeanne@exemple.fr"}])
    report = run_scheduler(sched, now=at("2026-03-09", 17))
    assert sorted(n.to for n in reminders(report)) == ["alice@exemple.fr", "tina@of-test.fr"]
    assert ("carl", "désabonné·e (reminder)") in report.skipped
    to_alice = next(m for m in deliver(sched, 2) if "alice@exemple.fr" in m["To"] and m["List-Unsubscribe"])
    link = to_alice["List-Unsubscribe"][1:-1]
    client = create_app(sched.root, testing=True).test_client()
    path = link.removeprefix(URL)
    page = client.get(path)
    assert page.status_code == 200 and "Me désabonner" in page.text
    assert prefs.wants(user_subject("alice"), "reminder")  # a GET (a mail scanner) changes nothing
    # a mail client's one-click POST (RFC 8058): no session, no CSRF token
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "C'est fait" in done.text
    assert not prefs.wants(user_subject("alice"), "reminder")
    assert prefs.wants(user_subject("alice"), "signoff-reminder")  # only that kind
    assert client.get(path[:-3] + "xyz").status_code == 404  # a forged token
    plan(sched, "alice", at("2026-03-20", 14), now=at("2026-03-11"))
    assert [n.to for n in reminders(run_scheduler(sched, now=at("2026-03-19", 17)))] == ["tina@of-test.fr"]


def test_one_scheduler_runs_the_sign_off_reminders_too(sched):
    report = run_scheduler(sched, now=at("2026-03-09", 17), extra_rounds=[("signoff", run_round)])
    assert report.rounds["signoff"].sent == [] and report.errors == {}
    report = run_scheduler(sched, now=at("2026-03-09", 17), dry_run=True, extra_rounds=[("signoff", run_round)])
    assert "signoff" in report.rounds


def test_dry_run_writes_nothing_and_a_missing_public_address_is_named(sched):
    plan(sched, "alice", at("2026-03-10", 14), now=at("2026-03-01"))
    assert len(reminders(run_scheduler(sched, now=at("2026-03-09", 17), dry_run=True))) == 2
    assert outbox(sched) == []
    set_organisation(sched, public_url=None)
    with pytest.raises(ValueError, match="public_url"):
        run_scheduler(sched, now=at("2026-03-09", 17))
    assert outbox(sched) == []
    assert len(reminders(run_scheduler(sched, now=at("2026-03-09", 17), base_url=URL))) == 2


def test_livret_notify_queues_what_is_due_and_drains_the_outbox(sched):
    """The cron command on the real clock: a plan tomorrow evening, reminders from midnight the day before."""
    set_organisation(sched, notify={"reminder_hour": 0, "digest_weekday": 6, "digest_hour": 23})
    set_profile(sched, "alice", end="2030-12-20")
    now = dt.datetime.now(dt.timezone.utc).astimezone(at("2026-01-01").tzinfo)
    tomorrow = (now + dt.timedelta(days=1)).date().isoformat()
    plan(sched, "alice", at(tomorrow, 23), now=now)
    runner = CliRunner()
    dry = runner.invoke(main, ["notify", "--root", str(sched.root), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Alice Test <alice@exemple.fr> : rappel de rendez-vous à envoyer" in dry.output
    assert outbox(sched) == []
    done = runner.invoke(main, ["notify", "--root", str(sched.root)])
    assert done.exit_code == 0, done.output
    assert done.output.count("rappel de rendez-vous mis en file") == 2 and "0 en échec" in done.output
    files = [f for f in sorted((sched.instance / "outbox").glob("*.eml")) if b"text/calendar" in f.read_bytes()]
    assert len(files) == 2  # embedded mode: .eml files, the .ics joined
    queued = len(outbox(sched))
    again = runner.invoke(main, ["notify", "--root", str(sched.root)])
    assert "0 courriel programmé" in again.output and len(outbox(sched)) == queued
