"""The dashboard's list as pure functions (livret.views.roster) and the hours of a period (livret.views.periods)."""

from __future__ import annotations

import datetime as dt

import pytest
from factories import add, meeting, when

from livret.store.schema import Group, LearnerProfile, Organisation
from livret.views import progress
from livret.views.periods import overlaps, planned_hours, recorded_hours, working_days
from livret.views.roster import (
    NONE,
    Filters,
    Row,
    choices,
    date_fr,
    decimal_fr,
    filter_rows,
    group_members,
    keep_profile,
    matching,
    sort_rows,
)

TODAY = dt.date(2026, 11, 21)


def profile(lid: str, **over) -> LearnerProfile:
    data = dict(id=lid, first_name=lid.capitalize(), last_name="Test", programme="BTS MCO", framework="mini",
                start=dt.date(2026, 1, 5), tutors=["tina"])
    data.update(over)
    return LearnerProfile(**data)


GROUPS = {"g1": Group(id="g1", name="Promo 1", members=["ann", "bea"]),
          "g2": Group(id="g2", name="Promo 2", members=["bea"])}
MEMBERS = group_members(GROUPS)


# ---------------------------------------------------------------- filters from a query string


def test_filters_from_args_keep_only_what_can_be_valid():
    f = Filters.from_args({"groupe": " g1 ", "tuteur": "tina", "formation": "BTS  MCO", "statut": "termine",
                           "attention": "1"})
    assert f == Filters("g1", "tina", "BTS MCO", "termine", True)
    assert f.args() == {"groupe": "g1", "tuteur": "tina", "formation": "BTS MCO", "statut": "termine",
                        "attention": "1"}
    assert f.active and f.on_profile
    bad = Filters.from_args({"tuteur": "Pas un identifiant", "statut": "inconnu", "attention": "non"})
    assert bad == Filters() and not bad.active and bad.args() == {}
    assert Filters.from_args({"tuteur": NONE}).tutor == NONE
    # Who may not filter by tutor, or see alerts, gets no such filter whatever the URL says.
    limited = Filters.from_args({"tuteur": "tina", "attention": "1", "groupe": "g1"}, staff=False, tutors=False)
    assert limited == Filters(group="g1")
    assert len(Filters.from_args({"formation": "x" * 500}).programme) == 200


# ---------------------------------------------------------------- filters on profiles


@pytest.mark.parametrize("filters, expected", [
    (Filters(), {"ann", "bea", "cid", "dan"}),
    (Filters(group="g1"), {"ann", "bea"}),
    (Filters(group="g2"), {"bea"}),
    (Filters(group=NONE), {"cid", "dan"}),
    (Filters(group="unknown"), set()),
    (Filters(tutor="tom"), {"bea"}),
    (Filters(tutor=NONE), {"cid"}),
    (Filters(programme="bts mco"), {"ann", "bea", "cid"}),  # case and accents ignored
    (Filters(programme="CAP Cuisine"), {"dan"}),
    (Filters(status="abandon"), {"dan"}),
    (Filters(group="g1", tutor="tina"), {"ann"}),
])
def test_keep_profile(filters, expected):
    profiles = {
        "ann": profile("ann"),
        "bea": profile("bea", tutors=["tom", "tina"][:1]),
        "cid": profile("cid", tutors=[]),
        "dan": profile("dan", programme="CAP Cuisine", status="abandon", status_date=dt.date(2026, 6, 1)),
    }
    kept = {lid for lid, p in profiles.items() if keep_profile(lid, p, filters, MEMBERS)}
    assert kept == expected


def test_an_invalid_profile_passes_only_the_filters_it_can_be_judged_by():
    assert keep_profile("ann", None, Filters(), MEMBERS)
    assert keep_profile("ann", None, Filters(group="g1"), MEMBERS)
    assert not keep_profile("ann", None, Filters(group="g2"), MEMBERS)
    for f in (Filters(tutor="tina"), Filters(programme="BTS MCO"), Filters(status="en-cours")):
        assert not keep_profile("ann", None, f, MEMBERS)


# ---------------------------------------------------------------- with summaries (real records)


@pytest.fixture
def rows(project):
    """alice: an overdue plan (needs attention); bob: positioned, a recent contact; zoe: an invalid profile."""
    add(project, "alice", {"type": "action-plan", "date": when("2026-05-01"), "title": "Rattrapage",
                           "objectives": ["Rendre le dossier"], "due": "2026-06-01"})
    add(project, "bob", {"type": "positioning", "date": when("2026-01-09"), "title": "Positionnement",
                         "competencies": [{"code": "A1", "level": "1"}]}, author="tom")
    add(project, "bob", meeting(date=when("2026-11-19")), author="tom")
    settings = Organisation()
    out = []
    for lid in ("alice", "bob"):
        record = project.store.load_learner(lid)
        out.append(Row(lid, record, progress.summary(record, settings, TODAY), record.profile))
    out.append(Row("zoe", None, None, None))
    return out


def test_filter_rows_combines_profile_and_attention_filters(rows):
    members = group_members([Group(id="g", name="G", members=["alice", "zoe"])])
    assert [r.id for r in filter_rows(rows, Filters(), members)] == ["alice", "bob", "zoe"]
    # « Needs attention »: an alert to look at, or a profile that cannot be read.
    assert [r.id for r in filter_rows(rows, Filters(attention=True), members)] == ["alice", "zoe"]
    assert [r.id for r in filter_rows(rows, Filters(group="g", attention=True), members)] == ["alice", "zoe"]
    assert [r.id for r in filter_rows(rows, Filters(tutor="tom"), members)] == ["bob"]
    assert [r.id for r in filter_rows(rows, Filters(tutor="tom", attention=True), members)] == []


