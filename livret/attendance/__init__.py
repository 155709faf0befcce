"""Signed half-day attendance (émargement) and the funders' documents (docs/attendance.md).

Above the store, the views, the instance database and the mail; below the
audit pack (which carries the documents), the scheduler (which runs the
reminders) and the app.  The session files and the signature records live in
the store (:mod:`livret.store.sessions`, entry types ``signature``,
``attendance-mark``, ``convocation``); what is derived from them (expected
learners, states, hours) is :mod:`livret.views.attendance`.
"""
