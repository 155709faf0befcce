"""The MkDocs adapter: hands the pages of :mod:`livret.publish.site` to MkDocs.

Configured in mkdocs.yml (``plugins: [search, livret]``).  With no option it
builds the combined staff preview of every learner (what ``mkdocs build``
and ``mkdocs serve`` give in a livret project); the build driver
(:mod:`livret.publish.build`) sets ``learners: [one id]`` and ``audience`` to build
one learner's site, whose pages then sit at the site root.

One job per event:

- ``on_config``: read the store, generate the pages (pure functions), set
  the Markdown extensions the pages need, the site name, the offline mode;
- ``on_files``: add the pages and attachments as virtual files (nothing is
  written into site_src/), set the navigation, move the theme's static
  files to the shared assets folder when one is configured;
- ``on_page_markdown``: the organisation's details in site_src's page;
- ``on_page_content``: sanitize every page's HTML (second barrier);
- ``on_template_context``: relative links in an offline site's 404.html;
- ``on_post_build``: link the shared assets, write the offline search index;
- ``on_serve``: live reload when portfolios/ changes.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import html
import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from mkdocs import localization
from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority, get_plugin_logger
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.utils import templates

from ..store import Store, UnknownLearner, atomic, french, nofollow
from ..store.errors import Problem
from ..store.signatures import check_seal
from ..views import progress as pv
from ..views.accessibility import declaration_markdown, footer_label
from ..views.derived_attendance import AttendanceContext, as_of
from .frames import Framer
from .markdown import sanitize_page
from .search_index import sections
from .site import (
    ORGANISATION_MARKER,
    LearnerSite,
    learner_site,
    organisation_markdown,
    preview_index,
)
from .site.offline import IFRAME_WORKER_SHIM
from .site.rawblocks import RawBlocks

log = get_plugin_logger(__name__)

#: Markdown extensions the generated pages rely on (added when mkdocs.yml lacks them).
PAGE_EXTENSIONS = ("tables", "toc", "admonition")
AUDIENCE_LABELS = {
    "staff": "Vue équipe : contient les entrées réservées aux tuteurs et administrateurs",
    "shared": "Vue partagée : apprenant·e, entreprise, auditeurs",
}
SHIM_PATH = "javascripts/iframe-worker-shim.js"


class LivretConfig(base.Config):
    #: The store, relative to mkdocs.yml.
    portfolios = c.Type(str, default="portfolios")
    #: Learner ids to build; empty: every learner (combined preview).
    learners = c.ListOfItems(c.Type(str), default=[])
    #: ``staff`` (every entry) or ``shared`` (``staff`` entries left out everywhere).
    audience = c.Choice(("staff", "shared"), default="staff")
    #: The day derived views are computed for (YYYY-MM-DD); default: today, organisation's timezone.
    today = c.Optional(c.Type(str))
    #: Folder holding one shared copy of the theme's assets/ (the site links to it).
    assets_dir = c.Optional(c.Type(str))
    #: Folder for compiled templates; also keeps the theme's template environment warm in the process.
    cache_dir = c.Optional(c.Type(str))
    #: Self-contained site that works from file:// (no directory URLs, inline search index).
    offline = c.Type(bool, default=False)
    #: A built site of the same learner (the other audience): its copies of the attachments
    #: are hard-linked instead of copied again when they are up to date.
    link_files_from = c.Optional(c.Type(str))


#: The déclaration d'accessibilité of every built site (RGAA), at the site's root; its address by
#: ``use_directory_urls``; what it covers.
ACCESSIBILITY_PAGE = "accessibilite.md"
ACCESSIBILITY_URL = {True: "accessibilite/", False: "accessibilite.html"}
ACCESSIBILITY_SERVICE = "ce portfolio en ligne"


class LivretPlugin(BasePlugin[LivretConfig]):
    supports_multiple_instances = False

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.sites: list[LearnerSite] = []
        self.store: Store | None = None
        self._prefix: dict[str, str] = {}
        self._extra_pages: dict[str, str] = {}
        self._settings = None
        #: Set by the build driver: its Store, whose parse cache stays warm between builds.
        self.shared_store: Store | None = None
        #: Build driver only: the theme's page frame reused for entry pages (see livret.publish.frames).
        self.framer: Framer | None = None

    # ------------------------------------------------------------------ config

    @event_priority(100)  # before the search plugin, which asks the theme for its translations
    def on_config(self, config):
        root = Path(config.config_file_path or ".").resolve().parent
        portfolios = (root / self.config.portfolios).resolve()
        if not portfolios.is_dir():
            raise PluginError(f"livret : dossier des portfolios introuvable : {portfolios}")
        given = self.shared_store
        self.store = store = given if given is not None and given.root == portfolios \
            else Store(portfolios, display_root=root)
        settings, self.problems = store.organisation()
        self.problems = list(self.problems)
        self._settings = settings
        today = self._today(settings.timezone)
        if self.config.offline:
            config.use_directory_urls = False
        ids = list(self.config.learners) or store.learner_ids()
        single = len(self.config.learners) == 1
        self.sites, self._prefix, summaries = [], {}, []
        signed = AttendanceContext.load(store, as_of(today, settings.timezone))  # the sessions, read once
        for lid in ids:
            try:
                record = store.load_learner(lid)
            except UnknownLearner as exc:
                raise PluginError(f"livret : {exc}") from None
            self.problems += record.problems
            if record.profile is None or record.framework is None:
                if single:
                    raise PluginError(f"livret : le portfolio {lid} ne peut pas être construit "
                                      f"(profil ou référentiel invalide : voir livret check)")
                log.warning("portfolio %s laissé de côté : profil ou référentiel invalide (voir livret check)", lid)
                continue
            seals = {e.id: check_seal(store.root, e.meta) for e in record.entries if e.type == "signature"}
            rows = signed.rows(record, self.config.audience)
            self.sites.append(learner_site(record, self.config.audience, today, settings,
                                           directory_urls=config.use_directory_urls, seals=seals,
                                           people=store.people_names(), groups=store.groups_of(lid),
                                           session_rows=rows))
            self._prefix[lid] = "" if single else f"{lid}/"
            if not single:
                summaries.append(pv.summary(record, settings, today, self.config.audience, rows))
        if not single:
            self._extra_pages = {"index.md": preview_index(
                summaries, self._prefix, [str(p) for p in self.problems] if self.config.audience == "staff" else [])}
        else:
            self._extra_pages = {}
            config.site_name = html.escape(self.sites[0].title) if self.sites else config.site_name
        if self.problems and given is None:  # the build driver reports them itself, file by file
            log.warning("%s de côté (détail : livret check)",
                        french.count(len(self.problems), "fichier invalide laissé", "fichiers invalides laissés"))
        for ext in PAGE_EXTENSIONS:
            if ext not in config.markdown_extensions:
                config.markdown_extensions.append(ext)
        if not any(isinstance(ext, RawBlocks) for ext in config.markdown_extensions):
            config.markdown_extensions.insert(0, RawBlocks())
        config.extra["livret"] = {
            "audience": self.config.audience,
            "audience_label": AUDIENCE_LABELS[self.config.audience],
            "organisation": html.escape(settings.name),
            "today": pv.fr_date(today),
            # the footer's « Accessibilité : … » and its link (overrides/partials/copyright.html)
            "accessibility": html.escape(footer_label(settings)),
            "accessibility_page": ACCESSIBILITY_URL[config.use_directory_urls],
        }
        if self.config.offline:
            config.extra["polyfills"] = [SHIM_PATH]
        self.framer = Framer() if self.config.cache_dir else None
        if self.config.cache_dir:
            _keep_rendered_for(tuple(self.config.learners))
            theme = config.theme
            theme.get_env = lambda: _warm_env(theme, self.config.cache_dir)  # type: ignore[method-assign]
        return config

    def _today(self, timezone: str) -> dt.date:
        if self.config.today:
            try:
                return dt.date.fromisoformat(self.config.today)
            except ValueError:
                raise PluginError(f"livret : today : date AAAA-MM-JJ attendue, lu {self.config.today!r}") from None
        try:
            return dt.datetime.now(ZoneInfo(timezone)).date()
        except (KeyError, ValueError):
            return dt.date.today()

    # ------------------------------------------------------------------ files

    def on_files(self, files: Files, *, config) -> Files:
        generated: list[File] = []
        nav: list = []
        for path, content in self._extra_pages.items():
            generated.append(File.generated(config, path, content=content))
            nav.append({"Portfolios": path})
        if self._settings is not None:  # the déclaration d'accessibilité, linked from every page's footer
            generated.append(File.generated(config, ACCESSIBILITY_PAGE, inclusion=InclusionLevel.NOT_IN_NAV,
                                            content=declaration_markdown(self._settings, ACCESSIBILITY_SERVICE)))
        for site in self.sites:
            prefix = self._prefix[site.learner_id]
            section = []
            for page in site.pages:
                src = prefix + page.path
                markdown = page.markdown
                meta = {key: list(value) for key, value in (("tags", page.tags), ("hide", page.hide)) if value}
                if meta:
                    markdown = "---\n" + json.dumps(meta, ensure_ascii=False) + "\n---\n\n" + markdown
                inclusion = InclusionLevel.INCLUDED if page.nav else InclusionLevel.NOT_IN_NAV
                generated.append(File.generated(config, src, content=markdown, inclusion=inclusion))
                if page.nav:
                    section.append({html.escape(page.title): src})
            learner_dir = self.store.learner_dir(site.learner_id)
            for rel in site.files:
                # An attachment is a download, never a page: a ".md" file must be copied
                # as it is, so its source name gets a suffix MkDocs does not render.
                attachment = _Attachment.generated(config, prefix + rel + ".download",
                                                   abs_src_path=str(learner_dir / rel))
                attachment.dest_uri = prefix + rel
                attachment.store = (self.store.root, f"{site.learner_id}/{rel}")
                if self.config.link_files_from:
                    attachment.sibling = os.path.join(self.config.link_files_from, attachment.dest_uri)
                generated.append(attachment)
            if prefix:
                nav.append({html.escape(site.title.removeprefix("Portfolio de ")): section})
            else:
                nav += section
        for file in generated:
            existing = files.get_file_from_path(file.src_uri)
            if existing is not None:  # generated pages win over a site_src file of the same name
                files.remove(existing)
            files.append(file)
        ours = {f.src_uri for f in generated}
        nav += [f.src_uri for f in files.documentation_pages() if f.src_uri not in ours]
        config.nav = nav
        if self.config.offline:
            files.append(File.generated(config, SHIM_PATH, content=IFRAME_WORKER_SHIM))
        if self.config.assets_dir and not self.config.offline:
            _share_theme_assets(files, config, Path(self.config.assets_dir))
        if "material/search" in config.plugins:
            _fast_index(config.plugins["material/search"])
        return files

    # ------------------------------------------------------------------ pages

    def on_page_markdown(self, markdown: str, *, page, config, files) -> str:
        if ORGANISATION_MARKER in markdown and self._settings is not None:
            markdown = markdown.replace(ORGANISATION_MARKER, organisation_markdown(self._settings))
        return markdown

    def on_pre_page(self, page, *, config, files):
        if self.config.cache_dir and page.file.generated_by:
            page.render = functools.partial(_render_once, page, page.render)
        return page

    def on_page_content(self, html_text: str, *, page, config, files) -> str:
        cached = getattr(page, "_livret_html", None)
        if cached is not None:
            return cached
        if page.title:
            # Material prints ``page.title`` through Jinja's ``striptags``, which
            # *unescapes* entities: an entry titled "</title><script>..." would
            # run.  A title in ``meta`` is printed as it is, so give it escaped.
            page.meta["title"] = html.escape(html.unescape(page.title), quote=False)
        safe = sanitize_page(html_text)
        key = getattr(page, "_livret_key", None)
        if key is not None and key not in _RENDERED:
            _RENDERED[key] = (safe, page.toc, page._title_from_render, page.present_anchor_ids, page.meta.get("title"))
        return safe

    def on_template_context(self, context, *, template_name: str, config):
        if self.config.offline and template_name == "404.html":
            # MkDocs gives error pages absolute URLs ("/assets/…"), right on a web server and
            # broken from disk; an offline site's 404.html is only ever opened beside index.html.
            context["base_url"] = "."
        return context

    # ------------------------------------------------------------------ after

    def on_post_build(self, *, config) -> None:
        site = Path(config.site_dir)
        if self.config.assets_dir and not self.config.offline:
            link = site / "assets"
            target = Path(self.config.assets_dir) / "assets"
            if not link.exists() and not link.is_symlink():
                link.symlink_to(os.path.relpath(target, site), target_is_directory=True)
        if self.config.offline:
            index = site / "search" / "search_index.json"
            if index.is_file():
                (site / "search" / "search_index.js").write_text(
                    "var __index = " + index.read_text(encoding="utf-8"), encoding="utf-8")

    def on_serve(self, server, *, config, builder):
        if self.store is not None:
            server.watch(str(self.store.root))
        return server


# --------------------------------------------------------------------------
# Build driver only: pages rendered once for both audiences, shared theme
# assets, a warm template environment
# --------------------------------------------------------------------------

#: Sanitized HTML of generated pages, by (source path, URL style, Markdown).
#: The driver builds a learner's staff site then its shared site in the same
#: process; most pages (shared entries, competencies no staff entry cites) have
#: the same Markdown in both, so the second build reuses the first's HTML.
_RENDERED: dict[tuple, tuple] = {}
#: Search index entries of those pages (same content, same URL: same entries).
_INDEXED: dict[tuple, list] = {}
_RENDERED_LIMIT = 1000


def _fast_index(search_plugin) -> None:
    """Index pages with :func:`livret.publish.search_index.sections` (same entries as Material's
    parser, several times faster) and, in the build driver, reuse the entries of a page
    indexed in the other audience's build (same content, same URL: same entries)."""
    index = getattr(search_plugin, "search_index", None)
    if index is None or not hasattr(index, "add_entry_from_context") \
            or not hasattr(index, "create_entry_for_section"):
        return
    original = index.add_entry_from_context

    def index_page(page) -> None:
        search = page.meta.get("search") or {}
        if search.get("exclude"):
            return
        found = sections(page.content or "")
        if found is None:  # HTML this reader leaves to Material's parser
            original(page)
            return
        for section in found:
            index.create_entry_for_section(section, page.toc, page.url, page)

    def add_entry_from_context(page) -> None:
        key = getattr(page, "_livret_key", None)
        if key is None:
            index_page(page)
            return
        if key in _INDEXED:
            index.entries.extend(_INDEXED[key])
            return
        start = len(index.entries)
        index_page(page)
        _INDEXED[key] = index.entries[start:]

    index.add_entry_from_context = add_entry_from_context


