"""The calendar feeds (livret/planning/ics.py, feeds.py): RFC 5545 read back by two independent parsers.

Every feed is parsed with ``icalendar`` (7.x, the library that writes it) and with ``ical`` (14.x, an
independent pydantic-based parser used by Home Assistant): a VTIMEZONE for every TZID, one UID per plan
chain with a rising SEQUENCE, a cancellation as STATUS:CANCELLED (never a duplicate), all-day periods
with an exclusive DTEND, and no staff information in any feed.
"""

from __future__ import annotations

import datetime as dt

import pytest
from factories import add, when
from feeds_support import (
    at,
    cancel,
    events_of,
    move,
    parse_both,
    plan,
    set_organisation,
    set_profile,
    tzids_defined,
    tzids_used,
)

from livret.planning import feeds, ics

NOW = at("2026-03-02", 9)
RULES = {"rules": [{"id": "accueil", "what": "welcome", "within_days": 7},
                   {"id": "contact", "what": "contact", "every_days": 30}]}


def feed(project, role, username, now=NOW) -> bytes:
    return feeds.feed_for(project, role, username, name=username, now=now, base_url="https://livret.of-test.fr")


def test_tutor_feed_parses_with_both_parsers_with_a_vtimezone_for_every_tzid(project):
    set_organisation(project, followup=RULES)
    plan(project, "alice", at("2026-03-10", 14), now=NOW)
    plan(project, "alice", at("2026-07-10", 9), now=NOW, kind="visite-entreprise", with_company=True)  # summer time
    body = feed(project, "tutor", "tina")
    cal, other = parse_both(body)
    assert str(cal["METHOD"]) == "PUBLISH" and str(cal["VERSION"]) == "2.0" and str(cal["CALSCALE"]) == "GREGORIAN"
    assert "X-WR-CALNAME" in cal and cal["PRODID"]
    used = tzids_used(body)
    assert used == {b"Europe/Paris"} and used <= tzids_defined(cal)
    summaries = sorted(str(e["SUMMARY"]) for e in events_of(cal))
    assert "Rendez-vous de suivi — Alice Test" in summaries and "Visite en entreprise — Alice Test" in summaries
    assert any(s.startswith("Suivi à faire : ") or s.startswith("Suivi en retard : ") for s in summaries), summaries
    assert len(other.events) == len(events_of(cal)) == 2 + len([s for s in summaries if s.startswith("Suivi")])
    summer = next(e for e in other.events if e.summary.startswith("Visite"))
    assert summer.dtstart.utcoffset() == dt.timedelta(hours=2)  # CEST, read through the VTIMEZONE
    visit = next(e for e in events_of(cal) if str(e["SUMMARY"]).startswith("Visite"))
    assert str(visit["LOCATION"]) == "Salle 3, 12 rue des Lilas"
    assert str(visit["URL"]) == "https://livret.of-test.fr/apprenants/alice/"  # staff feed: the app's page


def test_a_moved_plan_keeps_its_uid_with_a_rising_sequence_and_a_cancelled_one_stays_once(project):
    first = plan(project, "alice", at("2026-03-10", 14), now=NOW)
    before = events_of(parse_both(feed(project, "tutor", "tina"))[0])
    assert [(str(e["UID"]), int(e["SEQUENCE"])) for e in before] == [(f"{first.id}@livret", 0)]
    move(project, "alice", first.id, at("2026-03-12", 16), now=NOW + dt.timedelta(hours=1))
    cal, other = parse_both(feed(project, "tutor", "tina"))
    moved = events_of(cal)
    assert [(str(e["UID"]), int(e["SEQUENCE"])) for e in moved] == [(f"{first.id}@livret", 1)]
    assert moved[0].decoded("DTSTART") == at("2026-03-12", 16) and str(moved[0]["STATUS"]) == "CONFIRMED"
    assert other.events[0].sequence == 1
    cancel(project, "alice", first.id, at("2026-03-12", 16), now=NOW + dt.timedelta(hours=2))
    cal, other = parse_both(feed(project, "tutor", "tina"))
    cancelled = events_of(cal)
    assert len(cancelled) == 1 and len(other.events) == 1
    assert str(cancelled[0]["UID"]) == f"{first.id}@livret" and int(cancelled[0]["SEQUENCE"]) == 2
    assert str(cancelled[0]["STATUS"]) == "CANCELLED" and str(other.events[0].status) in ("CANCELLED",
                                                                                          "EventStatus.CANCELLED")
    # the learner's feed shows the same chain the same way
    learner = events_of(parse_both(feed(project, "learner", "alice"))[0])
    assert [(str(e["UID"]), str(e["STATUS"])) for e in learner] == [(f"{first.id}@livret", "CANCELLED")]


