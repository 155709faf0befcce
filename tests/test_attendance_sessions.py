"""Planning sessions and derived attendance (livret.attendance.schedule, livret.interop.sessions_csv,
livret.views.derived_attendance, the rates of livret.views.progress, the sites, ``livret sessions``)."""

from __future__ import annotations

import datetime as dt
import subprocess
from types import SimpleNamespace

import pytest
from attendance_support import DAY, add_session, at, attendance_project, cancel_session
from click.testing import CliRunner
from factories import PARIS, add, when

from livret.attendance.schedule import FieldValueErrors, change_fields, closed_days, may_plan, split, weekly
from livret.attendance.service import mark, sign_session
from livret.cli import main
from livret.interop.sessions_csv import ImportRefused, apply_sessions, plan_sessions
from livret.publish.build import build_all, site_dir
from livret.views import progress as pv
from livret.views.coverage import coverage
from livret.views.derived_attendance import AttendanceContext
from livret.views.periods import recorded_hours

USERS = [SimpleNamespace(username="tina", role="tutor", disabled=False, email="tina@of.fr", display_name="Tina M"),
         SimpleNamespace(username="ada", role="admin", disabled=False, email="", display_name=""),
         SimpleNamespace(username="carl", role="company", disabled=False, email="carl@x.fr", display_name="")]


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """promo (alice, bob): four sessions in November 2026; alice signs two (late at the second), bob is
    absent with a justification at the first; the fourth is cancelled.  alice also has hand-typed hours."""
    project = attendance_project(tmp_path_factory.mktemp("signed") / "proj")
    first = add_session(project, framework="mini", competencies=["A1"])
    second = add_session(project, start="13:30", end="17:00", title="Vente")
    third = add_session(project, day=dt.date(2026, 11, 12), title="Caisse")
    fourth = add_session(project, day=dt.date(2026, 11, 13), title="Annulée")
    cancel_session(project, fourth)
    sign_session(project.store, first, "alice", username="alice", name="Alice Test", role="learner",
                 method="password", signed_as="typed-name", now=at(9, 5))
    sign_session(project.store, second, "alice", username="alice", name="Alice Test", role="learner",
                 method="password", signed_as="typed-name", now=at(13, 40))
    mark(project.store, second, "alice", status="late", minutes=30, note="NOTESECRETE42",
         username="tina", name="Tina Martin", role="tutor", now=at(15))
    mark(project.store, first, "bob", status="justified", reason="MOTIFSECRET77", username="tina",
         name="Tina Martin", role="tutor", now=at(11))
    # hand-typed: one period over a session day (covered), one in October (counted)
    add(project, "alice", {"type": "attendance", "date": when("2026-11-20"), "title": "Semaine 46",
                           "period_start": "2026-11-09", "period_end": "2026-11-13", "hours_planned": 35,
                           "hours_attended": 35}, author="tina")
    add(project, "alice", {"type": "attendance", "date": when("2026-10-31"), "title": "Octobre",
                           "period_start": "2026-10-01", "period_end": "2026-10-31", "hours_planned": 10,
                           "hours_attended": 5}, author="tina")
    return project, {"first": first, "second": second, "third": third, "fourth": fourth}


def rows_of(project, learner, audience="staff", now=None):
    ctx = AttendanceContext.load(project.store, now or dt.datetime(2026, 11, 20, 12, tzinfo=PARIS))
    return ctx.rows(project.store.load_learner(learner), audience)


# --------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------


def test_split_over_the_lunch_break():
    assert [(i["half_day"], i["start"], i["end"]) for i in split({"date": "2026-11-16", "start": "09:00",
                                                                  "end": "17:00", "place": ""}, "12:30", "13:30")] \
        == [("matin", "09:00", "12:30"), ("apres-midi", "13:30", "17:00")]
    assert [i["half_day"] for i in split({"start": "14:00", "end": "17:00"}, "12:30", "13:30")] == ["apres-midi"]
    assert "place" not in split({"start": "08:00", "end": "12:00", "place": ""}, "12:30", "13:30")[0]
    with pytest.raises(FieldValueErrors) as exc:
        split({"start": "10:00", "end": "09:00"}, "12:30", "13:30")
    assert exc.value.errors[0].loc == ("end",)
    with pytest.raises(FieldValueErrors) as exc:
        split({"start": "9h", "end": "12:00"}, "12:30", "13:30")
    assert exc.value.errors[0].loc == ("start",)


