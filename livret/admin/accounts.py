"""Accounts and their assignments: what the administration pages and ``livret user`` share.

Accounts live in the instance database (:mod:`livret.instance.accounts`);
*which learners* an account acts on lives in each learner's profile
(``account`` for the learner's own account, ``tutors``, ``company_tutors``),
so assignments are versioned with the portfolios.  This module computes
assignment changes over profiles and writes them through
:meth:`Store.write_changes` (one commit authored by the admin, every
profile validated by the schema ``livret check`` uses, a profile edited by
hand meanwhile refused with :class:`StaleWrite`), and decides what a role
change may leave behind.

Errors are :class:`InvalidInput` located at the form's field names
(``username``, ``role``, ``display_name``, ``email``, ``learners``); their
messages are French and name the learner.

One-time links (invitation, password reset) leave livret through one
function, :func:`deliver_link`: to an account with an e-mail address the
link is mailed (queued in the outbox, :mod:`livret.mail`, in the same
transaction as the link); without an address it is returned for the admin
to hand over.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from ..instance.accounts import (
    AccountError,
    Accounts,
    User,
    check_password,
    check_role,
    check_username,
    clean_display_name,
    clean_email,
)
from ..instance.onetime import INVITATION_TTL, RESET_TTL, OneTimeLinks
from ..instance.totp import SecondFactor
from ..mail import messages as mail_messages
from ..mail.outbox import Outbox
from ..store import Store, StoreError, UnknownLearner
from ..store.errors import FieldError, InvalidInput, from_validation_error
from ..store.records import PROFILE_FILE
from ..store.schema import ROLE_LABELS, LearnerProfile
from ..store.writer import ANY_REVISION, ProfileChange

#: Which profile key records the assignment of each role (auditors and admins read every learner).
ASSIGNMENT_KEY = {"learner": "account", "tutor": "tutors", "company": "company_tutors"}
KEY_LABELS = {"account": "compte apprenant·e", "tutors": "tuteur·rice", "company_tutors": "tuteur·rice entreprise"}
#: The path of a one-time link; the address is the organisation's public address followed by it.
LINK_PATH = "/lien/"


def profile_rel(learner_id: str) -> str:
    return f"{learner_id}/{PROFILE_FILE}"


def profile_revision(store: Store, learner_id: str) -> str | None:
    """What an assignment form carries for each learner it lists: the profile's revision."""
    return store.revision(profile_rel(learner_id))


@dataclass(frozen=True)
class Assignment:
    learner_id: str
    learner_name: str
    #: ``account``, ``tutors`` or ``company_tutors``.
    key: str

    @property
    def label(self) -> str:
        return KEY_LABELS[self.key]

    def fits(self, role: str) -> bool:
        """Whether an account of ``role`` may hold this assignment."""
        return ASSIGNMENT_KEY.get(role) == self.key

    def __str__(self) -> str:
        return f"{self.learner_name} ({self.learner_id}, {self.label})"


@dataclass(frozen=True)
class AccountRow:
    """One line of the administration's list."""

    user: User
    assignments: tuple[Assignment, ...]
    #: An invitation link that still works (the owner has not chosen a password yet).
    invitation_pending: bool = False

    @property
    def misplaced(self) -> tuple[Assignment, ...]:
        """Assignments the account's role cannot hold (a profile edited by hand, a role changed by hand)."""
        return tuple(a for a in self.assignments if not a.fits(self.user.role))

    @property
    def state(self) -> str:
        if self.user.disabled:
            return "désactivé"
        if not self.user.has_password:
            return "invitation en attente" if self.invitation_pending else "sans mot de passe"
        return "actif"


@dataclass(frozen=True)
class Delivery:
    """A one-time link handed out: its address, and how it reached its owner."""

    url: str
    #: False when the organisation's public address is unknown: ``url`` is then only the path.
    absolute: bool
    purpose: str
    username: str
    expires_in: dt.timedelta
    #: True when the link was mailed (queued in the outbox) to ``mailed_to``: nobody else sees it.
    mailed: bool = False
    mailed_to: str = ""


@dataclass
class Created:
    user: User
    assigned: list[str] = field(default_factory=list)
    commit: str | None = None
    #: The invitation, when the account was created without a password.
    invitation: Delivery | None = None