def test_no_staff_information_reaches_any_feed(project):
    set_organisation(project, followup=RULES)
    add(project, "alice", {"type": "alert", "date": when("2026-02-20"), "title": "Situation personnelle grave",
                           "category": "personnelle", "severity": "haute"}, "Détail confidentiel.")
    secret = plan(project, "alice", at("2026-03-11", 10), now=NOW, visibility="staff", place="Bureau secret")
    shared = plan(project, "alice", at("2026-03-12", 10), now=NOW, with_company=True,
                  others=[{"name": "Jeanne Autre", "email": "jeanne@exemple.fr"}])
    for role, username in (("tutor", "tina"), ("admin", "ada"), ("learner", "alice"), ("company", "carl")):
        body = feed(project, role, username)
        text = body.decode("utf-8")
        for forbidden in ("Situation personnelle", "confidentiel", "Bureau secret", secret.id, "Titre interne",
                          "Notes de préparation", "jeanne@exemple.fr", "Jeanne Autre", "Indisponibilité"):
            assert forbidden not in text, (role, forbidden)
        uids = {str(e["UID"]) for e in events_of(parse_both(body)[0])}
        assert f"{shared.id}@livret" in uids, role
        if role in ("learner", "company"):
            assert "URL" not in text and "Suivi" not in text  # no app link, no follow-up: staff matters


def test_each_role_sees_its_own_plans_only(project):
    mine = plan(project, "alice", at("2026-03-10", 14), now=NOW)  # with the learner, not the company
    visit = plan(project, "alice", at("2026-03-11", 14), now=NOW, kind="visite-entreprise", with_company=True,
                 with_learner=False)
    bobs = plan(project, "bob", at("2026-03-12", 14), now=NOW, author="tom")

    def uids(role, username):
        return {str(e["UID"]).split("@")[0] for e in events_of(parse_both(feed(project, role, username))[0])}

    assert uids("tutor", "tina") == {mine.id, visit.id}
    assert uids("tutor", "tom") == {bobs.id}
    assert uids("admin", "ada") == {mine.id, visit.id, bobs.id}
    assert uids("learner", "alice") == {mine.id}
    assert uids("learner", "bob") == {bobs.id}
    assert uids("company", "carl") == {visit.id}
    assert uids("auditor", "audra") == set()


def test_work_study_periods_are_all_day_events_with_an_exclusive_end(project):
    set_profile(project, "alice", calendar=[
        {"start": "2026-03-02", "end": "2026-03-06", "kind": "centre", "label": "Semaine 1"},
        {"start": "2026-03-09", "end": "2026-03-27", "kind": "entreprise"}])
    body = feed(project, "learner", "alice")
    cal, other = parse_both(body)
    periods = sorted(events_of(cal), key=lambda e: e.decoded("DTSTART"))
    assert [(e.decoded("DTSTART"), e.decoded("DTEND")) for e in periods] == [
        (dt.date(2026, 3, 2), dt.date(2026, 3, 7)), (dt.date(2026, 3, 9), dt.date(2026, 3, 28))]
    assert b"DTSTART;VALUE=DATE:20260302" in body and b"DTEND;VALUE=DATE:20260307" in body
    assert [str(e["SUMMARY"]) for e in periods] == ["En centre de formation — Alice Test",
                                                    "En entreprise — Alice Test"]
    assert sorted((e.dtstart, e.dtend) for e in other.events)[0] == (dt.date(2026, 3, 2), dt.date(2026, 3, 7))
    company = events_of(parse_both(feed(project, "company", "carl"))[0])
    assert len(company) == 2  # the company tutor sees their learner's calendar
    assert events_of(parse_both(feed(project, "learner", "bob"))[0]) == []


def test_the_same_store_gives_the_same_bytes(project):
    """DTSTAMP comes from the records, not from the clock: the feed's ETag changes only with the store."""
    plan(project, "alice", at("2026-03-10", 14), now=NOW)
    assert feed(project, "tutor", "tina", now=NOW) == feed(project, "tutor", "tina", now=NOW + dt.timedelta(hours=3))


@pytest.mark.parametrize("tz", ["Europe/Paris", "America/Cayenne", "Indian/Reunion", "Pacific/Noumea"])
def test_vtimezone_of_overseas_zones(tz):
    """French overseas organisations: each zone gets its own VTIMEZONE, read by both parsers."""
    from types import SimpleNamespace

    meta = SimpleNamespace(kind="suivi", recorded=NOW, place="Salle", video_link=None, modality="presentiel")
    state = SimpleNamespace(id="01JTESTPLAN0000000000000000", sequence=0, latest=meta, status="planned",
                            start=NOW, end=NOW + dt.timedelta(hours=1))
    body = ics.calendar_for([ics.plan_event(state, "Lucas Moreau", tz=tz)], tz)
    cal, other = parse_both(body)
    assert tzids_used(body) == {tz.encode()} <= tzids_defined(cal)
    assert other.events[0].dtstart.astimezone(dt.timezone.utc) == NOW.astimezone(dt.timezone.utc)