def test_weekly_pattern_skips_the_group_calendar(tmp_path):
    from livret.store.schema import Group

    group = Group(id="promo", name="Promo", members=["alice"], calendar=[
        {"start": "2026-11-09", "end": "2026-11-13", "kind": "entreprise"},
        {"start": "2026-11-18", "end": "2026-11-18", "kind": "absence", "label": "Pont"}])
    series = weekly({"title": "Module", "trainer": "tina", "group": "promo", "place": ""},
                    dt.date(2026, 11, 2), dt.date(2026, 11, 20), [0, 2], [("09:00", "17:00")], "12:30", "13:30",
                    group)
    assert [(i["date"], i["half_day"]) for i in series.items] == [
        ("2026-11-02", "matin"), ("2026-11-02", "apres-midi"), ("2026-11-04", "matin"), ("2026-11-04", "apres-midi"),
        ("2026-11-16", "matin"), ("2026-11-16", "apres-midi")]
    assert [(s.date.isoformat(), s.reason) for s in series.skipped] == [
        ("2026-11-09", "en entreprise"), ("2026-11-11", "en entreprise"),
        ("2026-11-18", "absence au calendrier (Pont)")]
    assert len(closed_days(group, dt.date(2026, 11, 1), dt.date(2026, 11, 30))) == 7  # and the 1st: Toussaint
    wednesdays = weekly({"title": "Module", "trainer": "tina", "place": ""}, dt.date(2026, 11, 4),
                        dt.date(2026, 11, 18), [2], [("09:00", "12:00")], "12:30", "13:30")
    assert [i["date"] for i in wednesdays.items] == ["2026-11-04", "2026-11-18"]
    assert [(s.date.isoformat(), s.reason) for s in wednesdays.skipped] == [("2026-11-11", "jour férié (Armistice)")]
    with pytest.raises(FieldValueErrors) as exc:
        weekly({}, dt.date(2026, 11, 20), dt.date(2026, 11, 2), [], [], "12:30", "13:30")
    assert {e.loc[0] for e in exc.value.errors} == {"period_end", "weekdays", "morning_start"}


def test_who_plans():
    from livret.store.schema import Group

    profiles = {"alice": SimpleNamespace(tutors=["tina"]), "bob": SimpleNamespace(tutors=["tom"])}
    promo = Group(id="promo", name="Promo", members=["alice", "bob"])
    assert may_plan("admin", "ada", promo, ["bob"], profiles)
    assert may_plan("tutor", "tina", promo, [], profiles) and may_plan("tutor", "tom", promo, [], profiles)
    assert not may_plan("tutor", "tina", None, ["bob"], profiles)
    assert not may_plan("auditor", "audra", promo, [], profiles)
    assert not may_plan("company", "carl", promo, [], profiles)


CSV = ("Date;Début;Fin;Intitulé;Formateur;Groupe;Modalité;Lieu;Compétences\n"
       "16/11/2026;09:00;17:00;Accueil;tina@of.fr;Promo;présentiel;Salle 1;A1\n"
       "17/11/2026;14:00;17:00;Vente;ada;promo;distance;;\n")


def test_csv_import_plans_every_half_day_and_writes_one_commit(tmp_path):
    project = attendance_project(tmp_path / "proj")
    data = CSV.encode("cp1252")
    plan = plan_sessions(data, project.store, USERS, name="planning.csv", author="ada")
    assert plan.ok and any("pas en UTF-8" in w for w in plan.warnings)
    assert [(i["date"], i["half_day"], i["trainer"]) for i in plan.items] == [
        ("2026-11-16", "matin", "tina"), ("2026-11-16", "apres-midi", "tina"), ("2026-11-17", "apres-midi", "ada")]
    assert plan.items[0]["framework"] == "mini" and plan.items[0]["trainer_name"] == "Tina M"
    with pytest.raises(ImportRefused):
        apply_sessions(plan, project.store, author="ada", sha256="0" * 64)
    assert project.store.sessions() == []
    apply_sessions(plan, project.store, author="ada", sha256=plan.sha256)
    assert len(project.store.sessions()) == 3 and project.store.check() == []


