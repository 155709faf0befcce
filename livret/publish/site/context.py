"""What every page of one learner's site needs: the audience's entries, the
derived views (always from :mod:`livret.views.progress`), and where each entry and
competency has its page.

Built once per learner and audience, then read by the page functions.  The
audience filter is applied here, first: a ``shared`` site is generated from
shared entries only, so a staff entry cannot reach any page, the search index
or the sitemap by mistake.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from ...store import LearnerRecord, StoredEntry
from ...store.schema import (
    ROLE_LABELS,
    TYPE_LABELS,
    CalendarPeriod,
    EntryBase,
    Framework,
    Group,
    LearnerProfile,
    Organisation,
)
from ...store.signatures import SealState
from ...views import progress as pv
from ...views import signoffs as sv
from . import text as t

ENTRY_DIR = "entrees"
COMPETENCY_DIR = "competences"


def competency_slugs(framework: Framework) -> dict[str, str]:
    """Code -> name of the competency's page in ``competences/`` (the badges link to it too)."""
    return t.unique_slugs(c.code for _, c in framework.competencies())


@dataclass
class SiteContext:
    record: LearnerRecord
    audience: str
    today: dt.date
    settings: Organisation
    directory_urls: bool = True
    #: Signature id -> the check of its seal against the files (when the builder had the store at hand).
    seals: Mapping[str, SealState] = field(default_factory=dict)
    #: Username -> name (``_people.yml``), for entries written before they carried ``author_name``.
    people: Mapping[str, str] = field(default_factory=dict)
    #: The groups the learner belongs to (their work-study calendars add to the learner's own).
    groups: tuple[Group, ...] = ()
    #: The learner's training sessions with their states (:func:`livret.views.attendance.learner_rows`,
    #: read for this audience: a shared site gets no staff note).
    session_rows: tuple = ()
    #: Entries of the audience, every version, date order (signatures apart: :attr:`signatures`).
    entries: list[StoredEntry] = field(init=False)
    #: Latest versions only (what every view shows).
    current: list[StoredEntry] = field(init=False)

    def __post_init__(self) -> None:
        if self.record.profile is None or self.record.framework is None:
            raise ValueError(f"{self.record.id} : profil ou référentiel invalide, site non généré")
        seen = pv.for_audience(self.record.entries, self.audience)
        # A signature is shown under the entry it signs, never as an entry of its own (no page, no count).
        self.signature_entries = [e for e in seen if e.type == "signature"]
        self.entries = [e for e in seen if e.type != "signature"]
        self.current = pv.effective(self.entries)

    # ------------------------------------------------------------------ data

    @property
    def profile(self) -> LearnerProfile:
        assert self.record.profile is not None
        return self.record.profile

    @property
    def framework(self) -> Framework:
        assert self.record.framework is not None
        return self.record.framework

    @property
    def staff(self) -> bool:
        return self.audience == "staff"

    @cached_property
    def by_id(self) -> dict[str, StoredEntry]:
        return {e.id: e for e in self.entries}

    @cached_property
    def corrected_by(self) -> dict[str, str]:
        return {e.meta.corrects: e.id for e in self.entries if e.meta.corrects}

    @cached_property
    def followups(self) -> dict[str, list[StoredEntry]]:
        """Current entries that follow up each entry: ``about:`` it (any version), then ``updates:`` it."""
        about: dict[str, list[StoredEntry]] = {}
        updates: dict[str, list[StoredEntry]] = {}
        for e in self.current:
            if e.meta.about:
                about.setdefault(self.latest_id(e.meta.about), []).append(e)
            target = getattr(e.meta, "updates", None)
            if target:
                updates.setdefault(target, []).append(e)
        return {key: about.get(key, []) + updates.get(key, []) for key in about.keys() | updates.keys()}

    def latest_id(self, entry_id: str) -> str:
        """The id of the version that replaces ``entry_id`` (itself when not corrected)."""
        seen = set()
        while entry_id in self.corrected_by and entry_id not in seen:
            seen.add(entry_id)
            entry_id = self.corrected_by[entry_id]
        return entry_id

    @cached_property
    def views(self) -> list[pv.CompetencyView]:
        return pv.competency_views(self.framework, self.entries)

    @cached_property
    def view_by_code(self) -> dict[str, pv.CompetencyView]:
        return {v.code: v for v in self.views}

    @cached_property
    def progress(self) -> pv.Progress:
        return pv.progress(self.views)

    @cached_property
    def followup(self) -> pv.FollowUp:
        return pv.followup(self.entries, self.today)

    @cached_property
    def plans(self) -> list[pv.PlanView]:
        return pv.action_plans(self.entries, self.today)

    @cached_property
    def periods(self) -> list[CalendarPeriod]:
        """The work-study calendar: the learner's periods and their groups' (:mod:`livret.views.calendar`)."""
        from ...views.calendar import learner_periods

        return learner_periods(self.profile, self.groups)

    @cached_property
    def attendance(self) -> pv.AttendanceView:
        return pv.attendance(self.entries, self.session_rows)

    @cached_property
    def attention(self) -> list[pv.Attention]:
        """Alerts that need attention: staff site only."""
        if not self.staff:
            return []
        return pv.attention(self.profile, self.entries, self.settings.thresholds, self.today, self.session_rows)

    @cached_property
    def signatures(self) -> dict[str, list[sv.SignatureView]]:
        """Entry id -> its signatures (of this audience), oldest first."""
        bodies = {e.id: e.body for e in self.signature_entries}
        return {eid: sv.signature_views(sigs, self.seals, bodies)
                for eid, sigs in sv.signatures_by_entry(self.signature_entries).items()}

    @cached_property
    def waiting(self) -> dict[str, list[str]]:
        """Entry id -> the roles whose signature it still waits for (entries of this audience)."""
        pending = sv.pending_signoffs(self.profile, self.record.entries, self.settings.signoff.rules,
                                      learner_id=self.record.id)
        shown = {e.id for e in self.current}
        out: dict[str, list[str]] = {}
        for p in pending:
            if p.entry_id in shown:
                out.setdefault(p.entry_id, []).append(p.role)
        return out

    @cached_property
    def slugs(self) -> dict[str, str]:
        return competency_slugs(self.framework)

    # ------------------------------------------------------------------ paths

    def entry_path(self, entry_id: str) -> str | None:
        """Source path of the page that shows ``entry_id`` (its latest version), if any."""
        latest = self.latest_id(entry_id)
        return f"{ENTRY_DIR}/{latest.lower()}.md" if latest in self.by_id else None

    def competency_path(self, code: str) -> str:
        return f"{COMPETENCY_DIR}/{self.slugs[code]}.md"

    def _entry_target(self, entry_id: str, text: str | None) -> tuple[str, str | None]:
        """(label, source path or None) of a link to an entry."""
        entry = self.by_id.get(self.latest_id(entry_id))
        label = text if text is not None else (entry.meta.title if entry else "entrée")
        return label, self.entry_path(entry_id)

    def _competency_target(self, code: str, with_title: bool) -> tuple[str, str | None]:
        """(label, source path or None) of a link to a competency."""
        view = self.view_by_code.get(code)
        if view is None:
            return code, None
        return (f"{code} — {view.title}" if with_title else code), self.competency_path(code)

    def entry_link(self, from_path: str, entry_id: str, text: str | None = None) -> str:
        """Markdown link to an entry's page, or its plain title if it has none here."""
        label, path = self._entry_target(entry_id, text)
        return t.link(label, from_path, path) if path else t.esc(label)

    def competency_link(self, from_path: str, code: str, with_title: bool = True) -> str:
        label, path = self._competency_target(code, with_title)
        return t.link(label, from_path, path) if path else t.esc(label)

    def entry_anchor(self, from_path: str, entry_id: str, text: str | None = None) -> str:
        """HTML link to an entry's page, or its plain title if it has none here."""
        label, path = self._entry_target(entry_id, text)
        return t.anchor(label, self.url(from_path, path)) if path else t.line(label)

    def competency_anchor(self, from_path: str, code: str, with_title: bool = True) -> str:
        label, path = self._competency_target(code, with_title)
        return t.anchor(label, self.url(from_path, path)) if path else t.line(label)

    def url(self, from_path: str, to_path: str, *, page: bool = True) -> str:
        return t.url(from_path, to_path, self.directory_urls, page=page)

    # ------------------------------------------------------------------ words

    def level(self, value: str | None) -> str:
        return self.framework.scale.label(value) if value is not None else "—"

    def person(self, username: str) -> str:
        """The name of ``username`` (``_people.yml``), else the login."""
        return self.people.get(username, username)

    def author_name(self, meta: EntryBase) -> str:
        return meta.author_name or self.person(meta.author)

    def author(self, entry: StoredEntry) -> str:
        return f"{self.author_name(entry.meta)} ({ROLE_LABELS.get(entry.meta.role, entry.meta.role)})"

    @staticmethod
    def type_label(entry: StoredEntry) -> str:
        return TYPE_LABELS.get(entry.type, entry.type)

    def since(self, day: dt.date | None) -> str:
        if day is None:
            return "—"
        days = (self.today - day).days
        if days == 0:
            return f"{pv.fr_date(day)} (aujourd'hui)"
        if days < 0:
            return pv.fr_date(day)
        return f"{pv.fr_date(day)} (il y a {days} jour{'s' if days > 1 else ''})"
