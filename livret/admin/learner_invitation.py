"""A tutor (or an admin) invites a learner to their own account, from the learner's page.

The account is made by :meth:`AccountAdmin.create` (its checks, its one
commit authored by the inviter, its invitation link): username proposed
from the learner's name (``prenom.nom``), display name the profile's name,
the e-mail address typed in the form (prefilled from the profile), no
password, assigned as the profile's ``account``.  The invitation (7 days)
is mailed through the outbox.  Refused, with a French message at the
form's field, when the learner already has an account, has an invalid
profile, or no address is given.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..instance.accounts import Accounts
from ..store import Store, UnknownLearner
from ..store.errors import FieldError, InvalidInput
from .accounts import AccountAdmin, Created, suggest_username


def _refuse(field: str, message: str) -> InvalidInput:
    return InvalidInput([FieldError((field,), message)])


class LearnerInvitation:
    def __init__(self, store: Store, accounts: Accounts):
        self.store = store
        self.accounts = accounts
        self.admin = AccountAdmin(store, accounts)

    def prefill(self, learner_id: str) -> dict[str, str] | None:
        """What the form proposes (name, e-mail, existing account), None if the profile is unreadable."""
        return self.admin.learner_prefill(learner_id)

    def invite(self, learner_id: str, *, email: str, author: str, base_url: str | None,
               revision: str | None = None) -> Created:
        """Create the learner's account and mail its invitation; :class:`InvalidInput` when refused."""
        try:
            profile = self.store.profile(learner_id)
        except (UnknownLearner, OSError):
            raise _refuse("learner", f"apprenant·e inconnu·e : {learner_id}") from None
        if profile is None:
            raise _refuse("learner", f"le profil de {learner_id} est invalide : l'administration doit le corriger "
                                     "(livret check)")
        if profile.account:
            user = self.accounts.get(profile.account)
            who = user.name if user else profile.account
            raise _refuse("learner", f"{profile.name} a déjà un compte ({who}) : pas de nouvelle invitation ; "
                                     "en cas d'oubli, « Mot de passe oublié ? » sur la page de connexion")
        email = (email or "").strip()
        if not email:
            raise _refuse("email", "adresse e-mail requise : l'invitation est envoyée par courriel")
        taken = {u.username for u in self.accounts.list()}
        username = suggest_username(profile, taken)
        revisions: Mapping[str, str | None] | None = {learner_id: revision} if revision else None
        created = self.admin.create(username, "learner", author=author, display_name=profile.name, email=email,
                                    learners=[learner_id], password=None, base_url=base_url, revisions=revisions)
        assert created is not None
        return created
