"""The follow-up record pages: meetings (suivi), action plans, attendance, company feedback.

These are what an auditor reads for Qualiopi indicators 11 to 13: dated,
attributed traces, with totals.  Every figure comes from :mod:`livret.views.progress`.
"""

from __future__ import annotations

from ...store import french
from ...store.schema import MEETING_KINDS, MODALITIES, PLAN_STATUSES, ActionPlan, CompanyFeedback
from ...views import attendance as da
from ...views import derived_attendance as dc
from ...views import followup as fv
from ...views import progress as pv
from ..markdown import render_markdown
from . import text as t
from .context import SiteContext

FOLLOWUP = "suivi.md"
PLANS = "plans.md"
ATTENDANCE = "assiduite.md"
COMPANY = "entreprise.md"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


def _mix(counts: dict[str, int], labels: dict[str, str]) -> str:
    if not counts:
        return "—"
    return ", ".join(f"{labels.get(k, k)} : {n}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def followup_page(ctx: SiteContext) -> str:
    fu = ctx.followup
    here = FOLLOWUP
    gap = fu.longest_gap
    lines = [
        "# Suivi",
        "",
        "## Synthèse",
        "",
        f"- **Entretiens** : {fu.count}, durée totale {t.esc(pv.duration(fu.total_minutes))}",
        f"- **Modalités** : {t.esc(_mix(fu.by_modality, MODALITIES))}",
        f"- **Nature** : {t.esc(_mix(fu.by_kind, MEETING_KINDS))}",
        f"- **Contacts de suivi** (entretiens, retours, positionnement, évaluations) : {len(fu.contacts)}",
        f"- **Dernier contact** : {t.esc(ctx.since(fu.last_contact))}",
        "- **Plus long intervalle entre deux contacts** : "
        + (t.esc(f"{gap.days} jours, du {pv.fr_date(gap.start)} au {pv.fr_date(gap.end)}") if gap else "—"),
        "- **Intervalle moyen** : "
        + (t.esc(f"{str(fu.average_gap_days).replace('.', ',')} jours") if fu.average_gap_days is not None
           else "—"),
        "",
        *rules_section(ctx),
        "## Entretiens",
        "",
    ]
    if fu.meetings:
        rows = [[
            t.esc(pv.fr_date(m.meta.date)), t.esc(MEETING_KINDS[m.meta.kind]), t.esc(MODALITIES[m.meta.modality]),
            t.esc(pv.duration(m.meta.duration)), t.esc(ctx.author(m)), ctx.entry_link(here, m.id),
        ] for m in reversed(fu.meetings)]
        lines.append(t.table(["Date", "Nature", "Modalité", "Durée", "Auteur", "Entretien"], rows))
        lines += ["", f"Total : {_plural(fu.count, 'entretien')}, {t.esc(pv.duration(fu.total_minutes))}."]
    else:
        lines.append("Aucun entretien enregistré.")
    lines += ["", "## Contacts de suivi", ""]
    if fu.contacts:
        rows = [[t.esc(pv.fr_date(c.meta.date)), t.esc(ctx.type_label(c)), t.esc(ctx.author(c)),
                 ctx.entry_link(here, c.id)] for c in reversed(fu.contacts)]
        lines.append(t.table(["Date", "Type", "Auteur", "Entrée"], rows))
    else:
        lines.append("Aucun contact de suivi enregistré.")
    return "\n".join(lines) + "\n"


def rules_section(ctx: SiteContext) -> list[str]:
    """« Processus de suivi »: the organisation's follow-up rules at work (staff site only: a proof may be
    a ``staff`` entry, and an overdue item is the team's business)."""
    rules = ctx.settings.followup.rules
    if not ctx.staff or not rules:
        return []
    items = fv.followup_items(ctx.profile, ctx.entries, ctx.periods, rules, ctx.today,
                              group_ids=[g.id for g in ctx.groups])
    out = ["## Processus de suivi", "",
           f"Les règles de suivi de l'organisme au {t.esc(pv.fr_date(ctx.today))} (« à faire » : échéance dans les "
           f"{fv.DUE_WINDOW_DAYS} jours ; « en retard » : échéance passée sans preuve).", ""]
    if not items:
        return out + ["Aucune règle de suivi ne concerne cet·te apprenant·e.", ""]
    rows = []
    for i in items:
        state = i.state_label + (" (en retard)" if i.late else "")
        proof = ctx.entry_link(FOLLOWUP, i.proof, f"{i.proof_title} ({pv.fr_date(i.proof_date)})") if i.proof else "—"
        detail = "" if i.state == "done" else i.detail
        rows.append([t.esc(i.label), t.esc(pv.fr_date(i.due) if i.due else "—"),
                     f"**{t.esc(state)}**" if i.state in ("overdue", "not-applicable") else t.esc(state),
                     proof, t.esc(detail) or "—"])
    return out + [t.table(["Règle", "Échéance", "État", "Preuve", "Précision"], rows), ""]


def _plan(ctx: SiteContext, plan: pv.PlanView, here: str) -> str:
    due = pv.fr_date(plan.due)
    if plan.overdue:
        due += f" (en retard de {(ctx.today - plan.due).days} jours)"
    lines = [f"### {ctx.entry_link(here, plan.entries[-1], plan.title)}", "",
             f"- **Statut** : {t.esc(PLAN_STATUSES[plan.status])}{' — **en retard**' if plan.overdue else ''}",
             f"- **Échéance** : {t.esc(due)}",
             f"- **Ouvert le** : {t.esc(pv.fr_date(plan.created))} par {t.esc(ctx.person(plan.author))}"]
    if plan.updated != plan.created:
        lines.append(f"- **Mis à jour le** : {t.esc(pv.fr_date(plan.updated))}")
    for key, items in (("objectives", plan.objectives), ("actions", plan.actions)):
        label = ActionPlan.model_fields[key].title
        if items:
            lines.append(f"- **{label}** :")
            lines += [f"    - {t.esc(item)}" for item in items]
    if len(plan.entries) > 1:
        lines.append("- **Historique** : " + ", ".join(
            ctx.entry_link(here, eid, pv.fr_date(ctx.by_id[eid].meta.date)) for eid in plan.entries))
    return "\n".join(lines)


def plans_page(ctx: SiteContext) -> str:
    here = PLANS
    groups = [
        ("En retard", [p for p in ctx.plans if p.overdue]),
        ("En cours", [p for p in ctx.plans if p.status == "open" and not p.overdue]),
        ("Réalisés", [p for p in ctx.plans if p.status == "done"]),
        ("Abandonnés", [p for p in ctx.plans if p.status == "dropped"]),
    ]
    counts = ", ".join(f"{name.lower()} : {len(items)}" for name, items in groups)
    out = ["# Plans d'action", "", f"{_plural(len(ctx.plans), 'plan')} ({counts})." if ctx.plans
           else "Aucun plan d'action."]
    for name, items in groups:
        out += ["", f"## {name} ({len(items)})", ""]
        out += [_plan(ctx, p, here) + "\n" for p in items] or ["Aucun."]
    return "\n".join(out) + "\n"


def attendance_page(ctx: SiteContext) -> str:
    """Rates, the training sessions by month with their state, the hand-typed periods, the FOAD hours.

    The shared site shows states and hours only; the staff site adds the trainer's notes (staff
    feedback entries about a mark, linked).  No signature image, reason, proof or address here."""
    att = ctx.attendance
    here = ATTENDANCE
    out = ["# Assiduité", ""]
    foad = da.distance_hours(ctx.entries)
    if not (att.periods or att.covered or ctx.session_rows or foad.entries):
        return "\n".join(out + ["Aucune période d'assiduité enregistrée."]) + "\n"
    out += [
        f"- **Taux global** : {t.esc(pv.percent(att.rate))} ({t.esc(french.hours(att.hours_attended))} suivies "
        f"sur {t.esc(french.hours(att.hours_planned))} prévues)",
        f"- **Trois dernières périodes** : {t.esc(pv.percent(att.recent_rate))}",
        f"- **Seuil de l'organisme** : {t.esc(pv.percent(ctx.settings.thresholds.attendance_min))}",
        "",
    ]
    for month in reversed(dc.months(ctx.session_rows)):
        tot = month.totals
        out += [f"## Séances de {t.esc(month.label)}", "",
                t.esc(f"{dc.hours(tot.attended)} suivies sur {dc.hours(tot.planned)} prévues ; absences "
                      f"justifiées : {dc.hours(tot.justified)} ; non justifiées : {dc.hours(tot.unjustified)}."), ""]
        rows = []
        for r in month.rows:
            s = r.session
            cells = [t.esc(f"{pv.fr_date(s.date)} {s.start}–{s.end}"), t.esc(s.title),
                     t.esc(s.trainer_name or s.trainer), t.esc(dc.state_label(r)), t.esc(dc.hours(r.hours_attended))]
            if ctx.staff:
                cells.append(", ".join(ctx.entry_link(here, n.id) for n in r.notes) or "—")
            rows.append(cells)
        headers = ["Séance", "Intitulé", "Formateur·rice", "État", "Heures suivies"]
        out += [t.table(headers + (["Notes de l'équipe"] if ctx.staff else []), rows), ""]
    if att.periods or att.covered:
        out += ["## Périodes saisies", ""]
        rows = []
        for p in reversed(sorted(att.periods + att.covered, key=lambda e: (e.meta.period_start, e.id))):
            m = p.meta
            rate = "déjà couvert par l'émargement" if p in att.covered \
                else pv.percent(m.hours_attended / m.hours_planned)
            rows.append([t.esc(f"du {pv.fr_date(m.period_start)} au {pv.fr_date(m.period_end)}"),
                         t.esc(french.hours(m.hours_planned)), t.esc(french.hours(m.hours_attended)),
                         t.esc(rate), ctx.entry_link(here, p.id)])
        out += [t.table(["Période", "Heures prévues", "Heures suivies", "Taux", "Entrée"], rows), ""]
    if foad.entries:
        out += ["## Travail à distance (FOAD)", "",
                t.esc(f"{dc.hours(foad.hours)} déclarées, comptées à part (hors taux d'assiduité)."), ""]
        rows = [[t.esc(f"du {pv.fr_date(e.meta.period_start)} au {pv.fr_date(e.meta.period_end)}"),
                 t.esc(dc.hours(e.meta.hours)), ctx.entry_link(here, e.id)] for e in reversed(foad.entries)]
        out.append(t.table(["Période", "Heures", "Entrée"], rows))
    return "\n".join(out) + "\n"


def has_company_page(ctx: SiteContext) -> bool:
    return bool(ctx.profile.work_study or ctx.profile.company
                or any(e.type == "company-feedback" for e in ctx.current))


def company_page(ctx: SiteContext) -> str:
    here = COMPANY
    p = ctx.profile
    out = ["# Entreprise", ""]
    if p.company:
        where = f", {p.company.city}" if p.company.city else ""
        out.append(f"- **Entreprise** : {t.esc(p.company.name + where)}")
        if p.company.contact:
            out.append(f"- **Contact** : {t.esc(p.company.contact)}")
    out.append(f"- **Alternance** : {'oui' if p.work_study else 'non'}")
    if p.company_tutors:
        out.append(f"- **Tuteur·rices entreprise** : {t.esc(', '.join(p.company_tutors))}")
    feedback = [e for e in pv.timeline(ctx.current) if e.type == "company-feedback"]
    out += ["", f"## Retours de l'entreprise ({len(feedback)})", ""]
    if not feedback:
        out.append("Aucun retour de l'entreprise pour l'instant.")
    for e in feedback:
        m = e.meta
        out += [f"### {t.esc(f'Du {pv.fr_date(m.period_start)} au {pv.fr_date(m.period_end)}')} — "
                f"{ctx.entry_link(here, e.id)}", "", f"- **Auteur** : {t.esc(ctx.author(e))}"]
        if m.missions:
            out.append(f"- **{CompanyFeedback.model_fields['missions'].title}** :")
            out += [f"    - {t.esc(item)}" for item in m.missions]
        if m.competencies:
            out.append("- **Compétences observées** : " + ", ".join(
                f"{ctx.competency_link(here, r.code, with_title=False)} ({t.esc(ctx.level(r.level))})"
                for r in m.competencies))
        if m.observations:
            out += ["", f"**{CompanyFeedback.model_fields['observations'].title} :**",
                    t.raw_block(t.shift_headings(render_markdown(m.observations), 3))]
        out.append("")
    return "\n".join(out) + "\n"
