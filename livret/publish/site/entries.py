"""One page per entry, and the timeline of every entry (newest first, filterable by type).

The fields an entry page shows come from the entry's schema model: every
key of its type (``kind``, ``due``, ``missions``...) is listed with the
model's French field title, so a key added to :mod:`livret.store.schema` appears
on the page without touching this module.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from ...store import StoredEntry, french
from ...store.attachments import ALLOWED_TYPES, TEXT_EXTENSIONS
from ...store.schema import (
    ALERT_CATEGORIES,
    ALERT_STATUSES,
    ENTRY_MODELS,
    MEETING_KINDS,
    MODALITIES,
    PLAN_STATUSES,
    SEVERITIES,
    SIGNER_ROLES,
    TYPE_LABELS,
    VISIBILITY_LABELS,
    EntryBase,
)
from ...views import progress as pv
from ..markdown import render_markdown
from . import text as t
from .context import ENTRY_DIR, SiteContext

TIMELINE = "chronologie.md"

#: Keys every entry has; shown in the page's header, not in the details.
_COMMON = set(EntryBase.model_fields)
#: French labels of enumerated values, by key (``status`` depends on the type).
_VALUE_LABELS: dict[str, dict[str, str]] = {
    "kind": MEETING_KINDS,
    "modality": MODALITIES,
    "category": ALERT_CATEGORIES,
    "severity": SEVERITIES,
}
_STATUS_LABELS = {"action-plan": PLAN_STATUSES, "alert": ALERT_STATUSES}
_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp")
PUBLISHED_EXTENSIONS = frozenset({ext for ext, _ in ALLOWED_TYPES.values()} | TEXT_EXTENSIONS | {"jpeg"})


def entry_page_path(entry: StoredEntry) -> str:
    return f"{ENTRY_DIR}/{entry.id.lower()}.md"


def attachment_name(path: str) -> str:
    """``files/k3j9x2ab-rapport.pdf`` -> ``rapport.pdf`` (the short id prefix is storage detail)."""
    name = path.rsplit("/", 1)[-1]
    head, sep, rest = name.partition("-")
    return rest if sep and len(head) == 8 and rest else name


def _value(ctx: SiteContext, entry: StoredEntry, key: str, value: Any, here: str) -> str | None:
    """One detail value as HTML, or None when it is empty."""
    if value is None or value == [] or value == "":
        return None
    labels = _STATUS_LABELS.get(entry.type) if key == "status" else _VALUE_LABELS.get(key)
    if labels is not None:
        return t.line(labels.get(value, value))
    if key == "updates":
        return ctx.entry_anchor(here, value)
    if key == "duration":
        return t.line(pv.duration(value))
    if key.startswith("hours_"):
        return t.line(french.hours(value))
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, dt.datetime):
        return t.line(pv.fr_datetime(value))
    if isinstance(value, dt.date):
        return t.line(pv.fr_date(value))
    if isinstance(value, list):
        return t.html_list(t.line(item) for item in value)
    return t.line(value)



def _details(ctx: SiteContext, entry: StoredEntry, here: str) -> tuple[list[str], list[str]]:
    """(detail lines as HTML, sections) for the type's own keys, from the schema model."""
    model = ENTRY_MODELS[entry.type]
    bullets, sections = [], []
    for key, info in model.model_fields.items():
        if key in _COMMON or key == "not_observed":  # the observation grid's table shows it
            continue
        value = getattr(entry.meta, key)
        # The form asks for minutes; the page shows "1 h 30": no unit in the label.
        label = (info.title or key).removesuffix(" (minutes)")
        if isinstance(value, str) and key not in _VALUE_LABELS and key != "status" and key != "updates":
            if value.strip():  # free text (context, observations): rendered like a body
                sections.append(f"## {t.esc(label)}\n" + t.raw_block(t.shift_headings(render_markdown(value), 2)))
            continue
        shown = _value(ctx, entry, key, value, here)
        if shown is not None:
            bullets.append(t.labelled(label, shown))
    return bullets, sections


#: How the observation grid shows a competency the company did not see.
NOT_OBSERVED = "Non vu en entreprise"


def _observation_grid(ctx: SiteContext, entry: StoredEntry, here: str) -> str:
    """The company's observation grid: every line in the framework's order, a level or « non vu »."""
    levels = {r.code: r.level for r in entry.meta.competencies}
    not_seen = set(entry.meta.not_observed)
    order = [c.code for _, c in ctx.framework.competencies()]
    codes = [c for c in order if c in levels or c in not_seen]
    codes += [c for c in [*levels, *entry.meta.not_observed] if c not in order]
    rows = [[ctx.competency_anchor(here, code),
             t.line(ctx.level(levels[code]) if code in levels else NOT_OBSERVED)] for code in codes]
    return "## Grille d'observation\n" + t.raw_block(t.html_table(["Compétence", "Niveau observé"], rows))


