"""Publishing the portfolios as sites under ``build/``.

The page generators (:mod:`.site`, pure functions returning Markdown and
files), the sanitizing Markdown renderer, the thin MkDocs adapter, page
frames, the search index, the build driver and the rebuild queue.  May
import :mod:`livret.views` and :mod:`livret.store`.
"""