def test_search_and_sort_combine_with_filters(rows):
    kept = filter_rows(rows, Filters(programme="Formation de test"), {})
    assert [r.id for r in kept] == ["alice", "bob"]
    assert [r.id for r in matching(kept, "BOB")] == ["bob"]
    assert [r.id for r in sort_rows(kept, "nom", True)] == ["bob", "alice"]
    assert [r.id for r in sort_rows(rows, "urgence", False)] == ["alice", "bob", "zoe"]  # invalid last


def test_choices_come_from_the_learners_given():
    profiles = {"ann": profile("ann", programme="Élagueur"), "bea": profile("bea", tutors=["tom"]),
                "cid": profile("cid", programme="BTS MCO", tutors=[]), "zoe": None}
    found = choices(profiles, GROUPS)
    assert found.programmes == ["BTS MCO", "Élagueur"]
    assert found.tutors == ["tina", "tom"]
    assert found.groups == [("g1", "Promo 1"), ("g2", "Promo 2")]
    assert [v for v, _ in found.statuses] == ["en-cours", "termine", "abandon"]
    # A group holding none of the learners given (a tutor's) is not offered.
    assert choices({"cid": profiles["cid"]}, GROUPS).groups == []


def test_french_spreadsheet_values():
    assert decimal_fr(0.8567) == "85,7" and decimal_fr(1.0) == "100,0" and decimal_fr(None) == ""
    assert decimal_fr(0.5, digits=0) == "50"
    assert date_fr(dt.date(2026, 3, 4)) == "04/03/2026" and date_fr(None) == ""


# ---------------------------------------------------------------- hours of a period


def test_working_days_count_mondays_to_fridays():
    monday = dt.date(2026, 11, 2)
    assert working_days(monday, monday + dt.timedelta(days=4)) == 5
    assert working_days(monday, monday + dt.timedelta(days=6)) == 5  # the weekend counts nothing
    assert working_days(monday + dt.timedelta(days=5), monday + dt.timedelta(days=6)) == 0
    assert working_days(monday, monday + dt.timedelta(days=13)) == 10
    assert working_days(monday + dt.timedelta(days=3), monday + dt.timedelta(days=9)) == 5  # Thu to Wed
    assert working_days(monday, monday) == 1
    assert working_days(monday, monday - dt.timedelta(days=1)) == 0
    # Against a day-by-day count over a year of starts and lengths.
    for offset in range(14):
        for length in range(40):
            start = monday + dt.timedelta(days=offset)
            end = start + dt.timedelta(days=length)
            naive = sum((start + dt.timedelta(days=i)).weekday() < 5 for i in range(length + 1))
            assert working_days(start, end) == naive


def test_planned_hours_is_weekly_hours_times_working_days_over_five():
    monday = dt.date(2026, 11, 2)
    assert planned_hours(35, monday, monday + dt.timedelta(days=2)) == 21
    assert planned_hours(35, monday, monday + dt.timedelta(days=13)) == 70
    assert planned_hours(24, monday, monday) == 4.8
    assert planned_hours(10, monday, monday + dt.timedelta(days=2)) == 6
    assert planned_hours(7, monday, monday + dt.timedelta(days=1)) == 2.8
    assert planned_hours(None, monday, monday) is None
    assert planned_hours(35, monday + dt.timedelta(days=5), monday + dt.timedelta(days=6)) == 0


def test_overlaps_includes_both_bounds():
    d = dt.date(2026, 11, 2)
    week = (d, d + dt.timedelta(days=4))
    assert overlaps(*week, d + dt.timedelta(days=4), d + dt.timedelta(days=10))
    assert not overlaps(*week, d + dt.timedelta(days=5), d + dt.timedelta(days=10))
    assert overlaps(*week, d - dt.timedelta(days=10), d)
    assert overlaps(*week, d + dt.timedelta(days=1), d + dt.timedelta(days=2))


def test_recorded_hours_of_a_period_count_the_latest_version_only(project):
    first = add(project, "alice", {"type": "attendance", "date": when("2026-11-06"), "title": "Semaine 45",
                                   "period_start": "2026-11-02", "period_end": "2026-11-06",
                                   "hours_planned": 35, "hours_attended": 30})
    fixed = add(project, "alice", {"type": "attendance", "date": when("2026-11-06"), "title": "Semaine 45",
                                   "period_start": "2026-11-02", "period_end": "2026-11-06",
                                   "hours_planned": 35, "hours_attended": 32, "corrects": first.id})
    add(project, "alice", {"type": "attendance", "date": when("2026-11-13"), "title": "Semaine 46",
                           "period_start": "2026-11-09", "period_end": "2026-11-13",
                           "hours_planned": 35, "hours_attended": 35})
    add(project, "alice", meeting(date=when("2026-11-05")))
    entries = project.store.load_learner("alice").entries
    found = recorded_hours(entries, dt.date(2026, 11, 6), dt.date(2026, 11, 9))
    assert [(r.entry_id, r.attended) for r in found] == [(fixed.id, 32), (found[1].entry_id, 35)]
    assert found[0].source == "attendance" and found[0].start == dt.date(2026, 11, 2)
    assert recorded_hours(entries, dt.date(2026, 11, 16), dt.date(2026, 11, 20)) == []
    assert len(recorded_hours(entries, dt.date(2026, 11, 3), dt.date(2026, 11, 3))) == 1