def test_csv_errors_name_the_line_and_the_column(tmp_path):
    project = attendance_project(tmp_path / "proj")
    bad = ("date,debut,fin,intitule,formateur,groupe,competences\n"
           "31/02/2026,09:00,12:00,Accueil,tina,promo,\n"
           "16/11/2026,09:00,12:00,Accueil,carl,promo,\n"
           "16/11/2026,12:00,09:00,,tina,nulle,\n"
           "16/11/2026,09:00,12:00,Accueil,tina,promo,ZZ9\n")
    plan = plan_sessions(bad.encode(), project.store, USERS)
    found = {(e.row, e.column, e.message.split(" ")[0]) for e in plan.errors}
    assert (2, "date", "date") in found
    assert (3, "formateur", "aucun") in found
    assert (4, "intitule", "valeur") in found and (4, "groupe", "groupe") in found
    assert (5, "competences", "compétence") in found
    missing = plan_sessions(b"date;fin\n16/11/2026;12:00\n", project.store, USERS)
    assert {(e.row, e.column) for e in missing.file_errors} >= {(None, "debut"), (None, "intitule")}
    with pytest.raises(ImportRefused):
        apply_sessions(plan, project.store, author="ada")


def test_a_change_is_a_new_file_of_the_chain(tmp_path):
    project = attendance_project(tmp_path / "proj")
    chain = add_session(project)
    first = project.store.session(chain).session
    fields = change_fields(first, {"date": "2026-11-12", "trainer": "ada"}, chain_id=chain, reason="Salle prise")
    project.store.write_sessions([fields], author="ada", message="déplacée")
    ctx = AttendanceContext.load(project.store, at(8))
    assert ctx.chains[chain].session.date == dt.date(2026, 11, 12) and len(ctx.chains[chain].versions) == 2
    assert project.store.session(chain).session.date == DAY  # the first file is unchanged
    assert project.store.check() == []


def test_a_session_written_tells_whose_pages_change(tmp_path):
    """The commit of a session names the learners expected at it (their sites are rebuilt): the group's
    members for a group session; for a change of a session planned one by one, those convened to it."""
    project = attendance_project(tmp_path / "proj")
    commits = []
    project.store.after_commit.append(commits.append)
    add_session(project)
    assert commits[-1].affected == ("alice", "bob") and commits[-1].learners == ()
    alone = add_session(project, group=None, convened=["carol"])
    assert commits[-1].learners == ("carol",)  # the convocation is in carol's folder
    cancel_session(project, alone)
    assert commits[-1].affected == ("carol",) and commits[-1].learners == ()


# --------------------------------------------------------------------------
# Derived attendance
# --------------------------------------------------------------------------


def test_rows_states_and_hours(signed):
    project, ids = signed
    rows = {r.chain.id: r for r in rows_of(project, "alice")}
    assert rows[ids["first"]].state == "signed" and rows[ids["first"]].hours_attended == 3.5
    assert rows[ids["second"]].state == "late" and rows[ids["second"]].hours_attended == 3.0
    assert rows[ids["third"]].state == "unsigned" and rows[ids["fourth"]].state == "cancelled"
    assert [n.body.strip() for n in rows[ids["second"]].notes] == ["NOTESECRETE42"]
    assert all(not r.notes for r in rows_of(project, "alice", "shared"))
    bob = {r.chain.id: r for r in rows_of(project, "bob")}
    assert bob[ids["first"]].state == "justified" and bob[ids["first"]].hours_justified == 3.5


def test_combined_rate_never_counts_twice(signed):
    project, ids = signed
    record = project.store.load_learner("alice")
    rows = rows_of(project, "alice")
    att = pv.attendance(record.entries, rows)
    assert [p.meta.title for p in att.covered] == ["Semaine 46"]  # a session day is in it: not counted
    assert [p.meta.title for p in att.periods] == ["Octobre"]
    # sessions: 3.5 + 3.5 + 3.5 planned (cancelled: none), 3.5 + 3 attended; October: 10 planned, 5 attended
    assert (att.session_planned, att.session_attended) == (10.5, 6.5)
    assert (att.hours_planned, att.hours_attended) == (20.5, 11.5)
    assert att.rate == round(11.5 / 20.5, 4)
    assert pv.attendance(record.entries).rate == round(40 / 45, 4)  # without rows: the hand-typed hours only
    alerts = pv.attention(record.profile, record.entries, project.store.settings().thresholds, DAY, rows)
    assert any(a.code == "low-attendance" for a in alerts)
    summary = pv.summary(record, project.store.settings(), DAY, "staff", rows)
    assert summary.attendance_rate == att.rate
    recorded = recorded_hours(record.entries, dt.date(2026, 11, 9), dt.date(2026, 11, 13), rows)
    assert sorted(r.source for r in recorded) == ["attendance", "sessions", "sessions", "sessions"]


