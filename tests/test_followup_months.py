"""Issue 16, « done when »: a learner's first three months with a fixed clock.

One apprentice (alice) on alternating centre / company weeks with one
half-day absence, under the issue's rules: welcome within 7 days, positioning
within 15 days, a check-in with the company before the 45th day of presence
in the company, a company visit every 2 months, a contact at least every 30
days.  Day n is n days after the start.  At each step the rules give the
right states; the tutor writes the proofs at some steps as they would, and
the Qualiopi report moves from « à compléter » to « règle de l'organisme
respectée » (livret's word for what the issue calls « conforme »: only the
certifying body rules on conformity) when the proof is written.
"""

from __future__ import annotations

import datetime as dt

import pytest
from followup_support import at, day, followup_project, meeting_fields, positioning_fields, write

from livret.views import followup as fv
from livret.views import qualiopi as q
from livret.views.calendar import learner_periods


@pytest.fixture
def project(tmp_path):
    return followup_project(tmp_path / "p")


def items_at(project, n: int) -> list[fv.FollowupItem]:
    record = project.store.load_learner("alice")
    return fv.learner_items(record.profile, record.entries, project.store.groups().values(),
                            project.store.settings().followup.rules, day(n), now=at(n, 8))


def states(items) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for i in items:
        out.setdefault(i.rule_id, []).append(i.state)
    return out


def by_rule(items, rule_id) -> list[fv.FollowupItem]:
    return [i for i in items if i.rule_id == rule_id]


def rule_status(project, n: int, rule_id: str) -> str:
    [report] = q.store_reports(project.store, day(n), ["alice"])
    [line] = [r for r in q.rule_lines([report]) if r.rule_id == rule_id]
    return q.RULE_MET if line.met else q.TO_JUSTIFY if line.late else q.TO_COMPLETE


def indicator(project, n: int, number: int) -> q.Indicator:
    [report] = q.store_reports(project.store, day(n), ["alice"])
    return report.indicator(number)


