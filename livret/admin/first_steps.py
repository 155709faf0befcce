"""The « getting started » checklist of a new organisation, computed from the store and the accounts.

Each step is done or not from what is there, never from a flag someone
ticks: a framework of the organisation's own, learners, tutor accounts,
every learner in training followed by a tutor who has an account, a group.

What ``livret init`` ships as an example does not count:

- the example framework is the one whose file is byte for byte the shipped
  one (``livret/scaffold/portfolios/_frameworks/``); edited, it is the
  organisation's own;
- an example learner is one whose e-mail address is in a domain reserved
  for examples (RFC 2606: example.org, example.com, example.net): no real
  person has one; an account assigned to example learners only is an
  example account.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..instance.accounts import User
from ..store import FRAMEWORKS_DIR, Store, UnknownLearner
from ..store.schema import LearnerProfile

#: Where ``livret init`` takes the example framework from.
SHIPPED_FRAMEWORKS = Path(__file__).resolve().parent.parent / "scaffold" / "portfolios" / FRAMEWORKS_DIR
#: Domains reserved for examples (RFC 2606): an address there is nobody's.
EXAMPLE_DOMAINS = ("example.org", "example.com", "example.net")
#: The steps, in the order a new organisation takes them.
STEPS = ("framework", "tutor_accounts", "learners", "assignments", "groups")


def is_example(profile: LearnerProfile | None) -> bool:
    """Whether a profile is an example person's (e-mail address in a reserved domain)."""
    if profile is None or not profile.email:
        return False
    return profile.email.rsplit("@", 1)[-1].lower() in EXAMPLE_DOMAINS


@functools.lru_cache(maxsize=1)
def _shipped_revisions() -> frozenset[str]:
    """SHA-256 of each framework file ``livret init`` ships (the store's revision of an untouched copy)."""
    if not SHIPPED_FRAMEWORKS.is_dir():
        return frozenset()
    return frozenset(hashlib.sha256(p.read_bytes()).hexdigest() for p in SHIPPED_FRAMEWORKS.glob("*.yml"))


@dataclass(frozen=True)
class Step:
    """One step of the checklist: its key (:data:`STEPS`), whether it is done, and figures to show."""

    key: str
    done: bool
    figures: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Checklist:
    steps: list[Step]

    @property
    def done(self) -> int:
        return sum(s.done for s in self.steps)

    @property
    def complete(self) -> bool:
        return all(s.done for s in self.steps)

    def step(self, key: str) -> Step:
        return next(s for s in self.steps if s.key == key)


def checklist(store: Store, users: Iterable[User],
              profiles: Mapping[str, LearnerProfile | None] | None = None) -> Checklist:
    """Where a new organisation stands; reads profiles (cached parses), groups and framework files only.

    ``profiles``: every learner's profile (None when invalid) when the caller has them already.
    """
    if profiles is None:
        profiles = {}
        for lid in store.learner_ids():
            try:
                profiles[lid] = store.profile(lid)
            except UnknownLearner:  # removed meanwhile
                continue
    real = {lid: p for lid, p in profiles.items() if not is_example(p)}
    valid = [p for p in real.values() if p is not None]
    users = [u for u in users if not u.disabled]
    tutors = {u.username for u in users if u.role == "tutor"}

    # Frameworks: one that is not the untouched example, or the example chosen for a real learner.
    shipped = _shipped_revisions()
    framework_ids = store.framework_ids()
    own = [fid for fid in framework_ids if store.revision(f"{FRAMEWORKS_DIR}/{fid}.yml") not in shipped]
    chosen = {p.framework for p in valid} & set(framework_ids)
    framework = Step("framework", bool(own or chosen), {"frameworks": len(framework_ids), "own": len(own)})

    # Tutor accounts: active, and not assigned to example learners only.
    examples_of: dict[str, bool] = {}
    for p in profiles.values():
        if p is None:
            continue
        for t in p.tutors:
            examples_of[t] = examples_of.get(t, True) and is_example(p)
    real_tutors = {t for t in tutors if not examples_of.get(t, False)}
    tutor_accounts = Step("tutor_accounts", bool(real_tutors), {"tutors": len(real_tutors)})

    learners = Step("learners", bool(real), {"learners": len(real)})

    in_training = [p for p in valid if p.status == "en-cours"]
    unassigned = [p for p in in_training if not tutors.intersection(p.tutors)]
    assignments = Step("assignments", bool(real) and not unassigned,
                       {"unassigned": len(unassigned), "in_training": len(in_training)})

    groups = Step("groups", bool(store.groups()), {"groups": len(store.group_ids())})
    return Checklist([framework, tutor_accounts, learners, assignments, groups])
