"""The list of learners (dashboards, their CSV export): filters, search and sort, as pure functions.

A roster row is one learner: its id, its record, its profile and its
dashboard summary (None when the profile is invalid).  The filters come in
two steps so that a dashboard of a thousand learners reads only what it
shows:

1. :func:`keep_profile` needs only the profile and the groups (cheap: a
   profile's parse is cached, the groups are read once per request), so
   the records and summaries of learners filtered out are never loaded;
2. :func:`keep_summary` needs the summary (the "needs attention" filter).

:func:`filter_rows` applies both to complete rows; :func:`matching` is the
text search and :func:`sort_rows` the sort.  Nothing here reads a file.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from ..store import LearnerRecord
from ..store.schema import LEARNER_STATUSES, USERNAME_RE, Group, LearnerProfile
from .progress import Summary

#: The value of the group and tutor filters meaning « in no group » / « without a tutor ».
NONE = "-"
#: The longest filter value kept (a programme is at most 200 characters).
MAX_VALUE = 200


@dataclass
class Row:
    """One learner in a dashboard table; ``summary`` is None when the profile is invalid."""

    id: str
    record: LearnerRecord | None
    summary: Summary | None
    profile: LearnerProfile | None = None


def fold(text: str) -> str:
    """Lower case without accents: « Élodie » matches « elodie »."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


# --------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What a dashboard is narrowed to (query string ``groupe``, ``tuteur``, ``formation``, ``statut``,
    ``attention=1``); an empty value is no filter."""

    group: str = ""
    tutor: str = ""
    programme: str = ""
    status: str = ""
    attention: bool = False

    #: Query-string name of each filter.
    PARAMS = {"group": "groupe", "tutor": "tuteur", "programme": "formation", "status": "statut",
              "attention": "attention"}

    @classmethod
    def from_args(cls, args: Mapping[str, Any], *, staff: bool = True, tutors: bool = True) -> "Filters":
        """Filters from a query string; values that cannot be valid are dropped.

        ``staff``: the audience sees alerts (else no « needs attention »
        filter); ``tutors``: the user may filter by tutor (admins, auditors).
        """
        def text(name: str) -> str:
            value = args.get(cls.PARAMS[name]) or ""
            return " ".join(str(value).split())[:MAX_VALUE]

        tutor = text("tutor") if tutors else ""
        if tutor and tutor != NONE and not USERNAME_RE.match(tutor):
            tutor = ""
        status = text("status")
        return cls(
            group=text("group"),
            tutor=tutor,
            programme=text("programme"),
            status=status if status in LEARNER_STATUSES else "",
            attention=staff and str(args.get(cls.PARAMS["attention"]) or "") in ("1", "oui", "on", "true"),
        )

    def args(self) -> dict[str, str]:
        """The query-string arguments of these filters (empty ones left out), for links."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value:
                out[self.PARAMS[f.name]] = "1" if value is True else value
        return out

    @property
    def active(self) -> bool:
        return bool(self.args())

    @property
    def on_profile(self) -> bool:
        """Whether a filter other than « needs attention » is set."""
        return bool(self.group or self.tutor or self.programme or self.status)


def group_members(groups: Mapping[str, Group] | Iterable[Group]) -> dict[str, frozenset[str]]:
    """Group id -> its members, from ``store.groups()`` (read once per request)."""
    values = groups.values() if isinstance(groups, Mapping) else groups
    return {g.id: frozenset(g.members) for g in values}


def keep_profile(learner_id: str, profile: LearnerProfile | None, filters: Filters,
                 members: Mapping[str, frozenset[str]]) -> bool:
    """Whether a learner passes the filters that need only its profile and the groups.

    An invalid profile (None) passes only filters it can be judged by: the
    group (membership is in the group's file, not in the profile).
    """
    if filters.group:
        if filters.group == NONE:
            if any(learner_id in m for m in members.values()):
                return False
        elif learner_id not in members.get(filters.group, ()):
            return False
    if profile is None:
        return not (filters.tutor or filters.programme or filters.status)
    if filters.tutor == NONE:
        if profile.tutors:
            return False
    elif filters.tutor and filters.tutor not in profile.tutors:
        return False
    if filters.programme and fold(profile.programme) != fold(filters.programme):
        return False
    if filters.status and profile.status != filters.status:
        return False
    return True


