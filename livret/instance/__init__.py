"""Operational data in ``instance/``: the SQLite database, accounts, API
tokens, share links, and the access policy (who may read or write what).

Never in the store, never published.  May import :mod:`livret.store` only.
"""
