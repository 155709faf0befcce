"""The « Alternance » page: the work-study calendar (month grids), the mission plan and the
centre / company coverage matrix (Qualiopi indicator 13).

Staff and shared sites both have it (the calendar is no staff data); the
entries are the audience's (:class:`SiteContext` filters them first), so a
shared site never names a staff entry, in the matrix or anywhere.
"""

from __future__ import annotations

from ...store import french
from ...views import coverage as cv
from ...views import progress as pv
from ...views import worksite as ws
from . import text as t
from .context import SiteContext

WORKSITE = "alternance.md"


def has_worksite_page(ctx: SiteContext) -> bool:
    return bool(ctx.profile.work_study or ctx.periods or any(e.type == "mission" for e in ctx.current))


def _legend() -> str:
    return "<ul class=\"livret-cal-legend\">" + "".join(
        f"<li><span class=\"livret-cal-{place}\" aria-hidden=\"true\">{letter}</span> {letter} = {t.line(label)}</li>"
        for place, (letter, label) in ws.PLACES.items()) + "</ul>"


def _grid(month: ws.MonthGrid) -> str:
    head = "".join(f"<th scope=\"col\" abbr=\"{d}\">{d[0].upper()}</th>" for d in ws.WEEKDAYS)
    rows = []
    for week in month.weeks:
        cells = []
        for day in week:
            if day is None:
                cells.append("<td></td>")
                continue
            classes = " ".join(c for c in (f"livret-cal-{day.place}" if day.place else "",
                                           "livret-cal-weekend" if day.weekend else "") if c)
            label = ws.PLACES[day.place][1] if day.place else "aucune période"
            cells.append(f"<td class=\"{classes}\" title=\"{day.date.day} : {t.attr(label)}\">"
                         f"<span class=\"livret-cal-num\">{day.date.day}</span>"
                         f"<span class=\"livret-cal-letter\">{day.letter}</span></td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table class=\"livret-cal-month\"><caption>{t.line(month.title)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _calendar(ctx: SiteContext) -> list[str]:
    out = ["## Calendrier de l'alternance", ""]
    span = ws.calendar_range(ctx.periods, ctx.profile.start, ctx.profile.end)
    if span is None:
        return out + ["Aucune période saisie pour l'instant."]
    counted = ws.place_days(ctx.periods)
    out.append(f"{counted['centre']} jours ouvrés en centre de formation, {counted['entreprise']} en entreprise, "
               f"{counted['absence']} d'absence (du lundi au vendredi).")
    grids = "".join(_grid(m) for m in ws.month_grids(ctx.periods, *span))
    out.append(t.raw_block(_legend() + f"<div class=\"livret-cal-months\">{grids}</div>"))
    out += ["Périodes :", ""]
    out.append(t.table(["Du", "Au", "Lieu", "Précision"], [
        [t.esc(pv.fr_date(p.start)), t.esc(pv.fr_date(p.end)), t.esc(ws.PLACES[p.kind][1]), t.esc(p.label or "")]
        for p in ctx.periods]))
    return out


def _missions(ctx: SiteContext) -> list[str]:
    here = WORKSITE
    out = ["", "## Plan de missions", ""]
    plan = ws.mission_plan(ctx.entries)
    if not plan:
        return out + ["Aucune mission pour l'instant."]
    for _term, label, missions in plan:
        out += [f"### {t.esc(label)}", ""]
        for m in missions:
            when = ""
            if m.period_start or m.period_end:
                when = (f" — du {t.esc(pv.fr_date(m.period_start) if m.period_start else '…')} au "
                        f"{t.esc(pv.fr_date(m.period_end) if m.period_end else '…')}")
            updates = f" ({french.count(m.records - 1, 'mise à jour', 'mises à jour')})" if m.records > 1 else ""
            out.append(f"- {ctx.entry_link(here, m.latest.id, m.title)} — **{t.esc(m.status_label)}**{when}{updates}")
            for code in m.codes:
                out.append(f"    - {ctx.competency_link(here, code)}")
        out.append("")
    return out


def _coverage(ctx: SiteContext) -> list[str]:
    here = WORKSITE
    rows = cv.coverage(ctx.framework, ctx.entries, ctx.periods, work_study=ctx.profile.work_study,
                       rows=ctx.session_rows)
    gaps = [r for r in rows if r.gap]
    out = ["", "## Couverture centre / entreprise", "",
           "Pour chaque compétence du référentiel : où elle est travaillée. **Centre** : évaluations du tuteur, "
           "positionnement et séances suivies ; **entreprise** : missions (en cours ou réalisées), grilles "
           "d'observation et retours de l'entreprise. Les périodes en centre ne sont pas rattachées à une "
           "compétence : elles sont comptées dans le calendrier ci-dessus."]
    if ctx.profile.work_study:
        out.append(f"**{french.count(len(gaps), 'compétence', 'compétences')} sans trace d'un des deux côtés** "
                   "(lacunes, signalées sur leur ligne)."
                   if gaps else "Chaque compétence est travaillée en centre et en entreprise.")

    def cell(items: list[str], ids: list[str]) -> str:
        if not items:
            return "—"
        return "<ul>" + "".join(f"<li>{ctx.entry_anchor(here, i, x)}</li>" for x, i in zip(items, ids)) + "</ul>"

    html_rows = []
    for r in rows:
        name = f"<strong>{ctx.competency_anchor(here, r.code)}</strong>"
        if r.gap:
            name += f"<br><em class=\"livret-gap\">{t.line(cv.gap_text(r))}</em>"
        row_class = ' class="livret-gap-row"' if r.gap else ""
        html_rows.append(f"<tr{row_class}><td>{name}</td>"
                         f"<td>{cell(r.centre, r.centre_ids)}</td><td>{cell(r.company, r.company_ids)}</td></tr>")
    table = ("<table class=\"livret-coverage\"><thead><tr><th>Compétence</th><th>Centre</th><th>Entreprise</th>"
             f"</tr></thead><tbody>{''.join(html_rows)}</tbody></table>")
    return out + [t.raw_block(table)]


def worksite_page(ctx: SiteContext) -> str:
    out = ["# Alternance", ""] + _calendar(ctx) + _missions(ctx) + _coverage(ctx)
    return "\n".join(out) + "\n"
