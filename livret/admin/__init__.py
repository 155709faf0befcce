"""Administration: the organisation's routine tasks as operations the web pages and the CLI share.

Creating and editing learners, their status and assignments, groups,
importing learners from a CSV (preview, then one commit), accounts with
their assignments.  Every change goes through the store's API as one
commit authored by the admin, validated by the same schema as
``livret check``; nothing here touches a file.  Layer: above
:mod:`livret.interop` (the importers it previews), below the web app and
the CLI.
"""
