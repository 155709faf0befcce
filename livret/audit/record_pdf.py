"""The follow-up record (livret de suivi) as a printable PDF, for the audit pack.

An auditor or a financer often wants paper, or one file to attach to a
report: the profile, the competency matrix, the follow-up meetings, the
assessments, the evidence, the company feedback (Qualiopi indicator 13),
the sign-offs, the action plans and the attendance, in French, on A4.  The
figures come from :mod:`livret.views.progress`, like the site's.  People show
by name and role (« Sophie Bernard (tuteur·rice) »), never by login.

The ``shared`` audience leaves ``staff`` entries out entirely (as the shared
site does); the ``staff`` audience adds the tutor alerts.

Fonts: see :mod:`livret.publish.pdf` (DejaVu, or the core font Helvetica
without it).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from ..publish.pdf import GREY, LivretPDF
from ..store import LearnerRecord, StoredEntry, french
from ..store.schema import (
    ALERT_CATEGORIES,
    ALERT_STATUSES,
    LEARNER_STATUSES,
    MEETING_KINDS,
    MODALITIES,
    PLAN_STATUSES,
    PROGRAMME_MODALITIES,
    SEVERITIES,
    Organisation,
)
from ..views import people as pp
from ..views import progress as pg
from ..views.signoffs import signature_views


class RecordPDF(LivretPDF):
    """A4 pages with the learner's name in the header and page numbers in the footer."""

    def __init__(self, title: str, subtitle: str):
        super().__init__(title)
        self.doc_title = title
        self.doc_subtitle = subtitle
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(15, 15, 15)

    def header(self) -> None:
        self.set_font(self.family, "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, self.text(f"{self.doc_title} — {self.doc_subtitle}"),
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family, "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, self.text(f"Page {self.page_no()} / {{nb}}"), align="C")
        self.set_text_color(0, 0, 0)

    # ------------------------------------------------------------------ blocks

    def heading(self, text: str, size: int = 13) -> None:
        if self.get_y() > self.h - 60:  # keep a heading with the start of its content
            self.add_page()
        self.ln(3)
        self.set_font(self.family, "B", size)
        self.multi_cell(0, 7, self.text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(self.family, "", 9.5)
        self.ln(1)

    def paragraph(self, text: str) -> None:
        self.set_font(self.family, "", 9.5)
        self.multi_cell(0, 5, self.text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def grid(self, headings: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[float]) -> None:
        """A table; ``headings`` empty for a table without a heading row."""
        self.set_font(self.family, "", 8.5)
        style = FontFace(emphasis="BOLD", fill_color=GREY)
        with self.table(col_widths=widths, width=sum(widths), text_align="LEFT", line_height=4.6,
                        first_row_as_headings=bool(headings), headings_style=style, padding=1.2,
                        align="LEFT") as table:
            if headings:
                row = table.row()
                for h in headings:
                    row.cell(self.text(h))
            for values in rows:
                row = table.row()
                for v in values:
                    row.cell(self.text(v))
        self.ln(2)


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARK = re.compile(r"(\*\*|__|`)|(?<!^)\*")
_MD_ITEM = re.compile(r"^([-*+]|\d+[.)])\s")


def plain_paragraphs(markdown: str) -> list[str]:
    """A Markdown text as plain paragraphs for the PDF: headings as their text, no markers.

    The PDF is not a Markdown renderer; this keeps a profile's free text
    readable on paper (no ``##``, no ``**``), links reduced to their text,
    list items on their own lines.
    """
    out: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            is_list = any(_MD_ITEM.match(line) for line in current)
            out.append(("\n" if is_list else " ").join(current))
            current.clear()

    for raw in markdown.splitlines():
        line = _MD_MARK.sub("", _MD_LINK.sub(r"\1", raw.strip()))
        if not line:
            flush()
        elif line.startswith("#"):
            flush()
            out.append(line.lstrip("#").strip())
        else:
            current.append(line)
    flush()
    return [p for p in out if p]


def _lines(items: Sequence[str]) -> str:
    return "\n".join(f"- {i}" for i in items)


@dataclass
class Table:
    headings: list[str]  # empty: no heading row
    rows: list[list[str]]
    widths: tuple[float, ...]  # millimetres, 180 in all


@dataclass
class Section:
    title: str
    blocks: list[str | Table] = field(default_factory=list)  # paragraphs and tables


@dataclass
class RecordDocument:
    """What the PDF says, as plain data: tests read it, :func:`render` lays it out."""

    title: str
    subtitle: str
    intro: str
    sections: list[Section]

    def strings(self) -> list[str]:
        """Every text of the document (to check what it contains)."""
        out = [self.title, self.subtitle, self.intro]
        for s in self.sections:
            out.append(s.title)
            for b in s.blocks:
                out += [b] if isinstance(b, str) else [*b.headings, *(c for r in b.rows for c in r)]
        return out


def record_document(record: LearnerRecord, settings: Organisation, *, audience: str,
                    today: dt.date, people: Mapping[str, str] | None = None) -> RecordDocument:
    """The follow-up record of one learner for ``audience``; ``record.profile`` must be valid.

    ``people``: username -> name (``_people.yml``), so that people show by name, never by login.
    """
    names = people or {}
    profile = record.profile
    assert profile is not None, "record_document needs a valid profile"
    entries = pg.for_audience(record.entries, audience)
    eff = pg.effective(entries)
    version = ("version complète (équipe)" if audience == "staff"
               else "version partagée (sans les entrées réservées à l'équipe)")
    org = settings.name + (f" — déclaration d'activité n° {settings.nda}" if settings.nda else "")
    doc = RecordDocument(f"Livret de suivi — {profile.name}", f"{settings.name} — édité le {pg.fr_date(today)}",
                         f"{org}\nÉdité le {pg.fr_date(today)}, {version}.", [])

    # 1. Profile
    rows = [
        ["Formation", profile.programme],
        ["Référentiel", record.framework.title if record.framework else profile.framework],
        ["Début", pg.fr_date(profile.start)],
        ["Fin prévue", pg.fr_date(profile.end)],
        ["Modalité", PROGRAMME_MODALITIES[profile.modality]],
        ["Alternance", "oui" if profile.work_study else "non"],
        ["Statut", LEARNER_STATUSES[profile.status]],
        ["Tuteurs", pp.listed(profile.tutors, names, "tutor")],
    ]
    if profile.company:
        company = ", ".join(x for x in (profile.company.name, profile.company.city) if x)
        rows += [["Entreprise", company], ["Tuteurs entreprise", pp.listed(profile.company_tutors, names, "company")]]
    section = Section("1. Profil", [Table([], rows, (45, 135))])
    section.blocks += plain_paragraphs(record.profile_body[:3000])
    doc.sections.append(section)

    # 2. Competencies
    section = Section("2. Compétences")
    if record.framework is None:
        section.blocks.append(f"Référentiel « {profile.framework} » introuvable.")
    else:
        scale = record.framework.scale
        views = pg.competency_views(record.framework, entries)
        prog = pg.progress(views)

        def level(event: pg.LevelEvent | None) -> str:
            return scale.label(event.level) if event else "—"

        section.blocks += [
            f"{french.count(prog.acquired, 'compétence acquise', 'compétences acquises')} sur {prog.total} "
            f"({prog.percent} %). "
            f"Niveau officiel : la dernière évaluation du tuteur ; acquise à partir de "
            f"« {scale.label(scale.acquired)} ».",
            Table(["Code", "Compétence", "Positionnement", "Auto-évaluation", "Évaluation", "Acquise"],
                  [[v.code, v.title, level(v.positioning), level(v.self_assessed), level(v.assessed),
                    "oui" if v.acquired else "non"] for v in views],
                  (14, 58, 30, 30, 28, 20)),
        ]
    doc.sections.append(section)

    # 3. Follow-up meetings
    fu = pg.followup(entries, today)
    section = Section("3. Entretiens de suivi", [
        f"{french.count(fu.count, 'entretien', 'entretiens')}, "
        f"{pg.duration(fu.total_minutes) if fu.count else '0 min'} au total ; "
        f"{french.count(len(fu.contacts), 'contact', 'contacts')} de suivi ; "
        f"dernier contact : {pg.fr_date(fu.last_contact)} ; "
        f"intervalle moyen : {_number(fu.average_gap_days)} jours ; "
        f"intervalle le plus long : {fu.longest_gap.days if fu.longest_gap else '—'} jours."])
    if fu.meetings:
        section.blocks.append(Table(
            ["Date", "Nature", "Modalité", "Durée", "Objet et décisions"],
            [[_day(m.meta.date), MEETING_KINDS[m.meta.kind], MODALITIES[m.meta.modality],
              pg.duration(m.meta.duration), "\n".join([m.meta.title, _lines(m.meta.decisions)]).strip()]
             for m in fu.meetings],
            (22, 30, 32, 16, 80)))
    doc.sections.append(section)

    # 4. Assessments
    assessments = [e for e in eff if e.type == "assessment"]
    section = Section("4. Évaluations")
    if not assessments:
        section.blocks.append("Aucune évaluation enregistrée.")
    else:
        def rated(e: StoredEntry) -> str:
            if record.framework is None:
                return ", ".join(c.code for c in e.meta.competencies)
            return "\n".join(f"{c.code} : {record.framework.scale.label(c.level)}" for c in e.meta.competencies)

        section.blocks.append(Table(
            ["Date", "Évaluation", "Par", "Niveaux validés"],
            [[_day(e.meta.date), e.meta.title, pp.author(e.meta, names), rated(e)] for e in assessments],
            (22, 62, 36, 60)))
    doc.sections.append(section)
    doc.sections += evidence_sections(record, eff, names)

    # 5. Action plans
    plans = pg.action_plans(entries, today)
    section = Section("8. Plans d'action")
    if not plans:
        section.blocks.append("Aucun plan d'action.")
    else:
        section.blocks.append(Table(
            ["Plan", "Objectifs et actions", "Échéance", "Statut"],
            [[p.title, _lines([*p.objectives, *p.actions]), _day(p.due),
              PLAN_STATUSES[p.status] + (" (en retard)" if p.overdue else "")] for p in plans],
            (46, 84, 22, 28)))
    doc.sections.append(section)

    # 6. Attendance
    att = pg.attendance(entries)
    section = Section("9. Assiduité")
    if not att.periods:
        section.blocks.append("Aucune période d'assiduité enregistrée.")
    else:
        section.blocks += [
            f"Taux d'assiduité : {pg.percent(att.rate)} au total "
            f"({_hours(att.hours_attended)} suivies sur {_hours(att.hours_planned)} prévues), "
            f"{pg.percent(att.recent_rate)} sur les trois dernières périodes.",
            Table(["Période", "Heures prévues", "Heures suivies", "Taux"],
                  [[f"du {_day(p.meta.period_start)} au {_day(p.meta.period_end)}",
                    _hours(p.meta.hours_planned), _hours(p.meta.hours_attended),
                    pg.percent(p.meta.hours_attended / p.meta.hours_planned)] for p in att.periods],
                  (80, 35, 35, 30)),
        ]
    doc.sections.append(section)

    # 7. Alerts (staff only)
    if audience == "staff":
        alerts = pg.tutor_alerts(entries)
        section = Section("10. Alertes (équipe seulement)")
        if not alerts:
            section.blocks.append("Aucune alerte.")
        else:
            section.blocks.append(Table(
                ["Date", "Alerte", "Catégorie", "Gravité", "Statut", "Suites"],
                [[_day(a.date), a.title, ALERT_CATEGORIES[a.category], SEVERITIES[a.severity],
                  ALERT_STATUSES[a.status], str(len(a.follow_ups))] for a in alerts],
                (22, 58, 30, 20, 20, 30)))
        doc.sections.append(section)
    return doc


def evidence_sections(record: LearnerRecord, eff: Sequence[StoredEntry], names: Mapping[str, str]) -> list[Section]:
    """5. the evidence, 6. the company feedback (Qualiopi indicator 13), 7. the sign-offs of entries."""
    by_id = {e.id: e for e in record.entries}

    def codes(e: StoredEntry) -> str:
        return ", ".join(c.code for c in e.meta.competencies) or "—"

    evidence = [e for e in eff if e.type == "evidence"]
    section = Section("5. Preuves")
    if not evidence:
        section.blocks.append("Aucune preuve déposée.")
    else:
        section.blocks.append(Table(
            ["Date", "Preuve", "Déposée par", "Compétences", "Pièces jointes"],
            [[_day(e.meta.date), e.meta.title, pp.author(e.meta, names), codes(e),
              _lines([a.rsplit("/", 1)[-1] for a in e.meta.attachments]) or "—"] for e in evidence],
            (20, 50, 36, 30, 44)))
    out = [section]

    company = [e for e in eff if e.type in ("company-feedback", "observation")]
    section = Section("6. Retours de l'entreprise")
    if not company:
        section.blocks.append("Aucun retour de l'entreprise enregistré.")
    else:
        def said(e: StoredEntry) -> str:
            if e.type == "observation":
                seen = f"Compétences observées : {codes(e)}"
                return seen + (f"\nNon vues en entreprise : {', '.join(e.meta.not_observed)}"
                               if e.meta.not_observed else "")
            return "\n".join([_lines(e.meta.missions), (e.meta.observations or "")[:600]]).strip() or "—"

        section.blocks.append(Table(
            ["Date", "Période", "Retour", "Par", "Contenu"],
            [[_day(e.meta.date), f"du {_day(e.meta.period_start)} au {_day(e.meta.period_end)}",
              e.meta.title, pp.author(e.meta, names), said(e)] for e in company],
            (20, 28, 40, 32, 60)))
    out.append(section)

    signatures = [e for e in eff if e.type == "signature" and e.meta.about and not e.meta.session]
    section = Section("7. Signatures")
    if not signatures:
        section.blocks.append("Aucune entrée signée.")
    else:
        def signed(about: str) -> str:
            entry = by_id.get(about)
            return f"{entry.meta.title} ({_day(entry.meta.date)})" if entry else about

        section.blocks.append(Table(
            ["Entrée signée", "Signature"],
            [[signed(v.entry_id), v.text + (f"\n« {v.comment[:300]} »" if v.comment else "")]
             for v in signature_views(signatures)],
            (70, 110)))
    out.append(section)
    return out


def render(doc: RecordDocument) -> bytes:
    """Lay a record document out on A4 pages."""
    pdf = RecordPDF(doc.title, doc.subtitle)
    pdf.add_page()
    pdf.set_font(pdf.family, "B", 18)
    pdf.multi_cell(0, 9, pdf.text(doc.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(pdf.family, "", 10)
    pdf.multi_cell(0, 5, pdf.text(doc.intro), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for section in doc.sections:
        pdf.heading(section.title)
        for block in section.blocks:
            if isinstance(block, Table):
                pdf.grid(block.headings, block.rows, block.widths)
            else:
                pdf.paragraph(block)
    return bytes(pdf.output())


def record_pdf(record: LearnerRecord, settings: Organisation, *, audience: str, today: dt.date,
               people: Mapping[str, str] | None = None) -> bytes:
    """The PDF of one learner's follow-up record; ``record.profile`` must be valid."""
    return render(record_document(record, settings, audience=audience, today=today, people=people))


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:g}".replace(".", ",")


def _hours(value: float) -> str:
    return f"{_number(value)} h"


def _day(value: dt.date | dt.datetime) -> str:
    """A table date: ``20/01/2026`` (short, never wraps)."""
    return (value.date() if isinstance(value, dt.datetime) else value).strftime("%d/%m/%Y")
