"""The company tutor's access: a link by mail, a button, a session on that device.

A company tutor (maître d'apprentissage) has no password.  A tutor or an
administrator sends them a link for one learner (:meth:`CompanyAccess.send_link`):

- their account is found by e-mail address (role ``company``) or created
  without a password and without an invitation (:mod:`livret.admin.accounts`);
  it is assigned to the learner's ``company_tutors`` in one commit authored
  by the sender (the learner must have a company in their profile);
- a one-time link of purpose ``company`` (:mod:`livret.instance.onetime`,
  valid :data:`COMPANY_LINK_TTL`) is issued, and the mail that carries it
  (:func:`livret.mail.messages.company_link`) is queued in the outbox in the
  same transaction: both exist or neither.  A new link never revokes an
  earlier unused one (a reminder must not kill the first mail's link).

Opening the link shows a page; only its button uses the token (mail
gateways open every link) and opens a ``mail-link`` session lasting
:data:`COMPANY_SESSION_DAYS` days on that device (``forms_app.company``).
The tutor may ask for a fresh link by entering their address
(:meth:`CompanyAccess.request_link`: the same answer whatever the address,
throttled per address and per client).  The organisation withdraws access
with :meth:`CompanyAccess.revoke`: unused links revoked, link sessions
revoked (the app then answers 410 on that device).

Every link issued, used or revoked is logged (``livret.company``), never
with its token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from dataclasses import dataclass

from ..admin.accounts import AccountAdmin, username_from
from ..instance import db as instance_db
from ..instance.accounts import AccountError, Accounts, User, clean_display_name, clean_email, origin_key
from ..instance.onetime import COMPANY_LINK_TTL, COMPANY_SESSION_DAYS, OneTimeLinks
from ..instance.sessions import Sessions
from ..mail import messages
from ..mail.outbox import Outbox
from ..store import UnknownLearner, french
from ..store.errors import FieldError, InvalidInput
from ..store.schema import ROLE_LABELS, LearnerProfile

__all__ = ["COMPANY_LINK_TTL", "COMPANY_SESSION_DAYS", "PURPOSE", "CompanyAccess", "CompanyDelivery",
           "LinkRequest", "RequestThrottled"]

log = logging.getLogger("livret.company")

#: The one-time link purpose of the company tutor's link.
PURPOSE = "company"
#: Asking for a new link: at most this many requests per address, and per client, in the window.
REQUESTS_PER_ADDRESS = 3
REQUESTS_PER_CLIENT = 10
REQUEST_WINDOW = 3600

instance_db.register("company", [
    # Requests for a new link (throttling): the address is kept only as a hash.
    """
    CREATE TABLE company_link_requests (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX company_link_requests_key ON company_link_requests (kind, key, at);
    """,
])


class RequestThrottled(Exception):
    """Too many requests for a new link from one client (``retry_after`` seconds)."""

    def __init__(self, retry_after: int):
        super().__init__("trop de demandes")
        self.retry_after = retry_after


@dataclass(frozen=True)
class CompanyDelivery:
    """A company link sent: to whom (the mail is in the outbox; the link itself is only in the mail)."""

    username: str
    name: str
    email: str
    learner_id: str
    expires_in: dt.timedelta
    #: True when the company tutor's account was created for this link.
    created: bool
    #: The mail is queued in the outbox (the background sender delivers it).
    mailed: bool = True

    def __str__(self) -> str:
        return f"lien envoyé à {self.name} <{self.email}>"


@dataclass(frozen=True)
class LinkRequest:
    """The answer to a request for a new link: always the same for the person asking."""

    #: Whether a mail was queued (never shown: the page says the same either way).
    mailed: bool


def _address_key(email: str) -> str:
    return hashlib.sha256(email.strip().casefold().encode("utf-8")).hexdigest()


class CompanyAccess:
    """Company tutors' links, sessions and their withdrawal, over one project."""

    def __init__(self, project, accounts: Accounts):
        self.project = project
        self.store = project.store
        self.accounts = accounts
        self.admin = AccountAdmin(project.store, accounts)
        self.links = OneTimeLinks(accounts.db)
        self.sessions = Sessions(accounts.db)
        self.outbox = Outbox(accounts.db)

    # ------------------------------------------------------------------ reading

    def learners_of(self, username: str) -> list[LearnerProfile]:
        """The learners whose profile names ``username`` as company tutor, by name."""
        out = [p for p in self.admin.profiles().values() if username in p.company_tutors]
        return sorted(out, key=lambda p: (p.name.casefold(), p.id))

    def company_tutors(self, learner_id: str) -> list[User]:
        """The accounts of a learner's company tutors (those that exist), in the profile's order."""
        profile = self.store.profile(learner_id)
        if profile is None:
            return []
        users = [self.accounts.get(u) for u in profile.company_tutors]
        return [u for u in users if u is not None]

    def _by_email(self, email: str) -> list[User]:
        wanted = email.strip().casefold()
        return [u for u in self.accounts.list() if u.email and u.email.strip().casefold() == wanted]

    # ------------------------------------------------------------------ sending

    def send_link(self, learner_id: str, *, name: str, email: str, author: str,
                  base_url: str | None) -> CompanyDelivery:
        """Mail a company tutor a link to their workspace for ``learner_id`` (see the module's text).

        Raises :class:`InvalidInput` located at ``name``, ``email`` or
        ``learner`` (nothing written), or the store's errors of the assignment.
        """
        errors: list[FieldError] = []
        try:
            name = clean_display_name(name)
            if not name:
                errors.append(FieldError(("name",), "nom obligatoire : le prénom et le nom du tuteur ou de la "
                                                    "tutrice en entreprise"))
        except AccountError as exc:
            errors.append(FieldError(("name",), str(exc)))
        try:
            email = clean_email(email)
            if not email:
                errors.append(FieldError(("email",), "adresse e-mail obligatoire : le lien est envoyé par courriel"))
        except AccountError as exc:
            errors.append(FieldError(("email",), str(exc)))
        profile = None
        try:
            profile = self.store.profile(learner_id)
            if profile is None:
                errors.append(FieldError(("learner",), f"le profil de {learner_id} est invalide : corrigez-le "
                                                       "d'abord (livret check)"))
        except (UnknownLearner, OSError):
            errors.append(FieldError(("learner",), f"apprenant·e inconnu·e : {learner_id}"))
        if profile is not None and profile.company is None:
            errors.append(FieldError(("learner",), (
                f"{profile.name} n'a pas d'entreprise dans son profil : renseignez d'abord son entreprise "
                "(un tuteur ou une tutrice en entreprise en dépend)")))
        user: User | None = None
        if not any(e.loc == ("email",) for e in errors) and email:
            found = self._by_email(email)
            company = [u for u in found if u.role == "company"]
            enabled = [u for u in company if not u.disabled]
            if enabled:
                user = enabled[0]
            elif company:
                errors.append(FieldError(("email",), (
                    f"le compte tuteur entreprise {company[0].name} ({email}) est désactivé : un·e "
                    "administrateur·rice doit le réactiver avant l'envoi d'un lien")))
            elif found:
                errors.append(FieldError(("email",), (
                    f"cette adresse est celle d'un compte {ROLE_LABELS.get(found[0].role, found[0].role).lower()} "
                    f"({found[0].name}) : un tuteur ou une tutrice en entreprise a son propre compte, avec "
                    "sa propre adresse")))
        if errors:
            raise InvalidInput(errors)
        assert profile is not None
        created = False
        if user is None:
            parts = name.split()
            text = parts[0] + ("." + "-".join(parts[1:]) if len(parts) > 1 else "")
            username = username_from(text, {u.username for u in self.accounts.list()}, fallback="entreprise")
            result = self.admin.create(username, "company", author=author, display_name=name, email=email,
                                       learners=[learner_id], invite=False)
            assert result is not None
            user, created = result.user, True
            log.info("compte tuteur entreprise créé : %s (par %s, pour %s)", username, author, learner_id)
        elif user.username not in profile.company_tutors:
            self.admin.save_assignments(user.username, {learner_id: True}, author=author, role="company")
            log.info("tuteur entreprise %s affecté à %s (par %s)", user.username, learner_id, author)
        self._mail_link(user, created_by=author, base_url=base_url, data={"learner": learner_id})
        return CompanyDelivery(user.username, user.name, user.email, learner_id, COMPANY_LINK_TTL, created)

    def _mail_link(self, user: User, *, created_by: str, base_url: str | None, data: dict) -> None:
        """Issue a link and queue its mail, in one transaction."""
        org = self.store.settings()
        base = base_url or org.public_url
        learner_names = [p.name for p in self.learners_of(user.username)]
        sender = self.accounts.get(created_by)
        sent_by = sender.name if sender is not None else org.name
        with self.accounts.db.transaction() as conn:
            token = self.links.issue(PURPOSE, user.username, ttl=COMPANY_LINK_TTL, created_by=created_by,
                                     data=data, replace=False, conn=conn)
            expires = dt.datetime.now(dt.UTC) + COMPANY_LINK_TTL
            message = messages.company_link(org, person_name=user.name, to=user.email, learner_names=learner_names,
                                            url=messages.link_url(base, token), expires=expires, sent_by=sent_by)
            self.outbox.enqueue(message, conn=conn)
        log.info("lien entreprise émis pour %s (par %s)", user.username, created_by)

    def request_link(self, email: str, *, base_url: str | None, client: str = "") -> LinkRequest:
        """A company tutor asks for a new link: mailed if an enabled company account with this address
        is assigned to a learner; the caller gives the same answer whatever happened.

        Raises :class:`RequestThrottled` when ``client`` asked too often (whatever the address).
        Requests beyond the limit for one address are silently dropped.
        """
        now = time.time()
        try:
            email = clean_email(email)
        except AccountError:
            email = ""
        client_key = origin_key(client)
        with self.accounts.db.transaction() as conn:
            conn.execute("DELETE FROM company_link_requests WHERE at < ?", (now - REQUEST_WINDOW,))
            rows = conn.execute("SELECT at FROM company_link_requests WHERE kind = 'client' AND key = ? "
                                "ORDER BY at DESC LIMIT ?", (client_key, REQUESTS_PER_CLIENT)).fetchall()
            if len(rows) >= REQUESTS_PER_CLIENT:
                raise RequestThrottled(int(rows[-1]["at"] + REQUEST_WINDOW - now) + 1)
            conn.execute("INSERT INTO company_link_requests (kind, key, at) VALUES ('client', ?, ?)",
                         (client_key, now))
            throttled = False
            if email:
                key = _address_key(email)
                count = conn.execute("SELECT COUNT(*) FROM company_link_requests WHERE kind = 'address' "
                                     "AND key = ?", (key,)).fetchone()[0]
                throttled = count >= REQUESTS_PER_ADDRESS
                if not throttled:
                    conn.execute("INSERT INTO company_link_requests (kind, key, at) VALUES ('address', ?, ?)",
                                 (key, now))
        if not email or throttled:
            log.info("demande de lien entreprise : %s", "limite atteinte pour l'adresse" if throttled
                     else "adresse invalide")
            return LinkRequest(False)
        for user in self._by_email(email):
            if user.role == "company" and not user.disabled and self.learners_of(user.username):
                self._mail_link(user, created_by=user.username, base_url=base_url, data={"requested": True})
                return LinkRequest(True)
        log.info("demande de lien entreprise : aucune adresse affectée ne correspond")
        return LinkRequest(False)

    # ------------------------------------------------------------------ withdrawing

    def revoke(self, username: str, *, author: str = "") -> tuple[int, int]:
        """Withdraw a company tutor's access: their unused links and their link sessions are revoked
        (410 on those devices).  Their assignments stay (remove them, or disable the account, to end
        them).  Returns (links revoked, sessions revoked)."""
        user = self.accounts.get(username)
        if user is None or user.role != "company":
            raise InvalidInput([FieldError(("username",), f"compte tuteur entreprise inconnu : {username}")])
        links = self.links.revoke_for(username, PURPOSE)
        sessions = self.sessions.revoke(username, "mail-link")
        log.info("accès entreprise retiré : %s (%s, %s) par %s", username, french.count(links, "lien", "liens"),
                 french.count(sessions, "session", "sessions"),
                 author or "?")
        return links, sessions

    def session_seconds(self) -> int:
        return COMPANY_SESSION_DAYS * 86400
