"""Derived views: pure functions of a learner's record.

Progression, levels, the follow-up record, alerts and the Qualiopi
indicators, computed from what the store read; nothing here reads or writes
a file.  :mod:`.spreadsheet` makes the cells of every CSV livret writes safe
for a spreadsheet.  May import :mod:`livret.store` only.
"""
