"""People by name in documents built from the files alone (PDF, Qualiopi proofs, exports, badges).

The store keeps the username as the author (a stable id); an entry also
stores its author's name at write time (``author_name``), and
``portfolios/_people.yml`` maps usernames to names for older entries and for
profiles' tutor lists.  A person is shown as « Sophie Bernard (tuteur·rice) »,
never as a login when a name is known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..store.schema import ROLE_LABELS


def role_word(role: str | None) -> str:
    """« tuteur·rice », « tuteur·rice entreprise »…: the role as it reads after a name."""
    label = ROLE_LABELS.get(role or "", "")
    return label[:1].lower() + label[1:]


def named(username: str, names: Mapping[str, str], role: str | None = None, name: str | None = None) -> str:
    """« Name (role) »: ``name`` (stored at write time) or ``names[username]`` or the login, then the role."""
    shown = (name or "").strip() or names.get(username) or username
    word = role_word(role)
    return f"{shown} ({word})" if word else shown


def author(meta, names: Mapping[str, str]) -> str:
    """An entry's (or a session's) author as « Name (role) »."""
    return named(meta.author, names, getattr(meta, "role", None), getattr(meta, "author_name", None))


def listed(usernames: Iterable[str], names: Mapping[str, str], role: str | None = None) -> str:
    """A profile's tutors as « Sophie Bernard (tuteur·rice), Paul Martin (tuteur·rice) », or « — »."""
    return ", ".join(named(u, names, role) for u in usernames) or "—"
