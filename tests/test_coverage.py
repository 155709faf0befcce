"""The centre / company coverage matrix, the month grids and the mission plan (livret/views/coverage.py,
livret/views/worksite.py): pure functions over a real store's entries."""

from __future__ import annotations

import datetime as dt

from factories import add, when

from livret.store.schema import CalendarPeriod
from livret.views import progress
from livret.views.calendar import learner_periods
from livret.views.coverage import coverage, gap_text
from livret.views.worksite import mission_plan, missions, month_grids, place_days


def period(start: str, end: str, kind: str, label: str | None = None) -> CalendarPeriod:
    return CalendarPeriod(start=dt.date.fromisoformat(start), end=dt.date.fromisoformat(end), kind=kind, label=label)


def mission(title: str, codes: list[str], **over) -> dict:
    data = {"type": "mission", "date": when("2026-03-02"), "title": title, "term": "court",
            "competencies": [{"code": c} for c in codes]}
    data.update(over)
    return data


def rows_by_code(project, learner="alice", audience="staff", work_study=True):
    record = project.store.load_learner(learner)
    entries = progress.for_audience(record.entries, audience)
    return {r.code: r for r in coverage(record.framework, entries, [], work_study=work_study)}


def test_centre_and_company_columns_and_gaps(project):
    add(project, "alice", {"type": "assessment", "date": when("2026-03-10"), "title": "Évaluation du bloc A",
                           "competencies": [{"code": "A1", "level": "3"}]})
    add(project, "alice", {"type": "positioning", "date": when("2026-01-08"), "title": "Positionnement",
                           "competencies": [{"code": "B1", "level": "1"}]})
    add(project, "alice", mission("Accueil des visiteurs", ["A1", "A2"]), author="carl", role="company")
    dropped = add(project, "alice", mission("Inventaire", ["B2"]), author="carl", role="company")
    add(project, "alice", mission("Inventaire", [], updates=dropped.id, status="dropped",
                                  date=when("2026-04-01")), author="carl", role="company")
    add(project, "alice", {"type": "observation", "date": when("2026-03-31"), "title": "Grille de mars",
                           "period_start": "2026-03-01", "period_end": "2026-03-31",
                           "competencies": [{"code": "A1", "level": "2"}], "not_observed": ["B1"]},
        author="carl", role="company")
    add(project, "alice", {"type": "company-feedback", "date": when("2026-03-31"), "title": "Retour de mars",
                           "period_start": "2026-03-01", "period_end": "2026-03-31",
                           "competencies": [{"code": "A2", "level": "2"}]}, author="carl", role="company")
    rows = rows_by_code(project)
    assert list(rows) == ["A1", "A2", "B1", "B2"]  # the framework's order
    a1 = rows["A1"]
    assert a1.centre == ["Évaluation : Évaluation du bloc A (10 mars 2026)"]
    assert a1.company[0].startswith("Grille d'observation : Grille de mars")
    assert any(x.startswith("Mission (court terme, en cours) : Accueil des visiteurs") for x in a1.company)
    assert not a1.gap and len(a1.centre_ids) == 1 and len(a1.company_ids) == 2
    assert rows["A2"].gap and gap_text(rows["A2"]) == "Lacune : pas encore travaillée en centre"
    assert rows["B1"].centre and not rows["B1"].company  # « non vu en entreprise » is no company trace
    assert gap_text(rows["B1"]) == "Lacune : pas encore travaillée en entreprise"
    assert rows["B2"].company == [] and rows["B2"].gap  # the dropped mission does not count
    assert gap_text(rows["B2"]) == "Lacune : travaillée ni en centre ni en entreprise"
    # no gap is stated for a learner who is not in work-study
    assert not any(r.gap for r in rows_by_code(project, work_study=False).values())


def test_shared_audience_never_names_a_staff_entry(project):
    add(project, "alice", {"type": "positioning", "date": when("2026-01-08"), "title": "Positionnement confidentiel",
                           "visibility": "staff", "competencies": [{"code": "A1", "level": "1"}]})
    assert rows_by_code(project, audience="staff")["A1"].centre
    shared = rows_by_code(project, audience="shared")["A1"]
    assert shared.centre == [] and shared.centre_ids == []


def test_a_mission_chain_shows_its_latest_state(project):
    first = add(project, "alice", mission("Standard téléphonique", ["A1"], term="moyen",
                                          period_start="2026-03-02", period_end="2026-05-29"))
    add(project, "alice", mission("Standard téléphonique", [], term="moyen", status="done", updates=first.id,
                                  date=when("2026-05-29")))
    add(project, "alice", mission("Relances", ["B1", "B2"], term="long"), author="carl", role="company")
    add(project, "alice", mission("Classement", ["A2"]), author="carl", role="company")
    record = project.store.load_learner("alice")
    found = {m.title: m for m in missions(record.entries)}
    assert found["Standard téléphonique"].status == "done" and found["Standard téléphonique"].records == 2
    assert found["Standard téléphonique"].codes == ("A1",)  # the update names none: the first record's
    assert found["Standard téléphonique"].id == first.id
    assert [(term, [m.title for m in ms]) for term, _, ms in mission_plan(record.entries)] == [
        ("court", ["Classement"]), ("moyen", ["Standard téléphonique"]), ("long", ["Relances"])]


def test_month_grids_are_monday_first_with_a_letter_per_day(project):
    periods = [period("2026-02-02", "2026-02-06", "centre"), period("2026-02-09", "2026-02-27", "entreprise"),
               period("2026-02-16", "2026-02-16", "absence", "Arrêt maladie")]
    grids = month_grids(periods, dt.date(2026, 2, 1), dt.date(2026, 3, 15))
    assert [g.title for g in grids] == ["Février 2026", "Mars 2026"]
    feb = grids[0]
    assert feb.weeks[0][:6] == [None] * 6 and feb.weeks[0][6].date == dt.date(2026, 2, 1)  # 1 Feb 2026: a Sunday
    assert all(len(w) == 7 for g in grids for w in g.weeks)
    days = {d.date: d for w in feb.weeks for d in w if d}
    assert days[dt.date(2026, 2, 2)].letter == "C" and days[dt.date(2026, 2, 9)].letter == "E"
    assert days[dt.date(2026, 2, 16)].letter == "A" and days[dt.date(2026, 2, 28)].letter == ""
    assert place_days(periods) == {"centre": 5, "entreprise": 14, "absence": 1}


def test_group_periods_add_to_the_learners(project):
    from livret.store.schema import Group, LearnerProfile

    profile = project.store.profile("alice").model_copy(update={"calendar": [period("2026-02-02", "2026-02-06",
                                                                                    "centre")]})
    group = Group(id="g", name="G", members=["alice"], calendar=[period("2026-02-09", "2026-02-27", "entreprise"),
                                                                period("2026-02-02", "2026-02-06", "centre")])
    other = Group(id="h", name="H", members=["bob"], calendar=[period("2026-03-02", "2026-03-06", "centre")])
    assert isinstance(profile, LearnerProfile)
    assert [p.kind for p in learner_periods(profile, [group, other])] == ["centre", "entreprise"]
