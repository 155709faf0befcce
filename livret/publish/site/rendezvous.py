"""The planned meetings page (``rendez-vous.md``): what is planned, what is to complete, what was held.

Staff: every plan (upcoming, to complete — its time passed without a meeting
entry —, held with a link to the meeting, cancelled with its reason).
Shared: the upcoming plans only, without who planned them nor the reasons of
changes; a ``staff`` plan is absent (the context holds the audience's entries
only).  The states are :func:`livret.views.plans.plan_states`, at the start of
the site's day.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from ...store.schema import MEETING_KINDS, MODALITIES
from ...views import progress as pv
from ...views.plans import PlanState, plan_states
from . import text as t
from .context import SiteContext

RENDEZVOUS = "rendez-vous.md"


def _when(state: PlanState, tz: ZoneInfo) -> str:
    start, end = state.start.astimezone(tz), state.end.astimezone(tz)
    return f"{pv.fr_date(start)}, {start.strftime('%H:%M')}–{end.strftime('%H:%M')}"


def _where(state: PlanState) -> str:
    plan = state.latest
    where = MODALITIES[plan.modality]
    if plan.place:
        where += f" — {plan.place}"
    return t.esc(where) + (f" — {t.anchor('lien de visioconférence', plan.video_link)}"
                           if plan.video_link else "")


def _rows(ctx: SiteContext, states: list[PlanState], tz: ZoneInfo, *, held: bool = False,
          reasons: bool = False) -> list[list[str]]:
    rows = []
    for s in states:
        row = [t.esc(_when(s, tz)), t.esc(s.latest.title), t.esc(MEETING_KINDS[s.latest.kind]), _where(s)]
        if held:
            row.append(ctx.entry_link(RENDEZVOUS, s.meeting_id, "compte rendu") if s.meeting_id else "—")
        if reasons:
            row.append(t.esc(" ; ".join(r.reason or "" for r in s.changes) or "—"))
        rows.append(row)
    return rows


def has_rendezvous_page(ctx: SiteContext) -> bool:
    return any(e.type == "planned-meeting" for e in ctx.entries)


def rendezvous_page(ctx: SiteContext) -> str:
    tz = ZoneInfo(ctx.settings.timezone)
    now = dt.datetime.combine(ctx.today, dt.time(0), tz)
    states = plan_states(ctx.entries, now)
    head = ["Date", "Titre", "Nature", "Modalité, lieu"]
    out = ["# Rendez-vous", ""]
    upcoming = [s for s in states if s.status == "planned"]
    out += ["## À venir", ""]
    out.append(t.table(head + (["Motif d'un déplacement"] if ctx.staff else []),
                       _rows(ctx, upcoming, tz, reasons=ctx.staff)) if upcoming else "Aucun rendez-vous à venir.")
    if not ctx.staff:
        return "\n".join(out) + "\n"
    groups = [("À compléter (l'heure est passée, compte rendu à écrire)",
               [s for s in states if s.status == "to-complete"], {}),
              ("Tenus", [s for s in states if s.status == "held"], {"held": True}),
              ("Annulés", [s for s in states if s.status == "cancelled"], {"reasons": True})]
    for title, items, kw in groups:
        out += ["", f"## {title} ({len(items)})", ""]
        extra = ["Compte rendu"] if kw.get("held") else ["Motif"] if kw.get("reasons") else []
        out.append(t.table(head + extra, _rows(ctx, items, tz, **kw)) if items else "Aucun.")
    return "\n".join(out) + "\n"
