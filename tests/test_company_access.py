"""The company tutor's access (livret.company.access): links by mail, the account behind them, withdrawal.

Real components: a git store (tests/factories.py), the instance database,
the outbox (livret.mail.outbox) where the mails wait for the sender.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from factories import password_of

from livret.company.access import (
    COMPANY_LINK_TTL,
    REQUESTS_PER_ADDRESS,
    REQUESTS_PER_CLIENT,
    CompanyAccess,
    RequestThrottled,
)
from livret.instance.accounts import Accounts
from livret.instance.onetime import OneTimeLinks
from livret.instance.sessions import Sessions
from livret.mail.outbox import Outbox
from livret.store.errors import InvalidInput

LINK = re.compile(r"https://livret\.example\.fr/lien/([A-Za-z0-9_-]{43})")
BASE = "https://livret.example.fr"


@pytest.fixture
def ops(project):
    accounts = Accounts.for_project(project)
    accounts.add("tina", "tutor", password_of("tina"), display_name="Tina Tutrice")
    accounts.add("tom", "tutor", password_of("tom"))
    return CompanyAccess(project, accounts)


def commits(project) -> list[str]:
    out = subprocess.run(["git", "log", "--format=%an|%s"], cwd=project.portfolios, capture_output=True, text=True,
                         check=True).stdout
    return out.splitlines()


def mails(ops) -> list:
    return Outbox(ops.accounts.db).list()


def token_of(mail) -> str:
    return LINK.search(mail.text).group(1)


def test_send_link_creates_a_passwordless_company_account_assigned_in_one_commit(project, ops):
    before = len(commits(project))
    delivery = ops.send_link("alice", name="  Jean   Dupont ", email="jean.dupont@garage.example", author="tina",
                             base_url=BASE)
    assert delivery.created and delivery.username == "jean.dupont" and delivery.name == "Jean Dupont"
    assert delivery.expires_in == COMPANY_LINK_TTL and "jean.dupont@garage.example" in str(delivery)
    user = ops.accounts.get("jean.dupont")
    assert (user.role, user.email, user.has_password, user.disabled) == ("company", "jean.dupont@garage.example",
                                                                         False, False)
    assert "jean.dupont" in project.store.profile("alice").company_tutors
    log = commits(project)
    assert len(log) == before + 1 and log[0].startswith("tina|")  # one commit, authored by the sender
    # no invitation to choose a password: the company tutor uses links
    assert OneTimeLinks(ops.accounts.db).pending("jean.dupont", "invitation") == []
    [mail] = mails(ops)
    assert (mail.kind, mail.recipient, mail.state) == ("company-link", "jean.dupont@garage.example", "queued")
    assert "Alice" not in mail.subject and "Dupont" not in mail.subject  # nothing personal in the subject
    assert "Alice Test" in mail.text
    link = OneTimeLinks(ops.accounts.db).peek(token_of(mail), "company")
    assert link is not None and link.subject == "jean.dupont" and link.data == {"learner": "alice"}
    assert project.store.check() == []


def test_send_link_reuses_the_account_and_keeps_earlier_links(project, ops):
    first = ops.send_link("alice", name="Jean Dupont", email="jean.dupont@garage.example", author="tina",
                          base_url=BASE)
    before = len(commits(project))
    again = ops.send_link("alice", name="J. Dupont", email="JEAN.DUPONT@garage.example", author="tina",
                          base_url=BASE)
    assert not again.created and again.username == first.username
    assert len(commits(project)) == before  # already assigned: nothing to write
    assert [u.username for u in ops.accounts.list() if u.role == "company"] == ["jean.dupont"]
    tokens = [token_of(m) for m in mails(ops)]
    assert len(set(tokens)) == 2
    links = OneTimeLinks(ops.accounts.db)
    assert all(links.peek(t, "company") is not None for t in tokens)  # a reminder does not kill the first link


def test_send_link_errors_are_located_and_write_nothing(project, ops):
    before = len(commits(project))
    with pytest.raises(InvalidInput) as exc:
        ops.send_link("alice", name="", email="pas-une-adresse", author="tina", base_url=BASE)
    fields = {e.loc[0]: e.message for e in exc.value.errors}
    assert set(fields) == {"name", "email"} and "pas-une-adresse" in fields["email"]
    with pytest.raises(InvalidInput) as exc:
        ops.send_link("bob", name="Jean Dupont", email="jean@garage.example", author="tom", base_url=BASE)
    [error] = exc.value.errors
    assert error.loc == ("learner",) and "Bob Test" in error.message and "entreprise" in error.message
    ops.accounts.add("paul", "tutor", display_name="Paul", email="paul@of.example")
    with pytest.raises(InvalidInput) as exc:
        ops.send_link("alice", name="Paul", email="paul@of.example", author="tina", base_url=BASE)
    assert exc.value.errors[0].loc == ("email",) and "tuteur" in exc.value.errors[0].message
    assert len(commits(project)) == before and mails(ops) == []
    assert [u for u in ops.accounts.list() if u.role == "company"] == []


def test_a_disabled_company_account_gets_no_link(project, ops):
    ops.send_link("alice", name="Jean Dupont", email="jean@garage.example", author="tina", base_url=BASE)
    ops.accounts.set_disabled("jean.dupont")
    with pytest.raises(InvalidInput) as exc:
        ops.send_link("alice", name="Jean Dupont", email="jean@garage.example", author="tina", base_url=BASE)
    assert exc.value.errors[0].loc == ("email",) and "désactivé" in exc.value.errors[0].message
    assert ops.request_link("jean@garage.example", base_url=BASE, client="192.0.2.1").mailed is False
    assert len(mails(ops)) == 1


def test_request_link_mails_only_an_assigned_address_and_answers_the_same(project, ops):
    ops.send_link("alice", name="Jean Dupont", email="jean@garage.example", author="tina", base_url=BASE)
    ops.accounts.add("zoe", "company", email="zoe@ailleurs.example")  # a company account assigned to nobody
    assert ops.request_link("JEAN@garage.example ", base_url=BASE, client="192.0.2.1").mailed is True
    for address in ("inconnu@nulle-part.example", "zoe@ailleurs.example", "pas une adresse", ""):
        assert ops.request_link(address, base_url=BASE, client="192.0.2.1").mailed is False
    assert [m.recipient for m in mails(ops)] == ["jean@garage.example", "jean@garage.example"]


def test_request_link_is_throttled_per_address_and_per_client(project, ops):
    ops.send_link("alice", name="Jean Dupont", email="jean@garage.example", author="tina", base_url=BASE)
    answers = [ops.request_link("jean@garage.example", base_url=BASE, client=f"192.0.2.{i}").mailed
               for i in range(REQUESTS_PER_ADDRESS + 2)]
    assert answers == [True] * REQUESTS_PER_ADDRESS + [False, False]  # silently: the same page is shown
    for _ in range(REQUESTS_PER_CLIENT):
        ops.request_link("x@y.example", base_url=BASE, client="198.51.100.7")
    with pytest.raises(RequestThrottled) as exc:
        ops.request_link("jean@garage.example", base_url=BASE, client="198.51.100.7")
    assert exc.value.retry_after > 0


def test_revoke_ends_unused_links_and_marks_link_sessions(project, ops):
    ops.send_link("alice", name="Jean Dupont", email="jean@garage.example", author="tina", base_url=BASE)
    ops.send_link("alice", name="Jean Dupont", email="jean@garage.example", author="tina", base_url=BASE)
    used, unused = (token_of(m) for m in mails(ops))
    links = OneTimeLinks(ops.accounts.db)
    assert links.consume(used, "company") is not None
    user = ops.accounts.get("jean.dupont")
    sessions = Sessions(ops.accounts.db)
    device = sessions.start(user, "192.0.2.1", method="mail-link", lifetime=30 * 86400)
    tina = sessions.start(ops.accounts.get("tina"), "192.0.2.2")
    state = sessions.current(device)
    assert state.user.username == "jean.dupont" and state.method == "mail-link" and not state.revoked
    assert state.expires - sessions.info(device).created == pytest.approx(30 * 86400)

    assert ops.revoke("jean.dupont", author="tina") == (1, 1)
    assert links.peek(unused) is None
    state = sessions.current(device)
    assert state.user is None and state.revoked  # kept (until it expires) so the app answers 410
    assert sessions.current(device).revoked  # asking again does not forget it
    assert sessions.info(device).revoked is not None
    assert sessions.current(tina).user.username == "tina"  # nobody else's session is touched
    assert "jean.dupont" in project.store.profile("alice").company_tutors  # assignments stay
    with pytest.raises(InvalidInput):
        ops.revoke("tina")
