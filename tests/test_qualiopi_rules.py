"""Each Qualiopi indicator's status follows from the figures the report shows, at its boundaries.

Two kinds of tests:

- the pure findings functions (``positioning_findings``…) on the facts the
  figures are made of, at threshold − 1, threshold and threshold + 1 days,
  with a proof missing, before the programme's start…;
- the whole report on real stores (files, git), where the facts come from
  entries: the ones the issue found (a positioning dated in year 1, a
  61-day gap beside a 30-day threshold), and the rules whose boundary lives
  in the facts (an alert's follow-up delay, an action plan's due date).

Statuses say what livret can know (the organisation's own rule, the proof
present), never « conforme »: only the certifying body rules on conformity.
"""

from __future__ import annotations

import datetime as dt

import pytest
from factories import add, hand_written, meeting, when

from livret.views import progress as pg
from livret.views import qualiopi as q

TODAY = dt.date(2026, 11, 21)
START = dt.date(2026, 1, 5)  # the learners' start in tests/factories.py


def status(findings) -> str:
    return q.worst(f.status for f in findings)


def report(project, learner="bob", today=TODAY, **profile):
    record = project.store.load_learner(learner)
    if profile:
        record.profile = record.profile.model_copy(update=profile)
    return q.learner_report(record, project.store.settings(), today)


# ----------------------------------------------------------------- indicator 8: positioning


def positioning(delay: int | None, *, competencies: int = 2, outside=(), allowed: int = 30):
    first = None if delay is None else START + dt.timedelta(days=delay)
    return q.PositioningFacts(START, allowed, START - dt.timedelta(days=180), TODAY, first, competencies,
                              tuple(outside), TODAY)


@pytest.mark.parametrize("delay, expected", [
    (29, q.RULE_MET), (30, q.RULE_MET), (31, q.TO_JUSTIFY),  # the organisation's 30 days
    (0, q.RULE_MET), (-1, q.RULE_MET), (-180, q.RULE_MET),  # before the start, from the earliest day admitted
    (None, q.TO_COMPLETE),  # no positioning
])
def test_positioning_status_at_its_boundaries(delay, expected):
    facts = positioning(delay)
    assert status(q.positioning_findings(facts)) == expected
    shown = dict(q.positioning_figures(facts))
    assert shown["Délai fixé"] == "30 jours après le début (au plus tard le 4 février 2026)"
    if delay is not None and delay > 0:
        assert shown["Délai constaté"] == f"{delay} jour{'s' if delay > 1 else ''} après le début"


def test_positioning_status_follows_the_organisations_own_delay():
    assert status(q.positioning_findings(positioning(45, allowed=45))) == q.RULE_MET
    assert status(q.positioning_findings(positioning(46, allowed=45))) == q.TO_JUSTIFY


def test_positioning_without_any_competency_positioned_is_to_complete():
    facts = positioning(3, competencies=0)
    assert dict(q.positioning_figures(facts))["Compétences positionnées"] == "0"
    assert status(q.positioning_findings(facts)) == q.TO_COMPLETE
    assert status(q.positioning_findings(positioning(3, competencies=1))) == q.RULE_MET


def test_positioning_dated_outside_the_admitted_range_is_not_a_proof():
    facts = positioning(None, outside=[dt.date(1, 1, 1)])
    [finding] = q.positioning_findings(facts)
    assert finding.status == q.TO_COMPLETE
    assert finding.text == ("Positionnement daté du 1er janvier 1, hors de la période admise "
                            "(du 9 juillet 2025 au 21 novembre 2026) : corriger sa date par une entrée de correction.")
    shown = dict(q.positioning_figures(facts))
    assert shown["Positionnement"] == "1er janvier 1 (hors de la période admise)"
    assert shown["Délai constaté"] == "—"


def test_year_one_positioning_in_a_real_store(project):
    """The issue's case: « Délai constaté : -739680 jours » beside « conforme »."""
    hand_written(project, "bob", {"type": "positioning", "date": "0001-01-01T10:00:00+00:00",
                                  "title": "Positionnement", "competencies": [{"code": "A1", "level": "1"}]},
                 author="tom", recorded="2026-01-06T10:00:00+01:00")
    assert len(project.store.load_learner("bob").entries) == 1  # readable: the file stays in the record
    ind = report(project).indicator(8)
    assert ind.status == q.TO_COMPLETE and ind.proofs == ()
    assert "-739680" not in str(ind.figures) and dict(ind.figures)["Délai constaté"] == "—"


@pytest.mark.parametrize("day, expected", [("2025-07-08", q.TO_COMPLETE), ("2025-07-09", q.RULE_MET)])
def test_positioning_from_the_earliest_day_admitted(project, day, expected):
    """180 days before the start (``dates.before_start_days``) counts; the day before does not."""
    hand_written(project, "bob", {"type": "positioning", "date": when(day), "title": "Positionnement",
                                  "competencies": [{"code": "A1", "level": "1"}]}, author="tom")
    assert report(project).indicator(8).status == expected


