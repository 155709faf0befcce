"""Interoperability: what other tools export and import.

- :mod:`.moodle`: Moodle's competency framework CSV (tool_lpimportcsv), both ways.
- :mod:`.mahara`: Mahara's SmartEvidence ``.matrix`` JSON (import).
- :mod:`.frameworks`: what both importers share: the result type, codes,
  and writing a framework into the store.
- :mod:`.csv_files`: a spreadsheet's CSV: its encoding (UTF-8 or Windows-1252) and delimiter.
- :mod:`.htmltext`: HTML and plain-text descriptions turned into Markdown that shows the same text.
- :mod:`.progress_csv`: the cohort progression CSV.
- :mod:`.badges`: Open Badges 3.0 credentials for acquired competencies.

Nothing here imports Flask: the CLI and the API both call these functions.
May import :mod:`livret.views` and :mod:`livret.store` (and the layers
between, :mod:`livret.publish` and :mod:`livret.instance`).
"""
