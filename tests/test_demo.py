"""The shipped demo organisation (portfolios/) and the `livret init` example.

The demo is what people see first (`livret demo`) and what the other tests
build, serve and export; these tests hold it to what it claims: it checks
clean, every entry type and meeting kind appears, and each persona (at risk,
close to completion, just started, work-study, distance) shows what it is
meant to show through the same derived views the app uses, on the demo's
"today", 2026-11-21.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
from click.testing import CliRunner
from factories import REPO
from ulid import ULID

from livret.attendance.drawing import strokes_from_svg
from livret.cli import main
from livret.store.attachments import sniff, stored_name
from livret.store.project import Project
from livret.store.schema import ENTRY_TYPES, MEETING_KINDS, MODALITIES
from livret.views import progress

TODAY = dt.date(2026, 11, 21)

AT_RISK = "kevin-lefebvre"
CLOSE_TO_COMPLETION = "claire-dubois"
JUST_STARTED = "ines-garnier"
WORK_STUDY = "lucas-moreau"
DISTANCE = "amina-benali"

#: Wording that exists only in staff entries of the at-risk learner: a shared
#: site, a company export or a log line that contains it has leaked staff data.
STAFF_SENTINELS = ("expulsion locative prévue le 4 décembre",
                   "hébergé temporairement chez sa sœur à Saint-Herblain")


@pytest.fixture(scope="module")
def store():
    return Project.at(REPO).store


@pytest.fixture(scope="module")
def records(store):
    return {lid: store.load_learner(lid) for lid in store.learner_ids()}


@pytest.fixture(scope="module")
def entries(records):
    return [e for r in records.values() for e in r.entries]


def by_type(record, type_):
    return [e for e in progress.effective(record.entries) if e.type == type_]


# ---------------------------------------------------------------- the store as a whole


def test_demo_checks_clean(store):
    assert store.check() == []


def test_check_cli_accepts_the_demo():
    result = CliRunner().invoke(main, ["--root", str(REPO), "check"])
    assert result.exit_code == 0, result.output


def test_organisation_is_filled_in(store):
    org, problems = store.organisation()
    assert problems == []
    assert org.name != "Organisme de formation" and org.address and org.nda and org.contact


def test_frameworks_shape(store, records):
    frameworks = store.frameworks()
    tuteur = frameworks["tuteur"]
    assert len(tuteur.blocks) == 4
    assert all(4 <= len(b.competencies) <= 6 for b in tuteur.blocks)
    assert 4 <= len(tuteur.scale.values) <= 5
    assert all(c.description for _, c in tuteur.competencies())
    others = [fw for fid, fw in frameworks.items() if fid != "tuteur"]
    assert others, "a second, smaller framework is expected"
    small = others[0]
    assert 2 <= len(small.blocks) <= 3 and 6 <= len(small.competencies()) <= 10
    assert [v.value for v in small.scale.values] != [v.value for v in tuteur.scale.values]
    used = {r.profile.framework for r in records.values()}
    assert used == set(frameworks), "every shipped framework is used by a demo learner"


def test_at_least_five_learners_with_accounts_and_tutors(records):
    assert len(records) >= 5
    for record in records.values():
        assert record.profile.account and record.profile.tutors
    tutors = {t for r in records.values() for t in r.profile.tutors}
    assert 2 <= len(tutors) <= 3


def attendance_records(record) -> set[str]:
    """Ids of a learner's attendance records: session signatures, marks, convocations, notes about marks."""
    marks = {e.id for e in record.entries if e.type == "attendance-mark"}
    return {e.id for e in record.entries
            if (e.type == "signature" and e.meta.session) or e.id in marks or e.type == "convocation"
            or (e.type == "feedback" and e.meta.about in marks)}


def test_entry_counts(records):
    for lid, record in records.items():
        count = len(record.entries) - len(attendance_records(record))  # a month of half-days adds many
        if lid == JUST_STARTED:
            assert 6 <= count < 20
        else:
            assert 20 <= count <= 60, lid


def test_every_entry_type_appears(entries):
    assert set(Counter(e.type for e in entries)) == set(ENTRY_TYPES)


def test_every_meeting_kind_and_modality_appears(entries):
    meetings = [e.meta for e in entries if e.type == "meeting"]
    assert {m.kind for m in meetings} == set(MEETING_KINDS)
    assert {m.modality for m in meetings} == set(MODALITIES)