def test_positioning_dated_after_today_is_not_done_yet(project):
    hand_written(project, "bob", {"type": "positioning", "date": when("2026-11-22"), "title": "Positionnement",
                                  "competencies": [{"code": "A1", "level": "1"}]}, author="tom")
    ind = report(project).indicator(8)
    assert ind.status == q.TO_COMPLETE and "hors de la période admise" in ind.reasons[0]


def test_positioning_delay_comes_from_the_organisation_settings(project):
    (project.portfolios / "_organisation.yml").write_text(
        "name: OF de test\nthresholds:\n  positioning_days: 60\n", encoding="utf-8")
    add(project, "bob", {"type": "positioning", "date": when("2026-03-01"), "title": "Positionnement",
                         "competencies": [{"code": "A1", "level": "1"}]}, author="tom")
    ind = report(project).indicator(8)
    assert ind.status == q.RULE_MET and dict(ind.figures)["Délai constaté"] == "55 jours après le début"


# ----------------------------------------------------------------- indicator 10: follow-up


def followup(*, silent: int | None = 5, gap: int | None = 20, meetings: int = 3, threshold: int = 30):
    longest = None if gap is None else pg.Gap(gap, dt.date(2026, 7, 1), dt.date(2026, 7, 1) + dt.timedelta(days=gap))
    last = TODAY - dt.timedelta(days=silent or 0)
    return q.FollowupFacts(threshold, meetings + 1, meetings, 45 * meetings, {"presentiel": meetings}, 15.0,
                           longest, last, silent is not None, silent)


@pytest.mark.parametrize("gap, expected", [(29, q.RULE_MET), (30, q.RULE_MET), (31, q.TO_JUSTIFY),
                                           (61, q.TO_JUSTIFY), (None, q.RULE_MET)])
def test_followup_longest_gap_is_judged_against_the_threshold_it_is_shown_with(gap, expected):
    facts = followup(gap=gap)
    assert status(q.followup_findings(facts)) == expected
    shown = dict(q.followup_figures(facts))
    assert shown["Seuil sans contact"] == "30 jours"
    if gap is not None:
        assert shown["Intervalle le plus long"].startswith(f"{gap} jours")


@pytest.mark.parametrize("silent, expected", [(29, q.RULE_MET), (30, q.RULE_MET), (31, q.TO_COMPLETE)])
def test_followup_days_without_contact_at_the_threshold(silent, expected):
    facts = followup(silent=silent)
    assert status(q.followup_findings(facts)) == expected
    assert dict(q.followup_figures(facts))["Jours sans contact"] == f"{silent} jours"


def test_followup_silence_is_not_judged_outside_training():
    facts = followup(silent=None, gap=10)
    assert dict(q.followup_figures(facts))["Jours sans contact"] == "— (hors période de formation)"
    assert status(q.followup_findings(facts)) == q.RULE_MET


def test_followup_without_a_meeting_is_to_complete():
    assert status(q.followup_findings(followup(meetings=0))) == q.TO_COMPLETE


def test_followup_threshold_comes_from_the_organisation():
    assert status(q.followup_findings(followup(gap=45, threshold=45))) == q.RULE_MET
    assert status(q.followup_findings(followup(gap=46, threshold=45))) == q.TO_JUSTIFY


@pytest.mark.parametrize("days, expected", [(30, q.RULE_MET), (31, q.TO_JUSTIFY), (61, q.TO_JUSTIFY)])
def test_followup_gap_in_a_real_store(project, days, expected):
    """The issue's case: a 61-day gap beside a 30-day threshold said « conforme »."""
    first = dt.date(2026, 9, 1)
    for day in (first, first + dt.timedelta(days=days)):
        add(project, "bob", meeting(date=when(day.isoformat())), author="tom")
    ind = report(project, today=first + dt.timedelta(days=days + 2)).indicator(10)
    assert dict(ind.figures)["Intervalle le plus long"].startswith(f"{days} jours")
    assert ind.status == expected, ind.reasons


# ----------------------------------------------------------------- indicator 11: assessment


def assessment(*, assessments=2, assessed=4, total=4, learner_status="en-cours", found=True):
    return q.AssessmentFacts("mini", found, assessments, dt.date(2026, 6, 1) if assessments else None,
                             learner_status, total, assessed, 2, 50, tuple(f"C{i}" for i in range(total - assessed)))


@pytest.mark.parametrize("facts, expected", [
    (assessment(), q.RULE_MET),
    (assessment(assessments=0, assessed=0), q.TO_COMPLETE),
    (assessment(assessed=3), q.RULE_MET),  # in training: not everything assessed yet
    (assessment(assessed=3, learner_status="termine"), q.TO_COMPLETE),  # over: total − 1 assessed
    (assessment(assessed=4, learner_status="termine"), q.RULE_MET),
    (assessment(found=False), q.TO_COMPLETE),
])
def test_assessment_status(facts, expected):
    assert status(q.assessment_findings(facts)) == expected
    shown = dict(q.assessment_figures(facts))
    assert shown["Statut de l'apprenant·e"] in ("En cours", "Terminé")  # the status the rule reads is shown
    if facts.framework_found:
        assert shown["Compétences évaluées"] == f"{facts.assessed} sur {facts.total}"


