"""Proof for an audit: ``livret verify`` (the store against its history),
the offline audit pack with its manifest, and the follow-up record as PDF.

May import :mod:`livret.publish` (a pack holds a built site), :mod:`livret.views`
and :mod:`livret.store`.
"""
