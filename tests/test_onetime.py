"""One-time links: one table for every purpose; looking never uses a link; using it works once."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import threading

import pytest

from livret.instance.db import InstanceDB
from livret.instance.onetime import OneTimeError, OneTimeLinks

DAY = dt.timedelta(days=1)


@pytest.fixture
def links(tmp_path):
    return OneTimeLinks(InstanceDB(tmp_path))


def test_peek_never_uses_a_link_and_consume_works_once(links):
    token = links.issue("reset", "tina", ttl=DAY, created_by="ada", data={"note": "téléphone"})
    for _ in range(3):  # a mail scanner, a preview, the person
        link = links.peek(token, "reset")
        assert link is not None and (link.username, link.created_by, link.used_at) == ("tina", "ada", None)
    used = links.consume(token, "reset")
    assert used is not None and used.used_at is not None and used.data == {"note": "téléphone"}
    assert links.consume(token, "reset") is None and links.peek(token) is None


def test_only_the_hash_is_stored(links):
    token = links.issue("invitation", "paul", ttl=DAY, created_by="ada")
    conn = sqlite3.connect(links.db.path)
    try:
        stored = conn.execute("SELECT token_hash FROM onetime_links").fetchone()[0]
        dump = "\n".join(conn.iterdump())
    finally:
        conn.close()
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in dump
    assert len(token) == 43


def test_a_link_works_for_its_purpose_only(links):
    token = links.issue("invitation", "paul", ttl=DAY, created_by="ada")
    assert links.peek(token, "reset") is None and links.consume(token, "reset") is None
    assert links.consume(token, ("reset", "invitation")).purpose == "invitation"


@pytest.mark.parametrize("token", ["", "x", "a" * 43, "é" * 43, "../../etc/passwd", "a" * 10_000, None])
def test_unknown_or_malformed_tokens_name_nothing(links, token):
    links.issue("reset", "tina", ttl=DAY, created_by="ada")
    assert links.peek(token) is None and links.consume(token) is None


def test_an_expired_link_is_refused(links):
    token = links.issue("reset", "tina", ttl=DAY, created_by="ada")
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)).isoformat()
    with links.db.transaction() as conn:  # the link's day has passed
        conn.execute("UPDATE onetime_links SET expires = ?", (past,))
    assert links.peek(token) is None and links.consume(token) is None


def test_a_new_link_revokes_the_older_unused_ones(links):
    first = links.issue("reset", "tina", ttl=DAY, created_by="ada")
    other_purpose = links.issue("invitation", "tina", ttl=DAY, created_by="ada")
    other_user = links.issue("reset", "tom", ttl=DAY, created_by="ada")
    second = links.issue("reset", "tina", ttl=DAY, created_by="ada")
    assert links.peek(first) is None and links.peek(second) is not None
    assert links.peek(other_purpose) is not None and links.peek(other_user) is not None
    kept = links.issue("company", "carl", ttl=DAY, created_by="tina")
    links.issue("company", "carl", ttl=DAY, created_by="tina", replace=False)
    assert links.peek(kept) is not None and len(links.pending("carl", "company")) == 2
    assert links.revoke_for("carl", "company") == 2 and links.pending("carl") == []
    assert links.revoke_for("tina") == 2 and links.peek(second) is None


def test_work_done_with_the_link_is_all_or_nothing(links):
    token = links.issue("reset", "tina", ttl=DAY, created_by="ada")

    def fails(conn, link):
        conn.execute("CREATE TABLE side_effect (x)")
        raise RuntimeError("le mot de passe n'a pas pu être enregistré")

    with pytest.raises(RuntimeError):
        links.consume(token, "reset", within=fails)
    assert links.peek(token) is not None  # still usable
    seen = []
    assert links.consume(token, "reset", within=lambda conn, link: seen.append(link.subject)) is not None
    assert seen == ["tina"]
    conn = links.db.connect()
    try:
        assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'side_effect'").fetchone()[0] == 0
    finally:
        conn.close()


def test_concurrent_presses_use_a_link_once(links):
    token = links.issue("reset", "tina", ttl=DAY, created_by="ada")
    barrier = threading.Barrier(16)
    results, errors = [], []

    def press():
        try:
            barrier.wait()
            results.append(links.consume(token, "reset"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=press) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len([r for r in results if r is not None]) == 1 and len(results) == 16


@pytest.mark.parametrize("purpose, subject, ttl", [("Reset", "tina", DAY), ("reset", "", DAY),
                                                    ("reset", "tina", dt.timedelta(0))])
def test_bad_issues_are_refused(links, purpose, subject, ttl):
    with pytest.raises(OneTimeError):
        links.issue(purpose, subject, ttl=ttl, created_by="ada")