def needs_attention(row: Row) -> bool:
    """An alert to look at (:func:`livret.views.progress.attention`), or a profile that cannot be read."""
    return row.summary is None or bool(row.summary.attention)


def keep_summary(row: Row, filters: Filters) -> bool:
    """Whether a row passes the filters that need its summary."""
    return not filters.attention or needs_attention(row)


def filter_rows(rows: Iterable[Row], filters: Filters, members: Mapping[str, frozenset[str]]) -> list[Row]:
    """The rows that pass every filter, in their order."""
    return [r for r in rows if keep_profile(r.id, r.profile, filters, members) and keep_summary(r, filters)]


@dataclass(frozen=True)
class Choices:
    """What the filter lists offer, from the learners a user may read."""

    groups: list[tuple[str, str]]  # (id, name)
    tutors: list[str]  # usernames
    programmes: list[str]
    statuses: list[tuple[str, str]]  # (value, label)


def choices(profiles: Mapping[str, LearnerProfile | None], groups: Mapping[str, Group]) -> Choices:
    """Filter choices drawn from the data: the groups holding one of these learners, their tutors
    and programmes (sorted, accents ignored)."""
    ids = set(profiles)
    valid = [p for p in profiles.values() if p is not None]
    names = sorted({p.programme for p in valid})  # a few distinct values among thousands of learners
    programmes = {fold(name): name for name in names}  # one spelling per programme, accents and case aside
    tutors = sorted({t for p in valid for t in p.tutors})
    return Choices(
        groups=[(g.id, g.name) for g in groups.values() if not ids.isdisjoint(g.members)],
        tutors=tutors,
        programmes=sorted(programmes.values(), key=fold),
        statuses=list(LEARNER_STATUSES.items()),
    )


# --------------------------------------------------------------------------
# Search and sort
# --------------------------------------------------------------------------


def matching(rows: list[Row], query: str) -> list[Row]:
    """Rows whose learner name, programme or id holds every word of ``query``."""
    words = fold(query).split()
    if not words:
        return rows

    def text(row: Row) -> str:
        s = row.summary
        return fold(" ".join([row.id] + ([s.name, s.programme or ""] if s is not None else [])))

    kept = []
    for row in rows:
        found = text(row)
        if all(w in found for w in words):
            kept.append(row)
    return kept


#: Sort keys of the dashboard table (query string ``tri``), missing values last.
SORTS: dict[str, Callable[[Row], Any]] = {
    "urgence": lambda r: r.summary.urgency,
    "nom": lambda r: r.summary.name.lower(),
    "progression": lambda r: r.summary.progress.share,
    "contact": lambda r: r.summary.days_since_last_contact,
    "action": lambda r: r.summary.next_action.due if r.summary.next_action else None,
    "assiduite": lambda r: r.summary.attendance_rate,
    "alertes": lambda r: len(r.summary.attention),
}


def sort_rows(rows: list[Row], key: str, descending: bool) -> list[Row]:
    """Rows sorted by ``key``; invalid profiles and missing values always come last."""
    get = SORTS.get(key, SORTS["urgence"])
    valid = [r for r in rows if r.summary is not None]
    known = [r for r in valid if get(r) is not None]
    missing = [r for r in valid if get(r) is None]
    known.sort(key=get, reverse=descending)
    return known + missing + [r for r in rows if r.summary is None]


# --------------------------------------------------------------------------
# Spreadsheet cells (French Excel)
# --------------------------------------------------------------------------


def decimal_fr(value: float | None, digits: int = 1) -> str:
    """``0.8567`` as a percentage with a decimal comma: ``85,7`` (empty when None)."""
    if value is None:
        return ""
    return f"{100 * value:.{digits}f}".replace(".", ",")


def date_fr(value: dt.date | None) -> str:
    """``DD/MM/YYYY`` (empty when None)."""
    return value.strftime("%d/%m/%Y") if value is not None else ""
