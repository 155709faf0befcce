"""People by name on the app's pages: never a login where a name is known.

The name shown for a username is, in order: the name stored in the entry
(``author_name``, written since entries carry it), the store's people file
(``portfolios/_people.yml``), the account's display name, else the login.
"""

from __future__ import annotations

from flask import g

from .state import livret


def _names() -> dict[str, str]:
    """Username -> name, from the accounts then ``_people.yml`` (which wins: it is the store's word); per request."""
    cached = g.get("_people_names")
    if cached is None:
        ctx = livret()
        cached = {u.username: u.display_name for u in ctx.accounts.list() if u.display_name}
        cached.update(ctx.project.store.people_names())
        g._people_names = cached
    return cached


def person(username: str | None, author_name: str | None = None) -> str:
    """The name to show for ``username``."""
    if author_name:
        return author_name
    if not username:
        return ""
    return _names().get(username, username)


def author_of(meta) -> str:
    """The name of an entry's author."""
    return person(meta.author, getattr(meta, "author_name", None))