_RENDERED_FOR: list[tuple] = [()]


def _keep_rendered_for(learners: tuple) -> None:
    """Pages are reused between the audiences of one learner: forget them when the learner changes."""
    if _RENDERED_FOR[0] != learners:
        _RENDERED.clear()
        _INDEXED.clear()
        _RENDERED_FOR[0] = learners


def _render_once(page, render, config, files) -> None:
    """``Page.render`` that reuses the result of an identical page rendered before."""
    key = (page.file.src_uri, config.use_directory_urls, repr(config.markdown_extensions),
           repr(config.mdx_configs), hashlib.sha256(page.markdown.encode("utf-8")).digest())
    page._livret_key = key
    hit = _RENDERED.get(key)
    if hit is None:
        render(config, files)
        if len(_RENDERED) >= _RENDERED_LIMIT:
            _RENDERED.clear()
            _INDEXED.clear()
        return
    html_text, page.toc, page._title_from_render, page.present_anchor_ids, title = hit
    page.content = html_text
    page.links_to_anchors = None  # validated when first rendered
    page._livret_html = html_text
    if title:
        page.meta["title"] = title



def _share_theme_assets(files: Files, config, assets_dir: Path) -> None:
    """Copy the theme's ``assets/`` once into ``assets_dir`` and leave it out of the site.

    Every learner site links ``assets`` to the shared copy (``on_post_build``),
    so a site holds the learner's pages and attachments, not 3 MB of theme.
    """
    theme_dirs = [os.path.abspath(d) for d in config.theme.dirs]
    for file in list(files):
        if file.generated_by or not file.dest_uri.startswith("assets/") or not file.abs_src_path:
            continue
        src = os.path.abspath(file.abs_src_path)
        if not any(src.startswith(d + os.sep) for d in theme_dirs):
            continue
        target = assets_dir / file.dest_uri
        size = os.path.getsize(src)
        if not target.is_file() or target.stat().st_size != size:
            target.parent.mkdir(parents=True, exist_ok=True)
            # Not mkstemp: its 0600 would make the theme unreadable to a web server running
            # as another user; 0666 less the umask, like every other file the build writes.
            tmp = atomic.temp_path(target)  # a killed worker's copy is removed by the next build
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            shutil.copyfile(src, tmp)
            os.replace(tmp, target)  # atomic: parallel workers may copy the same file
        files.remove(file)


