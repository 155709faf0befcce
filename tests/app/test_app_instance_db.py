"""The instance database: WAL, busy timeout, per-component migrations."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import pytest

from livret.instance import db as instance_db
from livret.instance.db import InstanceDB, InstanceDBError, split_statements


def test_connection_settings(tmp_path):
    conn = InstanceDB(tmp_path / "instance").connect()
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == instance_db.BUSY_TIMEOUT_MS
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        conn.close()
    assert (tmp_path / "instance" / instance_db.DB_NAME).stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "instance").stat().st_mode & 0o777 == 0o700


def test_components_migrate_independently_and_once(tmp_path):
    name = "test_widgets"
    instance_db.register(name, ["CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"])
    db = InstanceDB(tmp_path)
    with db.transaction() as conn:
        conn.execute("INSERT INTO widgets (name) VALUES ('a')")
    # A later release adds a step: it applies on the next connection, data kept.
    instance_db.register(name, [
        "CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
        "ALTER TABLE widgets ADD COLUMN colour TEXT;\nUPDATE widgets SET colour = 'bleu';",
    ])
    conn = db.connect()
    try:
        assert [tuple(r) for r in conn.execute("SELECT name, colour FROM widgets")] == [("a", "bleu")]
        versions = dict(conn.execute("SELECT component, version FROM migrations").fetchall())
        assert versions[name] == 2 and versions["accounts"] >= 1
    finally:
        conn.close()


def test_changing_a_released_step_is_refused():
    instance_db.register("test_frozen", ["CREATE TABLE frozen (id INTEGER);"])
    with pytest.raises(InstanceDBError):
        instance_db.register("test_frozen", ["CREATE TABLE frozen (id TEXT);"])


def test_failed_step_leaves_database_unchanged(tmp_path):
    db = InstanceDB(tmp_path)
    db.connect().close()
    instance_db.register("test_broken", ["CREATE TABLE half (id INTEGER);\nINSERT INTO nowhere VALUES (1);"])
    try:
        with pytest.raises(sqlite3.OperationalError):
            db.connect()
        raw = sqlite3.connect(tmp_path / instance_db.DB_NAME)
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        raw.close()
        assert "half" not in tables
    finally:
        with instance_db._registry_lock:
            del instance_db._registry["test_broken"]


def test_newer_database_is_refused(tmp_path):
    db = InstanceDB(tmp_path)
    db.connect().close()
    raw = sqlite3.connect(tmp_path / instance_db.DB_NAME)
    raw.execute("UPDATE migrations SET version = 99 WHERE component = 'accounts'")
    raw.commit()
    raw.close()
    instance_db._migrated.clear()
    with pytest.raises(InstanceDBError, match="plus récente"):
        db.connect()


def test_split_statements_keeps_semicolons_in_strings():
    script = "CREATE TABLE t (x TEXT DEFAULT ';');\nINSERT INTO t VALUES ('a;b');\n"
    assert len(split_statements(script)) == 2
    with pytest.raises(InstanceDBError):
        split_statements("CREATE TABLE t (x TEXT")


def test_processes_migrating_together_do_not_collide(tmp_path):
    """Several processes opening a fresh database at once: one migrates, none fails."""
    code = textwrap.dedent(f"""
        import livret.instance.accounts
        from livret.instance.db import InstanceDB
        conn = InstanceDB({str(tmp_path)!r}).connect()
        print(conn.execute("SELECT version FROM migrations WHERE component = 'accounts'").fetchone()[0])
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(4)]
    results = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    assert {out.strip() for out, _ in results} == {str(instance_db.registered()["accounts"]).encode()}


def test_keep_open_keeps_the_wal_files(tmp_path):
    """New connections then open existing files only: they still work on a full disk
    (tests/test_reliability_disk.py checks that through the app)."""
    db = InstanceDB(tmp_path)
    db.connect().close()
    shm = tmp_path / (instance_db.DB_NAME + "-shm")
    assert not shm.exists()  # the last connection closed: SQLite removed it
    db.keep_open()
    db.connect().close()
    assert shm.exists()
