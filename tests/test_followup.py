"""livret.views.followup: the rules' occurrences and states at their boundaries (pure), and where they show
(the staff portfolio's « Suivi » page, never the shared one)."""

from __future__ import annotations

import datetime as dt

import pytest
from followup_support import START, at, day, followup_project, meeting_fields, write

from livret.publish.site.pages import learner_site
from livret.store.schema import FollowupRule, LearnerProfile
from livret.views import followup as fv


def rule(**data) -> FollowupRule:
    return FollowupRule.model_validate({"id": "r", **data})


PROFILE = LearnerProfile(id="zoe", first_name="Zoé", last_name="Test", programme="BTS", framework="mini",
                         start=START, work_study=True, contract="apprentissage", company={"name": "Dupont"})


@pytest.fixture
def project(tmp_path):
    return followup_project(tmp_path / "p")


def items(project, n, rules=None, learner="alice", **kw):
    record = project.store.load_learner(learner)
    rules = project.store.settings().followup.rules if rules is None else rules
    return fv.learner_items(record.profile, record.entries, [], rules, day(n), **kw)


@pytest.mark.parametrize("start, months, expected", [
    (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)), (dt.date(2028, 1, 31), 1, dt.date(2028, 2, 29)),
    (dt.date(2026, 11, 15), 2, dt.date(2027, 1, 15)), (dt.date(2026, 9, 7), 12, dt.date(2027, 9, 7)),
])
def test_add_months(start, months, expected):
    assert fv.add_months(start, months) == expected


def test_filters_programmes_groups_contracts_and_work_study():
    assert fv.applies(rule(what="contact", every_days=30), PROFILE)
    assert not fv.applies(rule(what="contact", every_days=30, programmes=["CAP"]), PROFILE)
    assert fv.applies(rule(what="contact", every_days=30, groups=["g1"]), PROFILE, ["g1", "g2"])
    assert not fv.applies(rule(what="contact", every_days=30, groups=["g1"]), PROFILE, [])
    assert not fv.applies(rule(what="welcome", within_days=7, contracts=["professionnalisation"]), PROFILE)
    not_ws = PROFILE.model_copy(update={"work_study": False})
    assert not fv.applies(rule(what="company-visit", every_months=2), not_ws)
    assert fv.applies(rule(what="welcome", within_days=7), not_ws)


@pytest.mark.parametrize("n, state", [(0, "due"), (6, "due"), (7, "due"), (8, "overdue")])
def test_welcome_boundaries(project, n, state):
    [item] = items(project, n, [rule(what="welcome", within_days=7)])
    assert (item.due, item.state) == (day(7), state)


@pytest.mark.parametrize("n, state", [(15, "upcoming"), (16, "upcoming"), (17, "due"), (30, "due"), (31, "overdue")])
def test_due_window_is_fourteen_days(project, n, state):
    assert fv.DUE_WINDOW_DAYS == 14
    [item] = items(project, n, [rule(what="contact", every_days=30)])
    assert (item.due, item.state) == (day(30), state)


def test_a_correction_counts_once_with_its_new_date_and_kind(project):
    first = write(project, "alice", 3, meeting_fields("suivi", "Entretien"))
    [item] = items(project, 5, [rule(what="welcome", within_days=7)])
    assert item.state == "due"  # a follow-up meeting is no welcome
    fixed = write(project, "alice", 5, meeting_fields("accueil", "Entretien d'accueil", corrects=first.id), hour=9)
    [item] = items(project, 5, [rule(what="welcome", within_days=7)])
    assert (item.state, item.proof) == ("done", fixed.id)
    contacts = items(project, 5, [rule(what="contact", every_days=30)])
    assert [i.proof for i in contacts if i.state == "done"] == [fixed.id]  # the corrected version is gone


def test_a_welcome_done_late_stays_done_and_says_so(project):
    late = write(project, "alice", 10, meeting_fields("accueil", "Accueil"))
    [item] = items(project, 12, [rule(what="welcome", within_days=7)])
    assert (item.state, item.proof, item.late) == ("done", late.id, True)
    assert item.detail == f"réalisé en retard le {fv.fr_date(day(10))}"
    assert fv.to_do([item]) == []


