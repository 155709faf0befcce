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
"""

from __future__ import annotations

from collections.abc import Iterable

from ..store.schema import ENTRY_MODELS, LearnerProfile

ROLES = ("learner", "tutor", "company", "auditor", "admin")


def audience_for(role: str) -> str:
    """Which built site a role sees: ``staff`` (every entry) or ``shared``."""
    return "staff" if role in ("tutor", "auditor", "admin") else "shared"


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
    if model is None or role == "auditor":
        return False
    if role == "admin":
        return True
    return role in model.writers and is_assigned(role, username, profile)


def writable_types(role: str, username: str, profile: LearnerProfile) -> list[str]:
    return [t for t in ENTRY_MODELS if can_write(role, username, profile, t)]


def can_choose_visibility(role: str) -> bool:
    """Only tutors and admins write ``staff`` entries."""
    return role in ("tutor", "admin")


def can_share(role: str, username: str, profile: LearnerProfile) -> bool:
    """Create or revoke share links: the learner (own), assigned tutors, admins."""
    return role in ("learner", "tutor", "admin") and is_assigned(role, username, profile)


def readable(role: str, username: str, profiles: Iterable[LearnerProfile]) -> list[LearnerProfile]:
    return [p for p in profiles if can_read(role, username, p)]
