"""Limits on requests that send a mail to an address someone typed (« mot de passe oublié », a new
company link): per address and per client, over a sliding window, in the instance database (the limits
hold across threads, processes and restarts).  Every request counts, whether the address exists or not,
so the answer (accepted or « trop de demandes ») tells nothing about the address.
"""

from __future__ import annotations

import time

from ..instance import db as instance_db
from ..instance.accounts import origin_key

instance_db.register("mail_requests", [
    """
    CREATE TABLE mail_requests (
        id INTEGER PRIMARY KEY,
        action TEXT NOT NULL,
        address TEXT NOT NULL,
        origin TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX mail_requests_address ON mail_requests (action, address, at);
    CREATE INDEX mail_requests_origin ON mail_requests (action, origin, at);
    """,
])

WINDOW_SECONDS = 60 * 60
#: Requests for one address in the window (whoever asks).
MAX_PER_ADDRESS = 3
#: Requests from one client in the window (whatever the address).
MAX_PER_ORIGIN = 10


class MailThrottle:
    """Counts requests of one ``action`` (``reset``, ``company-link``...) per address and per client."""

    def __init__(self, db: instance_db.InstanceDB, action: str, *, per_address: int = MAX_PER_ADDRESS,
                 per_origin: int = MAX_PER_ORIGIN, window: float = WINDOW_SECONDS):
        self.db = db
        self.action = action
        self.per_address = per_address
        self.per_origin = per_origin
        self.window = window

    def hit(self, address: str, origin: str, *, now: float | None = None) -> int | None:
        """Count one request; None if allowed, else the seconds to wait (nothing counted then)."""
        now = time.time() if now is None else now
        address = (address or "").strip().casefold()[:200]
        origin = origin_key(origin)
        since = now - self.window
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM mail_requests WHERE at < ?", (since,))
            for column, value, limit in (("address", address, self.per_address),
                                         ("origin", origin, self.per_origin)):
                rows = conn.execute(f"SELECT at FROM mail_requests WHERE action = ? AND {column} = ? AND at >= ? "
                                    "ORDER BY at DESC LIMIT ?", (self.action, value, since, limit)).fetchall()
                if len(rows) >= limit:
                    return int(rows[-1]["at"] + self.window - now) + 1
            conn.execute("INSERT INTO mail_requests (action, address, origin, at) VALUES (?, ?, ?, ?)",
                         (self.action, address, origin, now))
        return None
