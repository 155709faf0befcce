"""The rotating QR code of a session: only learners in the room can sign (with their own session).

The trainer's page shows a QR code of ``/seances/<chain_id>/emarger?code=<code>``;
the code is the HMAC-SHA256 of the chain id and the current time slot
(``qr_period_seconds`` long, 30 s by default) under a secret kept in the
instance database (created once, shared by every process).  A code is
accepted during its slot and the next one (a learner who scanned just before
the change is not refused).  The code alone never signs: the learner must
also be signed in.  Whether a session *requires* the code is the trainer's
choice on their page (« Exiger le code QR »), kept in the instance database.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import secrets
import threading

import segno

from ..instance.db import InstanceDB
from . import tables  # noqa: F401 - registers the tables

#: Characters of a code (base32 of the HMAC's start: 50 bits).
CODE_LENGTH = 10
_secrets: dict[str, bytes] = {}
_lock = threading.Lock()


def _secret(db: InstanceDB) -> bytes:
    key = str(db.path.resolve())
    with _lock:
        if key in _secrets:
            return _secrets[key]
    with db.transaction() as conn:
        conn.execute("INSERT OR IGNORE INTO attendance_secret (id, secret) VALUES (1, ?)",
                     (secrets.token_hex(32),))
        value = bytes.fromhex(conn.execute("SELECT secret FROM attendance_secret WHERE id = 1").fetchone()[0])
    with _lock:
        _secrets[key] = value
    return value


def slot_of(now: dt.datetime, period: int) -> int:
    return int(now.timestamp()) // period


def code_for(db: InstanceDB, chain_id: str, slot: int) -> str:
    digest = hmac.new(_secret(db), f"{chain_id}:{slot}".encode("ascii"), hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode("ascii")[:CODE_LENGTH]


def current_code(db: InstanceDB, chain_id: str, now: dt.datetime, period: int) -> str:
    """The code the trainer's page shows now."""
    return code_for(db, chain_id, slot_of(now, period))


def valid_code(db: InstanceDB, chain_id: str, code: str | None, now: dt.datetime, period: int) -> bool:
    """Whether ``code`` is the session's code of the current slot or of the previous one."""
    if not code or len(code) != CODE_LENGTH:
        return False
    slot = slot_of(now, period)
    return any(hmac.compare_digest(code.upper(), code_for(db, chain_id, s)) for s in (slot, slot - 1))


def seconds_left(now: dt.datetime, period: int) -> int:
    """Seconds until the code changes."""
    return period - int(now.timestamp()) % period


def qr_svg(url: str) -> bytes:
    """The QR code of ``url`` as SVG (segno; no script, no external reference)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=6, border=2, xmldecl=False, title="Code QR d'émargement")
    return out.getvalue()


def qr_required(db: InstanceDB, chain_id: str) -> bool:
    """Whether the trainer requires the QR code for an own-device signature at this session."""
    conn = db.connect()
    try:
        row = conn.execute("SELECT required FROM attendance_qr WHERE chain_id = ?", (chain_id,)).fetchone()
    finally:
        conn.close()
    return bool(row and row[0])


def set_qr_required(db: InstanceDB, chain_id: str, required: bool, *, username: str) -> None:
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    with db.transaction() as conn:
        conn.execute("INSERT INTO attendance_qr (chain_id, required, set_by, set_at) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (chain_id) DO UPDATE SET required = excluded.required, set_by = excluded.set_by, "
                     "set_at = excluded.set_at", (chain_id, int(required), username, now))