class _Attachment(File):
    """An attachment, hard-linked from the other audience's site when that copy is up to date.

    A learner's staff and shared sites publish the same attachments: the
    second build links the first one's copy (both inside build/, never the
    store's file) instead of writing the bytes again.  A copy older than the
    store's file, of another size, or on another file system is not used.
    """

    sibling: str | None = None
    #: (store root, path in the store): the file is read from there, never through a link.
    store: tuple[Path, str] | None = None

    def copy_file(self, dirty: bool = False) -> None:
        if self.store is None:
            return super().copy_file(dirty)
        if dirty and not self.is_modified():
            return None
        if self.sibling is not None:
            try:
                source, sibling = nofollow.lstat(*self.store), os.stat(self.sibling)
                if sibling.st_size == source.st_size and sibling.st_mtime_ns >= source.st_mtime_ns:
                    os.makedirs(os.path.dirname(self.abs_dest_path), exist_ok=True)
                    os.link(self.sibling, self.abs_dest_path)
                    return
            except OSError:
                pass  # no up-to-date copy to link: copy
        os.makedirs(os.path.dirname(self.abs_dest_path), exist_ok=True)
        try:
            nofollow.copy_file(*self.store, self.abs_dest_path)
        except (nofollow.UnsafeFile, FileNotFoundError) as exc:  # replaced by a link since the store was read
            log.warning("pièce jointe non publiée : %s", exc)
        return None


