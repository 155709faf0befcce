"""A learner profile's history: who changed what, when, from the store's git log.

:func:`profile_changes` is a pure function over two front matters (and
texts); :func:`profile_history` applies it to every committed version of
``<id>/learner.md`` (:meth:`livret.store.history.History.versions`).  Fields
are named by the schema's French titles, values shown as a person reads
them (« Contrat d'apprentissage », « 5 janvier 2026 », « oui »).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..store import Store
from ..store.french_dates import fr_date
from ..store.records import PROFILE_FILE
from ..store.schema import CONTRACTS, LEARNER_STATUSES, PROGRAMME_MODALITIES, Company, ContractBreak, LearnerProfile
from ..store.yamlio import FrontMatterError, parse_front_matter

#: The free text under the front matter.
BODY = "body"
#: Longest value shown (a long text is cut, with « … »).
MAX_SHOWN = 300


def _labels() -> dict[str, str]:
    """Flattened key -> French label, in the schema's order (nested keys where their parent is)."""
    out = {}
    for name, info in LearnerProfile.model_fields.items():
        if name == "company":
            out["company.name"] = Company.model_fields["name"].title
            out["company.city"] = "Ville de l'entreprise"
            out["company.contact"] = "Contact dans l'entreprise"
        elif name == "contract_break":
            out["contract_break.date"] = ContractBreak.model_fields["date"].title
            out["contract_break.reason"] = ContractBreak.model_fields["reason"].title
        else:
            out[name] = "Identifiant" if name == "id" else (info.title or name)
    out[BODY] = "Objectifs, contexte"
    return out


#: Flattened key -> French label, in the schema's order.
LABELS: dict[str, str] = _labels()
_RANK = {key: i for i, key in enumerate(LABELS)}
_CHOICES = {"status": LEARNER_STATUSES, "contract": CONTRACTS, "modality": PROGRAMME_MODALITIES}
_DATES = {"start", "end", "status_date", "contract_break.date"}


@dataclass(frozen=True)
class FieldChange:
    key: str  # flattened: "company.city"
    label: str
    old: str  # "—" when absent
    new: str


@dataclass
class ProfileVersion:
    commit: str
    author: str
    date: dt.datetime
    message: str
    changes: list[FieldChange] = field(default_factory=list)
    #: The first version of the file (its creation), the file removed, a version that cannot be read.
    created: bool = False
    removed: bool = False
    unreadable: bool = False


def flatten(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """``{"company": {"name": "X"}}`` -> ``{"company.name": "X"}``; None -> {}."""
    out: dict[str, Any] = {}
    for key, value in (data or {}).items():
        if isinstance(value, Mapping):
            for sub, inner in value.items():
                out[f"{key}.{sub}"] = inner
        else:
            out[key] = value
    return out


def show(key: str, value: Any) -> str:
    """A stored value as a person reads it."""
    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):  # a calendar's periods are mappings: « centre 2026-02-02 → 2026-02-06 »
        text = ", ".join(" → ".join(str(v.get(k, "")) for k in ("start", "end")).join(
            (f"{v.get('kind', '')} ", "")) if isinstance(v, Mapping) else str(v) for v in value)
        return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"
    if key in _CHOICES and isinstance(value, str):
        return _CHOICES[key].get(value, value)
    if key in _DATES:
        try:
            return fr_date(dt.date.fromisoformat(str(value)))
        except ValueError:
            pass
    text = " ".join(str(value).split())
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _rank(key: str) -> tuple[int, str]:
    return _RANK.get(key, len(_RANK)), key  # keys the schema does not know (a hand edit) last


def profile_changes(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None,
                    old_body: str | None = None, new_body: str | None = None) -> list[FieldChange]:
    """The fields that differ between two front matters (None: no file), in the schema's order.

    Nested keys (``company``, ``contract_break``) are compared field by field;
    the free text counts when both texts are given.
    """
    before, after = flatten(old), flatten(new)
    if old_body is not None or new_body is not None:
        before[BODY] = (old_body or "").strip() or None
        after[BODY] = (new_body or "").strip() or None
    out = []
    for key in sorted(set(before) | set(after), key=_rank):
        a, b = before.get(key), after.get(key)
        if a in ([], "") or a is None:
            a = None
        if b in ([], "") or b is None:
            b = None
        if a != b:
            out.append(FieldChange(key, LABELS.get(key, key), show(key, a), show(key, b)))
    return out


def _parse(data: bytes | None) -> tuple[dict[str, Any] | None, str | None, bool]:
    """(front matter, text, readable) of one version; (None, None, True) for a removed file."""
    if data is None:
        return None, None, True
    try:
        doc = parse_front_matter(data.decode("utf-8"))
    except (UnicodeDecodeError, FrontMatterError):
        return None, None, False
    if not isinstance(doc.data, dict):
        return None, None, False
    return doc.data, doc.body, True


def profile_history(store: Store, learner_id: str, *, limit: int = 50) -> list[ProfileVersion]:
    """Every committed version of the learner's profile, newest first, each with what it changed."""
    versions = store.history.versions(f"{learner_id}/{PROFILE_FILE}", limit=limit + 1)
    parsed = [_parse(v.data) for v in versions]
    out = []
    for i, version in enumerate(versions[:limit]):
        data, body, readable = parsed[i]
        item = ProfileVersion(version.commit, version.author, version.date, version.message)
        if not readable:
            item.unreadable = True
        elif version.data is None:
            item.removed = True
        older = parsed[i + 1] if i + 1 < len(versions) else None
        if older is None:
            item.created = i + 1 == len(versions)  # else: older versions beyond the limit
            if item.created and readable:
                item.changes = profile_changes(None, data, None, body)
        elif readable and older[2]:
            item.changes = profile_changes(older[0], data, older[1], body)
        out.append(item)
    return out
