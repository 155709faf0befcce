"""Trusted timestamps of the journal's head, from a real TSA (openssl ts) on loopback."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from factories import add, make_project, meeting
from tsa_support import start_tsa

from livret.instance.db import DB_NAME
from livret.seal import witnessed
from livret.seal.timestamps import TimestampError, Timestamps, check, load_roots, request_token, verify_token


@pytest.fixture
def tsa(tmp_path):
    server = start_tsa(tmp_path / "tsa")
    yield server
    server.stop()


@pytest.fixture
def journal(tmp_path):
    project = make_project(tmp_path / "p")
    journal = witnessed(project)
    add(project, "alice", meeting())
    return journal


def test_a_token_covers_the_head_and_verifies_against_the_root(journal, tsa):
    roots = load_roots(tsa.ca_pem)
    token = Timestamps(journal).checkpoint(tsa.url, roots)
    head = journal.head()
    assert token.seq == head.seq and token.head_hash == head.hash
    assert abs(token.gen_time - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)
    assert verify_token(token.token, head.hash, roots) == token.gen_time
    assert check(journal, roots) == []
    # Same head: no second request.
    assert Timestamps(journal).checkpoint(tsa.url, roots) == token


def test_a_token_does_not_verify_for_another_hash_or_another_root(journal, tsa, tmp_path):
    roots = load_roots(tsa.ca_pem)
    token = Timestamps(journal).checkpoint(tsa.url, roots)
    with pytest.raises(TimestampError, match="ne couvre pas|invalide"):
        verify_token(token.token, "0" * 64, roots)
    other = start_tsa(tmp_path / "autre")
    try:
        with pytest.raises(TimestampError, match="invalide"):
            verify_token(token.token, token.head_hash, load_roots(other.ca_pem))
    finally:
        other.stop()


def test_a_rewritten_journal_no_longer_matches_its_tokens(journal, tsa):
    roots = load_roots(tsa.ca_pem)
    Timestamps(journal).checkpoint(tsa.url, roots)
    # Someone with shell access rewrites the record and recomputes the chain from it.
    records = journal.records()
    last = records[-1]
    from livret.seal.journal import record_hash

    forged_time = "2026-01-01T00:00:00+00:00"
    forged = record_hash(last.seq, last.kind, last.commit_id, last.tree_id, forged_time, last.author, last.note,
                         last.prev)
    with sqlite3.connect(journal.db.path) as conn:
        conn.execute("UPDATE journal SET recorded = ?, hash = ? WHERE seq = ?", (forged_time, forged, last.seq))
    assert journal.records()[-1].hash == forged  # the chain itself is consistent again...
    findings = check(journal, roots)
    assert any("journal réécrit" in f for f in findings)  # ...but the token covers the old one


def test_records_without_a_timely_token_are_reported(journal, tsa):
    roots = load_roots(tsa.ca_pem)
    Timestamps(journal).checkpoint(tsa.url, roots)
    journal.append("foreign", "f" * 40, "e" * 40, author="")  # a record after the last checkpoint...
    assert check(journal, roots) == []  # ...is fine for two days,
    ten_days_later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=10)
    findings = check(journal, roots, now=ten_days_later)  # not after: no token came to cover it
    assert any("aucun horodatage dans les 2 jours" in f for f in findings)


def test_a_tsa_that_is_down_raises_a_clear_error(journal, tsa):
    tsa.up = False
    with pytest.raises(TimestampError, match="injoignable"):
        request_token(tsa.url, journal.head().hash, load_roots(tsa.ca_pem))
    assert Timestamps(journal).tokens() == []
    assert (journal.db.instance_dir / DB_NAME).exists()
