"""« Mot de passe oublié » : a reset link mailed to whoever owns the address, and nothing said to anyone.

:meth:`ForgottenPassword.request` takes an address typed on the sign-in
page.  Whatever the address — an account's, nobody's, a disabled account's,
a company tutor's without a password — the caller gives the same answer.
Only an enabled account of that address gets a mail: a one-time link of
purpose ``reset``, valid :data:`FORGOTTEN_TTL` (one hour), issued with its
mail in one transaction (:meth:`AccountAdmin.send_link`); its older unused
reset links stop working.  A company tutor without a password uses the
company link page instead (:mod:`livret.company`): nothing is sent here.

Requests are limited per address and per client (:mod:`livret.mail.throttle`),
counted whether the address exists or not.  Each request is logged
(``livret.account``) without the address's owner being named on the
caller's side, and never with the token.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from ..instance.accounts import Accounts, User, clean_email
from ..mail.throttle import MailThrottle
from ..store import Store, french
from .accounts import AccountAdmin

log = logging.getLogger("livret.account")

#: How long a link asked for on the sign-in page works.
FORGOTTEN_TTL = dt.timedelta(hours=1)
ACTION = "reset"


@dataclass(frozen=True)
class ForgottenAnswer:
    """What happened; the page shows the same thing unless ``retry_after`` is set (too many requests)."""

    #: Seconds to wait when throttled (then nothing was done).
    retry_after: int | None = None
    #: Accounts a mail was queued for (for tests and the log; never shown).
    mailed: tuple[str, ...] = ()


def accounts_with_email(accounts: Accounts, email: str) -> list[User]:
    """The accounts whose address is ``email`` (compared without case)."""
    wanted = email.strip().casefold()
    return [u for u in accounts.list() if u.email and u.email.strip().casefold() == wanted]


class ForgottenPassword:
    def __init__(self, store: Store, accounts: Accounts, *, ttl: dt.timedelta = FORGOTTEN_TTL):
        self.admin = AccountAdmin(store, accounts)
        self.accounts = accounts
        self.throttle = MailThrottle(accounts.db, ACTION)
        self.ttl = ttl

    def request(self, email: str, *, origin: str, base_url: str | None) -> ForgottenAnswer:
        """Mail a reset link to each enabled account of ``email`` (if any); see the module's docstring."""
        address = (email or "").strip()[:200]
        retry = self.throttle.hit(address, origin)
        if retry is not None:
            log.warning("mot de passe oublié : demandes trop nombreuses (client %s)", origin)
            return ForgottenAnswer(retry_after=retry)
        try:
            address = clean_email(address)
        except ValueError:
            address = ""
        mailed = []
        for user in accounts_with_email(self.accounts, address) if address else []:
            if user.disabled or (user.role == "company" and not user.has_password):
                continue
            if user.has_password:
                self.admin.links.revoke_for(user.username, "invitation")
            delivery = self.admin.send_link(user, "reset", self.ttl, author=user.username, base_url=base_url)
            if delivery.mailed:
                mailed.append(user.username)
        log.info("mot de passe oublié : demande du client %s, %s%s", origin,
                 french.count(len(mailed), "lien envoyé", "liens envoyés"),
                 f" ({', '.join(mailed)})" if mailed else "")
        return ForgottenAnswer(mailed=tuple(mailed))
