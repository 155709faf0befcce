"""The pages of one learner's portfolio, as Markdown: a pure function of the
learner's record, the audience, the day and the organisation's settings.

Nothing here knows about MkDocs: :func:`learner_site` returns
:class:`Page` objects (a source path, a title, Markdown) and the list of
attachments to publish; an engine adapter (``livret.publish.mkdocs_plugin``) hands
them to the site generator.  Paths are relative to the learner's site root::

    index.md                 home: profile, progress, next actions (staff: à surveiller)
    competences/index.md     competency matrix
    competences/<code>.md    one page per competency
    progression.md           charts (inline SVG) and their data
    chronologie.md           every entry, newest first, filterable by type
    suivi.md                 follow-up record (meetings, contacts, gaps)
    plans.md                 action plans
    assiduite.md             attendance
    rendez-vous.md           planned meetings (staff: to complete, held, cancelled; shared: upcoming)
    entreprise.md            company (work-study), company feedback
    alternance.md            work-study calendar, mission plan, centre / company coverage
    entrees/<id>.md          one page per entry
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ...store import LearnerRecord, french
from ...store.schema import LEARNER_STATUSES, PROGRAMME_MODALITIES, SEVERITIES, Group, Organisation
from ...store.signatures import SealState
from ...views import progress as pv
from ...views.levels import chip_html, level_mark
from ..markdown import render_markdown
from . import charts
from . import text as t
from .context import COMPETENCY_DIR, SiteContext
from .entries import TIMELINE, entry_page, entry_page_path, publishable, timeline_page
from .followup import (
    ATTENDANCE,
    COMPANY,
    FOLLOWUP,
    PLANS,
    attendance_page,
    company_page,
    followup_page,
    has_company_page,
    plans_page,
)
from .qualiopi_page import QUALIOPI, has_qualiopi_page, qualiopi_page
from .qualiopi_page import TITLE as QUALIOPI_TITLE
from .rendezvous import RENDEZVOUS, has_rendezvous_page, rendezvous_page
from .worksite import WORKSITE, has_worksite_page, worksite_page

HOME = "index.md"
MATRIX = f"{COMPETENCY_DIR}/index.md"
PROGRESSION = "progression.md"


@dataclass(frozen=True)
class Page:
    path: str  # source path relative to the learner's site root
    title: str  # plain text, for the navigation
    markdown: str
    nav: bool = False  # listed in the navigation, in the order returned
    tags: tuple[str, ...] = ()
    hide: tuple[str, ...] = ()  # Material's « hide » (the matrix drops the table of contents to fit 1366 px)


@dataclass
class LearnerSite:
    learner_id: str
    title: str  # plain text: "Portfolio de Marie Durand"
    pages: list[Page]
    #: Attachments to publish (``files/<name>``, relative to the learner's folder):
    #: only those cited by an entry of this audience.
    files: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------
# Home
# --------------------------------------------------------------------------


def _problems_notice(ctx: SiteContext) -> str:
    if not ctx.staff or not ctx.record.problems:
        return ""
    lines = ["!!! warning \"Fichiers non pris en compte\"", "",
             "    Ces fichiers du portfolio sont invalides : ils ont été laissés de côté. "
             "Corrigez-les (voir `livret check`).", ""]
    lines += [f"    - {t.esc(str(p))}" for p in ctx.record.problems]
    return "\n".join(lines)


def _profile(ctx: SiteContext) -> str:
    p, fw = ctx.profile, ctx.framework
    dates = f"du {pv.fr_date(p.start)}" + (f" au {pv.fr_date(p.end)}" if p.end else "")
    lines = [
        f"- **Formation** : {t.esc(p.programme)}",
        f"- **Référentiel** : {t.esc(fw.title + (f' (version {fw.version})' if fw.version else ''))}",
        f"- **Dates** : {t.esc(dates)}",
        f"- **Modalité** : {t.esc(PROGRAMME_MODALITIES[p.modality])}"
        + (" — **alternance**" if p.work_study else ""),
        f"- **Statut** : {t.esc(LEARNER_STATUSES[p.status])}",
        f"- **Tuteur·rices** : {t.esc(', '.join(p.tutors) or '—')}",
    ]
    if p.company:
        where = f", {p.company.city}" if p.company.city else ""
        lines.append(f"- **Entreprise** : {t.esc(p.company.name + where)}")
    if p.company_tutors:
        lines.append(f"- **Tuteur·rices entreprise** : {t.esc(', '.join(p.company_tutors))}")
    return "\n".join(lines)


def _next_actions(ctx: SiteContext) -> str:
    open_plans = sorted((pl for pl in ctx.plans if pl.status == "open"), key=lambda pl: pl.due)
    lines = []
    for plan in open_plans[:5]:
        late = f" — **en retard de {(ctx.today - plan.due).days} jours**" if plan.overdue else ""
        lines.append(f"- {ctx.entry_link(HOME, plan.entries[-1], plan.title)} : échéance "
                     f"{t.esc(pv.fr_date(plan.due))}{late}")
    if not lines:
        lines.append("- Aucun plan d'action en cours.")
    lines.append(f"- Dernier contact de suivi : {t.esc(ctx.since(ctx.followup.last_contact))} "
                 f"([suivi]({t.rel(HOME, FOLLOWUP)}))")
    return "\n".join(lines)


def _attention(ctx: SiteContext) -> str:
    if not ctx.staff:
        return ""
    out = ["## À surveiller", "", "*Visible de l'équipe seulement.*", ""]
    if not ctx.attention:
        return "\n".join(out + ["Rien à signaler."])
    for a in ctx.attention:
        refs = ", ".join(ctx.entry_link(HOME, eid, "voir") for eid in a.entries if eid in ctx.by_id)
        out.append(f"- **{t.esc(SEVERITIES[a.severity])}** — {t.esc(a.message)}" + (f" ({refs})" if refs else ""))
    return "\n".join(out)


def home_page(ctx: SiteContext) -> str:
    p = ctx.profile
    body = t.shift_headings(render_markdown(ctx.record.profile_body), 2) if ctx.record.profile_body.strip() else ""
    parts = [
        f"# {t.esc(p.name)}",
        _problems_notice(ctx),
        "## Profil",
        _profile(ctx),
        t.raw_block(body) if body else "",
        "## Progression",
        t.raw_block(charts.progress_bar(ctx.progress)),
        f"**{ctx.progress.acquired} compétence{'s' if ctx.progress.acquired > 1 else ''} acquise"
        f"{'s' if ctx.progress.acquired > 1 else ''} sur {ctx.progress.total}** "
        f"({t.esc(pv.percent(ctx.progress.share))}) — voir la [matrice des compétences]({t.rel(HOME, MATRIX)}) "
        f"et la [progression]({t.rel(HOME, PROGRESSION)}).",
        "## Prochaines actions",
        _next_actions(ctx),
        _attention(ctx),
    ]
    return "\n\n".join(x for x in parts if x) + "\n"


# --------------------------------------------------------------------------
# Competencies
# --------------------------------------------------------------------------


def _acquired(view: pv.CompetencyView) -> str:
    return "**Oui, acquise**" if view.acquired else "Non"


def _acquired_html(view: pv.CompetencyView) -> str:
    return "<strong>Oui, acquise</strong>" if view.acquired else "Non"


def _scale_line(ctx: SiteContext) -> str:
    scale = ctx.framework.scale
    values = " < ".join(f"{v.value} {v.label}" for v in scale.values)
    return (f"Échelle : {t.esc(values)}. Une compétence est **acquise** quand son niveau évalué atteint "
            f"« {t.esc(scale.label(scale.acquired))} » ou plus.")


def _acquired_count(done: int, total: int, one: str = "acquise", many: str = "acquises") -> str:
    return f"{french.count(done, one, many)} sur {total}"


_ACQUIRED_COMPETENCIES = ("compétence acquise", "compétences acquises")
#: The matrix's columns: (class of the cell, header).  The classes name each cell on a phone, where
#: every row becomes a card (site_src/stylesheets/livret.css); positioning → follow-up → assessed
#: read as a progression.
_MATRIX_COLUMNS = (("c-comp", "Compétence"), ("c-pos", "Positionnement"), ("c-fu", "Suivi du tuteur"),
                   ("c-ev", "Évaluation"), ("c-self", "Auto-évaluation"), ("c-obs", "Observation entreprise"),
                   ("c-acq", "Acquise"), ("c-ev-n", "Preuves"))


def _matrix_table(ctx: SiteContext, views: Sequence[pv.CompetencyView], observed: bool) -> str:
    scale = ctx.framework.scale
    columns = [c for c in _MATRIX_COLUMNS if observed or c[0] != "c-obs"]

    def chip(event: pv.LevelEvent | None) -> str:
        return chip_html(level_mark(scale, event.level if event else None))

    rows = []
    for v in views:
        cells = {"c-comp": ctx.competency_anchor(MATRIX, v.code), "c-pos": chip(v.positioning),
                 "c-fu": chip(v.followup), "c-ev": chip(v.assessed), "c-self": chip(v.self_assessed),
                 "c-obs": chip(v.observed), "c-acq": _acquired_html(v), "c-ev-n": str(len(v.evidence))}
        rows.append(f'<tr class="{"acquired" if v.acquired else "not-acquired"}">' + "".join(
            f'<th scope="row" class="{k}">{cells[k]}</th>' if k == "c-comp" else f'<td class="{k}">{cells[k]}</td>'
            for k, _ in columns) + "</tr>")
    head = "".join(f'<th scope="col" class="{k}">{t.h(label)}</th>' for k, label in columns)
    return (f'<table class="livret-matrix"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def matrix_page(ctx: SiteContext) -> str:
    fw = ctx.framework
    observed = ctx.profile.work_study or any(v.observed for v in ctx.views)
    out = [
        "# Matrice des compétences", "",
        f"Référentiel : **{t.esc(fw.title)}**. {_scale_line(ctx)}", "",
        f"**{t.esc(_acquired_count(ctx.progress.acquired, ctx.progress.total, *_ACQUIRED_COMPETENCIES))} "
        f"({t.esc(pv.percent(ctx.progress.share))}).** Par compétence, la progression se lit de gauche "
        "à droite : positionnement (niveau de départ) → suivi du tuteur (dernier niveau noté lors d'un "
        "entretien ou d'un retour) → évaluation (le niveau officiel, celui de la dernière évaluation du "
        "tuteur). L'auto-évaluation est celle de l'apprenant·e. Chaque niveau est écrit en toutes lettres "
        "et marqué d'autant de carrés pleins que son rang dans l'échelle ; les compétences acquises sont "
        "bordées de vert et marquées « Oui, acquise ».",
    ]
    for block in fw.blocks:
        views = [ctx.view_by_code[c.code] for c in block.competencies]
        done = sum(v.acquired for v in views)
        out += ["", f"## {t.esc(block.code)} — {t.esc(block.title)}", "",
                f"{t.esc(_acquired_count(done, len(views)))}.", "",
                t.raw_block(_matrix_table(ctx, views, observed))]
    return "\n".join(out) + "\n"


_SOURCE_LABELS = {"positioning": "Positionnement", "reflection": "Auto-évaluation",
                  "meeting": "Entretien de suivi", "feedback": "Retour du tuteur",
                  "assessment": "Évaluation", "company-feedback": "Observation entreprise",
                  "observation": "Grille d'observation entreprise"}


def competency_page(ctx: SiteContext, view: pv.CompetencyView) -> str:
    """Headings in Markdown (ids, table of contents), the rest as HTML blocks."""
    here = ctx.competency_path(view.code)
    out = [f"# {t.esc(view.code)} — {t.esc(view.title)}",
           t.raw_block(f"<p>Bloc {t.line(view.block_code)} — {t.line(view.block_title)}. "
                       f"{t.anchor('Retour à la matrice', ctx.url(here, MATRIX))}</p>")]
    if view.description:
        out.append(t.raw_block(t.shift_headings(render_markdown(view.description), 2)))

    def level(event: pv.LevelEvent | None) -> str:
        if event is None:
            return "—"
        return (f"{t.line(ctx.level(event.level))} (le {t.line(pv.fr_date(event.date))}, "
                f"{ctx.entry_anchor(here, event.entry_id, 'voir')})")

    out += ["## Niveaux", t.raw_block(t.html_list([
        t.labelled("Positionnement", level(view.positioning)),
        t.labelled("Auto-évaluation", level(view.self_assessed)),
        f"<strong>Suivi du tuteur</strong> (entretiens et retours) : {level(view.followup)}",
        t.labelled("Évaluation (niveau officiel)", level(view.assessed)),
        t.labelled("Observation entreprise", level(view.observed)),
        t.labelled("Acquise", _acquired_html(view)),
        t.labelled("Preuves", str(len(view.evidence))),
    ])), "## Historique"]
    if view.history:
        rows = [[t.line(pv.fr_date(ev.date)), t.line(_SOURCE_LABELS.get(ev.source, ev.source)),
                 t.line(ctx.level(ev.level)), t.line(ctx.person(ev.author)), ctx.entry_anchor(here, ev.entry_id)]
                for ev in view.history]
        out.append(t.raw_block(t.html_table(["Date", "Source", "Niveau", "Auteur", "Entrée"], rows)))
    else:
        out.append("Aucun niveau enregistré pour l'instant.")
    groups = [("Preuves", lambda e: e.type == "evidence"),
              ("Retours et évaluations", lambda e: e.type in ("feedback", "assessment", "positioning",
                                                              "company-feedback")),
              ("Autres entrées", lambda e: e.type not in ("evidence", "feedback", "assessment", "positioning",
                                                          "company-feedback"))]
    citing = [ctx.by_id[eid] for eid in view.citations if eid in ctx.by_id]
    out.append("## Entrées qui citent cette compétence")
    if not citing:
        out.append("Aucune entrée ne cite cette compétence pour l'instant.")
    for title, keep in groups:
        items = [e for e in reversed(citing) if keep(e)]
        if items:
            lines = []
            for e in items:
                rating = next((r for r in e.meta.competencies if r.code == view.code), None)
                lvl = f" — niveau : {t.line(ctx.level(rating.level))}" if rating and rating.level else ""
                attached = len(e.meta.attachments)
                files = f" — {french.count(attached, 'pièce jointe', 'pièces jointes')}" if attached else ""
                lines.append(f"{t.line(pv.fr_date(e.meta.date))} — {t.line(ctx.type_label(e))} : "
                             f"{ctx.entry_anchor(here, e.id)}{lvl}{files}")
            out += [f"### {title} ({len(items)})", t.raw_block(t.html_list(lines))]
    return "\n\n".join(out) + "\n"


def progression_page(ctx: SiteContext) -> str:
    points = pv.acquired_over_time(ctx.framework, ctx.entries)
    blocks = pv.block_views(ctx.framework, ctx.views)
    end = min(ctx.today, ctx.profile.end) if ctx.profile.end else ctx.today
    out = ["# Progression", "", "## Compétences acquises au fil du temps", "",
           t.raw_block(charts.acquired_chart(points, ctx.progress.total, ctx.profile.start, end)),
           "Données du graphique :", ""]
    if points:
        out.append(t.table(["Date", "Compétences acquises"],
                           [[t.esc(pv.fr_date(d)), f"{n} sur {ctx.progress.total}"] for d, n in points]))
    else:
        out.append("Aucune évaluation pour l'instant.")
    out += ["", "## Niveaux par bloc", "",
            "Pour chaque bloc : la part de ses compétences acquises (la barre « Acquises » montre ce que disent "
            "ses chiffres), puis le niveau moyen de ses compétences au positionnement, à l'auto-évaluation et à "
            "l'évaluation, en part du niveau le plus haut de l'échelle.", "",
            t.raw_block(charts.blocks_chart(blocks)), "Données du graphique :", "",
            t.table(["Bloc", "Acquises", "Positionnement", "Auto-évaluation", "Évaluation"],
                    [[t.esc(f"{b.code} — {b.title}"), f"{b.acquired} sur {b.total}", t.esc(pv.percent(b.positioning)),
                      t.esc(pv.percent(b.self_assessed)), t.esc(pv.percent(b.assessed))] for b in blocks])]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# The whole site
# --------------------------------------------------------------------------


def learner_site(record: LearnerRecord, audience: str, today: dt.date, settings: Organisation, *,
                 directory_urls: bool = True, seals: Mapping[str, SealState] | None = None,
                 people: Mapping[str, str] | None = None, groups: Sequence[Group] = (),
                 session_rows: Sequence = ()) -> LearnerSite:
    """Every page of a learner's portfolio for ``audience`` (``staff`` or ``shared``).

    ``record.profile`` and ``record.framework`` must be valid (the caller
    reports the problems otherwise).  ``seals``: signature id -> the check
    of its seal (:func:`livret.store.signatures.check_seal`); ``people``:
    username -> name (``_people.yml``); ``groups``: the learner's groups (their calendars);
    ``session_rows``: their training sessions (:mod:`livret.views.derived_attendance`, for ``audience``).
    """
    if audience not in ("staff", "shared"):
        raise ValueError(f"audience inconnue : {audience!r} (staff ou shared)")
    ctx = SiteContext(record, audience, today, settings, directory_urls, seals=seals or {}, people=people or {},
                      groups=tuple(groups), session_rows=tuple(session_rows))
    pages = [
        Page(HOME, "Accueil", home_page(ctx), nav=True),
        Page(MATRIX, "Compétences", matrix_page(ctx), nav=True, hide=("toc",)),
        Page(PROGRESSION, "Progression", progression_page(ctx), nav=True),
        Page(TIMELINE, "Chronologie", timeline_page(ctx), nav=True),
        Page(FOLLOWUP, "Suivi", followup_page(ctx), nav=True),
        Page(PLANS, "Plans d'action", plans_page(ctx), nav=True),
        Page(ATTENDANCE, "Assiduité", attendance_page(ctx), nav=True),
    ]
    if has_rendezvous_page(ctx):
        pages.append(Page(RENDEZVOUS, "Rendez-vous", rendezvous_page(ctx), nav=True))
    if has_company_page(ctx):
        pages.append(Page(COMPANY, "Entreprise", company_page(ctx), nav=True))
    if has_worksite_page(ctx):
        pages.append(Page(WORKSITE, "Alternance", worksite_page(ctx), nav=True))
    if has_qualiopi_page(ctx):
        pages.append(Page(QUALIOPI, QUALIOPI_TITLE, qualiopi_page(ctx), nav=True))
    pages += [Page(ctx.competency_path(v.code), f"{v.code} — {v.title}", competency_page(ctx, v))
              for v in ctx.views]
    pages += [Page(entry_page_path(e), e.meta.title, entry_page(ctx, e), tags=(ctx.type_label(e),))
              for e in ctx.current]
    # Attachments of the versions shown: a file dropped by a correction is not published.
    files = sorted({path for e in ctx.current for path in e.meta.attachments
                    if path in record.files and publishable(path)})
    return LearnerSite(record.id, f"Portfolio de {ctx.profile.name}", pages, files)