def link_url(token: str, base_url: str | None) -> tuple[str, bool]:
    """(address, absolute) of a one-time link: ``base_url`` + ``/lien/<token>``, or the path alone."""
    return mail_messages.link_url(base_url, token), bool(base_url)


def deliver_link(user: User, purpose: str, token: str, *, base_url: str | None,
                 expires_in: dt.timedelta, org=None, outbox: Outbox | None = None, conn=None) -> Delivery:
    """The one place a one-time link leaves livret.

    When the account has an e-mail address (and the link is a whole address,
    ``base_url`` known), the invitation or reset mail is queued in
    ``outbox`` — inside ``conn``, the transaction that issued the link, when
    given — and the Delivery says ``mailed=True``: the link is shown to
    nobody.  Otherwise it is returned for the admin to hand over (shown
    once, never stored).
    """
    url, absolute = link_url(token, base_url)
    delivery = Delivery(url=url, absolute=absolute, purpose=purpose, username=user.username, expires_in=expires_in)
    if not (user.email and absolute and outbox is not None and org is not None):
        return delivery
    build = mail_messages.invitation if purpose == "invitation" else mail_messages.password_reset
    expires = dt.datetime.now(dt.timezone.utc) + expires_in
    outbox.enqueue(build(org, person_name=user.display_name, to=user.email, url=url, expires=expires), conn=conn)
    return dataclasses.replace(delivery, mailed=True, mailed_to=user.email)


def _check_role(role: str) -> None:
    if role not in ROLE_LABELS:
        raise AccountError(f"rôle inconnu : choisissez-en un de la liste ({', '.join(ROLE_LABELS.values())})")


def _profile_errors(exc: ValidationError, learner_id: str, name: str) -> list[str]:
    return [f"{name} ({learner_id}) : {e.message}" for e in from_validation_error(exc)]


