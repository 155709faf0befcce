"""The Qualiopi page of a learner's staff site: each indicator, its status, its proofs.

A pure function of the site context, like the other pages; the figures come
from :mod:`livret.views.qualiopi` (itself built on :mod:`livret.views.progress`).  Staff
site only: the report names alerts and other ``staff`` entries.
"""

from __future__ import annotations

from ...views import progress as pv
from ...views.qualiopi import learner_report
from . import text as t
from .context import SiteContext

QUALIOPI = "qualiopi.md"
TITLE = "Qualiopi"


def has_qualiopi_page(ctx: SiteContext) -> bool:
    return ctx.staff


def qualiopi_page(ctx: SiteContext) -> str:
    report = learner_report(ctx.record, ctx.settings, ctx.today)
    status = "conforme sur tous les indicateurs" if report.ok else "des éléments sont à compléter"
    out = [
        "# Suivi Qualiopi", "",
        "*Visible de l'équipe seulement.*", "",
        f"Ce que le livret de suivi prouve au {t.esc(pv.fr_date(ctx.today))} pour les indicateurs "
        f"Qualiopi du critère 3 : **{t.esc(status)}**.",
    ]
    for ind in report.indicators:
        badge = "conforme" if ind.ok else "à compléter"
        out += ["", f"## Indicateur {ind.number} — {t.esc(ind.title)} : {t.esc(badge)}", ""]
        out += [f"- {'**' + t.esc(r) + '**' if not ind.ok else t.esc(r)}" for r in ind.reasons]
        out += ["", t.table(["Élément", "Valeur"], [[t.esc(k), t.esc(v)] for k, v in ind.figures])]
        if ind.proofs:
            out += ["", "Preuves :", ""]
            out += [f"- {ctx.entry_link(QUALIOPI, p.id, p.label)}" for p in ind.proofs]
    return "\n".join(out) + "\n"
