"""The « déclaration d'accessibilité » (RGAA 4.1), from the ``accessibility:`` block of ``_organisation.yml``.

One text in the RGAA model's form (état de conformité, résultats des tests,
contenus non accessibles, établissement de la déclaration, retour
d'information et contact, voies de recours), as plain-text sections: the app
renders it through a template, the built sites through Markdown.  Nothing
here reads a file.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from ..store.french_dates import fr_date
from ..store.schema import Organisation

#: The RGAA version the declaration refers to.
RGAA = "RGAA version 4.1"
DEFENSEUR = "https://formulaire.defenseurdesdroits.fr/"
#: What the automated checks of the project cover (docs/accessibility.md).
TOOLS = ("axe-core (règles WCAG 2.1 niveaux A et AA), à chaque modification du logiciel",
         "parcours au clavier seul du tuteur ou de la tutrice (navigateur Chromium)")
ENVIRONMENT = ("Chromium (dernière version de Debian) sur ordinateur (1366 px) et téléphone (390 px)",)


@dataclass(frozen=True)
class Section:
    title: str
    paragraphs: tuple[str, ...] = ()
    items: tuple[str, ...] = ()


def footer_label(settings: Organisation) -> str:
    """The mention of every page's footer: « Accessibilité : non conforme »."""
    return f"Accessibilité : {state_label(settings)}"


def state_label(settings: Organisation) -> str:
    """« non conforme (aucun audit) » until an audit is recorded, else the audited state."""
    a11y = settings.accessibility
    return a11y.state if a11y.audit_date else f"{a11y.state} (aucun audit)"


def declaration(settings: Organisation, service: str) -> list[Section]:
    """The declaration's sections for ``service`` (« le livret de suivi en ligne », « ce portfolio »)."""
    a11y = settings.accessibility
    who = a11y.organisation or settings.name
    contact = a11y.contact or settings.contact
    state = a11y.state if a11y.audit_date else "non conforme"
    if a11y.audit_date:
        reason = "" if a11y.state == "totalement conforme" else " en raison des non-conformités énumérées ci-dessous"
        results = [f"L'audit de conformité réalisé le {fr_date(a11y.audit_date)}"
                   + (f" par {a11y.auditor}" if a11y.auditor else "")
                   + (f" révèle que {a11y.rate} % des critères du {RGAA} sont respectés." if a11y.rate is not None
                      else " a été mené sur les critères du " + RGAA + ".")]
    else:
        reason = " : aucun audit de conformité n'a encore été réalisé"
        results = ["Aucun audit de conformité n'a encore été réalisé. Des contrôles automatiques couvrent une "
                   "partie des critères ; ils ne remplacent pas un audit."]
    sections = [
        Section("", (f"{who} s'engage à rendre ses services numériques accessibles, conformément à l'article 47 "
                     "de la loi n° 2005-102 du 11 février 2005.",
                     f"Cette déclaration d'accessibilité s'applique à {service}.")),
        Section("État de conformité", (f"{service[0].upper()}{service[1:]} est {state} avec le {RGAA}{reason}.",)),
        Section("Résultats des tests", tuple(results)),
    ]
    if a11y.non_compliant:
        sections.append(Section("Contenus non accessibles", ("Non-conformités :",), tuple(a11y.non_compliant)))
    dated = f"Cette déclaration a été établie le {fr_date(a11y.date)}." if a11y.date else \
        "Cette déclaration n'a pas encore été datée par l'organisme."
    sections += [
        Section("Établissement de cette déclaration", (dated, "Technologies utilisées : HTML, CSS, SVG, JavaScript.",
                                                        "Outils et vérifications :"), TOOLS + ENVIRONMENT),
        Section("Retour d'information et contact",
                ("Si vous n'arrivez pas à accéder à un contenu ou à un service, vous pouvez contacter "
                 + (f"{who} ({contact})" if contact else f"{who}")
                 + " pour être orienté·e vers une alternative accessible ou obtenir le contenu sous une autre forme.",)),
        Section("Voies de recours",
                ("Si vous constatez un défaut d'accessibilité vous empêchant d'accéder à un contenu ou à une "
                 "fonctionnalité, que vous nous l'avez signalé et que vous n'avez pas obtenu de réponse "
                 "satisfaisante, vous êtes en droit de :",),
                (f"écrire un message au Défenseur des droits ({DEFENSEUR}) ;",
                 "contacter le délégué ou la déléguée du Défenseur des droits dans votre région ;",
                 "envoyer un courrier (gratuit, sans affranchissement) : Défenseur des droits, Libre réponse 71120, "
                 "75342 Paris CEDEX 07.")),
    ]
    if a11y.schema_url:
        sections.insert(3, Section("Schéma pluriannuel", (f"Schéma pluriannuel de mise en accessibilité : "
                                                         f"{a11y.schema_url}",)))
    return sections


def declaration_markdown(settings: Organisation, service: str) -> str:
    """The declaration as Markdown (the built sites' « accessibilite » page)."""
    lines = ["# Déclaration d'accessibilité", ""]
    for section in declaration(settings, service):
        if section.title:
            lines += [f"## {section.title}", ""]
        for paragraph in section.paragraphs:
            lines += [_escape(paragraph), ""]
        lines += [f"- {_escape(item)}" for item in section.items]
        if section.items:
            lines.append("")
    return "\n".join(lines)


def _escape(text: str) -> str:
    """Plain text into Markdown: no markup, no raw HTML."""
    out = html.escape(text, quote=False)
    for char in "\\`*_[]#":
        out = out.replace(char, "\\" + char)
    return out
