"""Share links: read-only access to one learner's shared site, with no account.

A learner shows their portfolio to a company or an auditor with a link
``/s/<token>/``.  The link is the only credential, so:

- the token is random, 256 bits (``secrets.token_urlsafe(32)``, 43
  characters), shown once at creation and never stored: the database keeps
  its SHA-256 only, so a copy of the database opens no portfolio;
- a presented token is hashed and the stored hash compared in constant time
  (``hmac.compare_digest``);
- every link has a label (who it is for), an expiry (``share.default_days``
  by default, never more than ``share.max_days``: organisation settings) and
  can be revoked; an expired or revoked link is kept, so its visits stay
  visible;
- every page opened through a link is logged (when, which link, which page,
  the answer given); the learner and the staff read that log.  No address
  or browser fingerprint is kept: the log proves access, it does not track.

The tables live in the instance database (:mod:`livret.instance.db`), never
in the store: they hold secrets (hashes) and change on every visit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..store import Store, valid_learner_id
from . import db as instance_db

instance_db.register("share_links", [
    """
    CREATE TABLE share_links (
        id INTEGER PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        learner TEXT NOT NULL,
        label TEXT NOT NULL,
        created TEXT NOT NULL,
        created_by TEXT NOT NULL,
        expires TEXT NOT NULL,
        revoked TEXT,
        revoked_by TEXT
    );
    CREATE INDEX share_links_learner ON share_links (learner);
    CREATE TABLE share_visits (
        id INTEGER PRIMARY KEY,
        link_id INTEGER NOT NULL REFERENCES share_links (id),
        at TEXT NOT NULL,
        page TEXT NOT NULL,
        status INTEGER NOT NULL
    );
    CREATE INDEX share_visits_link ON share_visits (link_id, at);
    """,
])

#: ``secrets.token_urlsafe(32)``: 32 random bytes, 43 URL-safe characters.
TOKEN_BYTES = 32
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
MAX_LABEL = 200
MAX_PAGE = 500
DEFAULT_LABEL = "Lien de partage"
#: SQLite stores 64-bit signed integers: a larger id (from a URL) names no link.
MAX_ID = 2**63 - 1
STATE_LABELS = {"active": "actif", "expired": "expiré", "revoked": "révoqué"}


class ShareError(ValueError):
    """A refused share operation: the field (French name, as in the form) and what is wrong."""

    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"{field} : {message}")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_from(text: str) -> str | None:
    """The token in ``text``: a bare token or a link ``…/s/<token>/…``; None if there is none."""
    text = (text or "").strip()
    if TOKEN_RE.match(text):
        return text
    path = urlsplit(text).path if "://" in text else text
    parts = [p for p in path.split("/") if p]
    for i, part in enumerate(parts[:-1]):
        if part == "s" and TOKEN_RE.match(parts[i + 1]):
            return parts[i + 1]
    return None


def clean_label(label: str | None) -> str:
    """A label as stored: trimmed, control characters refused, at most 200 characters."""
    label = (label or "").strip() or DEFAULT_LABEL
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in label):
        raise ShareError("libellé", "caractères de contrôle non permis")
    if len(label) > MAX_LABEL:
        raise ShareError("libellé", f"trop long (au plus {MAX_LABEL} caractères)")
    return label


@dataclass(frozen=True)
class ShareLink:
    id: int
    learner: str
    label: str
    created: dt.datetime
    created_by: str
    expires: dt.datetime
    revoked: dt.datetime | None
    revoked_by: str | None
    visits: int = 0
    last_visit: dt.datetime | None = None

    def state(self, now: dt.datetime | None = None) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked is not None:
            return "revoked"
        return "expired" if (now or _utcnow()) >= self.expires else "active"

    def state_label(self, now: dt.datetime | None = None) -> str:
        return STATE_LABELS[self.state(now)]


@dataclass(frozen=True)
class Visit:
    link_id: int
    label: str
    learner: str
    at: dt.datetime
    page: str
    status: int


@dataclass(frozen=True)
class Created:
    """A new link and its token: the only moment the token is known."""

    link: ShareLink
    token: str

    def url(self, base: str) -> str:
        return f"{base.rstrip('/')}/s/{self.token}/"


def _dt(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _link(row) -> ShareLink:
    keys = row.keys()
    return ShareLink(
        id=row["id"], learner=row["learner"], label=row["label"], created=_dt(row["created"]),
        created_by=row["created_by"], expires=_dt(row["expires"]), revoked=_dt(row["revoked"]),
        revoked_by=row["revoked_by"],
        visits=row["visits"] if "visits" in keys else 0,
        last_visit=_dt(row["last_visit"]) if "last_visit" in keys else None,
    )


_LIST = """
    SELECT l.*, COUNT(v.id) AS visits, MAX(v.at) AS last_visit
    FROM share_links l LEFT JOIN share_visits v ON v.link_id = l.id