def test_the_first_months(project):
    store = project.store
    profile = store.profile("alice")
    # the 45th day of presence: 9 company weeks (weeks 1, 3… 17) less the half-day absence -> Monday of week 19
    assert fv.nth_presence_day(learner_periods(profile), 45) == day(133)

    # day 1: the welcome is due within the window, the rest later
    items = items_at(project, 1)
    assert states(items) == {"accueil": ["due"], "positionnement": ["upcoming"], "periode-essai": ["upcoming"],
                             "visites": ["upcoming"], "contacts": ["upcoming"]}
    assert by_rule(items, "accueil")[0].due == day(7)
    assert by_rule(items, "periode-essai")[0].due == day(133)
    assert by_rule(items, "visites")[0].due == dt.date(2026, 11, 7) == day(61)
    assert by_rule(items, "contacts")[0].due == day(30)
    assert rule_status(project, 1, "accueil") == q.TO_COMPLETE
    assert indicator(project, 1, 12).status == q.TO_COMPLETE
    assert any("Règle de suivi « " in f.text and "à faire" in f.text for f in indicator(project, 1, 12).findings)

    # day 6: still due; the tutor holds the welcome meeting and writes it: done, and the report follows
    assert states(items_at(project, 6))["accueil"] == ["due"]
    welcome = write(project, "alice", 6, meeting_fields("accueil", "Entretien d'accueil"))
    items = items_at(project, 6)
    [item] = by_rule(items, "accueil")
    assert (item.state, item.proof, item.proof_date, item.late) == ("done", welcome.id, day(6), False)
    assert rule_status(project, 6, "accueil") == q.RULE_MET
    assert welcome.id in [p.id for p in indicator(project, 6, 12).proofs]
    # the welcome meeting is a contact too: the next one is due 30 days later
    assert [(i.state, i.due) for i in by_rule(items, "contacts")] == [("done", day(30)), ("upcoming", day(36))]

    # day 8 and 14: the positioning is due (within 14 days of its due date); day 16: overdue
    assert states(items_at(project, 8))["positionnement"] == ["due"]
    assert states(items_at(project, 14))["positionnement"] == ["due"]
    assert states(items_at(project, 16))["positionnement"] == ["overdue"]
    assert rule_status(project, 16, "positionnement") == q.TO_COMPLETE
    assert indicator(project, 16, 8).status == q.TO_COMPLETE
    late = write(project, "alice", 16, positioning_fields())
    [item] = by_rule(items_at(project, 16), "positionnement")
    assert (item.state, item.proof, item.late) == ("done", late.id, True)
    assert "réalisé en retard le" in item.detail
    assert rule_status(project, 16, "positionnement") == q.TO_JUSTIFY  # done late: a gap to justify

    # day 40: no contact since day 6 -> overdue (due day 36); a follow-up meeting closes it, late
    assert states(items_at(project, 40))["contacts"] == ["done", "overdue"]
    assert rule_status(project, 40, "contacts") == q.TO_COMPLETE
    write(project, "alice", 40, meeting_fields("suivi", "Entretien de suivi"))
    items = items_at(project, 40)
    assert [(i.state, i.late) for i in by_rule(items, "contacts")] == [("done", False), ("done", True),
                                                                       ("upcoming", False)]
    assert by_rule(items, "contacts")[-1].due == day(70)
    assert rule_status(project, 40, "contacts") == q.TO_JUSTIFY

    # day 60: the visit (due day 61) and the contact (due day 70) are due; the tutor plans the visit
    items = items_at(project, 60)
    assert states(items)["visites"] == ["due"] and states(items)["contacts"][-1] == "due"
    assert fv.to_do(items)[0].rule_id == "visites"  # oldest due date first
    assert {p.rule_id for p in fv.proposals(items, day(60))} == {"visites", "contacts", "periode-essai"}
    plan = write(project, "alice", 60, {"type": "planned-meeting", "date": at(61, 14).isoformat(),
                                        "title": "Visite en entreprise", "kind": "visite-entreprise",
                                        "modality": "presentiel", "duration": 90, "place": "Entreprise Dupont",
                                        "with_company": True})
    items = items_at(project, 60)
    [visit] = by_rule(items, "visites")
    assert visit.state == "due" and visit.plan == plan.id and "rendez-vous prévu le 7 novembre 2026" in visit.detail
    assert by_rule(items, "contacts")[-1].plan == plan.id  # any meeting is a contact
    # a visit before the 45th day of presence is the check-in with the company too
    assert by_rule(items, "periode-essai")[0].plan == plan.id
    assert fv.proposals(items, day(60)) == []  # every one has a plan now

    # day 75: the visit took place on day 61 but is not written yet: overdue (the plan is « à compléter »)
    items = items_at(project, 75)
    assert states(items)["visites"] == ["overdue", "upcoming"] and states(items)["contacts"][-1] == "overdue"
    assert indicator(project, 75, 13).status == q.TO_COMPLETE
    held = write(project, "alice", 61, meeting_fields("visite-entreprise", "Visite en entreprise", about=plan.id),
                 hour=14)
    items = items_at(project, 75)
    visits = by_rule(items, "visites")
    assert [(i.state, i.due) for i in visits] == [("done", day(61)), ("upcoming", day(122))]
    assert visits[0].proof == held.id and not visits[0].late
    assert rule_status(project, 75, "visites") == q.RULE_MET
    assert by_rule(items, "contacts")[-1].due == day(91)
    [checkin] = by_rule(items, "periode-essai")
    assert (checkin.state, checkin.proof, checkin.due) == ("done", held.id, day(133))

    # day 90: the contact is due tomorrow, the next visit and the check-in later
    items = items_at(project, 90)
    assert states(items) == {"accueil": ["done"], "positionnement": ["done"], "periode-essai": ["done"],
                             "visites": ["done", "upcoming"], "contacts": ["done", "done", "done", "due"]}
    assert rule_status(project, 90, "periode-essai") == q.RULE_MET
    assert [i.rule_id for i in fv.to_do(items)] == ["contacts"]

    # day 120: the second visit is due (day 122)
    assert states(items_at(project, 120))["visites"] == ["done", "due"]
    assert project.store.check() == []


def test_rules_skip_bob_for_the_company_and_need_a_calendar(tmp_path):
    project = followup_project(tmp_path / "p", calendar=False)
    record = project.store.load_learner("bob")
    settings = project.store.settings()
    bob = {i.rule_id for i in fv.learner_items(record.profile, record.entries, [], settings.followup.rules, day(1))}
    assert bob == {"accueil", "positionnement", "contacts"}  # not in work-study: no company rule
    record = project.store.load_learner("alice")
    [checkin] = [i for i in fv.learner_items(record.profile, record.entries, [], settings.followup.rules, day(1))
                 if i.rule_id == "periode-essai"]
    assert checkin.state == "not-applicable" and checkin.detail == "calendrier de l'alternance à renseigner"
    assert rule_status(project, 1, "periode-essai") == q.TO_COMPLETE


def test_checkin_due_then_done_by_a_tripartite_meeting(project):
    assert states(items_at(project, 120))["periode-essai"] == ["due"]  # day 133: 13 days left
    assert states(items_at(project, 119))["periode-essai"] == ["upcoming"]
    assert states(items_at(project, 134))["periode-essai"] == ["overdue"]
    tri = write(project, "alice", 120, meeting_fields("entretien-tripartite", "Entretien tripartite"))
    [item] = by_rule(items_at(project, 134), "periode-essai")
    assert (item.state, item.proof, item.late) == ("done", tri.id, False)
    assert rule_status(project, 134, "periode-essai") == q.RULE_MET