def test_company_visit_windows_and_a_missed_one(project):
    r = [rule(what="company-visit", every_months=2)]
    # no visit in the first window (due day 61), one in the second: the missed one is a past gap
    write(project, "alice", 80, meeting_fields("visite-entreprise", "Visite"))
    found = items(project, 100, r)
    assert [(i.state, i.due) for i in found] == [("overdue", day(61)), ("done", day(122)),
                                                 ("upcoming", fv.add_months(START, 6))]
    assert fv.superseded(found[0], found) and fv.to_do(found) == []
    assert found[2].window_start == day(123)


def test_the_checkin_needs_enough_calendar(tmp_path):
    short = followup_project(tmp_path / "s", calendar=False)
    profile = short.store.profile("alice")
    periods = [*profile.calendar]
    from livret.store.schema import CalendarPeriod
    periods.append(CalendarPeriod(start=day(7), end=day(11), kind="entreprise"))
    [item] = fv.followup_items(profile, [], periods, [rule(what="company-checkin", presence_days=45)], day(1))
    assert item.state == "not-applicable"
    assert item.detail.startswith("calendrier de l'alternance à compléter : 5 jours")


def test_rules_stop_at_the_end_of_the_training(project):
    profile = project.store.profile("alice").model_copy(update={"status": "abandon", "status_date": day(20)})
    r = [rule(what="contact", every_days=30), rule(id="v", what="company-visit", every_months=2)]
    found = fv.followup_items(profile, [], [], r, day(100))
    # no open contact after the abandonment; the one visit window it covered was missed
    assert [(i.rule_id, i.state, i.due) for i in found] == [("v", "overdue", day(61))]


def test_proposals_are_never_in_the_past(project):
    found = items(project, 20, [rule(what="welcome", within_days=7), rule(id="c", what="contact", every_days=30)])
    proposed = fv.proposals(found, day(20))
    assert [(p.rule_id, p.kind, p.day) for p in proposed] == [("r", "accueil", day(21)), ("c", "suivi", day(27))]


def test_staff_entries_prove_only_for_the_staff(project):
    staff = write(project, "alice", 3, {**meeting_fields("accueil", "Accueil"), "visibility": "staff"})
    from livret.views.progress import for_audience
    record = project.store.load_learner("alice")
    r = [rule(what="welcome", within_days=7)]
    [mine] = fv.followup_items(record.profile, record.entries, [], r, day(5))
    [theirs] = fv.followup_items(record.profile, for_audience(record.entries, "shared"), [], r, day(5))
    assert (mine.state, mine.proof) == ("done", staff.id)
    assert (theirs.state, theirs.proof) == ("due", None)


def test_the_staff_portfolio_shows_the_process_and_the_shared_one_does_not(project):
    staff = write(project, "alice", 3, {**meeting_fields("accueil", "Accueil confidentiel"), "visibility": "staff"})
    record = project.store.load_learner("alice")
    settings = project.store.settings()
    pages = {p.path: p.markdown for p in learner_site(record, "staff", day(40), settings).pages}
    assert "## Processus de suivi" in pages["suivi.md"]
    assert "Accueil confidentiel" in pages["suivi.md"] and "**en retard**" in pages["suivi.md"]
    assert "Règle de suivi « Entretien d'accueil (sous 7 jours) »" in pages["qualiopi.md"]
    shared = learner_site(record, "shared", day(40), settings).pages
    assert not any("Processus de suivi" in p.markdown or staff.id in p.markdown for p in shared)


def test_plans_are_information_only(project):
    plan = write(project, "alice", 2, {"type": "planned-meeting", "date": at(5, 9).isoformat(), "title": "Accueil",
                                       "kind": "accueil", "modality": "presentiel", "duration": 60,
                                       "place": "Salle 2"})
    [item] = items(project, 3, [rule(what="welcome", within_days=7)], now=at(3))
    assert (item.state, item.plan, item.plan_date) == ("due", plan.id, day(5))
    [item] = items(project, 9, [rule(what="welcome", within_days=7)], now=at(9))
    assert item.state == "overdue" and item.plan == plan.id  # held but not written: still to do


def test_the_documented_example_is_valid():
    import re
    from pathlib import Path

    from livret.store.schema import Organisation
    from livret.store.yamlio import load_yaml

    text = (Path(__file__).resolve().parent.parent / "docs" / "planning.md").read_text(encoding="utf-8")
    section = text.split("## Follow-up rules", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, flags=re.S).group(1)
    org = Organisation.model_validate(load_yaml(block).data)
    assert [r.what for r in org.followup.rules] == ["welcome", "positioning", "company-checkin", "company-visit",
                                                    "contact"]
    assert f"next **{fv.DUE_WINDOW_DAYS} days**" in section