class _ThemeLoader(jinja2.FileSystemLoader):
    """Lists the theme's files once, without dot-folders.

    MkDocs lists every theme file at each build to find static files;
    Material ships 14 000 icons under ``.icons/`` that MkDocs filters out
    anyway.  Skipping them saves a quarter of a small site's build time.
    """

    _names: list[str] | None = None

    def list_templates(self) -> list[str]:
        if self._names is None:
            self._names = [n for n in super().list_templates() if not n.startswith(".") and "/." not in n]
        return self._names


class _FramedTemplate(jinja2.Template):
    """A theme template that lets the build's :class:`~livret.publish.frames.Framer` fill page frames."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        if self.name == "main.html" and len(args) == 1 and not kwargs and isinstance(args[0], dict) \
                and args[0].get("page") is not None:
            config = args[0].get("config")
            plugins = getattr(config, "plugins", None)
            framer = getattr(plugins.get("livret") if plugins is not None else None, "framer", None)
            if framer is not None:
                return framer.render(self, lambda context: jinja2.Template.render(self, context), args[0])
        return super().render(*args, **kwargs)


_ENVS: dict[tuple, jinja2.Environment] = {}
_ENVS_LOCK = threading.Lock()


def _custom_signature(dirs: list[str]) -> tuple:
    """Modification times of the overrides (not of the installed theme): a changed override is seen."""
    out = []
    for d in dirs:
        if "site-packages" in d or "dist-packages" in d:
            continue
        for dirpath, _, names in os.walk(d):
            out += [(os.path.join(dirpath, n), os.stat(os.path.join(dirpath, n)).st_mtime_ns) for n in names]
    return tuple(sorted(out))


def _warm_env(theme, cache_dir: str) -> jinja2.Environment:
    """The theme's Jinja environment, built once per process and reused by every build.

    Same setup as ``mkdocs.theme.Theme.get_env``, plus a bytecode cache on
    disk shared by the build workers, so templates are compiled once.
    """
    key = (tuple(theme.dirs), str(theme.locale), cache_dir, _custom_signature(theme.dirs))
    with _ENVS_LOCK:
        env = _ENVS.get(key)
        if env is None:
            Path(cache_dir).mkdir(parents=True, exist_ok=True)
            env = jinja2.Environment(loader=_ThemeLoader(theme.dirs), auto_reload=False,
                                     bytecode_cache=jinja2.FileSystemBytecodeCache(cache_dir))
            env.template_class = _FramedTemplate
            env.filters["url"] = templates.url_filter
            env.filters["script_tag"] = templates.script_tag_filter
            localization.install_translations(env, theme.locale, theme.dirs)
            _ENVS.clear()
            _ENVS[key] = env
        return env
