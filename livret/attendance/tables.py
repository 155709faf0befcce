"""The instance tables of signing (livret.instance.db): the QR secret, the QR requirement, personal codes.

- ``attendance_secret``: one row, the key of the rotating QR codes (:mod:`.qr`), created once and shared
  by every process of the instance;
- ``attendance_qr``: the sessions whose trainer requires the QR code (« Exiger le code QR »);
- ``attendance_codes``: each learner's personal code for the trainer's device (:mod:`.codes`), hashed.
"""

from __future__ import annotations

from ..instance import db as instance_db

instance_db.register("attendance_signing", [
    """
    CREATE TABLE attendance_secret (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        secret TEXT NOT NULL
    );
    CREATE TABLE attendance_qr (
        chain_id TEXT PRIMARY KEY,
        required INTEGER NOT NULL,
        set_by TEXT NOT NULL,
        set_at TEXT NOT NULL
    );
    CREATE TABLE attendance_codes (
        username TEXT PRIMARY KEY,
        code_hash TEXT NOT NULL,
        set_by TEXT NOT NULL,
        set_at TEXT NOT NULL
    );
    """,
])
