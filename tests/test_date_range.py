"""Implausible dates: refused on every write, warned about in hand-edited files.

The learners of tests/factories.py follow a programme from 5 January 2026 to
18 December 2026 and ``add`` writes at 20 November 2026, 18:00 (Paris).
With the defaults (``dates`` in ``_organisation.yml``: 180 days before the
start, 365 after the end) an entry may be dated from 9 July 2025, what
happened up to today (20 November 2026), what is planned (a plan's ``due``,
a period's end) up to 18 December 2027.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from factories import add, hand_written, meeting, when

from livret.publish.site.pages import learner_site
from livret.store.date_range import EARLIEST_DATE, date_window
from livret.store.errors import InvalidInput
from livret.store.schema import DateSettings, LearnerProfile

PROGRAMME = "(formation du 5 janvier 2026 au 18 décembre 2026)"
HAPPENED = f"entre le 9 juillet 2025 et le 20 novembre 2026 {PROGRAMME}"
PLANNED = f"entre le 9 juillet 2025 et le 18 décembre 2027 {PROGRAMME}"


def plan(due: str, **over) -> dict:
    return {"type": "action-plan", "date": when("2026-06-02"), "title": "Reprise", "actions": ["Venir"],
            "due": due, **over}


def attendance(start: str, end: str) -> dict:
    return {"type": "attendance", "date": when("2026-11-20"), "title": "Assiduité", "period_start": start,
            "period_end": end, "hours_planned": 35, "hours_attended": 30}


def refused(project, fields, learner="bob") -> dict[str, list[str]]:
    """The field errors of a refused write, after checking nothing was written (files, git)."""
    files = sorted(project.portfolios.rglob("*.md"))
    head = project.store.history.git("rev-parse", "HEAD").stdout
    with pytest.raises(InvalidInput) as exc:
        add(project, learner, fields, author="tom")
    assert sorted(project.portfolios.rglob("*.md")) == files
    assert project.store.history.git("rev-parse", "HEAD").stdout == head
    return exc.value.by_field()


# ----------------------------------------------------------------- refused on write, at the boundaries


@pytest.mark.parametrize("day", ["0001-01-01", "0471-03-02", "0648-07-14", "1999-12-31", "2019-05-06",
                                 "2025-07-08"])
def test_dates_before_the_range_are_refused_with_the_range(project, day):
    errors = refused(project, meeting(date=when(day)))
    assert list(errors) == ["date"]
    [message] = errors["date"]
    assert message.startswith("date hors de la période admise (lu : ")
    assert message.endswith(HAPPENED)


@pytest.mark.parametrize("day", ["2025-07-09", "2026-01-05", "2026-11-20"])
def test_dates_inside_the_range_are_accepted(project, day):
    stored = add(project, "bob", meeting(date=when(day)), author="tom")
    assert stored.meta.date.date().isoformat() == day


@pytest.mark.parametrize("value", ["2026-11-21T10:00:00+01:00", "2027-03-01T10:00:00+01:00",
                                   "9999-12-31T23:00:00-05:00"])
def test_what_happened_is_never_after_today(project, value):
    [message] = refused(project, meeting(date=value))["date"]
    assert message.startswith("date postérieure à aujourd'hui, le 20 novembre 2026 (lu : ")
    assert "une entrée décrit ce qui a eu lieu" in message and message.endswith(HAPPENED)


def test_today_is_the_organisations_day(project):
    """23:30 on 20 November in New York is 21 November in Paris: after today, refused."""
    assert add(project, "bob", meeting(date="2026-11-20T11:30:00-05:00"), author="tom")  # 17:30 in Paris
    errors = refused(project, meeting(date="2026-11-20T23:30:00-05:00"))
    assert errors["date"][0].startswith("date postérieure à aujourd'hui")


@pytest.mark.parametrize("due, ok", [("2025-07-08", False), ("2025-07-09", True), ("2026-12-31", True),
                                     ("2027-12-18", True), ("2027-12-19", False), ("0471-01-01", False)])
def test_a_plans_due_date_may_be_ahead_within_the_range(project, due, ok):
    """``due`` is planned: after today is its nature, but not beyond 365 days after the end."""
    if ok:
        assert add(project, "bob", plan(due), author="tom").meta.due.isoformat() == due
    else:
        [message] = refused(project, plan(due))["due"]
        assert message.startswith("date hors de la période admise") and message.endswith(PLANNED)


def test_periods_start_in_the_past_and_may_end_ahead(project):
    assert add(project, "bob", attendance("2026-11-01", "2026-11-30"), author="tom")
    errors = refused(project, attendance("2026-11-21", "2026-11-30"))
    assert list(errors) == ["period_start"] and errors["period_start"][0].startswith("date postérieure")
    errors = refused(project, attendance("0471-11-01", "0471-11-30"))
    assert set(errors) == {"period_start", "period_end"}


def test_every_date_error_is_given_at_once(project):
    errors = refused(project, plan("3026-01-01", date=when("0648-01-01")))
    assert set(errors) == {"date", "due"}


# ----------------------------------------------------------------- the range and its settings


def test_the_range_follows_the_organisation_settings(project):
    (project.portfolios / "_organisation.yml").write_text(
        "name: OF de test\ndates:\n  before_start_days: 10\n  after_end_days: 0\n", encoding="utf-8")
    assert refused(project, meeting(date=when("2025-12-25")))["date"][0].endswith(
        f"entre le 26 décembre 2025 et le 20 novembre 2026 {PROGRAMME}")
    assert add(project, "bob", meeting(date=when("2025-12-26")), author="tom")
    assert add(project, "bob", plan("2026-12-18"), author="tom")
    assert refused(project, plan("2026-12-19"))["due"]


@pytest.mark.parametrize("text, line, message", [
    ("dates:\n  before_start_days: -1\n", 2, "dates.before_start_days : doit être au moins 0"),
    ("dates:\n  after_end_days: beaucoup\n", 2, "dates.after_end_days : nombre entier attendu"),
    ("dates:\n  avant: 10\n", 2, "dates.avant : clé inconnue"),
])
def test_bad_settings_are_named_with_their_line(project, text, line, message):
    (project.portfolios / "_organisation.yml").write_text("name: OF de test\n" + text, encoding="utf-8")
    [problem] = project.store.check()
    assert problem.path.endswith("_organisation.yml") and problem.line == line + 1
    assert problem.message.startswith(message), problem.message


def test_default_range_is_the_documented_one():
    rule = DateSettings()
    assert (rule.before_start_days, rule.after_end_days) == (180, 365)


def test_a_programme_starting_far_ahead_admits_no_date_yet(project):
    record = project.store.load_learner("bob")
    later = record.profile.model_copy(update={"start": dt.date(2027, 7, 1), "end": dt.date(2027, 12, 18)})
    project.store.write_profile(later, record.profile_body, author="tom", message="bob : rentrée 2027")
    [message] = refused(project, meeting(date=when("2026-11-20")))["date"]
    assert message.endswith("aucune date admise avant le 2 janvier 2027 (formation du 1er juillet 2027 au "
                            "18 décembre 2027)")


def profile(start: dt.date, end: dt.date | None) -> LearnerProfile:
    return LearnerProfile(id="zoe", first_name="Zoé", last_name="Test", programme="P", framework="mini",
                          start=start, end=end)


def test_without_an_end_date_planned_dates_reach_a_year_after_today():
    window = date_window(profile(dt.date(2026, 1, 5), None), DateSettings(), dt.date(2026, 11, 20))
    assert (window.first, window.last, window.last_planned) == (
        dt.date(2025, 7, 9), dt.date(2026, 11, 20), dt.date(2027, 11, 20))
    assert window.programme() == " (formation commencée le 5 janvier 2026, sans date de fin prévue)"


def test_the_absolute_floor_when_the_programme_gives_none_lower():
    today = dt.date(2026, 11, 20)
    assert EARLIEST_DATE == dt.date(2000, 1, 1)
    assert date_window(None, DateSettings(), today).first == EARLIEST_DATE
    assert date_window(None, DateSettings(), today).last == today
    assert date_window(profile(dt.date(2000, 3, 1), None), DateSettings(), today).first == EARLIEST_DATE
    assert date_window(profile(dt.date(471, 3, 1), dt.date(472, 1, 1)), DateSettings(), today).first == EARLIEST_DATE


# ----------------------------------------------------------------- hand-edited files: readable, warned


def livret(*args):
    return subprocess.run([sys.executable, "-m", "livret", *args], capture_output=True, text=True)


def test_hand_edited_implausible_dates_stay_readable_with_a_warning(project):
    add(project, "bob", meeting(date=when("2026-03-02")), author="tom")
    old = hand_written(project, "bob", meeting(date="0471-03-02T10:00:00+01:00", title="Entretien ancien"),
                       author="tom", recorded="2026-03-02T12:00:00+01:00")
    ahead = hand_written(project, "bob", meeting(date="2026-04-10T10:00:00+01:00", title="Entretien à venir"),
                         author="tom", recorded="2026-03-02T12:00:00+01:00")
    record = project.store.load_learner("bob")
    assert record.problems == [] and len(record.entries) == 3  # readable: in the record
    assert project.store.check() == []  # not errors: `livret verify` and builds are unaffected
    warnings = {w.path: w for w in project.store.warnings()}
    assert set(warnings) == {old, ahead} and all(w.warning for w in warnings.values())
    assert str(warnings[old]) == (f"{old}:4: avertissement : date : date hors de la période admise "
                                  f"(lu : 2 mars 471) : entre le 9 juillet 2025 et le 2 mars 2026 {PROGRAMME}")
    assert str(warnings[ahead]).startswith(
        f"{ahead}:4: avertissement : date : date postérieure à son enregistrement, le 2 mars 2026 "
        "(lu : 10 avril 2026) : une entrée décrit ce qui a eu lieu")
    # the staff site still shows them
    site = learner_site(record, "staff", dt.date(2026, 11, 21), project.store.settings())
    text = "\n".join(p.markdown for p in site.pages)
    assert "Entretien ancien" in text and "Entretien à venir" in text

    result = livret("check", "--root", str(project.root))
    assert result.returncode == 0, result.stdout + result.stderr  # a warning alone is no failure
    assert sorted(result.stdout.splitlines()) == sorted([str(warnings[old]), str(warnings[ahead])])
    assert "Aucun problème : 2 portfolios vérifiés, 2 avertissements." in result.stderr


def test_check_fails_on_errors_and_still_prints_warnings(project):
    hand_written(project, "bob", meeting(date="2019-05-06T10:00:00+01:00"), author="tom",
                 recorded="2026-02-02T12:00:00+01:00")
    hand_written(project, "bob", meeting(date=when("2026-02-02"), duration="trente"), author="tom")
    result = livret("check", "--root", str(project.root))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert sum("avertissement : date : date hors de la période admise (lu : 6 mai 2019)" in x for x in lines) == 1
    assert sum("duration : nombre entier attendu" in x for x in lines) == 1
    assert "1 problème, 1 avertissement dans 2 portfolios." in result.stderr


def test_profiles_dated_before_the_floor_are_warned(project):
    path = project.portfolios / "bob" / "learner.md"
    path.write_text(path.read_text(encoding="utf-8").replace("start: '2026-01-05'", "start: '0202-01-05'")
                    .replace("start: 2026-01-05", "start: 0202-01-05"), encoding="utf-8")
    [warning] = project.store.warnings()
    assert warning.path == "portfolios/bob/learner.md" and warning.warning
    assert warning.message == "start : date invraisemblable (5 janvier 202) : au plus tôt le 1er janvier 2000"