class AccountAdmin:
    """Account operations over one project's store and instance database."""

    def __init__(self, store: Store, accounts: Accounts):
        self.store = store
        self.accounts = accounts
        self.links = OneTimeLinks(accounts.db)
        self.second_factor = SecondFactor(accounts)
        self.outbox = Outbox(accounts.db)

    @classmethod
    def for_project(cls, project, accounts: Accounts | None = None) -> AccountAdmin:
        return cls(project.store, accounts or Accounts.for_project(project))

    # ------------------------------------------------------------------ reading

    def profiles(self) -> dict[str, LearnerProfile]:
        """The valid profiles, by learner id (an invalid one is left out: ``livret check`` names it)."""
        out: dict[str, LearnerProfile] = {}
        if not self.store.root.is_dir():
            return out
        for lid in self.store.learner_ids():
            try:
                profile = self.store.profile(lid)
            except UnknownLearner:
                continue
            if profile is not None:
                out[lid] = profile
        return out

    def assignments(self, profiles: Mapping[str, LearnerProfile] | None = None) -> dict[str, list[Assignment]]:
        """Username -> the learners whose profile names it, with the key that does."""
        out: dict[str, list[Assignment]] = {}
        for lid, profile in (profiles if profiles is not None else self.profiles()).items():
            if profile.account:
                out.setdefault(profile.account, []).append(Assignment(lid, profile.name, "account"))
            for key in ("tutors", "company_tutors"):
                for username in getattr(profile, key):
                    out.setdefault(username, []).append(Assignment(lid, profile.name, key))
        for found in out.values():
            found.sort(key=lambda a: (a.learner_name.casefold(), a.learner_id))
        return out

    def rows(self) -> list[AccountRow]:
        """Every account with its assignments, for the administration's list."""
        assigned = self.assignments()
        rows = []
        for user in self.accounts.list():
            pending = not user.has_password and bool(self.links.pending(user.username, "invitation"))
            rows.append(AccountRow(user, tuple(assigned.get(user.username, ())), pending))
        return rows

    def row(self, username: str) -> AccountRow | None:
        user = self.accounts.get(username)
        if user is None:
            return None
        pending = not user.has_password and bool(self.links.pending(username, "invitation"))
        return AccountRow(user, tuple(self.assignments().get(username, ())), pending)

    # ------------------------------------------------------------------ assignments

    def plan_assignments(self, username: str, role: str, changes: Mapping[str, bool], *,
                         revisions: Mapping[str, str | None] | None = None) -> list[ProfileChange]:
        """The profile changes that give ``username`` (of ``role``) these learners.

        ``changes``: learner id -> assigned or not; learners not named are
        left as they are (a form filtered by group lists only some).
        ``revisions``: learner id -> the profile's revision the form showed
        (a profile changed since is refused at write time); missing: any.
        Raise :class:`InvalidInput` (field ``learners``) naming each learner
        refused: unknown, invalid profile, a company tutor for a learner
        without company, a learner who already has another account, a role
        that holds no assignment.
        """
        key = ASSIGNMENT_KEY.get(role)
        wanted = [lid for lid, on in changes.items() if on]
        if key is None:
            if wanted:
                raise InvalidInput([FieldError(("learners",), (
                    f"un compte {ROLE_LABELS.get(role, role).lower()} n'est affecté à aucun·e apprenant·e : "
                    "il lit déjà tous les portfolios"))])
            return []
        if key == "account" and len(wanted) > 1:
            raise InvalidInput([FieldError(("learners",), "un compte apprenant·e correspond à un seul portfolio "
                                                          "(un·e seul·e apprenant·e)")])
        errors: list[FieldError] = []
        planned: list[ProfileChange] = []
        for lid, on in changes.items():
            try:
                record = self.store.load_learner(lid)
            except (UnknownLearner, OSError):
                errors.append(FieldError(("learners",), f"apprenant·e inconnu·e : {lid}"))
                continue
            profile = record.profile
            if profile is None:
                if on:
                    errors.append(FieldError(("learners",), f"le profil de {lid} est invalide : corrigez-le d'abord "
                                                            "(livret check)"))
                continue
            updated = self._assigned(profile, username, key, on, errors)
            if updated is None or updated == profile:
                continue
            expected = (revisions or {}).get(lid) or ANY_REVISION
            planned.append(ProfileChange(updated, None, expected))
        if errors:
            raise InvalidInput(errors)
        return planned

    @staticmethod
    def _assigned(profile: LearnerProfile, username: str, key: str, on: bool,
                  errors: list[FieldError]) -> LearnerProfile | None:
        name = f"{profile.name} ({profile.id})"
        if key == "account":
            if on and profile.account not in (None, username):
                errors.append(FieldError(("learners",), f"{name} a déjà un compte apprenant·e : {profile.account}"))
                return None
            if not on and profile.account != username:
                return profile
            data = {**profile.model_dump(), "account": username if on else None}
        else:
            current = list(getattr(profile, key))
            if on and username not in current:
                if key == "company_tutors" and profile.company is None:
                    errors.append(FieldError(("learners",), (
                        f"{name} : pas de tuteur·rice entreprise sans entreprise dans le profil ; renseignez "
                        "d'abord son entreprise")))
                    return None
                current.append(username)
            elif not on and username in current:
                current.remove(username)
            else:
                return profile
            data = {**profile.model_dump(), key: current}
        try:  # the whole profile validated again, as ``livret check`` will read it
            return LearnerProfile.model_validate(data)
        except ValidationError as exc:
            errors.extend(FieldError(("learners",), m) for m in _profile_errors(exc, profile.id, profile.name))
            return None

    def save_assignments(self, username: str, changes: Mapping[str, bool], *, author: str,
                         role: str | None = None, revisions: Mapping[str, str | None] | None = None) -> str | None:
        """Write the assignment changes of ``username`` in one commit authored by ``author``.

        ``role``: the role the form was made for; refused if the account's
        role changed since (the assignment would be of the wrong role).
        Returns the commit id (None when nothing changed).  Raises
        :class:`InvalidInput`, :class:`StaleWrite` or :class:`StoreError`;
        nothing is written then.
        """
        user = self.accounts.get(username)
        if user is None:
            raise InvalidInput([FieldError(("username",), f"compte inconnu : {username}")])
        if role is not None and role != user.role:
            raise InvalidInput([FieldError(("learners",), (
                f"le compte {username} est désormais {user.role_label.lower()} (et non "
                f"{ROLE_LABELS.get(role, role).lower()}) : rechargez la page avant de l'affecter"))])
        planned = self.plan_assignments(username, user.role, changes, revisions=revisions)
        if not planned:
            return None
        label = KEY_LABELS[ASSIGNMENT_KEY[user.role]]
        ids = ", ".join(c.profile.id for c in planned)
        return self.store.write_changes(planned, author=author,
                                        message=f"Comptes : affectation de {username} ({label}) : {ids}")

    # ------------------------------------------------------------------ creating

    def create(self, username: str, role: str, *, author: str, display_name: str = "", email: str = "",
               learners: Iterable[str] = (), password: str | None = None, base_url: str | None = None,
               revisions: Mapping[str, str | None] | None = None, dry_run: bool = False,
               invite: bool = True) -> Created | None:
        """A new account, its assignments (one commit) and, without ``password``, an invitation link
        (unless ``invite`` is False: a company tutor's account, opened by mailed links, livret.company).

        Everything is checked before anything is written; if the profiles
        cannot be written (a hand edit meanwhile, a full disk) the account is
        removed again.  Raises :class:`InvalidInput` (nothing written),
        :class:`StaleWrite` or :class:`StoreError`.  ``dry_run``: only the
        checks (None when they pass).
        """
        username = (username or "").strip()
        errors: list[FieldError] = []
        for loc, check in (("username", lambda: check_username(username)), ("role", lambda: _check_role(role)),
                           ("display_name", lambda: clean_display_name(display_name)),
                           ("email", lambda: clean_email(email))):
            try:
                check()
            except AccountError as exc:
                errors.append(FieldError((loc,), str(exc)))
        if not errors and self.accounts.get(username) is not None:
            errors.append(FieldError(("username",), f"le compte {username} existe déjà"))
        if password is not None and not errors:
            try:
                check_password(password, username)
            except AccountError as exc:
                errors.append(FieldError(("password",), str(exc)))
        wanted = list(dict.fromkeys(learners))
        planned: list[ProfileChange] = []
        if not any(e.loc == ("role",) for e in errors):
            try:
                planned = self.plan_assignments(username, role, {lid: True for lid in wanted}, revisions=revisions)
            except InvalidInput as exc:
                errors.extend(exc.errors)
        if errors:
            raise InvalidInput(errors)
        if dry_run:
            return None
        try:
            user = self.accounts.add(username, role, password, display_name=display_name, email=email)
        except AccountError as exc:  # created by someone else in the meantime
            raise InvalidInput([FieldError(("username",), str(exc))]) from None
        commit = None
        if planned:
            ids = ", ".join(c.profile.id for c in planned)
            label = KEY_LABELS[ASSIGNMENT_KEY[role]]
            try:
                commit = self.store.write_changes(planned, author=author,
                                                  message=f"Comptes : affectation de {username} ({label}) : {ids}")
            except (InvalidInput, StoreError):
                self.accounts.remove(username)
                raise
        created = Created(user, [c.profile.id for c in planned], commit)
        if password is None and invite:
            created.invitation = self.invite(username, author=author, base_url=base_url)
        return created

    # ------------------------------------------------------------------ links

    def invite(self, username: str, *, author: str, base_url: str | None) -> Delivery:
        """A new invitation link (7 days) for an account without a password; older ones stop working."""
        user = self._existing(username)
        return self.send_link(user, "invitation", INVITATION_TTL, author=author, base_url=base_url)

    def reset_link(self, username: str, *, author: str, base_url: str | None) -> Delivery:
        """A one-time link to choose a new password (24 h; an invitation, 7 days, when the account has
        no password yet); older unused links of the account stop working."""
        user = self._existing(username)
        if user.disabled:
            raise InvalidInput([FieldError(("username",), (
                f"le compte {username} est désactivé : réactivez-le avant de lui donner un lien"))])
        if not user.has_password:
            return self.invite(username, author=author, base_url=base_url)
        self.links.revoke_for(username, "invitation")
        return self.send_link(user, "reset", RESET_TTL, author=author, base_url=base_url)

    def send_link(self, user: User, purpose: str, ttl: dt.timedelta, *, author: str,
                  base_url: str | None) -> Delivery:
        """Issue a one-time link and deliver it (:func:`deliver_link`): the link and its mail in one
        transaction of the instance database (both exist, or neither)."""
        org = self.organisation()
        with self.links.db.transaction() as conn:
            token = self.links.issue(purpose, user.username, ttl=ttl, created_by=author, conn=conn)
            return deliver_link(user, purpose, token, base_url=base_url or (org.public_url if org else None),
                                expires_in=ttl, org=org, outbox=self.outbox, conn=conn)

    def organisation(self):
        """The organisation's settings (None when the store cannot be read: the link is then only shown)."""
        try:
            return self.store.settings() if self.store.root.is_dir() else None
        except (StoreError, OSError, ValueError):
            return None

    # ------------------------------------------------------------------ changing

    def _existing(self, username: str) -> User:
        user = self.accounts.get(username)
        if user is None:
            raise InvalidInput([FieldError(("username",), f"compte inconnu : {username}")])
        return user

    def last_admin_refusal(self, user: User) -> str | None:
        if user.role == "admin" and not user.disabled and self.accounts.active_admins() == [user.username]:
            return (f"{user.username} est le dernier compte administrateur actif : nommez d'abord un·e autre "
                    "administrateur·rice")
        return None

    def role_change_refusal(self, username: str, role: str) -> str | None:
        """Why ``username`` cannot become ``role`` now (French), or None."""
        user = self.accounts.get(username)
        if user is None:
            return f"compte inconnu : {username}"
        try:
            check_role(role)
        except AccountError as exc:
            return str(exc)
        if role == user.role:
            return None
        if role != "admin":
            refusal = self.last_admin_refusal(user)
            if refusal:
                return refusal
        left = [a for a in self.assignments().get(username, []) if not a.fits(role)]
        if left:
            return (f"le compte est encore affecté à : {', '.join(str(a) for a in left)} ; "
                    f"un compte {ROLE_LABELS[role].lower()} ne peut pas l'être : retirez d'abord ces affectations")
        return None

    def change_role(self, username: str, role: str) -> User:
        """Change the role (every session of the account ends); InvalidInput (field ``role``) if refused."""
        refusal = self.role_change_refusal(username, role)
        if refusal:
            raise InvalidInput([FieldError(("role",), refusal)])
        self.accounts.set_role(username, role)
        return self._existing(username)

    def set_disabled(self, username: str, disabled: bool) -> User:
        """Disable (sessions and unused links end) or enable again; never the last active admin."""
        user = self._existing(username)
        if disabled:
            refusal = self.last_admin_refusal(user)
            if refusal:
                raise InvalidInput([FieldError(("username",), refusal)])
        self.accounts.set_disabled(username, disabled)
        if disabled:
            self.links.revoke_for(username)
        return self._existing(username)

    def set_profile(self, username: str, display_name: str, email: str) -> User:
        errors = []
        for loc, check in (("display_name", lambda: clean_display_name(display_name)),
                           ("email", lambda: clean_email(email))):
            try:
                check()
            except AccountError as exc:
                errors.append(FieldError((loc,), str(exc)))
        if errors:
            raise InvalidInput(errors)
        self._existing(username)
        return self.accounts.set_profile(username, display_name, email)

    def reset_second_factor(self, username: str) -> User:
        """Turn an account's second factor off (a lost phone): its sessions end; it enrols again."""
        self._existing(username)
        self.second_factor.reset(username)
        return self._existing(username)

    # ------------------------------------------------------------------ a learner's own account

    def learner_prefill(self, learner_id: str) -> dict[str, str] | None:
        """What the creation form proposes for ``learner_id``'s own account, None if unknown or invalid."""
        try:
            profile = self.store.profile(learner_id)
        except (UnknownLearner, OSError):
            return None
        if profile is None:
            return None
        taken = {u.username for u in self.accounts.list()}
        return {"username": suggest_username(profile, taken), "role": "learner", "display_name": profile.name,
                "email": profile.email or "", "learner": learner_id, "learner_name": profile.name,
                "has_account": profile.account or ""}


def suggest_username(profile: LearnerProfile, taken: Iterable[str] = ()) -> str:
    """``prenom.nom`` in lowercase ASCII (``marie.durand``, then ``marie.durand2``...)."""
    return username_from(f"{profile.first_name}.{profile.last_name}", taken, fallback=profile.id)


def username_from(text: str, taken: Iterable[str] = (), *, fallback: str = "compte") -> str:
    """A free username made of ``text`` (``Jean Dupont`` -> ``jean.dupont``, then ``jean.dupont2``...)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9.]+", "-", folded).strip(".-")[:56] or fallback
    if not base[0].isalnum():
        base = fallback
    taken = set(taken)
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}{n}", n + 1
    return candidate
