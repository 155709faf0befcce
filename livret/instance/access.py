"""Who may read and write what: one policy for the forms, the API and sharing.

Assignments live in the learner's profile (``account``, ``tutors``,
``company_tutors``), so they are versioned with the portfolio.

| role | reads | writes |
| --- | --- | --- |
| learner | own portfolio, shared view | evidence, reflection (own) |
| tutor | assigned learners, staff view | tutor entry types (assigned) |
| company | assigned learners, shared view | company-feedback (assigned) |
| auditor | every learner, staff view | nothing |
| admin | every learner, staff view | every type |

Which entries each role sees, and which entries a writer may name in
``about``, ``corrects`` or ``updates``, is decided once, in the store
(:mod:`livret.store.visibility`), so that the store applies it to every
write whatever its path (form, API, import); :func:`audience_for` and
:func:`reference_refusal` are re-exported here for the app.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..store.schema import ENTRY_MODELS, EntryBase, LearnerProfile
from ..store.visibility import STAFF_WRITERS, audience_for, reference_refusal

__all__ = ["ROLES", "audience_for", "can_choose_visibility", "can_correct", "can_read", "can_share", "can_write",
           "is_assigned", "readable", "reference_refusal", "writable_types"]

ROLES = ("learner", "tutor", "company", "auditor", "admin")


def is_assigned(role: str, username: str, profile: LearnerProfile) -> bool:
    if role == "learner":
        return profile.account == username
    if role == "tutor":
        return username in profile.tutors
    if role == "company":
        return username in profile.company_tutors
    return role in ("auditor", "admin")


def can_read(role: str, username: str, profile: LearnerProfile) -> bool:
    return role in ROLES and is_assigned(role, username, profile)


def can_write(role: str, username: str, profile: LearnerProfile, entry_type: str) -> bool:
    """May this user append an entry of ``entry_type`` to this learner's portfolio?"""
    model = ENTRY_MODELS.get(entry_type)
    if model is None or not model.direct or role == "auditor":
        return False  # (a signature is written by the signing service only: livret.signoff)
    if role == "admin":
        return True
    return role in model.writers and is_assigned(role, username, profile)


def can_correct(role: str, username: str, profile: LearnerProfile, target: EntryBase) -> bool:
    """May this user write a correction of ``target`` (an entry they see)?

    The type must be theirs to write, and :func:`reference_refusal` must
    accept it (learners and company tutors correct only what they wrote).
    """
    return (can_write(role, username, profile, target.type)
            and reference_refusal("corrects", target.id, target, role=role, author=username) is None)


def writable_types(role: str, username: str, profile: LearnerProfile) -> list[str]:
    return [t for t in ENTRY_MODELS if can_write(role, username, profile, t)]


def can_choose_visibility(role: str) -> bool:
    """Only tutors and admins write ``staff`` entries."""
    return role in STAFF_WRITERS


def can_share(role: str, username: str, profile: LearnerProfile) -> bool:
    """Create or revoke share links: the learner (own), assigned tutors, admins."""
    return role in ("learner", "tutor", "admin") and is_assigned(role, username, profile)


def readable(role: str, username: str, profiles: Iterable[LearnerProfile]) -> list[LearnerProfile]:
    return [p for p in profiles if can_read(role, username, p)]
