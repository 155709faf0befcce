"""Sign-off, derived: what waits for whose signature, the signatures of each entry, how to word them.

Pure functions of a learner's profile, entries and the organisation's rules
(``_organisation.yml``, ``signoff.rules``); the signing service
(:mod:`livret.signoff.service`), the dashboards, the entry pages and the
reminders all use them, so they agree.

- An entry waits for a role when a rule names its type (and its meeting
  ``kind`` when the rule gives one) and no signature of that role is
  ``about`` it.  The expected signers are the learner's account
  (``learner``), the company tutors (``company``: any one of them signing
  satisfies the role) or the tutors (``tutor``).
- Learners and company tutors sign only what they see: ``shared`` entries.
- A corrected entry: only the latest version waits (a signature of an
  earlier version does not cover the correction), since the day it was
  recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..store.french_dates import fr_date
from ..store.schema import (
    SIGN_METHODS,
    SIGNER_ROLES,
    EntryBase,
    LearnerProfile,
    SignoffRule,
)
from ..store.signatures import SealState
from ..store.visibility import visible_ids

#: Roles that sign only ``shared`` entries (they never see a ``staff`` one).
SHARED_SIGNERS = frozenset({"learner", "company"})


@dataclass(frozen=True)
class Pending:
    """One entry waiting for the signature of one role."""

    learner_id: str
    learner_name: str
    entry_id: str
    entry_title: str
    entry_type: str
    role: str
    #: Usernames expected to sign (any one of them satisfies the role).
    signers: tuple[str, ...]
    #: The day the entry (its latest version) was recorded.
    since: dt.date
    #: A meeting's kind (the confirmation sentence depends on it).
    entry_kind: str | None = None

    def days(self, today: dt.date) -> int:
        return max(0, (today - self.since).days)

    @property
    def role_label(self) -> str:
        return SIGNER_ROLES.get(self.role, self.role)


def _meta(item: Any) -> EntryBase:
    """An entry's front matter, from a StoredEntry (``.meta``) or the model itself."""
    return getattr(item, "meta", item)


def latest_versions(metas: Sequence[EntryBase]) -> list[EntryBase]:
    """Entries no later entry corrects (the latest version of each)."""
    corrected = {m.corrects for m in metas if m.corrects}
    return [m for m in metas if m.id not in corrected]


def roles_asked(meta: EntryBase, rules: Iterable[SignoffRule]) -> list[str]:
    """The roles the rules ask to sign ``meta`` (in the order the rules name them)."""
    out: list[str] = []
    if meta.type == "signature":
        return out
    for rule in rules:
        if rule.type != meta.type:
            continue
        if rule.kind is not None and getattr(meta, "kind", None) != rule.kind:
            continue
        out += [r for r in rule.by if r not in out]
    return out


def expected_signers(profile: LearnerProfile, role: str) -> tuple[str, ...]:
    """Who signs for ``role`` on this learner (empty when nobody is assigned)."""
    if role == "learner":
        return (profile.account,) if profile.account else ()
    if role == "company":
        return tuple(profile.company_tutors)
    if role == "tutor":
        return tuple(profile.tutors)
    return ()


def signatures_by_entry(entries: Iterable[Any]) -> dict[str, list[EntryBase]]:
    """Signatures grouped by the entry they are about, oldest first."""
    out: dict[str, list[EntryBase]] = {}
    for item in entries:
        meta = _meta(item)
        if meta.type == "signature" and meta.about:
            out.setdefault(meta.about, []).append(meta)
    for sigs in out.values():
        sigs.sort(key=lambda m: (m.date, m.recorded, m.id))
    return out


def signed_roles(signatures: Iterable[EntryBase]) -> set[str]:
    return {s.role for s in signatures}


def pending_signoffs(profile: LearnerProfile | None, entries: Sequence[Any], rules: Iterable[SignoffRule], *,
                     learner_id: str | None = None) -> list[Pending]:
    """What waits for a signature on one learner, oldest first.

    ``entries``: the learner's entries (every visibility: a ``staff`` entry
    waits only for the tutors' signature).
    """
    if profile is None:
        return []
    rules = list(rules)
    if not rules:
        return []
    metas = [_meta(e) for e in entries]
    shared = visible_ids(metas, "shared")
    by_entry = signatures_by_entry(metas)
    out: list[Pending] = []
    for meta in latest_versions(metas):
        asked = roles_asked(meta, rules)
        if not asked:
            continue
        done = signed_roles(by_entry.get(meta.id, []))
        for role in asked:
            if role in done:
                continue
            if role in SHARED_SIGNERS and meta.id not in shared:
                continue
            signers = expected_signers(profile, role)
            if not signers:
                continue
            out.append(Pending(learner_id or profile.id, profile.name, meta.id, meta.title, meta.type, role,
                               signers, meta.recorded.date(), getattr(meta, "kind", None)))
    out.sort(key=lambda p: (p.since, p.learner_name, p.entry_id, p.role))
    return out


def pending_for(pending: Iterable[Pending], role: str, username: str) -> list[Pending]:
    """What ``username`` (of account role ``role``) has to sign."""
    return [p for p in pending if p.role == role and username in p.signers]


# --------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------

#: What the signer confirms, by type of the signed entry.
CONFIRMATIONS = {
    "evidence": "Je confirme que cette preuve correspond au travail réalisé.",
    "meeting": "Je confirme l'exactitude de ce compte rendu de visite.",
    "assessment": "J'ai pris connaissance de cette évaluation.",
}
DEFAULT_CONFIRMATION = "Je confirme avoir pris connaissance de cette entrée et de son contenu."


def confirmation(entry_type: str, kind: str | None = None) -> str:
    """The sentence shown before the « Signer » button."""
    if entry_type == "meeting" and kind not in (None, "visite-entreprise"):
        return "Je confirme l'exactitude de ce compte rendu d'entretien."
    return CONFIRMATIONS.get(entry_type, DEFAULT_CONFIRMATION)


@dataclass(frozen=True)
class SignatureView:
    """One signature as pages show it."""

    entry_id: str
    signer_name: str
    role: str
    date: dt.datetime
    method: str
    comment: str
    #: None when the seal was not checked (the files are not at hand).
    seal: SealState | None

    @property
    def role_label(self) -> str:
        return SIGNER_ROLES.get(self.role, self.role).lower()

    @property
    def method_label(self) -> str:
        return SIGN_METHODS.get(self.method, self.method)

    @property
    def text(self) -> str:
        """« Signé par Jean Dupont (tuteur·rice entreprise) le 3 mars 2027 — lien reçu par e-mail »."""
        return f"Signé par {self.signer_name} ({self.role_label}) le {fr_date(self.date)} — {self.method_label}"

    @property
    def intact(self) -> bool | None:
        return None if self.seal is None else self.seal.intact

    @property
    def seal_text(self) -> str:
        if self.seal is None:
            return ""
        return "intact" if self.seal.intact else "l'entrée a changé depuis la signature"


def signature_views(signatures: Iterable[Any], seals: Mapping[str, SealState] | None = None,
                    bodies: Mapping[str, str] | None = None) -> list[SignatureView]:
    """Signatures (metas or StoredEntry) as views; ``seals``: signature id -> its check."""
    out = []
    for item in signatures:
        meta = _meta(item)
        body = getattr(item, "body", None)
        if body is None and bodies is not None:
            body = bodies.get(meta.id, "")
        out.append(SignatureView(meta.about or "", meta.signer_name, meta.role, meta.date, meta.method,
                                 (body or "").strip(), (seals or {}).get(meta.id)))
    return out
