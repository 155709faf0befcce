"""Each person's calendar feed: a secret URL a calendar application subscribes to.

The URL is ``<app>/agenda/<token>.ics``: the token (256 random bits) is
shown once, when it is created or regenerated; only its SHA-256 is kept
(table ``feed_tokens``, one row per account).  Regenerating replaces the
row: the old URL answers 404 at once.  A disabled or deleted account's URL
answers 404 too (the app checks the account at every request).

What a feed holds, by role (:func:`feed_events`):

- tutor: the planned meetings of their learners (planned, held, to complete,
  cancelled) and the follow-ups due or overdue under the organisation's rules
  (:func:`livret.views.followup.to_do`), each with a link to the learner's page;
- admin: the same over every learner (the admin follows the organisation);
- learner: their own planned meetings in which they take part
  (``with_learner``) and their work-study periods;
- company tutor: the meetings of their learners in which the company takes
  part (``with_company``) and those learners' work-study periods;
- auditor: no feed.

A plan whose first or latest record is a ``staff`` entry is in no feed:
staff information never leaves the app.  The events carry nothing more
personal than the learner's name, the kind of meeting, the place or the
video link (:mod:`livret.planning.ics`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from zoneinfo import ZoneInfo

from ..instance import db as instance_db
from ..store.visibility import visible_ids
from ..views import followup as fv
from ..views import plans as pv
from ..views.calendar import learner_periods
from . import ics

instance_db.register("feed_tokens", [
    """
    CREATE TABLE feed_tokens (
        username TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL,
        last_used TEXT
    );
    """,
])

FEED_PATH = "/agenda/"
FEED_ROLES = ("tutor", "admin", "learner", "company")
#: ``last_used`` is written at most this often (calendar apps poll every few minutes).
LAST_USED_STEP = dt.timedelta(hours=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat()


class FeedTokens:
    """The feed tokens of one project's instance database."""

    def __init__(self, db: instance_db.InstanceDB):
        self.db = db

    @classmethod
    def for_project(cls, project) -> FeedTokens:
        return cls(instance_db.InstanceDB.for_project(project))

    def issue(self, username: str, *, now: dt.datetime | None = None) -> str:
        """A new token for ``username`` (the previous one, if any, stops working); shown once."""
        token = secrets.token_urlsafe(32)
        now = now or dt.datetime.now(dt.timezone.utc)
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO feed_tokens (username, token_hash, created) VALUES (?, ?, ?) "
                         "ON CONFLICT (username) DO UPDATE SET token_hash = excluded.token_hash, "
                         "created = excluded.created, last_used = NULL", (username, _hash(token), _iso(now)))
        return token

    def info(self, username: str) -> dict | None:
        """``{created, last_used}`` of the person's token (ISO texts), None when they have none."""
        conn = self.db.connect()
        try:
            row = conn.execute("SELECT created, last_used FROM feed_tokens WHERE username = ?",
                               (username,)).fetchone()
        finally:
            conn.close()
        return dict(row) if row else None

    def revoke(self, username: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM feed_tokens WHERE username = ?", (username,))

    def owner(self, token: str, *, now: dt.datetime | None = None) -> str | None:
        """The username of a valid token, None for anything else."""
        if not isinstance(token, str) or not 20 <= len(token) <= 100:
            return None
        digest = _hash(token)
        conn = self.db.connect()
        try:
            row = conn.execute("SELECT username, token_hash, last_used FROM feed_tokens WHERE token_hash = ?",
                               (digest,)).fetchone()
            if row is None or not hmac.compare_digest(row["token_hash"], digest):
                return None
            now = now or dt.datetime.now(dt.timezone.utc)
            last = dt.datetime.fromisoformat(row["last_used"]) if row["last_used"] else None
            if last is None or now - last >= LAST_USED_STEP:
                try:
                    conn.execute("UPDATE feed_tokens SET last_used = ? WHERE username = ?",
                                 (_iso(now), row["username"]))
                except Exception:  # noqa: BLE001 - best effort: a full disk must not break the feed
                    pass
            return row["username"]
        finally:
            conn.close()


def feed_url(base_url: str | None, token: str) -> str:
    return (base_url or "").rstrip("/") + FEED_PATH + token + ".ics"


def learner_name(profile) -> str:
    return f"{profile.first_name} {profile.last_name}"


def _assigned(role: str, username: str, profile) -> bool:
    if role == "admin":
        return True
    if role == "tutor":
        return username in profile.tutors
    if role == "learner":
        return profile.account == username
    if role == "company":
        return username in profile.company_tutors
    return False


def _shown_plans(states, shared: set[str], role: str) -> list:
    """The plans an audience's feed shows: never a chain with a staff record at its ends."""
    out = []
    for state in states:
        if state.id not in shared or state.latest.id not in shared:
            continue
        if role == "learner" and not state.latest.with_learner:
            continue
        if role == "company" and not state.latest.with_company:
            continue
        out.append(state)
    return out


def _audience(role: str) -> str:
    """Feeds differ by audience, not by person: staff (tutor, admin), learner, company."""
    return "staff" if role in ("tutor", "admin") else role


def learner_blocks(record, audience: str, *, now: dt.datetime, tz: str, base: str, rules, groups) -> list:
    """The serialised events of one learner for an ``audience`` (:func:`ics.block`)."""
    name = learner_name(record.profile)
    lid = record.id
    shared = visible_ids((e.meta for e in record.entries), "shared")
    staff = audience == "staff"
    url = f"{base}/apprenants/{lid}/" if staff and base else None
    events = [ics.plan_event(state, name, tz=tz, url=url)
              for state in _shown_plans(pv.plan_states(record.entries, now), shared, audience)]
    if staff:
        if rules:
            today = now.astimezone(ZoneInfo(tz)).date()
            items = fv.learner_items(record.profile, record.entries, groups, rules, today, now=now)
            events += [ics.followup_event(lid, name, item, url=url) for item in fv.to_do(items) if item.due]
    else:
        events += [ics.period_event(lid, name, period) for period in learner_periods(record.profile, groups)]
    return [ics.block(e) for e in events]


def feed_events(project, role: str, username: str, *, now: dt.datetime | None = None,
                base_url: str | None = None) -> list:
    """The events of the feed of ``username`` (``role``), serialised (:class:`ics.Block`).

    Each learner's blocks are computed once per state of their files, audience, day and settings
    (:meth:`Store.derived`): a calendar application polling an unchanged feed costs little.
    """
    if role not in FEED_ROLES:
        return []
    store = project.store
    org = store.settings()
    tz = org.timezone
    now = now or dt.datetime.now(ZoneInfo(tz))
    today = now.astimezone(ZoneInfo(tz)).date()
    base = (base_url or org.public_url or "").rstrip("/")
    audience = _audience(role)
    rules = org.followup.rules
    groups = list(store.groups().values())
    # What else the blocks depend on: the day (follow-ups' states; a plan's event is the same whether its
    # start has passed or not), the settings, the groups' calendars and members.
    context = (today, tz, base, org.followup.model_dump_json(),
               tuple((g.id, tuple(g.members), tuple(p.model_dump_json() for p in g.calendar)) for g in groups))
    out: list = []
    mine = [lid for lid in store.learner_ids() if (p := store.profile(lid)) is not None and _assigned(role, username, p)]
    for record in store.valid_records(mine):
        out += store.derived(record, ("feed-blocks", audience, context),
                             lambda r: learner_blocks(r, audience, now=now, tz=tz, base=base, rules=rules,
                                                      groups=groups))
    return out


def feed_for(project, role: str, username: str, *, name: str = "", now: dt.datetime | None = None,
             base_url: str | None = None) -> bytes:
    """The whole iCalendar feed of ``username`` (bytes, UTF-8)."""
    org = project.store.settings()
    events = feed_events(project, role, username, now=now, base_url=base_url)
    title = f"{org.name} — agenda de {name}" if name else f"{org.name} — agenda"
    return ics.calendar_for(events, org.timezone, name=title)
