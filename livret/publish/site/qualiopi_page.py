"""The Qualiopi page of a learner's staff site: each indicator, its status, its proofs.

A pure function of the site context, like the other pages; the figures come
from :mod:`livret.views.qualiopi` (itself built on :mod:`livret.views.progress`).  Staff
site only: the report names alerts and other ``staff`` entries.
"""

from __future__ import annotations

from ...views import progress as pv
from ...views.qualiopi import DISCLAIMER, OVERALL, RULE_MET, learner_report
from . import text as t
from .context import SiteContext

QUALIOPI = "qualiopi.md"
TITLE = "Qualiopi"


def has_qualiopi_page(ctx: SiteContext) -> bool:
    return ctx.staff


def qualiopi_page(ctx: SiteContext) -> str:
    report = learner_report(ctx.record, ctx.settings, ctx.today, ctx.groups, people=ctx.people)
    out = [
        "# Suivi Qualiopi", "",
        "*Visible de l'équipe seulement.*", "",
        f"Ce que le livret de suivi montre au {t.esc(pv.fr_date(ctx.today))} pour l'indicateur Qualiopi 8 "
        f"(critère 2) et les indicateurs 10 à 13 (critère 3) : **{t.esc(OVERALL[report.overall])}**.", "",
        t.esc(DISCLAIMER),
    ]
    for ind in report.indicators:
        out += ["", f"## Indicateur {ind.number} — {t.esc(ind.title)} : {t.esc(ind.status)}", ""]
        out += [f"- {t.esc(f.text) if f.status == RULE_MET else '**' + t.esc(f.text) + '**'}" for f in ind.findings]
        out += ["", t.table(["Élément", "Valeur"], [[t.esc(k), t.esc(v)] for k, v in ind.figures])]
        if ind.proofs:
            out += ["", "Preuves :", ""]
            out += [f"- {ctx.entry_link(QUALIOPI, p.id, p.label)}" for p in ind.proofs]
    return "\n".join(out) + "\n"