def test_coverage_counts_the_sessions_attended_at_the_centre(signed):
    project, ids = signed
    record = project.store.load_learner("alice")
    rows = coverage(record.framework, record.entries, rows=rows_of(project, "alice"))
    a1 = next(r for r in rows if r.code == "A1")
    assert any(x.startswith("Séance : Accueil du public") for x in a1.centre) and ids["first"] in a1.centre_ids
    bob = project.store.load_learner("bob")  # justified absence: not attended
    assert not next(r for r in coverage(bob.framework, bob.entries, rows=rows_of(project, "bob"))
                    if r.code == "A1").centre


def test_sites_list_sessions_and_the_shared_one_has_no_note(signed):
    project, ids = signed
    report = build_all(project, learners=["alice", "bob"], today=dt.date(2026, 11, 20))
    assert report.warnings == []
    staff = (site_dir(project, "staff", "alice") / "assiduite" / "index.html").read_text(encoding="utf-8")
    shared = (site_dir(project, "shared", "alice") / "assiduite" / "index.html").read_text(encoding="utf-8")
    for page in (staff, shared):
        assert "Accueil du public" in page and "En retard (30 min)" in page and "Non émargé" in page
        assert "déjà couvert par l’émargement" in page or "déjà couvert par l'émargement" in page
    assert "Notes de l" in staff and "Notes de l" not in shared
    for lid in ("alice", "bob"):
        for path in site_dir(project, "shared", lid).rglob("*"):
            if path.is_file() and path.suffix in (".html", ".json", ".xml", ".txt", ".md", ".js", ".svg"):
                text = path.read_text(encoding="utf-8", errors="replace")
                assert "NOTESECRETE42" not in text and "MOTIFSECRET77" not in text, path
                assert "user_agent" not in text, path


# --------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------


def test_cli_import_dry_run_then_import_then_list(tmp_path):
    from livret.instance.accounts import Accounts

    project = attendance_project(tmp_path / "proj")
    accounts = Accounts.for_project(project)
    accounts.add("tina", "tutor", "motdepasse-long-1234")
    accounts.add("ada", "admin", "motdepasse-long-1234")
    planning = tmp_path / "planning.csv"
    planning.write_text(CSV.replace("tina@of.fr", "tina"), encoding="utf-8")
    run = CliRunner().invoke(main, ["sessions", "import", str(planning), "--dry-run", "--root", str(project.root)])
    assert run.exit_code == 0 and "ligne 2 : 16/11/2026 matin 09:00-12:30 Accueil" in run.output
    assert project.store.sessions() == []
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project.portfolios, capture_output=True, text=True).stdout
    run = CliRunner().invoke(main, ["sessions", "import", str(planning), "--author", "ada",
                                    "--root", str(project.root)])
    assert run.exit_code == 0, run.output
    assert subprocess.run(["git", "rev-list", "--count", f"{head.strip()}..HEAD"], cwd=project.portfolios,
                          capture_output=True, text=True).stdout.strip() == "1"
    listed = CliRunner().invoke(main, ["sessions", "list", "--month", "2026-11", "--group", "promo",
                                       "--root", str(project.root)])
    assert listed.exit_code == 0 and listed.output.count("\tprévue") == 3
    planning.write_text(CSV.replace("tina@of.fr", "personne"), encoding="utf-8")
    run = CliRunner().invoke(main, ["sessions", "import", str(planning), "--root", str(project.root)])
    assert run.exit_code == 1 and "planning.csv:2: Formateur : aucun compte" in run.output
    assert len(project.store.sessions()) == 3 and project.store.check() == []


def test_a_session_file_under_another_name_is_reported_at_its_id_line(tmp_path):
    project = attendance_project(tmp_path / "proj")
    chain = add_session(project)
    path = project.portfolios / project.store.session(chain).path
    moved = path.with_name("2026-11-10-apres-midi-" + path.name.rsplit("-", 1)[-1])
    path.rename(moved)
    [problem] = [p for p in project.store.check() if "_sessions" in p.path]
    assert problem.path.endswith(moved.name) and problem.line == 1
    assert problem.message.startswith(f"nom de fichier : 2026-11/{moved.name} ne correspond pas à la séance")
    assert project.store.session(chain) is None  # an invalid file is no session