def test_the_cohort_states_each_rule_with_its_proofs_and_the_csv_names_them(project):
    welcome = write(project, "alice", 6, meeting_fields("accueil", "Entretien d'accueil"))
    write(project, "bob", 9, meeting_fields("accueil", "Accueil de Bob"))
    reports = q.store_reports(project.store, day(20))
    [cohort] = q.cohorts(reports)
    lines = {r.rule_id: r for r in cohort.rules}
    assert set(lines) == {"accueil", "positionnement", "periode-essai", "visites", "contacts"}
    accueil = lines["accueil"]
    assert (accueil.indicator, accueil.concerned, accueil.met, accueil.late, accueil.missing) == \
        (12, ["alice", "bob"], ["alice"], ["bob"], [])
    assert accueil.proofs["alice"] == [(welcome.id, "Entretien d'accueil", day(6), False)]
    assert accueil.proofs["bob"][0][3] is True  # late
    assert lines["periode-essai"].concerned == ["alice"]  # bob is not in work-study
    assert lines["positionnement"].missing == ["alice", "bob"]
    csv = q.to_csv(reports)
    assert "Règle de suivi « Entretien d'accueil (sous 7 jours) » : dans les délais" in csv
    assert welcome.path in csv
    assert "conforme" not in csv  # only the certifying body rules on conformity


def test_the_mails_of_the_first_months_go_out_once_each(tmp_path):
    """The scheduler (livret.planning.scheduler, F's) at the same steps: the weekly digest to the tutor,
    the escalation of an overdue welcome to the admin, the reminders of the planned visit the day before
    — queued once each however often it runs, then delivered once each to a real SMTP server."""
    from mail_support import smtp_server

    from livret.instance.accounts import Accounts
    from livret.mail.sender import MailSender
    from livret.mail.settings import SmtpSettings
    from livret.planning.scheduler import run_scheduler
    from livret.store.validation import PlanContacts

    url = "https://livret.of-test.fr"
    project = followup_project(tmp_path / "m", sender="formation@of-test.fr", public_url=url,
                               org={"notify": {"reminder_hour": 17, "digest_weekday": 0, "digest_hour": 7}})
    accounts = Accounts.for_project(project)
    for username, role, name, email in [("tina", "tutor", "Tina Durand", "tina@of-test.fr"),
                                        ("ada", "admin", "Ada Admin", "ada@of-test.fr"),
                                        ("alice", "learner", "Alice Test", "alice@example.org"),
                                        ("carl", "company", "Carl Martin", "carl@entreprise.fr")]:
        accounts.add(username, role, display_name=name, email=email)

    queued: list[tuple[str, str]] = []

    def run(n: int, hour: int) -> list[tuple[str, str]]:
        report = run_scheduler(project, now=at(n, hour), base_url=url)
        assert not report.errors
        found = sorted((notice.kind, notice.to) for notice in report.queued)
        queued.extend(found)
        return found

    # day 0 is a Monday: the digest at 7:00 (the welcome is due), once
    assert run(0, 6) == []
    assert run(0, 7) == [("digest", "tina@of-test.fr")]
    assert run(0, 8) == [] and run(1, 10) == []
    # day 14 (Monday): the welcome, due day 7, is 7 days overdue -> escalated to the admin, once; a new digest
    assert run(14, 7) == [("digest", "tina@of-test.fr"), ("escalation", "ada@of-test.fr")]
    assert run(14, 9) == [] and run(15, 9) == []
    # the tutor writes the welcome (late) and the positioning: nothing more to escalate for them
    write(project, "alice", 15, meeting_fields("accueil", "Entretien d'accueil"))
    write(project, "alice", 15, positioning_fields())
    assert run(15, 10) == []
    # day 60: the visit planned for day 61 at 14:00; its reminders go the day before at 17:00, once
    project.store.append_entry(
        "alice", {"type": "planned-meeting", "date": at(61, 14).isoformat(), "title": "Visite en entreprise",
                  "kind": "visite-entreprise", "modality": "presentiel", "duration": 90,
                  "place": "Entreprise Dupont", "with_company": True},
        "", author="tina", role="tutor", now=at(60, 9),
        contacts=PlanContacts(learner_email="alice@example.org", company_emails={"carl": "carl@entreprise.fr"}))
    before = len(queued)
    assert [k for k in run(60, 16) if k[0] == "reminder"] == []
    assert [k for k in run(60, 17) if k[0] == "reminder"] == [
        ("reminder", "alice@example.org"), ("reminder", "carl@entreprise.fr"), ("reminder", "tina@of-test.fr")]
    assert run(60, 18) == [] and run(61, 9) == []
    # between day 15 and day 60: that week's digest (the contact was due day 45) and the escalation of the
    # overdue contact (due day 45, 7 days late from day 52) went with the first run, once
    assert sorted(queued[before:]) == [("digest", "tina@of-test.fr"), ("escalation", "ada@of-test.fr"),
                                       ("reminder", "alice@example.org"), ("reminder", "carl@entreprise.fr"),
                                       ("reminder", "tina@of-test.fr")]
    with smtp_server() as (recorder, port):
        report = MailSender(project, smtp=SmtpSettings(host="127.0.0.1", port=port, timeout=20)).run_once()
        assert report.stopped is None, report.stopped
        received = recorder.wait_for(len(queued))
    assert len(received) == len(queued)
    assert sorted(m["To"].addresses[0].addr_spec for m in received) == sorted(to for _, to in queued)
    assert all(m["Subject"] for m in received)
