"""Pages that are not one learner's: the list of portfolios of the combined
staff preview (plain ``mkdocs build`` / ``mkdocs serve``), and the
organisation's details inserted in site_src's organisation page.
"""

from __future__ import annotations

from ...store.schema import LEARNER_STATUSES, Organisation
from ...views import progress as pv
from . import text as t

#: Written in a site_src page, replaced by the organisation's details.
ORGANISATION_MARKER = "<!-- livret:organisation -->"


def organisation_markdown(settings: Organisation) -> str:
    """The organisation's details from ``_organisation.yml``, as a Markdown list."""
    lines = [f"- **Nom** : {t.esc(settings.name)}"]
    if settings.address:
        lines.append(f"- **Adresse** : {t.esc(settings.address)}")
    if settings.nda:
        lines.append(f"- **Numéro de déclaration d'activité** : {t.esc(settings.nda)}")
    if settings.contact:
        lines.append(f"- **Contact** : {t.esc(settings.contact)}")
    th = settings.thresholds
    lines += [
        "",
        "Seuils de suivi de l'organisme :",
        "",
        f"- un contact de suivi au moins tous les {th.no_contact_days} jours ;",
        f"- un positionnement initial dans les {th.positioning_days} jours qui suivent l'entrée en formation ;",
        f"- une assiduité d'au moins {t.esc(pv.percent(th.attendance_min))} ;",
        f"- une suite donnée à toute alerte sous {th.alert_followup_days} jours.",
    ]
    return "\n".join(lines)


def preview_index(summaries: list[pv.Summary], prefix_of: dict[str, str], problems: list[str]) -> str:
    """Home of the combined staff preview: one line per learner, most urgent first.

    ``prefix_of`` maps a learner id to the folder of its pages (``alice/``).
    """
    out = ["# Portfolios", "",
           "Aperçu équipe de tous les portfolios (vue « staff »). Les sites publiés, un par apprenant·e "
           "et par public, sont construits par `livret build`.", ""]
    if summaries:
        rows = []
        for s in sorted(summaries, key=lambda s: s.urgency):
            watch = "; ".join(a.message for a in s.attention) or "—"
            rows.append([t.link(s.name, "index.md", prefix_of[s.id] + "index.md"), t.esc(s.programme),
                         t.esc(LEARNER_STATUSES.get(s.status, s.status)),
                         t.esc(f"{s.progress.acquired}/{s.progress.total} ({pv.percent(s.progress.share)})"),
                         t.esc(pv.fr_date(s.last_contact)), t.esc(watch)])
        out.append(t.table(["Apprenant·e", "Formation", "Statut", "Acquises", "Dernier contact", "À surveiller"],
                           rows))
    else:
        out.append("Aucun portfolio valide pour l'instant.")
    if problems:
        out += ["", "## Fichiers non pris en compte", ""] + [f"- {t.esc(p)}" for p in problems]
    return "\n".join(out) + "\n"