def _competencies(ctx: SiteContext, entry: StoredEntry, here: str) -> str:
    if entry.type == "observation":
        return _observation_grid(ctx, entry, here)
    if not entry.meta.competencies:
        return ""
    rows = []
    for rating in entry.meta.competencies:
        rows.append([ctx.competency_anchor(here, rating.code), t.line(ctx.level(rating.level))])
    heading = "Compétences visées" if entry.type == "evidence" else "Compétences"
    return f"## {heading}\n" + t.raw_block(t.html_table(["Compétence", "Niveau"], rows))


def publishable(path: str) -> bool:
    """Attachments are published only with the extension of an accepted type.

    A hand-placed ``.html`` or ``.svg`` file would run its scripts when
    opened from the site; the upload path never stores such names.
    """
    return path.rsplit(".", 1)[-1].lower() in PUBLISHED_EXTENSIONS


def _attachments(ctx: SiteContext, entry: StoredEntry, here: str) -> str:
    if not entry.meta.attachments:
        return ""
    items = []
    for path in entry.meta.attachments:
        name = t.h(attachment_name(path))
        if not publishable(path) or path not in ctx.record.files:
            items.append(f"<li>{name} (non publiée : type de fichier non accepté)</li>")
            continue
        href = t.attr(ctx.url(here, path, page=False))
        if path.lower().endswith(_IMAGE_EXTENSIONS):
            items.append(f'<li><a href="{href}" download>{name}</a> (image)<br>'
                         f'<img src="{href}" alt="{t.attr(attachment_name(path))}" loading="lazy"></li>')
        else:
            items.append(f'<li><a href="{href}" download>{name}</a> (à télécharger)</li>')
    return "## Pièces jointes\n" + t.raw_block('<ul class="livret-attachments">' + "".join(items) + "</ul>")


def _header(ctx: SiteContext, entry: StoredEntry, here: str) -> list[str]:
    meta = entry.meta
    lines = [
        t.labelled("Type", t.line(ctx.type_label(entry))),
        t.labelled("Date", t.line(pv.fr_datetime(meta.date))),
        t.labelled("Auteur", t.line(ctx.author(entry))),
        t.labelled("Enregistrée le", t.line(pv.fr_datetime(meta.recorded))),
    ]
    if meta.visibility == "staff":  # only on the staff site; shared is the default, said in "Comment lire"
        lines.append(t.labelled("Visibilité", t.line(VISIBILITY_LABELS[meta.visibility])))
    if meta.about:
        lines.append(t.labelled("À propos de", ctx.entry_anchor(here, meta.about)))
    return lines


def _versions(ctx: SiteContext, entry: StoredEntry, here: str) -> str:
    """Correction notice; on the staff site, every earlier version in full."""
    earlier = pv.corrections_of(ctx.entries, entry.id)
    if not earlier:
        return ""
    first = earlier[0]
    out = ["## Corrections", t.raw_block(
           f"<p>Cette entrée a été corrigée par {t.line(ctx.author(entry))} le "
           f"{t.line(pv.fr_datetime(entry.meta.recorded))} ; elle remplace "
           f"{len(earlier)} version{'s' if len(earlier) > 1 else ''} précédente"
           f"{'s' if len(earlier) > 1 else ''} (la première du {t.line(pv.fr_date(first.meta.recorded))}, "
           f"par {t.line(ctx.author(first))}).</p>")]
    if not ctx.staff:
        return "\n".join(out)
    out.append("")
    for old in reversed(earlier):
        summary = (f"Version précédente du {pv.fr_datetime(old.meta.recorded)} par {ctx.author(old)} : "
                   f"« {old.meta.title} »")
        body = t.shift_headings(render_markdown(old.body, base=t.root_prefix(here, ctx.directory_urls)), 3)
        fields = "".join(
            f"<li><strong>{t.h(ENTRY_MODELS[old.type].model_fields[k].title or k)}</strong> : "
            f"{t.h(_plain(getattr(old.meta, k)))}</li>"
            for k in ENTRY_MODELS[old.type].model_fields
            if k not in _COMMON and getattr(old.meta, k) not in (None, [], "")
        )
        out.append(t.raw_block(
            f'<details class="livret-version"><summary>{t.h(summary)}</summary>'
            f"<ul>{fields}</ul>{body}</details>"
        ))
    return "\n".join(out)


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return " ; ".join(str(v) for v in value)
    if isinstance(value, dt.date):
        return pv.fr_date(value)
    return str(value)


def _followups(ctx: SiteContext, entry: StoredEntry, here: str) -> str:
    items = [f"{t.line(pv.fr_date(e.meta.date))} — {t.line(ctx.type_label(e))} : {ctx.entry_anchor(here, e.id)}"
             for e in ctx.followups.get(entry.id, [])]
    return "## Suites données\n" + t.raw_block(t.html_list(items)) if items else ""