def test_types_show_their_own_features(records, entries):
    by_id = {e.id: e for e in entries}
    feedback_on_evidence = [e for e in entries if e.type == "feedback" and e.meta.about
                            and by_id[e.meta.about].type == "evidence"]
    assert len(feedback_on_evidence) >= 5
    evidence = [e for e in entries if e.type == "evidence"]
    assert all(e.meta.role == "learner" for e in evidence)
    assert sum(bool(e.meta.attachments) for e in evidence) >= 10
    assert any(c.level for e in entries if e.type == "reflection" for c in e.meta.competencies)
    plans = [p for r in records.values() for p in progress.action_plans(r.entries, TODAY)]
    assert any(p.status == "done" and len(p.entries) > 1 for p in plans)
    alerts = [a for r in records.values() for a in progress.tutor_alerts(r.entries)]
    assert any(a.status == "closed" and len(a.follow_ups) >= 1 for a in alerts)
    assert any(a.status == "open" for a in alerts)
    attendance = [e.meta for e in entries if e.type == "attendance"]
    assert all(a.period_start.month == a.period_end.month for a in attendance), "monthly periods"


def test_staff_entries_besides_alerts(entries):
    staff = [e for e in entries if e.visibility == "staff"]
    assert all(e.meta.role == "tutor" for e in staff)
    assert sum(e.type != "alert" for e in staff) >= 2


def test_staff_wording_never_appears_in_shared_material(store, records, entries):
    staff_text = "\n".join(e.body for e in entries if e.visibility == "staff")
    for sentinel in STAFF_SENTINELS:
        assert sentinel in staff_text
    shared = [e.body + e.meta.title for e in entries if e.visibility == "shared"]
    shared += [r.profile_body for r in records.values()]
    shared += [p.read_bytes().decode("utf-8", "replace") for p in store.root.glob("*/files/*")]
    for text in shared:
        for sentinel in STAFF_SENTINELS:
            assert sentinel not in text


def test_corrections_point_to_entries_of_the_same_type(records):
    corrections = 0
    for record in records.values():
        for e in record.entries:
            if e.meta.corrects:
                target = record.entry(e.meta.corrects)
                assert target is not None and target.type == e.type
                assert target.meta.recorded < e.meta.recorded
                corrections += 1
    assert corrections >= 2


def test_dates_are_before_the_demo_today(entries):
    for e in entries:
        if e.type == "planned-meeting":  # a plan is recorded before its date, the only date ahead
            assert e.meta.recorded < e.meta.date, e.path
        else:
            assert e.meta.date <= e.meta.recorded
        assert e.meta.recorded.date() <= TODAY, e.path
        assert e.meta.date.utcoffset() in (dt.timedelta(hours=1), dt.timedelta(hours=2))


def test_ids_and_file_names_follow_the_conventions(store, records):
    for lid, record in records.items():
        for e in record.entries:
            assert abs(ULID.from_str(e.id).datetime - e.meta.recorded) < dt.timedelta(seconds=2)
            assert e.filename == f"{e.meta.date.date().isoformat()}-{e.type}-{e.id[-8:].lower()}.md"
        cited = {a for e in record.entries for a in e.meta.attachments}
        assert cited == set(record.files), f"{lid}: every file is cited by an entry, and only those"
        for rel in record.files:
            name = rel.removeprefix("files/")
            assert re.fullmatch(r"[0-9a-z]{8}-[a-z0-9-]+\.[a-z]+", name), name
            if name.endswith("-signature.svg"):  # a drawn signature, as the attendance service writes it
                assert strokes_from_svg((store.root / lid / rel).read_bytes())
                continue
            mime = sniff((store.root / lid / rel).read_bytes())
            assert mime is not None and stored_name(name[9:], mime) == name[9:]
    kinds = {p.suffix for p in store.root.glob("*/files/*")}
    assert {".png", ".pdf", ".txt"} <= kinds


def test_demo_stays_small(store):
    size = sum(p.stat().st_size for p in store.root.rglob("*") if p.is_file())
    assert size < 1_500_000


# ---------------------------------------------------------------- personas


def test_at_risk_learner_needs_attention(store, records):
    record = records[AT_RISK]
    codes = {a.code for a in progress.attention(record.profile, record.entries,
                                                 store.settings().thresholds, TODAY)}
    assert {"no-contact", "overdue-plan", "low-attendance", "open-alert"} <= codes
    att = progress.attendance(record.entries)
    rates = [p.meta.hours_attended / p.meta.hours_planned for p in att.periods]
    assert rates == sorted(rates, reverse=True), "attendance falls month after month"
    assert att.recent_rate < 0.7
    open_alerts = [a for a in progress.tutor_alerts(record.entries) if a.status == "open"]
    assert [a.category for a in open_alerts] == ["personnelle"]
    assert record.entry(open_alerts[0].id).visibility == "staff"


def test_only_the_at_risk_learner_needs_attention(store, records):
    thresholds = store.settings().thresholds
    for lid, record in records.items():
        if lid != AT_RISK:
            assert progress.attention(record.profile, record.entries, thresholds, TODAY) == [], lid


