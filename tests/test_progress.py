"""Derived views against hand-computed expectations on a small, real store."""

import datetime as dt

import pytest
from factories import add, meeting, when

from livret.views import progress as pg

TODAY = dt.date(2026, 11, 21)


@pytest.fixture
def record(project):
    """alice's record: a hand-made history whose figures are worked out in the tests."""
    a = lambda fields, **kw: add(project, "alice", fields, **kw)  # noqa: E731
    a({"type": "positioning", "date": when("2026-01-06"), "title": "Positionnement",
       "competencies": [{"code": "A1", "level": "1"}, {"code": "B1", "level": "2"}]})
    m1 = a(meeting(date=when("2026-01-20"), duration=60, modality="presentiel", kind="accueil"))
    a(meeting(date=when("2026-03-01"), duration=30, modality="distance-asynchrone"))
    # a mistyped duration, corrected: only the correction counts
    wrong = a(meeting(date=when("2026-04-10"), duration=450, modality="distance-synchrone"))
    a(meeting(date=when("2026-04-10"), duration=45, modality="distance-synchrone", corrects=wrong.id))
    ev = add(project, "alice", {"type": "evidence", "date": when("2026-04-12"), "title": "Preuve",
                                "competencies": [{"code": "A1"}, {"code": "B2"}]}, author="alice", role="learner")
    add(project, "alice", {"type": "reflection", "date": when("2026-04-13"), "title": "Auto",
                           "competencies": [{"code": "A1", "level": "3"}]}, author="alice", role="learner")
    a({"type": "assessment", "date": when("2026-05-01"), "title": "Éval 1",
       "competencies": [{"code": "A1", "level": "3"}, {"code": "B1", "level": "2"}]})
    a({"type": "assessment", "date": when("2026-06-15"), "title": "Éval 2",
       "competencies": [{"code": "B1", "level": "4"}, {"code": "A2", "level": "3"}]})
    a({"type": "assessment", "date": when("2026-06-15", 15), "title": "Éval 2 bis",
       "competencies": [{"code": "A2", "level": "2"}]})
    plan = a({"type": "action-plan", "date": when("2026-06-20"), "title": "Rattrapage",
              "objectives": ["Rendre le dossier"], "due": "2026-07-15"})
    a({"type": "action-plan", "date": when("2026-07-20"), "title": "Rattrapage : report",
       "updates": plan.id, "due": "2026-09-30", "status": "open"})
    done = a({"type": "action-plan", "date": when("2026-06-21"), "title": "Stage",
              "actions": ["Trouver un stage"], "due": "2026-12-01"})
    a({"type": "action-plan", "date": when("2026-08-01"), "title": "Stage trouvé", "updates": done.id,
       "due": "2026-12-01", "status": "done"})
    for start, end, planned, attended in [("2026-09-01", "2026-09-30", 100, 90),
                                          ("2026-10-01", "2026-10-31", 100, 60),
                                          ("2026-11-01", "2026-11-15", 50, 25)]:
        a({"type": "attendance", "date": when(end), "title": "Assiduité", "period_start": start,
           "period_end": end, "hours_planned": planned, "hours_attended": attended})
    alert = a({"type": "alert", "date": when("2026-10-01"), "title": "Difficultés de transport",
               "category": "personnelle", "severity": "moyenne"})
    a({"type": "feedback", "date": when("2026-10-02"), "title": "Retour", "about": ev.id})
    a({"type": "alert", "date": when("2026-10-05"), "title": "Santé", "category": "sante", "severity": "haute"})
    rec = project.store.load_learner("alice")
    assert rec.problems == []
    rec.ids = {"m1": m1.id, "wrong": wrong.id, "plan": plan.id, "done": done.id, "alert": alert.id, "ev": ev.id}
    return rec


def test_competency_levels(record):
    views = {v.code: v for v in pg.competency_views(record.framework, record.entries)}
    a1, a2, b1, b2 = views["A1"], views["A2"], views["B1"], views["B2"]
    assert (a1.positioning.level, a1.self_assessed.level, a1.assessed.level, a1.acquired) == ("1", "3", "3", True)
    assert (a2.assessed.level, a2.acquired) == ("2", False)  # the later assessment the same day wins
    assert (b1.positioning.level, b1.assessed.level, b1.acquired) == ("2", "4", True)
    assert b2.assessed is None and b2.evidence == [record.ids["ev"]] and not b2.acquired
    assert [e.source for e in a1.history] == ["positioning", "reflection", "assessment"]
    assert pg.progress(list(views.values())) == pg.Progress(2, 4)


