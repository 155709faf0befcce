"""Sign-off reminders: once, after N days, one mail per person, through the outbox to a real SMTP server."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from factories import PARIS, add, password_of, when
from mail_support import bodies, link_in, smtp_server
from signoff_support import NOW, add_visit, signoff_project

from livret.cli import main
from livret.instance.accounts import Accounts
from livret.instance.onetime import OneTimeLinks
from livret.mail.outbox import Outbox
from livret.mail.sender import MailSender
from livret.mail.settings import SmtpSettings
from livret.signoff.reminders import run_round
from livret.signoff.service import sign

URL = "https://livret.of-test.fr"


@pytest.fixture
def project(tmp_path):
    project = signoff_project(tmp_path / "proj", remind_after_days=7, public_url=URL,
                              sender="formation@of-test.fr")
    accounts = Accounts.for_project(project)
    for username, role, name, email in [("alice", "learner", "Alice Test", "alice@exemple.fr"),
                                        ("carl", "company", "Carl Martin", "carl@entreprise.fr"),
                                        ("tina", "tutor", "Tina Durand", "tina@of-test.fr")]:
        accounts.add(username, role, password_of(username))
        accounts.set_profile(username, name, email)
    return project


def day(n: int) -> dt.datetime:
    """``n`` days after the fixtures' entries were recorded."""
    return NOW + dt.timedelta(days=n)


def queued(project):
    return Outbox.for_project(project).list()


def test_nothing_before_n_days_one_mail_after_none_the_day_after(project):
    report = add_visit(project)
    assert run_round(project, now=day(6)).sent == [] and queued(project) == []
    result = run_round(project, now=day(7))
    assert sorted(r.username for r in result.sent) == ["alice", "carl"]
    mails = queued(project)
    assert sorted(m.recipient for m in mails) == ["alice@exemple.fr", "carl@entreprise.fr"]
    assert all(m.kind == "signoff-reminder" and "Alice" not in m.subject for m in mails)
    assert run_round(project, now=day(8)).sent == [] and len(queued(project)) == 2
    assert report.id  # (what the mails are about: the visit report)


def test_a_signed_entry_and_a_staff_entry_produce_no_reminder(project):
    report = add_visit(project)
    add(project, "alice", {"type": "assessment", "date": when("2026-11-04"), "title": "Évaluation confidentielle",
                           "visibility": "staff", "competencies": [{"code": "A1", "level": "3"}]})
    sign(project.store, "alice", report.id, username="carl", name="Carl Martin", role="company",
         method="password", now=day(1))
    sign(project.store, "alice", report.id, username="alice", name="Alice Test", role="learner",
         method="password", now=day(1))
    assert run_round(project, now=day(30)).sent == []
    assert queued(project) == []


def test_one_mail_per_person_with_a_company_link_delivered_by_smtp(project):
    add_visit(project)
    add(project, "alice", {"type": "evidence", "date": when("2026-11-03"), "title": "Ma preuve de stage"},
        author="alice", role="learner")
    result = run_round(project, now=day(10))
    carl = next(r for r in result.sent if r.username == "carl")
    assert len(carl.items) == 2 and carl.mail_id is not None
    assert len(OneTimeLinks.for_project(project).pending("carl", "company")) == 1
    with smtp_server() as (recorder, port):
        MailSender(project, smtp=SmtpSettings(host="127.0.0.1", port=port, timeout=20)).run_once()
        received = recorder.wait_for(2)
    to_carl = next(m for m in received if "carl@entreprise.fr" in m["To"])
    text, html = bodies(to_carl)
    assert "Visite en entreprise" in text and "Ma preuve de stage" in text and "Alice Test" in text
    assert link_in(to_carl).startswith(f"{URL}/lien/")
    assert "Alice" not in to_carl["Subject"]
    to_alice = next(m for m in received if "alice@exemple.fr" in m["To"])
    assert f"{URL}/connexion" in bodies(to_alice)[0] and "/lien/" not in bodies(to_alice)[0]


def test_signers_without_address_are_skipped_and_the_command_says_so(project):
    Accounts.for_project(project).set_profile("alice", "Alice Test", "")
    project.store.append_entry("alice", {"type": "meeting", "date": when("2026-11-02"), "title": "Visite en entreprise",
                                         "kind": "visite-entreprise", "modality": "presentiel", "duration": 45},
                               author="tina", role="tutor", now=dt.datetime(2026, 11, 5, 10, tzinfo=PARIS))
    runner = CliRunner()
    dry = runner.invoke(main, ["notify", "--root", str(project.root), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Carl Martin <carl@entreprise.fr> à relancer : Visite en entreprise (Alice Test" in dry.output
    assert "alice : pas de relance (pas d'adresse e-mail)" in dry.output
    assert queued(project) == []
    done = runner.invoke(main, ["notify", "--root", str(project.root)])
    assert done.exit_code == 0 and "1 courriel de relance mis en file d'envoi." in done.output
    again = runner.invoke(main, ["notify", "--root", str(project.root)])
    assert "0 courriel de relance" in again.output and len(queued(project)) == 1
