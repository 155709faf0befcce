"""What the entry forms need to know about planned meetings (no blueprint: helpers of entries.py and plans.py).

- :func:`plan_contacts`: the addresses a plan's reminders would go to, from the
  profile and the accounts (the store checks them: a participant who should get
  a reminder has an address);
- :func:`meeting_defaults_from_plan`: the meeting form pre-filled from a plan
  (« Écrire le compte rendu »): date, kind, modality, duration, participants,
  ``about`` = the plan.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from livret.store import LearnerRecord
from livret.store.schema import LearnerProfile
from livret.store.validation import PlanContacts
from livret.views.plans import PlanState, find, plan_states

from .entry_forms import LOCAL_FORMAT
from .people import person
from .state import livret


def plan_contacts(profile: LearnerProfile | None) -> PlanContacts | None:
    """The learner's address (profile, else account) and each company tutor's account address."""
    if profile is None:
        return None
    accounts = livret().accounts
    learner_email = profile.email
    if not learner_email and profile.account:
        account = accounts.get(profile.account)
        learner_email = account.email if account is not None else None
    company = {}
    for username in profile.company_tutors:
        account = accounts.get(username)
        company[username] = account.email if account is not None else None
    return PlanContacts(learner_email=learner_email or None, company_emails=company)


def states_of(record: LearnerRecord) -> list[PlanState]:
    """The learner's plans as they stand now (the staff see every record; only staff write plans)."""
    return plan_states(record.entries, livret().now())


def participants(record: LearnerRecord, state: PlanState) -> list[str]:
    """The names of a plan's participants, for the meeting written from it."""
    plan = state.latest
    names = []
    if plan.with_learner and record.profile is not None:
        names.append(record.profile.name)
    if plan.with_company and record.profile is not None:
        names += [person(u) for u in record.profile.company_tutors]
    names += [o.name for o in plan.others]
    names.append(person(plan.author, plan.author_name))
    return list(dict.fromkeys(names))


def meeting_defaults_from_plan(record: LearnerRecord, plan_id: str, tz: str) -> dict[str, str]:
    """The meeting form's values from the plan whose chain holds ``plan_id``; {} for no such plan."""
    state = find(states_of(record), plan_id)
    if state is None or state.status == "cancelled":
        return {}
    plan = state.latest
    return {
        "title": plan.title, "date": state.start.astimezone(ZoneInfo(tz)).strftime(LOCAL_FORMAT),
        "kind": plan.kind, "modality": plan.modality, "duration": str(plan.duration),
        "participants": "\n".join(participants(record, state)), "about": state.id,
        "visibility": plan.visibility,
    }