def test_acquired_over_time_and_blocks(record):
    assert pg.acquired_over_time(record.framework, record.entries) == [
        (dt.date(2026, 5, 1), 1), (dt.date(2026, 6, 15), 2)]
    blocks = {b.code: b for b in pg.block_views(record.framework, pg.competency_views(record.framework, record.entries))}
    # scale ranks 0..3; block A assessed A1=3 (rank 2), A2=2 (rank 1): mean 1.5 / 3
    assert blocks["A"].assessed == 0.5 and blocks["A"].acquired == 1
    assert blocks["B"].assessed == 1.0 and blocks["B"].positioning == pytest.approx(1 / 3, abs=1e-4)


def test_followup_uses_corrected_meeting(record):
    fu = pg.followup(record.entries, TODAY)
    assert fu.count == 3 and fu.total_minutes == 60 + 30 + 45
    assert fu.by_modality == {"presentiel": 1, "distance-asynchrone": 1, "distance-synchrone": 1}
    # contacts: 01-06 positioning, 01-20, 03-01, 04-10, 05-01, 06-15, 10-02 feedback
    assert fu.last_contact == dt.date(2026, 10, 2)
    assert fu.days_since_last_contact == 50
    assert fu.longest_gap == pg.Gap(109, dt.date(2026, 6, 15), dt.date(2026, 10, 2))
    assert fu.average_gap_days == round((14 + 40 + 40 + 21 + 45 + 109) / 6, 1)


def test_action_plans(record):
    plans = {p.id: p for p in pg.action_plans(record.entries, TODAY)}
    late = plans[record.ids["plan"]]
    assert (late.status, late.due, late.overdue, late.title) == ("open", dt.date(2026, 9, 30), True, "Rattrapage")
    assert plans[record.ids["done"]].status == "done" and not plans[record.ids["done"]].overdue


def test_attendance_rates(record):
    att = pg.attendance(record.entries)
    assert (att.hours_planned, att.hours_attended) == (250, 175)
    assert att.rate == 0.7 and att.recent_rate == 0.7


def test_attention_lists_what_needs_looking_at(record):
    found = pg.attention(record.profile, record.entries, pg.Thresholds(), TODAY)
    codes = sorted(a.code for a in found)
    assert codes == ["low-attendance", "no-contact", "open-alert", "open-alert", "overdue-plan"]
    alerts = {a.entries[0]: a for a in found if a.code == "open-alert"}
    assert alerts[record.ids["alert"]].severity == "haute"  # no follow-up for 51 days
    assert [a.severity for a in found] == sorted((a.severity for a in found), key=pg.SEVERITY_RANK.get)
    quiet = pg.attention(record.profile, record.entries, pg.Thresholds(no_contact_days=60, attendance_min=0.5),
                         TODAY)
    assert "no-contact" not in {a.code for a in quiet} and "low-attendance" not in {a.code for a in quiet}


def test_shared_audience_drops_staff_entries(record):
    shared = pg.for_audience(record.entries, "shared")
    assert all(e.visibility == "shared" for e in shared)
    assert len(shared) == len(record.entries) - 2  # the two alerts
    s = pg.summary(record, pg.Organisation(), TODAY, audience="shared")
    assert s.attention == []


def test_corrections_chain(record):
    fixed = [e for e in record.entries if e.meta.corrects == record.ids["wrong"]][0]
    assert [e.id for e in pg.corrections_of(record.entries, fixed.id)] == [record.ids["wrong"]]
    assert record.ids["wrong"] not in {e.id for e in pg.effective(record.entries)}


def test_french_formatting():
    assert pg.fr_date(dt.date(2026, 3, 1)) == "1er mars 2026"
    assert pg.fr_date(dt.date(2026, 8, 15)) == "15 août 2026"
    assert pg.duration(135) == "2 h 15" and pg.duration(45) == "45 min" and pg.duration(120) == "2 h"
    assert pg.percent(0.756) == "76 %"
