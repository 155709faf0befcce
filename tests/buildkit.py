"""Helpers for the build tests: a project with every kind of entry, and readers of built sites.

Everything is real: entries go through the store API, sites through MkDocs;
the readers parse the HTML MkDocs wrote.
"""

from __future__ import annotations

import datetime as dt
import gzip
import html
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from factories import REPO, add, make_project, meeting, when

from livret.store.history import History
from livret.store.project import Project

#: Text that only staff entries hold: it must never appear under build/shared/.
STAFF_ALERT = "SECRETALERTE7f3a"
STAFF_MEETING = "SECRETENTRETIEN91b2"
#: Text of a shared entry's first version, replaced by a correction.
OLD_VERSION = "ANCIENNEVERSION55c1"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def rich_project(root: Path) -> Project:
    """Learners alice (every entry type, staff entries, a correction, attachments) and bob."""
    project = make_project(root)
    add(project, "alice", {
        "type": "positioning", "date": when("2026-01-09"), "title": "Positionnement initial",
        "competencies": [{"code": "A1", "level": "1"}, {"code": "A2", "level": "2"},
                         {"code": "B1", "level": "1"}, {"code": "B2", "level": "1"}],
        "needs": ["Structurer ses entretiens"], "goals": ["Mener un entretien seule"]})
    first = add(project, "alice", meeting(kind="accueil", date=when("2026-01-12"), title="Entretien d'accueil"),
                f"Premier échange. {OLD_VERSION}")
    add(project, "alice", meeting(kind="accueil", date=when("2026-01-12"), title="Entretien d'accueil (corrigé)",
                                  corrects=first.id), "Premier échange, compte rendu corrigé.")
    evidence = add(project, "alice", {
        "type": "evidence", "date": when("2026-02-03"), "title": "Livret d'accueil remanié",
        "competencies": [{"code": "A1"}], "context": "Stage en entreprise"},
        "J'ai refait le **livret d'accueil**.", author="alice", role="learner",
        uploads=[("photo.png", PNG), ("rapport.pdf", PDF), ("notes.md", b"# Notes\n\ntexte\n")])
    add(project, "alice", {"type": "feedback", "date": when("2026-02-05"), "title": "Retour sur le livret",
                           "about": evidence.id, "competencies": [{"code": "A1", "level": "2"}]},
        "Bon travail, à compléter.")
    add(project, "alice", {"type": "reflection", "date": when("2026-02-10"), "title": "Où j'en suis",
                           "competencies": [{"code": "A1", "level": "3"}]}, "Je progresse.",
        author="alice", role="learner")
    add(project, "alice", {"type": "assessment", "date": when("2026-03-02"), "title": "Évaluation du bloc A",
                           "competencies": [{"code": "A1", "level": "3"}, {"code": "A2", "level": "2"}]})
    add(project, "alice", {"type": "assessment", "date": when("2026-05-04"), "title": "Évaluation de mai",
                           "competencies": [{"code": "A2", "level": "4"}, {"code": "B1", "level": "2"}]})
    add(project, "alice", {"type": "action-plan", "date": when("2026-02-06"), "title": "Préparer la soutenance",
                           "objectives": ["Plan détaillé"], "actions": ["Relire le guide"], "due": "2026-03-01"})
    plan = add(project, "alice", {"type": "action-plan", "date": when("2026-02-07"), "title": "Lire le guide",
                                  "actions": ["Lire le guide"], "due": "2026-04-01"})
    add(project, "alice", {"type": "action-plan", "date": when("2026-03-20"), "title": "Guide lu",
                           "updates": plan.id, "status": "done", "due": "2026-04-01"})
    for month, attended in (("01", 30), ("02", 25)):
        add(project, "alice", {"type": "attendance", "date": when(f"2026-{month}-28"),
                               "title": f"Assiduité {month}", "period_start": f"2026-{month}-01",
                               "period_end": f"2026-{month}-28", "hours_planned": 35, "hours_attended": attended})
    add(project, "alice", {"type": "alert", "date": when("2026-03-05"), "title": f"Difficulté {STAFF_ALERT}",
                           "category": "sante", "severity": "haute"}, f"Raison de santé : {STAFF_ALERT}.")
    add(project, "alice", meeting(date=when("2026-03-06"), title=f"Entretien confidentiel {STAFF_MEETING}",
                                  visibility="staff"), f"Échange personnel. {STAFF_MEETING}")
    add(project, "alice", {"type": "company-feedback", "date": when("2026-04-10"), "title": "Retour du tuteur",
                           "period_start": "2026-03-01", "period_end": "2026-03-31",
                           "missions": ["Accueil des stagiaires"], "observations": "Très impliquée.",
                           "competencies": [{"code": "A2", "level": "3"}]}, "", author="carl", role="company")
    add(project, "bob", meeting(date=when("2026-01-20"), title="Entretien de suivi de Bob"),
        "Bob va bien.", author="tom")
    add(project, "bob", {"type": "assessment", "date": when("2026-02-20"), "title": "Évaluation de Bob",
                         "competencies": [{"code": "B1", "level": "3"}]}, author="tom")
    return project