"""


class ShareLinks:
    """The share links of one project: its store (learners, settings) and instance database."""

    def __init__(self, db: instance_db.InstanceDB, store: Store):
        self.db = db
        self.store = store

    @classmethod
    def for_project(cls, project) -> "ShareLinks":
        return cls(instance_db.InstanceDB.for_project(project), project.store)

    # ------------------------------------------------------------------ writing

    def create(self, learner_id: str, *, created_by: str, label: str | None = None,
               days: int | None = None, now: dt.datetime | None = None) -> Created:
        """A new link to ``learner_id``'s shared site; raise :class:`ShareError` on bad input."""
        if not valid_learner_id(learner_id) or learner_id not in self.store.learner_ids():
            raise ShareError("apprenant·e", f"{learner_id!r} inconnu·e")
        settings = self.store.settings().share
        days = settings.default_days if days is None else days
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ShareError("durée", "nombre entier de jours attendu, au moins 1")
        if days > settings.max_days:
            raise ShareError("durée", f"au plus {settings.max_days} jours "
                                      "(durée maximale fixée par l'organisme)")
        label = clean_label(label)
        now = (now or _utcnow()).astimezone(dt.timezone.utc)
        token = new_token()
        expires = now + dt.timedelta(days=days)
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO share_links (token_hash, learner, label, created, created_by, expires) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (hash_token(token), learner_id, label, now.isoformat(), created_by, expires.isoformat()),
            )
            link_id = cur.lastrowid
        link = self.get(link_id)
        assert link is not None
        return Created(link, token)

    def revoke(self, link_id: int, *, by: str, now: dt.datetime | None = None) -> ShareLink:
        """Revoke a link (idempotent: a revoked link keeps its first revocation)."""
        now = (now or _utcnow()).astimezone(dt.timezone.utc)
        if not 0 < link_id <= MAX_ID:
            raise ShareError("lien", f"inconnu : n° {link_id}")
        with self.db.transaction() as conn:
            done = conn.execute(
                "UPDATE share_links SET revoked = ?, revoked_by = ? WHERE id = ? AND revoked IS NULL",
                (now.isoformat(), by, link_id),
            )
            if done.rowcount == 0 and not conn.execute(
                    "SELECT 1 FROM share_links WHERE id = ?", (link_id,)).fetchone():
                raise ShareError("lien", f"inconnu : n° {link_id}")
        link = self.get(link_id)
        assert link is not None
        return link

    def log_visit(self, link: ShareLink, page: str, status: int, now: dt.datetime | None = None) -> None:
        now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
        page = "".join(c for c in page if unicodedata.category(c) not in ("Cc", "Cf"))[:MAX_PAGE]
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO share_visits (link_id, at, page, status) VALUES (?, ?, ?, ?)",
                         (link.id, now.isoformat(timespec="seconds"), page, status))

    # ------------------------------------------------------------------ reading

    def _query(self, sql: str, args: tuple = ()) -> list:
        conn = self.db.connect()
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def get(self, link_id: int) -> ShareLink | None:
        if not 0 < link_id <= MAX_ID:
            return None
        rows = self._query(_LIST + " WHERE l.id = ? GROUP BY l.id", (link_id,))
        return _link(rows[0]) if rows else None

    def list(self, learner_id: str | None = None) -> list[ShareLink]:
        """Links, newest first (of one learner, or of all)."""
        if learner_id is None:
            rows = self._query(_LIST + " GROUP BY l.id ORDER BY l.created DESC, l.id DESC")
        else:
            rows = self._query(_LIST + " WHERE l.learner = ? GROUP BY l.id ORDER BY l.created DESC, l.id DESC",
                               (learner_id,))
        return [_link(r) for r in rows]

    def find(self, token: str) -> ShareLink | None:
        """The link a token opens (whatever its state), or None.

        The lookup is by hash (an index); the stored hash is then compared
        with the presented one in constant time, so no timing tells how
        much of a guessed token was right.
        """
        if not TOKEN_RE.match(token or ""):
            return None
        wanted = hash_token(token)
        rows = self._query("SELECT token_hash, id FROM share_links WHERE token_hash = ?", (wanted,))
        for row in rows:
            if hmac.compare_digest(row["token_hash"], wanted):
                return self.get(row["id"])
        return None

    def visits(self, *, learner_id: str | None = None, link_id: int | None = None,
               limit: int = 500) -> list[Visit]:
        """Visits, newest first."""
        where, args = [], []
        if learner_id is not None:
            where.append("l.learner = ?")
            args.append(learner_id)
        if link_id is not None:
            where.append("l.id = ?")
            args.append(link_id)
        sql = ("SELECT v.*, l.label, l.learner FROM share_visits v JOIN share_links l ON l.id = v.link_id"
               + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY v.at DESC, v.id DESC LIMIT ?")
        rows = self._query(sql, (*args, limit))
        return [Visit(r["link_id"], r["label"], r["learner"], _dt(r["at"]), r["page"], r["status"]) for r in rows]
