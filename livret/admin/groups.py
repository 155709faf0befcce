"""Groups (cohorts, promotions): create, edit, delete, membership.

A group is ``portfolios/_groups/<id>.yml`` (:class:`livret.store.schema.Group`):
a name, an optional programme, dates, weekly hours, a description and its
members (learner ids); a learner may be in several groups.  Its id comes
from its name (:func:`livret.store.ids.slug`: a group is no personal data)
unless one is given, and never changes.  Every change is one commit by
the admin through :meth:`Store.write_changes`, validated by the schema that
``livret check`` uses; errors are :class:`InvalidInput` located at the form's
field names (``name``, ``start``, ``members``...).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from ..interop.learners_csv import parse_date
from ..store import Store, french
from ..store.errors import FieldError, InvalidInput, from_validation_error
from ..store.ids import slug
from ..store.records import GROUPS_DIR
from ..store.schema import GROUP_ID_RE, Group
from ..store.writer import ANY_REVISION, GroupChange

#: The form's fields, in the schema's order (members aside).
FIELDS = ("name", "programme", "start", "end", "weekly_hours", "description")


def group_rel(group_id: str) -> str:
    return f"{GROUPS_DIR}/{group_id}.yml"


def group_revision(store: Store, group_id: str) -> str | None:
    """What an edit form carries: the group file's revision (None when it is absent)."""
    return store.revision(group_rel(group_id))


def _text(value: Any) -> str:
    return "" if value is None else str(value).replace("\r\n", "\n").strip()


def group_form_data(group: Group) -> dict[str, Any]:
    """A group as the form shows it (text values)."""
    data = {name: _text(getattr(group, name)) for name in FIELDS}
    if group.start is not None:
        data["start"] = group.start.isoformat()
    if group.end is not None:
        data["end"] = group.end.isoformat()
    if group.weekly_hours is not None:
        data["weekly_hours"] = f"{group.weekly_hours:g}"
    return data


def build_group(form: Mapping[str, Any], *, group_id: str, members: Sequence[str]) -> Group:
    """A group from form values (text; dates JJ/MM/AAAA or AAAA-MM-JJ, a decimal comma); InvalidInput."""
    data: dict[str, Any] = {"id": group_id, "members": list(dict.fromkeys(members))}
    errors = []
    for name in FIELDS:
        text = _text(form.get(name))
        if not text:
            continue
        if name in ("start", "end"):
            try:
                data[name] = parse_date(text).isoformat()
            except ValueError as exc:
                errors.append(FieldError((name,), str(exc)))
        elif name == "weekly_hours":
            data[name] = text.replace(",", ".")
        else:
            data[name] = text
    if form.get("calendar"):  # the work-study periods (livret.admin.calendar.periods_from_rows)
        data["calendar"] = [p.model_dump(mode="json", exclude_none=True) if hasattr(p, "model_dump") else p
                            for p in form["calendar"]]
    if "name" not in data and not errors:
        errors.append(FieldError(("name",), "le nom du groupe est obligatoire"))
    if errors:
        raise InvalidInput(errors)
    try:
        return Group.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput([FieldError(e.loc[:1], e.message) for e in from_validation_error(exc)]) from None


def _write(store: Store, changes: list[GroupChange], *, author: str, message: str) -> str | None:
    """One commit; store errors located at the form's fields (``members``)."""
    try:
        return store.write_changes((), changes, author=author, message=message)
    except InvalidInput as exc:
        raise InvalidInput([FieldError(e.loc[2:3] or ("members",), e.message) for e in exc.errors]) from None


def create_group(store: Store, form: Mapping[str, Any], members: Sequence[str] = (), *, author: str,
                 group_id: str | None = None) -> str:
    """A new group; its id is ``group_id`` or made from its name.  Returns the id."""
    taken = set(store.group_ids())
    if group_id is not None:
        if not GROUP_ID_RE.match(group_id):
            raise InvalidInput([FieldError(("id",), "identifiant invalide : minuscules, chiffres et tirets")])
        if group_id in taken:
            raise InvalidInput([FieldError(("id",), f"le groupe {group_id} existe déjà")])
    else:
        group_id = slug(_text(form.get("name")), taken=taken)
    group = build_group(form, group_id=group_id, members=members)
    _write(store, [GroupChange(group, None)], author=author,
           message=f"groupe {group.id} : création « {group.name} » ({len(group.members)} apprenant·es)")
    return group.id


def update_group(store: Store, group_id: str, form: Mapping[str, Any], members: Sequence[str], *, author: str,
                 expected: str | None) -> Group:
    """Replace the group's fields and members (its id stays); StaleWrite if its file changed since ``expected``.

    Its calendar is kept unless ``form`` gives one (``calendar``: periods).
    """
    if "calendar" not in form:
        current, _ = store.group(group_id)
        form = {**form, "calendar": list(current.calendar) if current is not None else []}
    group = build_group(form, group_id=group_id, members=members)
    _write(store, [GroupChange(group, expected)], author=author,
           message=f"groupe {group.id} : modification ({len(group.members)} apprenant·es)")
    return group


def delete_group(store: Store, group_id: str, *, author: str, expected: str | None) -> None:
    """Remove the group file (one commit); its learners are untouched."""
    group, _ = store.group(group_id)
    if group is None:
        group = Group(id=group_id, name=group_id)  # an invalid file can be removed too
    _write(store, [GroupChange(group, expected, delete=True)], author=author,
           message=f"groupe {group_id} : suppression")


def membership_changes(store: Store, learner_id: str, group_ids: Iterable[str] | None,
                       *, add_only: bool = False) -> list[GroupChange]:
    """The group changes that make ``learner_id`` a member of exactly ``group_ids`` (or, with
    ``add_only``, of at least them).  Each change carries the revision its group was read at.

    InvalidInput (``groups``) for an unknown group.
    """
    if group_ids is None:
        return []
    wanted = list(dict.fromkeys(group_ids))
    known = set(store.group_ids())
    unknown = [g for g in wanted if g not in known]
    if unknown:
        raise InvalidInput([FieldError(("groups",), f"groupe inconnu : {g}") for g in unknown])
    changes = []
    for gid in sorted(known):
        revision = group_revision(store, gid)  # before reading: a change in between is a stale write
        group, _ = store.group(gid)
        if group is None:
            continue
        inside = learner_id in group.members
        if gid in wanted and not inside:
            members = [*group.members, learner_id]
        elif gid not in wanted and inside and not add_only:
            members = [m for m in group.members if m != learner_id]
        else:
            continue
        changes.append(GroupChange(group.model_copy(update={"members": members}), revision))
    return changes


def add_members(store: Store, group_id: str, learner_ids: Sequence[str], *, author: str,
                expected: str | None = ANY_REVISION) -> Group:
    """Add learners to a group in one commit (those already in it are left as they are)."""
    group, _ = store.group(group_id)
    if group is None:
        raise InvalidInput([FieldError(("groups",), f"groupe inconnu : {group_id}")])
    members = list(dict.fromkeys([*group.members, *learner_ids]))
    changed = group.model_copy(update={"members": members})
    _write(store, [GroupChange(changed, expected)], author=author,
           message=f"groupe {group_id} : "
                   + french.count(len(members) - len(group.members), "apprenant·e ajouté·e", "apprenant·es ajouté·es"))
    return changed