#: The day the demo is built for in tests (its entries run up to November 2026).
DEMO_TODAY = dt.date(2026, 11, 21)


def demo_or_skip(root: Path) -> Project:
    """:func:`copy_demo`, skipping the test while the shipped demo has no learner."""
    import pytest

    project = copy_demo(root)
    if not project.store.learner_ids():
        pytest.skip("the shipped demo has no learner yet (portfolios/ is empty)")
    return project


def copy_demo(root: Path) -> Project:
    """The shipped demo in ``root`` with its own git (as the ``demo_project`` fixture, for wider scopes)."""
    root.mkdir(parents=True)
    for name in ("mkdocs.yml", "site_src", "portfolios"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns(".git"))
        else:
            shutil.copy(src, root / name)
    History(root / "portfolios").init()
    return Project.at(root)


# --------------------------------------------------------------------------
# Reading built sites
# --------------------------------------------------------------------------


def decoded_files(root: Path) -> dict[Path, str]:
    """Every file under ``root`` (symlinks not followed) as the text a reader or a search would see.

    HTML and XML entities are decoded, JSON strings unescaped (the search
    index writes ``\\u00e9``), gzip files decompressed.
    """
    out: dict[Path, str] = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            if path.is_symlink():
                continue
            data = path.read_bytes()
            if name.endswith(".gz"):
                data = gzip.decompress(data)
            text = data.decode("utf-8", errors="replace")
            if name.endswith(".json"):
                text = json.dumps(json.loads(text), ensure_ascii=False)
            out[path] = html.unescape(text)
    return out


class Tags(HTMLParser):
    """Every start tag of a document, with its attributes, and the text of each table row."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_script:
            self.scripts[-1] += data


def parse(path: Path) -> Tags:
    parser = Tags()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def content_of(path: Path) -> str:
    """The text of a page's article (what MkDocs rendered from the page's Markdown)."""
    text = path.read_text(encoding="utf-8")
    start, end = text.find("<article"), text.find("</article>")
    body = text[start:end] if start >= 0 else text
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


#: Where the browser loads something from, per tag and attribute.
LOADING_ATTRIBUTES = {("script", "src"), ("img", "src"), ("img", "srcset"), ("iframe", "src"), ("embed", "src"),
                      ("object", "data"), ("source", "src"), ("source", "srcset"), ("video", "src"),
                      ("video", "poster"), ("audio", "src"), ("track", "src"), ("input", "src"),
                      ("image", "href"), ("use", "href"), ("frame", "src")}
_REMOTE = re.compile(r"^\s*(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//|/\\)")
_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)|@import\s+['\"]([^'\"]+)", re.IGNORECASE)


def remote(url: str) -> bool:
    """A URL that leaves the site (``data:`` stays in the page and is allowed only in the theme's CSS)."""
    return bool(_REMOTE.match(url)) and not url.strip().lower().startswith("data:")


def external_loads(root: Path) -> list[str]:
    """Every reference to another host for something the browser loads, in HTML and CSS under ``root``."""
    found = []
    for dirpath, _, names in os.walk(root, followlinks=True):
        for name in names:
            path = Path(dirpath) / name
            if name.endswith(".html"):
                tags = parse(path).tags
                for tag, attrs in tags:
                    for key, value in attrs.items():
                        if value and (tag, key) in LOADING_ATTRIBUTES and remote(value):
                            found.append(f"{path}: <{tag} {key}={value}>")
                    if tag == "link" and attrs.get("href") and remote(attrs["href"]) and \
                            set((attrs.get("rel") or "").split()) & {"stylesheet", "icon", "preload", "prefetch",
                                                                     "preconnect", "modulepreload", "manifest"}:
                        found.append(f"{path}: <link {attrs}>")
                    if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
                        found.append(f"{path}: <meta refresh>")
                    style = attrs.get("style") or ""
                    found += [f"{path}: style {m}" for m in _CSS_URL.findall(style) if remote("".join(m))]
            elif name.endswith(".css"):
                text = path.read_text(encoding="utf-8", errors="replace")
                found += [f"{path}: {''.join(m)}" for m in _CSS_URL.findall(text) if remote("".join(m))]
    return found


def site_size(root: Path) -> int:
    """Bytes of the files of a site, not counting what its symlinks point to."""
    return sum((Path(d) / n).lstat().st_size for d, _, names in os.walk(root) for n in names)


def json_of(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