def test_close_to_completion(records):
    record = records[CLOSE_TO_COMPLETION]
    views = progress.competency_views(record.framework, record.entries)
    assert progress.progress(views).share >= 0.75
    kinds = {m.meta.kind: m.meta.date.date() for m in by_type(record, "meeting")}
    assert "bilan-intermediaire" in kinds
    assert (TODAY - kinds["bilan-final"]).days <= 14
    first_positioning = min(e.meta.date.date() for e in by_type(record, "positioning"))
    assert (first_positioning - record.profile.start).days <= 21


def test_just_started(records):
    record = records[JUST_STARTED]
    assert record.profile.start >= dt.date(2026, 11, 1)
    assert [m.meta.kind for m in by_type(record, "meeting")][0] == "accueil"
    assert by_type(record, "positioning") and by_type(record, "evidence")


def test_work_study(records):
    record = records[WORK_STUDY]
    profile = record.profile
    assert profile.work_study and profile.company and profile.company_tutors
    company = by_type(record, "company-feedback")
    assert len(company) >= 3
    assert all(e.meta.role == "company" and e.meta.author in profile.company_tutors for e in company)
    visits = [m for m in by_type(record, "meeting") if m.meta.kind == "visite-entreprise"]
    assert len(visits) >= 2


def test_work_study_calendar_missions_plans_and_coverage(store, records):
    """The work-study persona shows issue 16: an alternating calendar with one absence, missions of the
    three terms linked to competencies (one updated to « done »), a moved company visit ahead of the demo's
    day, and the coverage matrix with both columns filled for most competencies."""
    from livret.views.calendar import learner_periods
    from livret.views.coverage import coverage
    from livret.views.plans import plan_states
    from livret.views.worksite import missions

    record = records[WORK_STUDY]
    periods = learner_periods(record.profile, store.groups_of(WORK_STUDY))
    kinds = [p.kind for p in periods if p.kind != "absence"]
    assert kinds[:4] == ["centre", "entreprise", "centre", "entreprise"] and len(kinds) >= 20
    assert [p.kind for p in periods].count("absence") == 1
    assert periods[0].start == record.profile.start and max(p.end for p in periods) == record.profile.end
    found = missions(record.entries)
    assert {m.term for m in found} == {"court", "moyen", "long"} and all(m.codes for m in found)
    assert any(m.status == "done" and m.records == 2 for m in found)
    assert {m.latest.meta.author for m in found} == {"jean.dupont", "sophie.bernard"}
    now = dt.datetime(2026, 11, 21, 12, tzinfo=dt.timezone.utc)
    states = [s for lid in records for s in plan_states(records[lid].entries, now)]
    assert len(states) >= 2 and all(s.status == "planned" and s.start > now for s in states)
    assert any(s.sequence == 1 and s.latest.reason for s in states)  # one plan moved
    rows = coverage(record.framework, record.entries, periods, work_study=True)
    assert rows and not any(r.gap for r in rows)  # docs/demo.md: both sides for each competency


def test_the_company_tutor_has_signed_and_has_sign_offs_waiting(store, records):
    """Earlier visits signed by the company tutor and the learner (seals intact); the latest visit and
    assessment wait for a signature, so the demo's dashboards, reminders and outbox have something."""
    from livret.store.signatures import check_seal
    from livret.views.signoffs import pending_signoffs

    record = records[WORK_STUDY]
    signatures = by_type(record, "signature")
    assert {(s.meta.author, s.meta.role) for s in signatures} >= {(record.profile.company_tutors[0], "company"),
                                                                  (record.profile.account, "learner")}
    assert all(check_seal(store.root, s.meta).intact for s in signatures)
    waiting = pending_signoffs(record.profile, record.entries, store.settings().signoff.rules)
    assert {(p.entry_type, p.role) for p in waiting} == {("meeting", "company"), ("meeting", "learner"),
                                                         ("assessment", "company")}
    assert store.people_names()[record.profile.company_tutors[0]] == "Jean Dupont"


def test_distance_learner_followed_asynchronously(records):
    record = records[DISTANCE]
    assert record.profile.modality == "distance"
    modalities = Counter(m.meta.modality for m in by_type(record, "meeting"))
    assert modalities["distance-asynchrone"] > sum(modalities.values()) / 2
    assert modalities["distance-synchrone"] >= 1 and modalities["presentiel"] == 0


# ---------------------------------------------------------------- livret init


def test_init_example_project_checks_clean(tmp_path):
    target = tmp_path / "nouveau"
    runner = CliRunner()
    result = runner.invoke(main, ["init", str(target)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["--root", str(target), "check"])
    assert result.exit_code == 0, result.output
    store = Project.at(target).store
    assert store.check() == []
    (lid,) = store.learner_ids()
    record = store.load_learner(lid)
    assert 4 <= len(record.entries) <= 8
    assert len({e.type for e in record.entries}) >= 4
    assert record.files and store.organisation()[1] == []
