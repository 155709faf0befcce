"""Plausible dates: the range around a learner's programme where its entries' dates may fall.

One rule for every path: a new entry outside the range is refused
(:meth:`livret.store.writer.EntryWriter.prepare_entry`, which the forms, the
API and bulk writes call); a hand-edited file outside it stays readable and
``livret check`` prints a warning (:meth:`livret.store.learners.LearnerReader.warnings`).
Pure functions; the range's settings are ``dates`` in ``_organisation.yml``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .errors import FieldError
from .french_dates import fr_date
from .schema import DateSettings, EntryBase, LearnerProfile

#: No entry is dated before this day, whatever the learner's programme (the
#: floor when the programme gives none lower): years such as 1, 471 or 2002 for
#: 2026 are typing slips, and no learner followed with livret (2026) has a
#: record reaching back to the last century.
EARLIEST_DATE = dt.date(2000, 1, 1)

#: Keys whose date may lie ahead of the day they are written: an action
#: plan's deadline, the end of a period being reported.  The other dates of an
#: entry (``date``, ``period_start``) say what happened: never after today.
PLANNED_DATE_KEYS = frozenset({"due", "period_end"})

#: Keys planned ahead for one entry type only: a company mission's period is a plan (the mission plan).
TYPE_PLANNED_DATE_KEYS: dict[str, frozenset[str]] = {"mission": frozenset({"period_start"})}

#: Keys the range does not apply to: set by the server (it is "today").
UNCHECKED_DATE_KEYS = frozenset({"recorded"})

#: Entry types whose ``date`` is ahead by nature (a planned meeting): planned, and a plan that stands
#: (status ``planned``, new or moved) starts after its recording; a cancellation may name a past plan.
PLANNED_TYPES = frozenset({"planned-meeting"})
#: The refusal of a plan starting before it is recorded.
PAST_PLAN = ("date passée : un rendez-vous planifié est à venir ; pour ce qui a eu lieu, écrivez un entretien "
             "(Entretien de suivi)")


@dataclass(frozen=True)
class DateWindow:
    """Where the dates of one learner's entries may fall, as of one day (``today``)."""

    first: dt.date  # earliest date of any key
    last: dt.date  # latest date of what happened: never after today
    last_planned: dt.date  # latest date of what is planned ahead (PLANNED_DATE_KEYS)
    today: dt.date
    start: dt.date | None = None  # the programme, for the messages
    end: dt.date | None = None

    def programme(self) -> str:
        """`` (formation du 5 janvier 2026 au 18 décembre 2026)``, what the range is drawn from."""
        if self.start is None:
            return ""
        if self.end is None:
            return f" (formation commencée le {fr_date(self.start)}, sans date de fin prévue)"
        return f" (formation du {fr_date(self.start)} au {fr_date(self.end)})"


def date_window(profile: LearnerProfile | None, rule: DateSettings, today: dt.date) -> DateWindow:
    """The allowed range of a learner's entry dates as of ``today``.

    From ``rule.before_start_days`` before the programme's start (never
    before :data:`EARLIEST_DATE`) to ``rule.after_end_days`` after its
    planned end, and never after ``today`` for what happened.  Without an
    end date, dates planned ahead may reach ``after_end_days`` after today;
    without a (valid) profile, only the absolute floor and today apply.
    """
    first = EARLIEST_DATE
    ceiling = None
    if profile is not None:
        first = max(first, profile.start - dt.timedelta(days=rule.before_start_days))
        if profile.end is not None:
            ceiling = profile.end + dt.timedelta(days=rule.after_end_days)
    last_planned = ceiling if ceiling is not None else today + dt.timedelta(days=rule.after_end_days)
    return DateWindow(first=first, last=min(today, last_planned), last_planned=last_planned, today=today,
                      start=profile.start if profile else None, end=profile.end if profile else None)


def calendar_day(value: dt.date | dt.datetime, timezone: str) -> dt.date:
    """The organisation's calendar day of a date-time (a date is its own day)."""
    if isinstance(value, dt.datetime):
        try:
            return (value.astimezone(ZoneInfo(timezone)) if value.tzinfo else value).date()
        except OverflowError:  # year 1 or 9999: out of any range anyway
            return value.date()
    return value


def _between(first: dt.date, last: dt.date) -> str:
    if first > last:
        return f"aucune date admise avant le {fr_date(first)}"
    return f"entre le {fr_date(first)} et le {fr_date(last)}"


def check_date_window(entry: EntryBase, window: DateWindow, timezone: str, *,
                      today_is: str = "aujourd'hui") -> list[FieldError]:
    """Every date of an entry inside the learner's window; each error names its key and the allowed range.

    ``today_is`` names the window's ``today`` in the message: "aujourd'hui"
    for a new entry, "son enregistrement" for a file checked later.
    """
    errors: list[FieldError] = []
    plan = entry.type in PLANNED_TYPES
    if plan and getattr(entry, "status", None) == "planned" and entry.date <= entry.recorded:
        local = entry.date.astimezone(ZoneInfo(timezone))
        errors.append(FieldError(("date",), f"{PAST_PLAN} (lu : {fr_date(local)} à {local.strftime('%H:%M')})"))
    for key in type(entry).model_fields:
        value = getattr(entry, key)
        if key in UNCHECKED_DATE_KEYS or not isinstance(value, dt.date):  # a datetime is a date too
            continue
        day = calendar_day(value, timezone)
        planned = key in PLANNED_DATE_KEYS or (plan and key == "date") or \
            key in TYPE_PLANNED_DATE_KEYS.get(entry.type, ())
        last = window.last_planned if planned else window.last
        if window.first <= day <= last:
            continue
        allowed = _between(window.first, last) + window.programme()
        if not planned and day > window.today:
            message = (f"date postérieure à {today_is}, le {fr_date(window.today)} (lu : {fr_date(day)}) : "
                       f"une entrée décrit ce qui a eu lieu (pour l'avenir, planifiez un rendez-vous) ; "
                       f"dates admises : {allowed}")
        else:
            message = f"date hors de la période admise (lu : {fr_date(day)}) : {allowed}"
        errors.append(FieldError((key,), message))
    return errors
