"""Planned meetings in the store: the date rules, chains of moves and cancellations, visits and addresses,
and their states (livret.views.plans) with a fixed clock.

``add`` (tests/factories.py) writes at 20 November 2026, 18:00 (Paris); alice is in work-study (company
tutor carl), bob is not.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from factories import PARIS, add, hand_written, meeting, when

from livret.store.date_range import PAST_PLAN
from livret.store.errors import InvalidInput
from livret.store.validation import PlanContacts
from livret.views.plans import agenda, find, plan_states, to_complete, upcoming, week_of

NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=PARIS)


def planned(day: str = "2026-11-25", hour: int = 10, **over) -> dict:
    data = {"type": "planned-meeting", "date": when(day, hour), "title": "Entretien de suivi", "kind": "suivi",
            "modality": "presentiel", "place": "Salle 2", "duration": 60, "with_learner": False}
    data.update(over)
    return data


def refused(project, fields, learner="alice", **kw) -> dict[str, list[str]]:
    with pytest.raises(InvalidInput) as exc:
        add(project, learner, fields, author="tina" if learner == "alice" else "tom", **kw)
    out: dict[str, list[str]] = {}
    for e in exc.value.errors:
        out.setdefault(str(e.loc[0]), []).append(e.message)
    return out


def entry_files(project, learner="alice") -> list[str]:
    return sorted(p.name for p in (project.portfolios / learner / "entries").iterdir())


# ---------------------------------------------------------------- dates


def test_a_new_plan_in_the_past_is_refused_with_the_message_saying_what_to_write(project):
    before = entry_files(project)
    errors = refused(project, planned("2026-11-20", 17))  # an hour before "now"
    [message] = errors["date"]
    assert message.startswith(PAST_PLAN) and "écrivez un entretien (Entretien de suivi)" in message
    assert "20 novembre 2026 à 17:00" in message
    assert entry_files(project) == before
    assert add(project, "alice", planned("2026-11-20", 19)).meta.status == "planned"  # an hour after: fine


def test_a_plan_may_lie_ahead_within_the_programmes_range_only(project):
    assert add(project, "alice", planned("2027-12-18")).meta.date.year == 2027
    [message] = refused(project, planned("2027-12-19"))["date"]
    assert message.startswith("date hors de la période admise")


def test_a_record_of_what_happened_in_the_future_says_to_plan_a_meeting(project):
    [message] = refused(project, meeting(date=when("2026-11-25")))["date"]
    assert message.startswith("date postérieure à aujourd'hui")
    assert "pour l'avenir, planifiez un rendez-vous" in message


def test_moving_or_cancelling_a_plan_whose_time_has_passed_is_allowed_a_new_date_is_ahead(project):
    early = dt.datetime(2026, 11, 1, 9, 0, tzinfo=PARIS)
    first = project.store.append_entry("alice", planned("2026-11-10"), "", author="tina", role="tutor", now=early)
    # 20 November: the plan of 10 November has passed
    [message] = refused(project, planned("2026-11-12", updates=first.id, reason="Report"))["date"]
    assert message.startswith(PAST_PLAN)
    moved = add(project, "alice", planned("2026-11-27", updates=first.id, reason="Salle indisponible"))
    cancelled = add(project, "alice", planned("2026-11-10", updates=first.id, status="cancelled",
                                              reason="Apprenante malade"))
    assert (moved.meta.updates, cancelled.meta.status) == (first.id, "cancelled")
    assert project.store.check() == []


def test_a_change_gives_its_reason(project):
    first = add(project, "alice", planned())
    assert "motif" in refused(project, planned("2026-11-26", updates=first.id))["reason"][0]


def test_hand_written_plans_are_checked_against_their_recording(project):
    ok = hand_written(project, "alice", planned("2026-04-10"), recorded="2026-03-02T12:00:00+01:00")
    late = hand_written(project, "alice", planned("2026-04-10", title="Écrit après coup"),
                        recorded="2026-04-11T12:00:00+01:00")
    assert project.store.check() == []
    warnings = {w.path: str(w) for w in project.store.warnings()}
    assert ok not in warnings
    assert PAST_PLAN in warnings[late]
    run = subprocess.run([sys.executable, "-m", "livret", "check", "--root", str(project.root)], capture_output=True,
                         text=True)
    assert run.returncode == 0 and "date passée" in run.stdout + run.stderr


# ---------------------------------------------------------------- chains


def test_updates_names_the_first_plan_of_a_chain_not_a_cancelled_one(project):
    first = add(project, "alice", planned())
    moved = add(project, "alice", planned("2026-11-26", updates=first.id, reason="Report"))
    [message] = refused(project, planned("2026-11-27", updates=moved.id, reason="Encore"))["updates"]
    assert f"nommez le premier rendez-vous de la série ({first.id})" in message
    add(project, "alice", planned("2026-11-26", updates=first.id, status="cancelled", reason="Annulé"))
    [message] = refused(project, planned("2026-11-28", updates=first.id, reason="Reprise"))["updates"]
    assert "déjà annulé" in message
    other = add(project, "alice", meeting())
    assert "de type « meeting »" in refused(project, planned(updates=other.id, reason="x"))["updates"][0]
    assert project.store.check() == []


def test_a_hand_written_record_after_a_cancellation_is_an_error_of_check(project):
    first = add(project, "alice", planned())
    add(project, "alice", planned(updates=first.id, status="cancelled", reason="Annulé"))
    path = hand_written(project, "alice", planned("2026-12-02", updates=first.id, reason="Reprise"),
                        recorded="2026-11-21T09:00:00+01:00")
    problems = [str(p) for p in project.store.check()]
    assert any(path in p and "déjà annulé" in p for p in problems), problems


# ---------------------------------------------------------------- visits and addresses


def test_a_visit_for_a_learner_not_in_work_study_is_refused(project):
    errors = refused(project, planned(kind="visite-entreprise", with_company=True), learner="bob")
    assert "n'est pas en alternance" in errors["kind"][0]
    assert "pas de tuteur ou tutrice entreprise" in errors["with_company"][0]
    assert add(project, "alice", planned(kind="visite-entreprise", with_company=True)).meta.with_company


def test_a_participant_who_gets_a_reminder_needs_an_address(project):
    errors = refused(project, planned(with_learner=True))
    assert "Alice Test n'a pas d'adresse e-mail" in errors["with_learner"][0]
    # the app knows the accounts: the learner's account address counts, the company tutor's is needed
    contacts = PlanContacts(learner_email="alice@exemple.fr", company_emails={"carl": ""})
    errors = refused(project, planned(with_learner=True, with_company=True), contacts=contacts)
    assert list(errors) == ["with_company"] and "carl" in errors["with_company"][0]
    contacts = PlanContacts(learner_email="alice@exemple.fr", company_emails={"carl": "carl@exemple.fr"})
    assert add(project, "alice", planned(with_learner=True, with_company=True), contacts=contacts)
    # a cancellation sends no reminder: nothing to check
    first = add(project, "alice", planned())
    assert add(project, "alice", planned(updates=first.id, status="cancelled", reason="x", with_learner=True))


# ---------------------------------------------------------------- states


def test_plan_states_moved_cancelled_held_and_to_complete_with_a_fixed_clock(project):
    a = add(project, "alice", planned("2026-11-23", title="A"))
    a2 = add(project, "alice", planned("2026-11-24", 14, title="A", updates=a.id, reason="Réunion"))
    b = add(project, "alice", planned("2026-11-25", title="B"))
    add(project, "alice", planned("2026-11-25", title="B", updates=b.id, status="cancelled", reason="Grève"))
    c = add(project, "alice", planned("2026-11-26", title="C"))
    d = add(project, "alice", planned("2026-12-20", title="D"))
    entries = project.store.load_learner("alice").entries
    at = dt.datetime(2026, 11, 24, 15, 0, tzinfo=PARIS)  # A (moved to the 24th at 14:00) has started
    states = {s.latest.title: s for s in plan_states(entries, at)}
    assert [s.latest.title for s in plan_states(entries, at)] == ["A", "B", "C", "D"]
    assert (states["A"].id, states["A"].sequence, states["A"].status) == (a.id, 1, "to-complete")
    assert states["A"].start == dt.datetime(2026, 11, 24, 14, 0, tzinfo=PARIS) and states["A"].moved
    assert states["A"].end - states["A"].start == dt.timedelta(minutes=60)
    assert [r.reason for r in states["A"].changes] == ["Réunion"]
    assert (states["B"].status, states["B"].sequence, states["B"].latest.reason) == ("cancelled", 1, "Grève")
    assert (states["C"].status, states["C"].sequence) == ("planned", 0)
    assert [s.id for s in to_complete(states.values())] == [a.id]
    assert [s.id for s in upcoming(plan_states(entries, at), at, days=7)] == [c.id]
    assert find(states.values(), a2.id).id == a.id
    # the meeting written from the plan (it may name any record of the chain)
    held = add(project, "alice", meeting(date=when("2026-11-20", 9), about=a2.id))
    states = {s.latest.title: s for s in plan_states(project.store.load_learner("alice").entries, at)}
    assert (states["A"].status, states["A"].meeting_id) == ("held", held.id)
    later = dt.datetime(2026, 12, 21, 9, 0, tzinfo=PARIS)
    assert {s.latest.title: s.status for s in plan_states(project.store.load_learner("alice").entries, later)} == {
        "A": "held", "B": "cancelled", "C": "to-complete", "D": "to-complete"}
    assert d.id in {s.id for s in plan_states(project.store.load_learner("alice").entries, later)}


def test_a_correction_of_a_plan_stays_in_its_chain(project):
    first = add(project, "alice", planned(title="Premier"))
    fixed = add(project, "alice", planned(title="Premier (corrigé)", corrects=first.id))
    [state] = plan_states(project.store.load_learner("alice").entries, NOW)
    assert (state.id, state.latest.id, state.sequence) == (first.id, fixed.id, 1)


def test_the_agenda_of_a_week_places_plans_due_followups_and_periods():
    from types import SimpleNamespace

    from livret.store.schema import CalendarPeriod, PlannedMeeting
    from livret.views.plans import LearnerAgenda, PlanState

    meta = PlannedMeeting.model_validate({**planned("2026-11-25"), "id": "01JM2Q8V6Z9X3K4T5R6S7W8Y9A",
                                          "recorded": NOW.isoformat(), "author": "tina", "role": "tutor"})
    state = PlanState(meta.id, meta, 0, meta.date, meta.date + dt.timedelta(hours=1), "planned")
    first, last = week_of(dt.date(2026, 11, 25))
    assert (first, last) == (dt.date(2026, 11, 23), dt.date(2026, 11, 29))
    items = [SimpleNamespace(state="due", due=dt.date(2026, 11, 27), label="Visite"),
             SimpleNamespace(state="overdue", due=dt.date(2026, 11, 2), label="Accueil"),
             SimpleNamespace(state="upcoming", due=dt.date(2026, 11, 28), label="Plus tard")]
    periods = [CalendarPeriod(start=dt.date(2026, 11, 16), end=dt.date(2026, 11, 24), kind="entreprise"),
               CalendarPeriod(start=dt.date(2026, 11, 25), end=dt.date(2026, 12, 10), kind="centre")]
    week = agenda([LearnerAgenda("alice", "Alice Test", [state], items, periods)], first, last, PARIS,
                  dt.date(2026, 11, 24))
    by_day = {d.day: d for d in week.days}
    assert [e.plan.id for e in by_day[dt.date(2026, 11, 25)].events] == [meta.id]
    assert [e.followup.label for e in by_day[dt.date(2026, 11, 27)].events] == ["Visite"]
    assert [e.followup.label for e in week.overdue] == ["Accueil"]
    assert week.event_count == 2  # the upcoming follow-up is not on the agenda
    assert [(r.kind, r.start, r.end) for r in week.ranges] == [
        ("entreprise", dt.date(2026, 11, 23), dt.date(2026, 11, 24)),
        ("centre", dt.date(2026, 11, 25), dt.date(2026, 11, 29))]
    assert by_day[dt.date(2026, 11, 24)].places == [("Alice Test", "entreprise")]


def test_the_staff_portfolio_lists_the_plans_the_shared_one_the_upcoming_shared_ones(project):
    from livret.publish.site.pages import learner_site

    first = add(project, "alice", planned("2026-11-23", title="Passé sans compte rendu"))
    add(project, "alice", planned("2026-11-30", title="À venir", updates=first.id, reason="Report demandé"))
    add(project, "alice", planned("2026-12-02", title="Préparation interne", visibility="staff"))
    held = add(project, "alice", planned("2026-11-24", title="Tenu"))
    add(project, "alice", meeting(date=when("2026-11-20", 9), about=held.id, title="Compte rendu du point"))
    record = project.store.load_learner("alice")
    settings = project.store.settings()

    def page(audience, day):
        site = learner_site(record, audience, day, settings)
        return next(p.markdown for p in site.pages if p.path == "rendez-vous.md")

    staff = page("staff", dt.date(2026, 11, 25))
    assert "## À venir" in staff and "À venir" in staff and "Report demandé" in staff
    assert "Préparation interne" in staff and "## Tenus (1)" in staff and "compte rendu" in staff
    later = page("staff", dt.date(2026, 12, 1))
    assert "## À compléter (l'heure est passée, compte rendu à écrire) (1)" in later
    shared = page("shared", dt.date(2026, 11, 25))
    assert "30 novembre 2026, 10:00–11:00" in shared and "Salle 2" in shared
    assert "Préparation interne" not in shared and "Report demandé" not in shared and "Tenus" not in shared
