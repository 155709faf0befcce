"""Who sees which entry, and which entries a writer may name: one rule for readers and writers.

An entry is ``shared`` (the learner, company tutors, share links and every
shared output see it) or ``staff`` (tutors, auditors and admins only).  For
everyone else a ``staff`` entry does not exist: it is absent from what they
read, a reference to it is left out of what they receive, and naming it in
an entry they write gets the answer an unknown id gets (so nobody can probe
which ids are staff entries).

- :func:`visible_ids` is the one definition of what an audience sees; the
  derived views (``livret.views.progress.for_audience``), the sites, the API,
  the exports and the writer (:meth:`Store.prepare_entry`) all use it.
- :func:`hidden_references` names the reference keys of an entry that point
  outside what its audience sees: shared outputs drop them.
- :func:`reference_refusal` decides whether the writer of an entry may name
  a target in ``about``, ``corrects`` or ``updates``.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping

from .schema import REFERENCE_KEYS, EntryBase

#: Roles that read the staff view (every entry).
STAFF_AUDIENCE = frozenset({"tutor", "auditor", "admin"})
#: Roles that write ``staff`` entries, and may correct or update an entry someone else wrote.
STAFF_WRITERS = frozenset({"tutor", "admin"})
#: Keys that replace or continue the entry they name.
SUPERSEDING_KEYS = ("corrects", "updates")


def audience_for(role: str) -> str:
    """Which view a role gets: ``staff`` (every entry) or ``shared``."""
    return "staff" if role in STAFF_AUDIENCE else "shared"


def visible_ids(entries: Iterable[EntryBase], audience: str) -> set[str]:
    """Ids of the entries ``audience`` sees.

    ``staff`` sees everything.  ``shared`` sees no ``staff`` entry, and none of
    the versions a ``staff`` entry corrects, directly or further down the
    chain: a tutor who moves a text to the staff view by a correction
    withdraws its earlier versions from the shared view too (they would
    otherwise show again, uncorrected).
    """
    metas = list(entries)
    if audience == "staff":
        return {m.id for m in metas}
    by_id = {m.id: m for m in metas}
    withdrawn: set[str] = set()
    for m in metas:
        current = m if m.visibility == "staff" else None
        while current is not None and current.corrects and current.corrects not in withdrawn:
            withdrawn.add(current.corrects)
            current = by_id.get(current.corrects)
    return {m.id for m in metas if m.visibility == "shared" and m.id not in withdrawn}


def hidden_references(meta: EntryBase, visible: Container[str]) -> tuple[str, ...]:
    """The reference keys of ``meta`` that name an entry outside ``visible``."""
    return tuple(key for key in REFERENCE_KEYS
                 if getattr(meta, key, None) is not None and getattr(meta, key) not in visible)


def nameable(entries: Mapping[str, EntryBase], role: str) -> dict[str, EntryBase]:
    """The entries a writer of ``role`` may name (what the role's audience sees), by id."""
    seen = visible_ids(entries.values(), audience_for(role))
    return {i: m for i, m in entries.items() if i in seen}


def unknown_entry(target_id: str) -> str:
    """The refusal of an id that names no entry the writer sees (unknown or ``staff``: the same words)."""
    return f"aucune entrée {target_id} chez cet·te apprenant·e"


def reference_refusal(key: str, target_id: str, target: EntryBase | None, *, role: str, author: str) -> str | None:
    """Why an entry written by ``author`` (``role``) may not name ``target_id`` in ``key``; None if it may.

    ``target`` is the named entry as the writer sees it: None when it is
    unknown *or* hidden from the writer (see :func:`nameable`), which gets
    the same answer.  Only staff writers (tutors, admins) correct or update
    an entry someone else wrote; everyone else supersedes only their own.
    """
    if target is None:
        return unknown_entry(target_id)
    if key in SUPERSEDING_KEYS and role not in STAFF_WRITERS and target.author != author:
        verb = "corriger" if key == "corrects" else "mettre à jour"
        return (f"l'entrée {target_id} a été écrite par {target.author} : seul·e son auteur·rice "
                f"ou l'équipe pédagogique peut la {verb}")
    return None
