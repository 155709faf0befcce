"""Mail: settings, messages, the outbox and the sender, against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from click.testing import CliRunner
from mail_support import (
    SENDER,
    Recorder,
    bodies,
    free_port,
    link_in,
    mail_project,
    parse,
    self_signed,
    smtp_env,
    smtp_server,
)

from livret.cli import main as cli
from livret.mail import messages
from livret.mail.outbox import Outbox, mask_tokens
from livret.mail.sender import MailSender
from livret.mail.settings import MailConfigError, SmtpSettings, from_env, parse_url

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc)
EXPIRES = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.timezone.utc)
TOKEN = "A" * 39 + "wxyz"
URL = f"https://livret.of-test.fr/lien/{TOKEN}"


@pytest.fixture
def project(tmp_path):
    return mail_project(tmp_path / "proj")


def smtp(port: int) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, timeout=20)


def invitation(project, to="marie@exemple.fr", name="Marie Durand"):
    return messages.invitation(project.store.settings(), person_name=name, to=to, url=URL, expires=EXPIRES)


# --------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------


@pytest.mark.parametrize("url, expected", [
    ("smtp://mail.exemple.fr", ("mail.exemple.fr", 25, "none", "")),
    ("smtp+starttls://jean@mail.exemple.fr", ("mail.exemple.fr", 587, "starttls", "jean")),
    ("smtps://jean%40of.fr@mail.exemple.fr:2465", ("mail.exemple.fr", 2465, "tls", "jean@of.fr")),
    ("SMTP://127.0.0.1:2525/", ("127.0.0.1", 2525, "none", "")),
])
def test_smtp_urls(url, expected):
    s = parse_url(url, password="secret-pw" if "@" in url else "")
    assert (s.host, s.port, s.security, s.user) == expected
    assert "secret-pw" not in s.describe() and "secret-pw" not in repr(s)


@pytest.mark.parametrize("url, words", [
    ("http://mail.exemple.fr", "schéma 'http' inconnu"),
    ("mail.exemple.fr:25", "schéma"),
    ("smtp://", "serveur absent"),
    ("smtp://mail.exemple.fr:port", "port incorrect"),
    ("smtp://mail.exemple.fr:99999", "port incorrect"),
    ("smtp://jean:motdepasse@mail.exemple.fr", "LIVRET_SMTP_PASSWORD"),
    ("smtp://mail.exemple.fr/chemin", "rien après le port"),
])
def test_a_bad_url_is_a_french_error_naming_the_variable(url, words):
    with pytest.raises(MailConfigError) as caught:
        parse_url(url)
    assert "LIVRET_SMTP_URL" in str(caught.value) and words in str(caught.value)
    assert "motdepasse" not in str(caught.value)


def test_environment():
    assert from_env({}) is None  # embedded mode
    s = from_env({"LIVRET_SMTP_URL": "smtp+starttls://u@h", "LIVRET_SMTP_PASSWORD": "pw"})
    assert (s.user, s.password, s.port) == ("u", "pw", 587)
    with pytest.raises(MailConfigError, match="LIVRET_SMTP_CA_FILE"):
        from_env({"LIVRET_SMTP_URL": "smtps://h", "LIVRET_SMTP_CA_FILE": "/nonexistent/ca.pem"})
    with pytest.raises(MailConfigError, match="LIVRET_SMTP_PASSWORD"):
        from_env({"LIVRET_SMTP_URL": "smtp://h", "LIVRET_SMTP_PASSWORD": "pw"})  # no user to log in as


# --------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------


def test_messages_are_french_with_both_parts_and_nothing_personal_in_the_subject(project):
    org = project.store.settings()
    built = [
        invitation(project),
        messages.password_reset(org, person_name="Marie Durand", to="m@exemple.fr", url=URL, expires=EXPIRES),
        messages.company_link(org, person_name="Jean Dupont", to="j@exemple.fr", learner_names=["Alice Martin"],
                              url=URL, expires=EXPIRES, sent_by="Tina Tutrice"),
        messages.signoff_reminder(org, person_name="Jean Dupont", to="j@exemple.fr",
                                  items=[("Alice Martin", "Visite <en> entreprise", dt.date(2026, 11, 2))],
                                  url="https://livret.of-test.fr/tableau-de-bord"),
    ]
    for m in built:
        for personal in ("Marie", "Durand", "Alice", "Martin", "Jean", "Dupont", "Tina"):
            assert personal not in m.subject, (m.kind, m.subject)
        assert "OF de test" in m.text and "OF de test" in m.html
        assert "<img" not in m.html and "src=" not in m.html
        urls = set(re.findall(r"https?://[^\s<>\"']+", m.text + m.html))
        assert urls <= {URL, "https://livret.of-test.fr/tableau-de-bord"}, urls
    assert built[0].subject == "Votre invitation à livret — OF de test"
    assert "27 novembre 2026 à 10 h 00" in built[0].text  # Paris time
    week = messages.invitation(org, person_name="", to="m@exemple.fr", url=URL,
                               expires=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7))
    hour = messages.password_reset(org, person_name="", to="m@exemple.fr", url=URL,
                                   expires=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
    assert "valable 7 jours" in week.text and "valable 1 heure" in hour.text and "Bonjour," in hour.text
    assert "Alice Martin" in built[2].text and "Tina Tutrice" in built[2].html
    assert "Visite &lt;en&gt; entreprise" in built[3].html and "2 novembre 2026" in built[3].text  # escaped
    assert messages.link_url("https://x.fr/", "tok") == "https://x.fr/lien/tok"


def test_admin_pages_never_show_a_usable_token():
    assert mask_tokens(f"ouvrez {URL} vite") == "ouvrez https://livret.of-test.fr/lien/…wxyz vite"
    assert TOKEN not in mask_tokens(URL)


# --------------------------------------------------------------------------
# The outbox and the sender
# --------------------------------------------------------------------------


def test_a_mail_enqueued_in_a_rolled_back_transaction_does_not_exist(project):
    outbox = Outbox.for_project(project)
    with pytest.raises(RuntimeError):
        with outbox.db.transaction() as conn:
            outbox.enqueue(invitation(project), conn=conn)
            raise RuntimeError("the caller's change failed")
    assert outbox.list() == []
    with outbox.db.transaction() as conn:
        mail_id = outbox.enqueue(invitation(project), conn=conn)
    assert [m.id for m in outbox.list()] == [mail_id]


def test_delivered_with_both_parts_then_the_body_is_erased(project):
    outbox = Outbox.for_project(project)
    mail_id = outbox.enqueue(invitation(project))
    with smtp_server() as (server, port):
        report = MailSender(project, smtp=smtp(port)).run_once()
        assert report.sent == [mail_id]
        received = server.wait_for(1)[0]
    assert received["Subject"] == "Votre invitation à livret — OF de test"
    assert received["From"] == f"OF de test <{SENDER}>" and received["Reply-To"] == "contact@of-test.fr"
    assert received["To"] == "Marie Durand <marie@exemple.fr>" and received["Message-ID"] and received["Date"]
    assert received.get_content_type() == "multipart/alternative"
    assert link_in(received) == URL
    assert server.envelopes == [(SENDER, ["marie@exemple.fr"])]
    row = outbox.get(mail_id)
    assert row.state == "sent" and row.attempts == 1 and row.sent_at is not None
    assert row.text == row.html == "" and TOKEN not in repr(row)  # the link is gone from the database
    assert row.answer.startswith("250") and row.message_id == received["Message-ID"]
    assert (row.kind, row.recipient, row.subject) == ("invitation", "marie@exemple.fr", received["Subject"])


def test_temporary_refusals_are_retried_with_backoff_then_delivered(project):
    outbox = Outbox.for_project(project)
    mail_id = outbox.enqueue(invitation(project), now=T0)
    with smtp_server(Recorder(refuse_first=2)) as (server, port):
        sender = MailSender(project, smtp=smtp(port), backoff=(60, 120, 300))
        assert sender.run_once(now=T0).postponed == [mail_id]
        row = outbox.get(mail_id)
        assert (row.state, row.attempts) == ("queued", 1) and "451" in row.last_error
        assert row.next_attempt == T0 + dt.timedelta(seconds=60)
        assert sender.run_once(now=T0 + dt.timedelta(seconds=59)).attempted == 0  # not due yet
        assert sender.run_once(now=T0 + dt.timedelta(seconds=61)).postponed == [mail_id]
        assert outbox.get(mail_id).next_attempt == T0 + dt.timedelta(seconds=181)  # the second delay
        assert sender.run_once(now=T0 + dt.timedelta(seconds=181)).sent == [mail_id]
        assert len(server.wait_for(1)) == 1
    row = outbox.get(mail_id)
    assert (row.state, row.attempts, row.last_error) == ("sent", 3, None)


def test_too_many_temporary_refusals_end_failed_with_the_last_answer(project):
    outbox = Outbox.for_project(project)
    mail_id = outbox.enqueue(invitation(project), now=T0)
    with smtp_server(Recorder(refuse_first=10)) as (_, port):
        sender = MailSender(project, smtp=smtp(port), backoff=(1, 1))
        for step in range(3):
            sender.run_once(now=T0 + dt.timedelta(seconds=2 * step))
    row = outbox.get(mail_id)
    assert (row.state, row.attempts) == ("failed", 3) and row.last_error.endswith("451 4.3.2 Essayez plus tard (test)")
    assert row.text  # not sent: kept for the retry
    assert outbox.retry(mail_id) and outbox.get(mail_id).state == "queued" and outbox.get(mail_id).attempts == 0
    assert not outbox.retry(mail_id) and not outbox.retry(10**30)  # only a failed mail; an absurd id is no mail


def test_a_permanent_refusal_fails_at_once_with_the_servers_answer(project):
    outbox = Outbox.for_project(project)
    mail_id = outbox.enqueue(invitation(project, to="inconnu@exemple.fr"))
    other = outbox.enqueue(invitation(project, to="autre@exemple.fr"))
    with smtp_server(Recorder(refuse_all="550 5.1.1 Destinataire inconnu")) as (server, port):
        report = MailSender(project, smtp=smtp(port)).run_once()
    assert report.failed == [mail_id, other] and server.messages == []  # the connection served both
    row = outbox.get(mail_id)
    assert row.state == "failed" and row.attempts == 1
    assert row.last_error == "destinataire refusé (inconnu@exemple.fr) : 550 5.1.1 Destinataire inconnu"
    assert outbox.summary().warnings() and "1 courriel en échec" not in outbox.summary().warnings()[0]


def test_a_server_down_loses_nothing_and_delivers_once_it_listens(project):
    outbox = Outbox.for_project(project)
    ids = [outbox.enqueue(invitation(project, to=f"p{n}@exemple.fr"), now=T0) for n in range(3)]
    port = free_port()  # nothing listens there
    sender = MailSender(project, smtp=smtp(port), backoff=(60, 60, 60))
    report = sender.run_once(now=T0)
    assert report.postponed == [ids[0]] and "connexion refusée" in report.stopped  # the round stops at once
    assert [outbox.get(i).state for i in ids] == ["queued"] * 3
    assert [outbox.get(i).attempts for i in ids] == [1, 0, 0]  # the others were not charged an attempt
    assert "injoignable" in outbox.get(ids[0]).last_error
    with smtp_server(port=port) as (server, _):
        report = sender.run_once(now=T0 + dt.timedelta(minutes=2))
        assert sorted(report.sent) == ids
        received = server.wait_for(3)
    assert sorted(m["To"] for m in received) == sorted(f"Marie Durand <p{n}@exemple.fr>" for n in range(3))
    assert len({m["Message-ID"] for m in received}) == 3


def test_an_interrupted_send_is_queued_again(project):
    outbox = Outbox.for_project(project)
    mail_id = outbox.enqueue(invitation(project), now=T0)
    claimed = outbox.claim(T0)
    assert claimed.id == mail_id and outbox.claim(T0) is None  # claimed once
    assert outbox.requeue_interrupted(T0 + dt.timedelta(minutes=5)) == 0  # maybe still sending
    assert outbox.requeue_interrupted(T0 + dt.timedelta(minutes=11)) == 1
    assert outbox.get(mail_id).state == "queued"


def test_two_concurrent_senders_never_send_a_mail_twice(project):
    outbox = Outbox.for_project(project)
    ids = [outbox.enqueue(invitation(project, to=f"p{n}@exemple.fr")) for n in range(30)]
    with smtp_server() as (server, port):
        senders = [MailSender(project, smtp=smtp(port)) for _ in range(2)]
        reports = []
        threads = [threading.Thread(target=lambda s=s: reports.append(s.run_once())) for s in senders]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        received = server.wait_for(30)
    assert sorted(i for r in reports for i in r.sent) == ids
    assert len(received) == 30 and len({m["Message-ID"] for m in received}) == 30
    assert {m.state for m in outbox.list()} == {"sent"}


def test_starttls_and_smtps_with_the_organisations_authority(project, tmp_path):
    cert, context = self_signed(tmp_path / "tls")
    outbox = Outbox.for_project(project)
    with smtp_server(tls=context) as (server, port):
        outbox.enqueue(invitation(project))
        report = MailSender(project, smtp=SmtpSettings("127.0.0.1", port, "starttls", ca_file=str(cert),
                                                       timeout=20)).run_once()
        assert len(report.sent) == 1 and len(server.wait_for(1)) == 1
        # without trusting that authority: refused, kept, retried later
        outbox.enqueue(invitation(project))
        report = MailSender(project, smtp=SmtpSettings("127.0.0.1", port, "starttls", timeout=20)).run_once()
        assert len(report.postponed) == 1 and "TLS" in report.stopped
    with smtp_server(implicit_tls=context) as (server, port):
        report = MailSender(project, smtp=SmtpSettings("127.0.0.1", port, "tls", ca_file=str(cert),
                                                       timeout=20)).run_once(now=dt.datetime.now(dt.timezone.utc)
                                                                             + dt.timedelta(hours=1))
        assert len(report.sent) == 1 and len(server.wait_for(1)) == 1


def test_without_a_sender_smtp_mode_refuses_and_the_mail_waits(tmp_path):
    project = mail_project(tmp_path / "nosender", sender=None)
    outbox = Outbox.for_project(project)
    mail_id = outbox.enqueue(invitation(project))
    with smtp_server() as (server, port):
        report = MailSender(project, smtp=smtp(port)).run_once()
    assert report.postponed == [mail_id] and server.messages == []
    row = outbox.get(mail_id)
    assert row.state == "queued" and "mail.sender" in row.last_error


def test_embedded_mode_writes_parseable_eml_files(tmp_path):
    project = mail_project(tmp_path / "eml", sender=None)  # the placeholder sender is fine here
    outbox = Outbox.for_project(project)
    mail_id = outbox.enqueue(invitation(project))
    report = MailSender(project, smtp=None).run_once()
    assert report.sent == [mail_id]
    files = list((project.instance / "outbox").glob("*.eml"))
    assert len(files) == 1 and not list((project.instance / "outbox").glob(".tmp-*"))
    mail = parse(files[0].read_bytes())
    text, html = bodies(mail)
    assert mail["From"] == "OF de test <livret@localhost>" and "Bonjour Marie Durand" in text
    assert "<img" not in html
    assert set(re.findall(r"https?://[^\s<>\"']+", text + html)) == {URL}
    row = outbox.get(mail_id)
    assert row.transport == "eml" and row.answer == str(files[0]) and row.text == ""


# --------------------------------------------------------------------------
# livret mail test / send-queued / list
# --------------------------------------------------------------------------


def run(project, *args, env=None):
    return CliRunner().invoke(cli, [*args, "--root", str(project.root)], env=env or {})


def test_mail_test_exit_codes(project):
    with smtp_server() as (server, port):
        ok = run(project, "mail", "test", "moi@exemple.fr", env=smtp_env(port))
        assert ok.exit_code == 0, ok.output
        assert "Courriel accepté par le serveur : 250 2.0.0 Ok: queued as TEST1" in ok.output
        assert server.wait_for(1)[0]["Subject"] == "Courriel de test de livret"
    with smtp_server(Recorder(refuse_all="550 5.7.1 Relais interdit")) as (_, port):
        refused = run(project, "mail", "test", "moi@exemple.fr", env=smtp_env(port))
    assert refused.exit_code == 1 and "550 5.7.1 Relais interdit" in refused.output
    down = run(project, "mail", "test", "moi@exemple.fr", env=smtp_env(free_port()))
    assert down.exit_code == 1 and "injoignable" in down.output
    bad = run(project, "mail", "test", "moi@exemple.fr", env={"LIVRET_SMTP_URL": "http://x"})
    assert bad.exit_code == 2 and "LIVRET_SMTP_URL" in bad.output
    embedded = run(project, "mail", "test", "moi@exemple.fr", env={"LIVRET_SMTP_URL": ""})
    assert embedded.exit_code == 0 and ".eml" in embedded.output
    assert Outbox.for_project(project).list() == []  # synchronous: the outbox is not involved


def test_mail_test_without_a_sender_in_smtp_mode(tmp_path):
    project = mail_project(tmp_path / "nosender", sender=None)
    with smtp_server() as (server, port):
        result = run(project, "mail", "test", "moi@exemple.fr", env=smtp_env(port))
    assert result.exit_code == 2 and "mail.sender" in result.output and server.messages == []


def test_send_queued_and_list(project):
    outbox = Outbox.for_project(project)
    outbox.enqueue(invitation(project))
    listed = run(project, "mail", "list")
    assert listed.exit_code == 0 and "en attente" in listed.output and "marie@exemple.fr" in listed.output
    with smtp_server() as (server, port):
        sent = run(project, "mail", "send-queued", env=smtp_env(port))
        assert sent.exit_code == 0 and "1 envoyé," in sent.output
        assert len(server.wait_for(1)) == 1
    assert "envoyé" in run(project, "mail", "list", "--state", "sent").output
    down = run(project, "mail", "send-queued", env=smtp_env(free_port()))
    assert down.exit_code == 0  # nothing due
