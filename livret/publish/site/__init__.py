"""Page generation for the portfolio sites, independent of the site engine.

:func:`learner_site` turns a learner's record into pages (Markdown with
inline SVG charts); ``livret.publish.mkdocs_plugin`` is the thin MkDocs adapter.
"""

from .pages import LearnerSite, Page, learner_site
from .preview import ORGANISATION_MARKER, organisation_markdown, preview_index

__all__ = ["LearnerSite", "Page", "learner_site", "ORGANISATION_MARKER", "organisation_markdown", "preview_index"]
