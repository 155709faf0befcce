"""The work-study calendar of a learner or a group: periods from form rows, and their writes.

A form posts rows of text (``start``, ``end``, ``kind``, ``label``; dates
``JJ/MM/AAAA`` or ``AAAA-MM-JJ``); :func:`periods_from_rows` turns them
into :class:`CalendarPeriod` objects, leaving empty rows out, or raises
:class:`InvalidInput` located at ``("calendar", <row>, <key>)`` — the row as
the form numbers it, from 0 — so each message goes next to its input.
:func:`set_learner_calendar` and :func:`set_group_calendar` write one commit
(:meth:`Store.write_changes`), refused with :class:`StaleWrite` when the
file changed since the revision the form was filled from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from ..interop.learners_csv import parse_date
from ..store import Store
from ..store.errors import FieldError, InvalidInput, from_validation_error
from ..store.records import StaleWrite
from ..store.schema import PERIOD_KINDS, CalendarPeriod
from ..store.writer import ANY_REVISION, GroupChange, ProfileChange
from .groups import group_revision
from .learners import profile_revision

ROW_KEYS = ("start", "end", "kind", "label")


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def rows_of(periods: Sequence[CalendarPeriod]) -> list[dict[str, str]]:
    """Periods as the form's rows (text)."""
    return [{"start": p.start.isoformat(), "end": p.end.isoformat(), "kind": p.kind, "label": p.label or ""}
            for p in periods]


def periods_from_rows(rows: Sequence[Mapping[str, Any]]) -> list[CalendarPeriod]:
    """The periods of the non-empty rows, sorted; InvalidInput at ``("calendar", row, key)``."""
    errors: list[FieldError] = []
    found: list[tuple[int, CalendarPeriod]] = []
    for i, row in enumerate(rows):
        text = {k: _text(row.get(k)) for k in ROW_KEYS}
        if not any(text[k] for k in ("start", "end", "label")):
            continue  # an empty row (its place alone is a default choice): left out
        data: dict[str, str] = {}
        for key in ("start", "end"):
            if not text[key]:
                errors.append(FieldError(("calendar", i, key), "date obligatoire"))
                continue
            try:
                data[key] = parse_date(text[key]).isoformat()
            except ValueError as exc:
                errors.append(FieldError(("calendar", i, key), str(exc)))
        if text["kind"] not in PERIOD_KINDS:
            errors.append(FieldError(("calendar", i, "kind"), "lieu à choisir : centre, entreprise ou absence"))
        data["kind"] = text["kind"]
        if text["label"]:
            data["label"] = text["label"]
        if len(data) < 3 or any(e.loc[:2] == ("calendar", i) for e in errors):
            continue
        try:
            found.append((i, CalendarPeriod.model_validate(data)))
        except ValidationError as exc:
            errors += [FieldError(("calendar", i, *e.loc[:1]), e.message) for e in from_validation_error(exc)]
    if not errors:
        placed = sorted(((i, p) for i, p in found if p.kind != "absence"), key=lambda ip: ip[1].start)
        for (_, before), (j, after) in zip(placed, placed[1:]):
            if after.start <= before.end:
                errors.append(FieldError(("calendar", j, "start"), (
                    f"chevauche la période du {before.start.strftime('%d/%m/%Y')} au "
                    f"{before.end.strftime('%d/%m/%Y')} : une période en centre et une en entreprise ne se "
                    "recouvrent jamais (une absence peut)")))
    if errors:
        raise InvalidInput(errors)
    return sorted((p for _, p in found), key=lambda p: (p.start, p.end, p.kind))


def _describe(periods: Sequence[CalendarPeriod]) -> str:
    return f"{len(periods)} période{'s' if len(periods) > 1 else ''}"


def set_learner_calendar(store: Store, learner_id: str, periods: Sequence[CalendarPeriod], *, author: str,
                         expected: str | None, how: str = "calendrier de l'alternance") -> str | None:
    """Replace the learner's own periods (one commit); None when nothing changed.

    StaleWrite when the profile changed since ``expected``; InvalidInput
    (``calendar``) when the profile itself is invalid.
    """
    base = store.profile(learner_id)  # UnknownLearner for an unknown id
    if base is None:
        raise InvalidInput([FieldError(("calendar",), "le profil est invalide : corrigez-le d'abord "
                                                      "(modifier le profil, ou livret check)")])
    periods = list(periods)
    if periods == list(base.calendar):
        if expected not in (None, ANY_REVISION) and expected != profile_revision(store, learner_id):
            raise StaleWrite(f"{learner_id}/learner.md")
        return None
    profile = base.model_copy(update={"calendar": periods})
    return store.write_changes([ProfileChange(profile, None, expected if expected is not None else "")], (),
                               author=author, message=f"{learner_id} : {how} ({_describe(periods)}) ({author})")


def set_group_calendar(store: Store, group_id: str, periods: Sequence[CalendarPeriod], *, author: str,
                       expected: str | None, how: str = "calendrier de l'alternance") -> str | None:
    """Replace the group's periods (one commit); None when nothing changed; StaleWrite as above."""
    group, _ = store.group(group_id)
    if group is None:
        raise InvalidInput([FieldError(("calendar",), f"groupe introuvable ou invalide : {group_id}")])
    periods = list(periods)
    if periods == list(group.calendar):
        if expected not in (None, ANY_REVISION) and expected != group_revision(store, group_id):
            raise StaleWrite(f"_groups/{group_id}.yml")
        return None
    changed = group.model_copy(update={"calendar": periods})
    return store.write_changes((), [GroupChange(changed, expected if expected is not None else "")],
                               author=author, message=f"groupe {group_id} : {how} ({_describe(periods)})")
