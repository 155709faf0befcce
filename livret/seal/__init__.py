"""The seal: proof that holds against someone who can write to the store.

A hash-chained journal of every commit livret makes, outside the store (the
instance database), registered as the store's after-commit hook by whoever
opens a project to write (:func:`witnessed`); the checks ``livret verify``
runs against it; optional witnesses out of reach of an insider (a witness
repository, trusted timestamps); the organisation's signing keys.

May import :mod:`livret.instance` and :mod:`livret.store`.
"""

from __future__ import annotations

from .journal import Journal


def witnessed(project) -> Journal:
    """Open ``project``'s journal, start it if needed, and register it on the store's writes.

    Every write path (the app, the CLI, imports) calls this once before
    writing, so that every commit livret makes is recorded.
    """
    store = project.store
    for hook in store.after_commit:
        if isinstance(getattr(hook, "__self__", None), Journal):
            return hook.__self__
    journal = Journal.for_project(project)
    if store.root.is_dir():
        journal.start()
        journal.catch_up()
    store.after_commit.insert(0, journal.witness)  # before the followers (rebuild, mail)
    return journal


__all__ = ["Journal", "witnessed"]