def _signatures(ctx: SiteContext, entry: StoredEntry) -> str:
    """The entry's signatures with the state of their seal, and the roles it still waits for."""
    items = []
    earlier = [e.id for e in pv.corrections_of(ctx.entries, entry.id)]
    for eid in [entry.id, *earlier]:
        for s in ctx.signatures.get(eid, []):
            text = t.h(s.text) + (" (sur une version précédente)" if eid != entry.id else "")
            if s.intact is True:
                text += ' <span class="livret-badge livret-seal-ok">intact</span>'
            elif s.intact is False:
                text += f' <strong class="livret-seal-broken">⚠ {t.h(s.seal_text)}</strong>'
            if s.comment:
                text += f"<br>« {t.h(s.comment)} »"
            items.append(text)
    waiting = ctx.waiting.get(entry.id, [])
    if not items and not waiting:
        return ""
    html = t.html_list(items) if items else ""
    if waiting:
        roles = ", ".join(SIGNER_ROLES.get(r, r).lower() for r in waiting)
        html += f'<p class="livret-signoff-waiting">En attente de la signature de : {t.h(roles)}</p>'
    return "## Signatures\n" + t.raw_block(html)


def entry_page(ctx: SiteContext, entry: StoredEntry) -> str:
    here = entry_page_path(entry)
    bullets, sections = _details(ctx, entry, here)
    parts = [f"# {t.esc(entry.meta.title)}", t.raw_block(t.html_list([*_header(ctx, entry, here), *bullets]))]
    parts.append(_competencies(ctx, entry, here))
    if entry.body.strip():
        parts.append("## Texte\n" + t.raw_block(t.shift_headings(
            render_markdown(entry.body, base=t.root_prefix(here, ctx.directory_urls)), 2)))
    parts += sections
    parts += [_attachments(ctx, entry, here), _signatures(ctx, entry), _followups(ctx, entry, here),
              _versions(ctx, entry, here)]
    parts.append(t.raw_block(f"<p>{t.anchor('Retour à la chronologie', ctx.url(here, TIMELINE))}</p>"))
    return "\n\n".join(p for p in parts if p) + "\n"


# --------------------------------------------------------------------------
# Timeline
# --------------------------------------------------------------------------


def _timeline_items(ctx: SiteContext, entries: list[StoredEntry]) -> str:
    items = []
    for e in entries:
        staff = ' · <span class="livret-badge livret-staff">Équipe seulement</span>' \
            if ctx.staff and e.visibility == "staff" else ""
        codes = ", ".join(r.code for r in e.meta.competencies)
        comp = f' · <span class="livret-codes">{t.h(codes)}</span>' if codes else ""
        items.append(
            f'<li class="livret-t-{t.attr(e.type)}"><time datetime="{t.attr(e.meta.date.isoformat())}">'
            f"{t.h(pv.fr_date(e.meta.date))}</time> · "
            f'<span class="livret-type">{t.h(ctx.type_label(e))}</span> · '
            f'<a href="{t.attr(ctx.url(TIMELINE, entry_page_path(e)))}">{t.h(e.meta.title)}</a> · '
            f"{t.h(ctx.author(e))}{comp}{staff}</li>"
        )
    return '<ol class="livret-entries">' + "".join(items) + "</ol>"


def timeline_page(ctx: SiteContext) -> str:
    """Every entry, newest first.  Filtering by type uses CSS ``:target`` only:

    each type has its own list (``#type-meeting``...) shown when its link is
    followed, the full list otherwise.  It works offline and without
    JavaScript.
    """
    entries = pv.timeline(ctx.current)
    counts = Counter(e.type for e in entries)
    types = [tp for tp in TYPE_LABELS if counts[tp]]
    links = [f'<li><a href="#tout">Tout ({len(entries)})</a></li>'] + [
        f'<li><a href="#type-{tp}">{t.h(TYPE_LABELS[tp])} ({counts[tp]})</a></li>' for tp in types
    ]
    views = [
        f'<section id="type-{tp}" class="livret-filter-view" aria-label="{t.attr(TYPE_LABELS[tp])}">'
        f"<p><strong>{t.h(TYPE_LABELS[tp])}</strong> : {counts[tp]} entrée{'s' if counts[tp] > 1 else ''}."
        f' <a href="#tout">Voir tout</a></p>'
        + _timeline_items(ctx, [e for e in entries if e.type == tp]) + "</section>"
        for tp in types
    ]
    views.append(f'<section id="tout" class="livret-filter-view livret-filter-default">'
                 f"{_timeline_items(ctx, entries)}</section>")
    html = (f'<nav class="livret-filter" aria-label="Filtrer par type"><p>Filtrer par type :</p>'
            f'<ul>{"".join(links)}</ul></nav>' + "".join(views))
    intro = (f"{len(entries)} entrée{'s' if len(entries) > 1 else ''}, de la plus récente à la plus ancienne."
             if entries else "Aucune entrée pour l'instant.")
    return f"# Chronologie\n\n{intro}\n" + (t.raw_block(html) if entries else "")