# ----------------------------------------------------------------- indicator 12: engagement


def engagement(**kw):
    base = dict(followup_days=7, attendance_min=0.8, learner_status="en-cours")
    return q.EngagementFacts(**{**base, **kw})


@pytest.mark.parametrize("facts, expected", [
    (engagement(), q.RULE_MET),
    (engagement(attendance=0.8, recent_attendance=0.8), q.RULE_MET),  # at the threshold
    (engagement(attendance=0.85, recent_attendance=0.79), q.TO_COMPLETE),  # just under, nothing done
    (engagement(attendance=0.5, alerts=1), q.RULE_MET),  # under, met by an alert
    (engagement(attendance=0.5, plans={"open": 1}), q.RULE_MET),  # or by a plan
    (engagement(learner_status="abandon"), q.TO_COMPLETE),
    (engagement(learner_status="abandon", alerts=1), q.RULE_MET),
    (engagement(alerts=1, open_alerts=1, late_alerts=(q.LateItem("Absences", TODAY, 8),)), q.TO_COMPLETE),
    (engagement(plans={"open": 1}, overdue_plans=(q.LateItem("Plan", TODAY, 1),)), q.TO_COMPLETE),
])
def test_engagement_status(facts, expected):
    assert status(q.engagement_findings(facts)) == expected
    shown = dict(q.engagement_figures(facts))
    assert shown["Seuil d'assiduité"] == "80 %"
    assert shown["Alertes sans suite après 7 jours"] == str(len(facts.late_alerts))
    assert shown["Plans en retard"] == str(len(facts.overdue_plans))


@pytest.mark.parametrize("age, late", [(6, 0), (7, 0), (8, 1)])
def test_alert_follow_up_delay_in_a_real_store(project, age, late):
    add(project, "bob", {"type": "alert", "date": when("2026-11-01"), "title": "Absences",
                         "category": "organisationnelle", "severity": "haute"}, author="tom")
    ind = report(project, today=dt.date(2026, 11, 1) + dt.timedelta(days=age)).indicator(12)
    assert dict(ind.figures)["Alertes sans suite après 7 jours"] == str(late)
    assert ind.status == (q.TO_COMPLETE if late else q.RULE_MET)


@pytest.mark.parametrize("days_after_due, expected", [(0, q.RULE_MET), (1, q.TO_COMPLETE)])
def test_action_plan_due_date_in_a_real_store(project, days_after_due, expected):
    add(project, "bob", {"type": "action-plan", "date": when("2026-06-02"), "title": "Reprise",
                         "actions": ["Assister aux cours"], "due": "2026-10-01"}, author="tom")
    ind = report(project, today=dt.date(2026, 10, 1) + dt.timedelta(days=days_after_due)).indicator(12)
    assert dict(ind.figures)["Plans en retard"] == str(int(expected == q.TO_COMPLETE))
    assert ind.status == expected


# ----------------------------------------------------------------- indicator 13: work-study


@pytest.mark.parametrize("feedback, visits, expected", [
    (0, 0, q.TO_COMPLETE), (1, 0, q.TO_COMPLETE), (0, 1, q.TO_COMPLETE), (1, 1, q.RULE_MET)])
def test_work_study_status(feedback, visits, expected):
    facts = q.WorkStudyFacts("Entreprise", ("carl",), feedback, visits, TODAY if visits else None)
    assert status(q.work_study_findings(facts)) == expected
    shown = dict(q.work_study_figures(facts))
    assert (shown["Retours de l'entreprise"], shown["Visites en entreprise"]) == (str(feedback), str(visits))


# ----------------------------------------------------------------- statuses


def test_a_learner_and_a_cohort_line_take_their_worst_status(project):
    add(project, "bob", {"type": "positioning", "date": when("2026-03-01"), "title": "Positionnement tardif",
                         "competencies": [{"code": "A1", "level": "1"}]}, author="tom")
    bob = report(project)
    assert bob.indicator(8).status == q.TO_JUSTIFY and bob.indicator(11).status == q.TO_COMPLETE
    assert bob.overall == q.TO_COMPLETE and not bob.ok
    [line8] = [line for line in q.cohort_report("x", [bob]).lines if line.number == 8]
    assert (line8.status, line8.to_justify, line8.to_complete) == (q.TO_JUSTIFY, ["bob"], [])
    assert q.worst([]) == q.RULE_MET


def test_no_status_claims_conformity():
    assert q.STATUSES == ("règle de l'organisme respectée", "écart à justifier", "à compléter")
    assert not any("conforme" in s for s in (*q.STATUSES, *q.OVERALL.values()))
    assert q.CRITERIA[8] == 2 and {q.CRITERIA[n] for n in (10, 11, 12, 13)} == {3}
