"""The funders' documents of signed attendance (docs/attendance.md, « Documents »).

- :func:`session_sheet_pdf`: the feuille d'émargement of one session, every
  expected learner with their signature (the drawing, or the typed name),
  when and how they signed, what the trainer marked, the trainer's
  countersignature and the SHA-256 of the session file as signed;
- :func:`learner_month_pdf`: one learner's month as a half-day grid, with
  the hours planned, attended and missed;
- :func:`certificate_pdf`: the certificat de réalisation of the Ministry's
  model (Code du travail R6332-26, arrêté du 21 décembre 2018) for one
  learner and period;
- :func:`funders_csv`: hours planned, attended, justified and unjustified
  absence per learner for a month, for French Excel;
- :func:`month_sheets_pdf` and :func:`learner_months_pdf`: every session
  sheet, every learner's month, of a month (of a group) in one PDF each
  (the learners' records read once, the fonts loaded once).

Everything comes from :mod:`livret.views.attendance`.  No staff note, no
reason or proof of an absence is printed: these documents leave the
organisation.  A signature drawing is drawn as vector lines from its SVG
(:func:`livret.attendance.drawing.strokes_from_svg`, read through the
store without following links), parsed once per file content.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from ..publish.pdf import GREY, LivretPDF
from ..store import StoredEntry, UnknownLearner, french, nofollow
from ..store.french_dates import MONTHS, fr_date
from ..store.schema import ACTION_NATURES, HALF_DAYS, SESSION_MODALITIES, LearnerProfile, Organisation
from ..store.signatures import file_sha256
from ..views import attendance as va
from ..views.progress import effective, for_audience
from ..views.spreadsheet import csv_text
from . import drawing


class DocumentError(ValueError):
    """A document that cannot be made; ``str()`` is the French reason, naming the parameter or setting."""


#: « signé le … à … par … »: how the signer was identified.
METHODS = {
    "password": "son appareil (session personnelle)",
    "qr-code": "code QR de la séance",
    "trainer-device": "l'appareil du formateur",
    "mail-link": "lien reçu par e-mail",
}
MONTH_RE = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
#: The largest signature SVG read (ours are a few kilobytes).
MAX_SVG = 256 * 1024
#: Parsed drawings by SHA-256 of their bytes (a drawing never changes; a changed file has another digest).
_STROKES: dict[str, list[list[tuple[int, int]]] | None] = {}
_MAX_CACHED = 20000

INK = (20, 33, 61)
MUTED = (90, 90, 90)


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def _now(settings: Organisation, now: dt.datetime | None) -> dt.datetime:
    return (now or dt.datetime.now(ZoneInfo(settings.timezone))).replace(microsecond=0)


def _local(moment: dt.datetime, tz: str) -> dt.datetime:
    return moment.astimezone(ZoneInfo(tz))


def _day(value: dt.date) -> str:
    return value.strftime("%d/%m/%Y")


def _at(moment: dt.datetime, tz: str) -> str:
    """``le 03/11/2026 à 09:02`` in the organisation's time zone."""
    local = _local(moment, tz)
    return f"le {local:%d/%m/%Y} à {local:%H:%M}"


def hours_text(value: float) -> str:
    """``3,5 h``, ``12 h``: hours the French way."""
    return f"{round(value, 2):g}".replace(".", ",") + " h"


def decimal(value: float) -> str:
    """``3,50``: a number of hours for a spreadsheet cell (decimal comma)."""
    return f"{value:.2f}".replace(".", ",")


def parse_month(month: str) -> tuple[dt.date, dt.date]:
    """``YYYY-MM`` -> its first and last day; :class:`DocumentError` naming ``mois`` otherwise."""
    if not isinstance(month, str) or not MONTH_RE.match(month):
        raise DocumentError(f"mois : AAAA-MM attendu (lu : {str(month)[:20]!r})")
    first = dt.date(int(month[:4]), int(month[5:]), 1)
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return first, last


def month_label(month: str) -> str:
    return f"{MONTHS[int(month[5:]) - 1]} {month[:4]}"


def state_text(row: va.SessionRow) -> str:
    """What a sheet says of a learner at a session: « Retard de 10 min », « Absence justifiée »..."""
    minutes = row.minutes_missed
    if row.state == "signed":
        return "Présent·e"
    if row.state == "late":
        return f"Retard de {minutes} min"
    if row.state == "left-early":
        return f"Départ anticipé ({minutes} min)"
    return va.STATES[row.state]


def place_text(session) -> str:
    if session.modality == "distance-synchrone":
        return "à distance (synchrone)"
    return session.place or "—"


def signed_lines(signature: StoredEntry, tz: str) -> list[str]:
    """« signé le 03/11/2026 à 09:02 », « par code QR de la séance » (and the connection, at a distance)."""
    meta = signature.meta
    lines = [f"signé {_at(meta.date, tz)}", f"par {METHODS.get(meta.method, meta.method)}"]
    if meta.connection is not None:
        lines.append(f"connexion depuis {meta.connection.ip}")
    return lines


def signature_strokes(store, learner_id: str, signature: StoredEntry) -> list[list[tuple[int, int]]] | None:
    """The strokes of a drawn signature (None: typed, or a drawing that cannot be read as ours)."""
    meta = signature.meta
    if meta.signed_as != "drawing" or not meta.attachments:
        return None
    try:  # an attachment named by a validated entry, read without following a link
        data = nofollow.read_bytes(store.root, f"{learner_id}/{meta.attachments[0]}", limit=MAX_SVG)
    except (OSError, ValueError):
        return None
    key = hashlib.sha256(data).hexdigest()
    if key not in _STROKES:
        if len(_STROKES) >= _MAX_CACHED:
            _STROKES.clear()
        try:
            _STROKES[key] = drawing.strokes_from_svg(data)
        except ValueError:
            _STROKES[key] = None
    return _STROKES[key]


def _profiles(store, learner_ids: Iterable[str]) -> dict[str, LearnerProfile]:
    out = {}
    for lid in learner_ids:
        try:
            profile = store.profile(lid)
        except UnknownLearner:
            continue
        if profile is not None:
            out[lid] = profile
    return out


# --------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------


class AttendancePDF(LivretPDF):
    """A4 portrait pages: a grey running head, page numbers and the generation time in the footer."""

    def __init__(self, title: str, running_head: str, generated: str):
        super().__init__(title, compact=True)
        self.running_head = running_head
        self.generated = generated
        self.set_auto_page_break(auto=True, margin=16)
        self.set_margins(12, 12, 12)
        self._fitted: dict[tuple, str] = {}

    def header(self) -> None:
        self.set_font(self.family, "", 7.5)
        self.set_text_color(*MUTED)
        self.cell(0, 4, self.text(self.running_head), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(self.family, "", 7.5)
        self.set_text_color(*MUTED)
        self.cell(0, 4, self.text(f"Page {self.page_no()} / {{nb}} — généré {self.generated} par livret"),
                  align="C")
        self.set_text_color(0, 0, 0)

    # ------------------------------------------------------------------ blocks

    def title_block(self, title: str, size: float = 15) -> None:
        self.paragraph(title, size, size * 0.5, bold=True)
        self.ln(1.5)

    def lines(self, pairs: Sequence[tuple[str, str]], size: float = 9, label_width: float = 44) -> None:
        """``label : value`` lines (the value wraps under itself)."""
        for label, value in pairs:
            self.set_font(self.family, "B", size)
            self.cell(label_width, size * 0.5, self.text(label))
            self.set_font(self.family, "", size)
            self.line_of_text(value, size * 0.5, self.epw - label_width)
        self.ln(1)

    def paragraph(self, text: str, size: float = 9.5, height: float | None = None, bold: bool = False) -> None:
        self.font(size, bold)
        self.line_of_text(text, height or size * 0.52, self.epw - (self.get_x() - self.l_margin))

    def line_of_text(self, text: str, height: float, width: float) -> None:
        """``text`` from the current position to the next line; wrapped (``multi_cell``) only when it must be:
        a ``multi_cell`` costs ten times a ``cell``."""
        text = self.text(text)
        if "\n" not in text and self.width_of(text) < width:
            self.cell(width, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        else:
            self.multi_cell(width, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")

    def width_of(self, text: str) -> float:
        """The width of ``text`` in the current font, in millimetres (the font's widths, no text shaping)."""
        if not self.unicode:
            return self.get_string_width(text)
        widths = self.current_font.cw
        return sum(widths[ord(c)] for c in text) * self.font_size_pt / 1000 / self.k

    def room_for(self, height: float) -> bool:
        """Start a new page unless ``height`` millimetres fit; True when a page was added."""
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()
            return True
        return False

    def head_row(self, headings: Sequence[str], widths: Sequence[float], height: float = 6) -> None:
        self.set_font(self.family, "B", 8)
        self.set_fill_color(*GREY)
        for text, width in zip(headings, widths):
            self.cell(width, height, self.text(text), border=1, fill=True)
        self.ln(height)

    def table_row(self, headings: Sequence[str], widths: Sequence[float], height: float) -> float:
        """The empty boxes of a table row (on a new page, under the headings again, when it does not fit);
        its top."""
        if self.room_for(height):
            self.head_row(headings, widths)
        x, y = self.l_margin, self.get_y()
        for width in widths:
            self.rect(x, y, width, height)
            x += width
        return y

    def font(self, size: float, bold: bool = False) -> None:
        """``set_font`` unless it is the current one already (a sheet changes fonts hundreds of times)."""
        if (self.font_style == ("B" if bold else "") and self.font_size_pt == size
                and self.font_family == self.family.lower()):
            return
        self.set_font(self.family, "B" if bold else "", size)

    def box_text(self, x: float, y: float, width: float, texts: Sequence[tuple[str, float, bool]]) -> None:
        """Short lines written from ``(x, y)`` in a box ``width`` wide: ``(text, size, bold)``, cut to fit.

        Plain strings at a position (``FPDF.text``): a table cell costs ten times more, and a month's
        sheets hold thousands of these."""
        top = y + 1
        for text, size, bold in texts:
            self.font(size, bold)
            top += size * 0.45
            FPDF.text(self, x + 1, top - size * 0.1, self.fit(text, width - 2))

    def fit(self, text: str, width: float) -> str:
        """``text`` cut with « … » to ``width`` millimetres in the current font."""
        key = (text, self.font_style, self.font_size_pt, width)
        if key in self._fitted:
            return self._fitted[key]
        text = self.text(text)
        full = self.width_of(text)
        if full > width:
            text = text[:max(1, int(len(text) * width / full))]  # about the right length, then a few less
            while len(text) > 1 and self.width_of(text + "…") > width:
                text = text[:-1]
            text = self.text(text + "…")
        self._fitted[key] = text
        return text

    def drawing(self, strokes: list[list[tuple[int, int]]], x: float, y: float, width: float, height: float) -> None:
        """A signature's strokes (1000 × 400 box) drawn as lines in the box (x, y, width, height): one path
        (``polyline`` writes one operator at a time; a month's sheets draw a thousand signatures)."""
        scale = min(width / drawing.WIDTH, height / drawing.HEIGHT)
        k = self.k
        left = (x + (width - drawing.WIDTH * scale) / 2) * k
        top = (self.h - y - (height - drawing.HEIGHT * scale) / 2) * k
        unit = scale * k
        ops = []
        for stroke in strokes:
            points = stroke if len(stroke) > 1 else stroke * 2
            ops.append(" ".join(f"{left + px * unit:.2f} {top - py * unit:.2f} {'l' if i else 'm'}"
                                for i, (px, py) in enumerate(points)))
        self.set_draw_color(*INK)
        self.set_line_width(max(0.2, 8 * scale))
        self._out(" ".join(ops) + " S")
        self.set_draw_color(0, 0, 0)
        self.set_line_width(0.2)

    def signature_cell(self, store, learner_id: str, signature: StoredEntry | None, x: float, y: float,
                       width: float, height: float, *, images: bool = True) -> None:
        """The signature in a box: the drawing, or the typed name (with its mention); empty when unsigned."""
        if signature is None:
            return
        strokes = signature_strokes(store, learner_id, signature) if images else None
        if strokes:
            self.drawing(strokes, x + 1, y + 0.5, width - 2, height - 1)
            return
        meta = signature.meta
        if meta.signed_as == "drawing":
            mention = "signature dessinée" if not images else "dessin illisible"
            self.box_text(x, y, width, [(meta.signer_name, 8.5, True), (mention, 6.5, False)])
        else:
            self.box_text(x, y, width, [(meta.signer_name, 8.5, True), ("nom saisi, session authentifiée", 6.5,
                                                                         False)])


def _organisation_pairs(settings: Organisation) -> list[tuple[str, str]]:
    pairs = [("Organisme", settings.name)]
    if settings.address:
        pairs.append(("Adresse", settings.address.replace("\n", ", ")))
    if settings.nda:
        pairs.append(("Déclaration d'activité", f"n° {settings.nda}"))
    if settings.attendance.siret:
        pairs.append(("SIRET", settings.attendance.siret))
    return pairs


# --------------------------------------------------------------------------
# The feuille d'émargement of a session
# --------------------------------------------------------------------------


SHEET_WIDTHS = (48, 50, 56, 32)
SHEET_ROW = 16


def _chain_or_error(store, chain_id: str, now: dt.datetime) -> va.SessionSheet:
    sheet = va.session_sheet(store, chain_id, now)
    if sheet is None:
        raise DocumentError(f"séance inconnue : {str(chain_id)[:40]}")
    return sheet


def _sheet_pages(pdf: AttendancePDF, store, sheet: va.SessionSheet, settings: Organisation,
                 profiles: dict[str, LearnerProfile], groups: dict) -> None:
    tz = settings.timezone
    chain = sheet.chain
    s = chain.session
    pdf.running_head = f"Feuille d'émargement — {s.title} — {_day(s.date)}, {HALF_DAYS[s.half_day].lower()}"
    pdf.add_page()
    pdf.title_block("Feuille d'émargement")
    pdf.lines(_organisation_pairs(settings))
    group = groups.get(s.group) if s.group else None
    pairs = [("Action", s.title)]
    if group is not None:
        pairs.append(("Groupe", group.name + (f" — {group.programme}" if group.programme else "")))
    pairs += [
        ("Date", f"{fr_date(s.date)}, {HALF_DAYS[s.half_day].lower()}"),
        ("Horaires", f"{s.start} – {s.end} ({hours_text(s.hours)})"),
        ("Modalité", SESSION_MODALITIES[s.modality]),
        ("Lieu", place_text(s)),
        ("Formateur·rice", s.trainer_name or s.trainer),
    ]
    if chain.cancelled:
        pairs.append(("État", f"SÉANCE ANNULÉE — {s.reason or ''}".rstrip(" —")))
    for version in chain.versions[1:]:
        pairs.append(("Modifiée", f"{_at(version.session.recorded, tz)} : {version.session.reason or '—'}"))
    pdf.lines(pairs)

    headings = ("Apprenant·e", "Signature", "Émargement", "Relevé")
    pdf.room_for(6 + SHEET_ROW)
    pdf.head_row(headings, SHEET_WIDTHS)
    if not sheet.rows:
        pdf.paragraph("Personne n'est attendu à cette séance.", 9)
    for learner_id, row in sheet.rows:
        y = pdf.table_row(headings, SHEET_WIDTHS, SHEET_ROW)
        x = pdf.l_margin
        profile = profiles.get(learner_id)
        name = f"{profile.last_name.upper()} {profile.first_name}" if profile else learner_id
        pdf.box_text(x, y, SHEET_WIDTHS[0], [(name, 8.5, True), (profile.programme if profile else "", 6.5, False)])
        x += SHEET_WIDTHS[0]
        pdf.signature_cell(store, learner_id, row.signature, x, y, SHEET_WIDTHS[1], SHEET_ROW)
        x += SHEET_WIDTHS[1]
        if row.signature is not None:
            texts = [(line, 7, False) for line in signed_lines(row.signature, tz)]
            if row.changed_after_signing:
                texts.append(("séance modifiée après l'émargement", 6.5, False))
        else:
            texts = [("non signé", 7, False)]
        if row.countersignature is not None:
            texts.append((f"contresigné {_at(row.countersignature.meta.date, tz)}", 6.5, False))
        pdf.box_text(x, y, SHEET_WIDTHS[2], texts)
        x += SHEET_WIDTHS[2]
        pdf.box_text(x, y, SHEET_WIDTHS[3], [(state_text(row), 8, row.state not in ("signed",))])
        pdf.set_xy(pdf.l_margin, y + SHEET_ROW)

    pdf.ln(3)
    pdf.room_for(40)
    counters = [r.countersignature for _, r in sheet.rows if r.countersignature is not None]
    pdf.paragraph("Signature du formateur ou de la formatrice", 9.5, bold=True)
    if counters:
        latest = max(counters, key=lambda e: e.meta.date)
        pdf.paragraph(f"{latest.meta.signer_name} — feuille signée {_at(latest.meta.date, tz)} "
                      f"({french.count(len(counters), 'ligne', 'lignes')} sur {len(sheet.rows)}, "
                      "identifié·e par son mot de passe)", 9)
    else:
        pdf.paragraph(f"{s.trainer_name or s.trainer} — feuille non encore signée", 9)
    pdf.ln(2)
    pdf.paragraph("Empreinte de la séance telle que signée (SHA-256)", 8.5, bold=True)
    signed_versions: dict[tuple[str, str], int] = {}
    for _, row in sheet.rows:
        if row.signature is not None:
            first = row.signature.meta.signed[0]
            signed_versions[first.path, first.sha256] = signed_versions.get((first.path, first.sha256), 0) + 1
    if not signed_versions:
        digest = file_sha256(store.root, chain.latest.path) or "fichier illisible"
        signed_versions[chain.latest.path, digest] = 0
    for (path, digest), count in sorted(signed_versions.items()):
        signatures = f" ({french.count(count, 'signature', 'signatures')})" if count else ""
        pdf.paragraph(f"{path}{signatures} :", 7, 3.4)
        pdf.paragraph(digest, 7, 3.4)


def _sheet_context(store):
    return store.settings(), store.groups()


def session_sheet_pdf(store, chain_id: str, now: dt.datetime | None = None) -> bytes:
    """The feuille d'émargement of one session (by its chain id); :class:`DocumentError` when unknown."""
    settings, groups = _sheet_context(store)
    now = _now(settings, now)
    sheet = _chain_or_error(store, chain_id, now)
    return _render_sheets(store, [sheet], settings, groups, now, "Feuille d'émargement")


def month_sheets_pdf(store, month: str, group: str | None = None, now: dt.datetime | None = None) -> bytes:
    """Every session sheet of ``month`` (those of ``group`` only, when given) in one PDF, by date."""
    settings, groups = _sheet_context(store)
    start, end = parse_month(month)
    if group is not None and group not in groups:
        raise DocumentError(f"groupe inconnu : {str(group)[:40]}")
    now = _now(settings, now)
    chains = [c for c in va.load_chains(store, start, end).values() if group is None or c.session.group == group]
    sheets = va.session_sheets(store, chains, now)
    return _render_sheets(store, sheets, settings, groups, now, f"Feuilles d'émargement — {month_label(month)}")


def _render_sheets(store, sheets: list[va.SessionSheet], settings: Organisation, groups: dict,
                   now: dt.datetime, title: str) -> bytes:
    pdf = AttendancePDF(title, title, _at(now, settings.timezone))
    profiles = _profiles(store, {lid for sheet in sheets for lid, _ in sheet.rows})
    for sheet in sheets:
        _sheet_pages(pdf, store, sheet, settings, profiles, groups)
    if not sheets:
        pdf.add_page()
        pdf.title_block(title)
        pdf.paragraph("Aucune séance.")
    return bytes(pdf.output())


# --------------------------------------------------------------------------
# One learner's month
# --------------------------------------------------------------------------


GRID_WIDTHS = (34, 76, 76)
GRID_ROW = 17


def _learner(store, learner_id: str):
    try:
        record = store.load_learner(learner_id)
    except UnknownLearner:
        raise DocumentError(f"apprenant·e inconnu·e : {str(learner_id)[:40]}") from None
    if record.profile is None:
        raise DocumentError(f"le profil de {learner_id} est invalide : corrigez-le d'abord (livret check)")
    return record


def _learner_pairs(store, record) -> list[tuple[str, str]]:
    profile = record.profile
    pairs = [("Apprenant·e", profile.name), ("Formation", profile.programme)]
    groups = [g.name for g in store.groups_of(record.id)]
    if groups:
        pairs.append(("Groupe", ", ".join(groups)))
    if profile.company is not None:
        pairs.append(("Entreprise", profile.company.name))
    return pairs


def _grid_cell(pdf: AttendancePDF, store, learner_id: str, rows: list[va.SessionRow], x: float, y: float,
               width: float, tz: str, images: bool) -> None:
    if not rows:
        return
    part = GRID_ROW / len(rows)
    for i, row in enumerate(rows):
        top = y + i * part
        s = row.session
        texts = [(f"{s.start}–{s.end} · {s.title}", 6.5, False), (state_text(row), 7.5, True)]
        if row.signature is not None:
            local = _local(row.signature.meta.date, tz)
            texts.append((f"signé à {local:%H:%M}", 6.5, False))
        text_width = width * 0.55 if row.signature is not None else width
        pdf.box_text(x, top, text_width, texts[: max(1, int(part // 3))])
        if row.signature is not None:
            pdf.signature_cell(store, learner_id, row.signature, x + text_width, top, width - text_width,
                               min(part, 12), images=images)


def _month_pages(pdf: AttendancePDF, store, record, rows: list[va.SessionRow], month: str,
                 settings: Organisation, audience: str) -> None:
    tz = settings.timezone
    start, end = parse_month(month)
    pdf.running_head = f"Feuille d'émargement mensuelle — {record.profile.name} — {month_label(month)}"
    pdf.add_page()
    pdf.title_block(f"Feuille d'émargement — {month_label(month)}")
    pdf.lines(_organisation_pairs(settings) + _learner_pairs(store, record))
    by_day: dict[dt.date, dict[str, list[va.SessionRow]]] = {}
    for row in rows:
        by_day.setdefault(row.session.date, {}).setdefault(row.session.half_day, []).append(row)
    headings = ("Date", "Matin", "Après-midi")
    pdf.head_row(headings, GRID_WIDTHS)
    if not by_day:
        pdf.paragraph("Aucune séance ce mois-ci.", 9)
    for day in sorted(by_day):
        y = pdf.table_row(headings, GRID_WIDTHS, GRID_ROW)
        weekday = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")[day.weekday()]
        pdf.box_text(pdf.l_margin, y, GRID_WIDTHS[0], [(weekday, 7, False), (_day(day), 8.5, True)])
        x = pdf.l_margin + GRID_WIDTHS[0]
        for half in HALF_DAYS:
            _grid_cell(pdf, store, record.id, by_day[day].get(half, []), x, y, GRID_WIDTHS[1], tz,
                       audience == "staff")
            x += GRID_WIDTHS[1]
        pdf.set_xy(pdf.l_margin, y + GRID_ROW)
    total = va.totals(rows, settled_only=False)
    pdf.ln(3)
    pdf.room_for(30)
    pdf.paragraph("Heures du mois", 10, bold=True)
    pdf.ln(1)
    widths = (46.5, 46.5, 46.5, 46.5)
    pdf.head_row(("Prévues", "Réalisées", "Absences justifiées", "Absences non justifiées"), widths)
    pdf.set_font(pdf.family, "", 9)
    for value, width in zip((total.planned, total.attended, total.justified, total.unjustified), widths):
        pdf.cell(width, 6, pdf.text(hours_text(value)), border=1)
    pdf.ln(8)
    foad = va.distance_hours(for_audience(record.entries, "staff"), start, end)
    if foad.entries:
        pdf.paragraph(f"Travail à distance asynchrone (FOAD) déclaré sur le mois : {hours_text(foad.hours)} "
                      f"({french.count(len(foad.entries), 'déclaration', 'déclarations')}, "
                      "non émargé par demi-journée).", 8.5)
    pending = sum(1 for r in rows if r.state in ("upcoming", "open"))
    if pending:
        pdf.paragraph(f"{french.count(pending, 'séance', 'séances')} à venir ou en cours d'émargement : "
                      "leurs heures sont prévues, "
                      "pas encore réalisées.", 8)


def learner_month_pdf(store, learner_id: str, month: str, now: dt.datetime | None = None, *,
                      audience: str = "staff") -> bytes:
    """One learner's month: a row per day with a session, morning and afternoon columns (signature
    thumbnail or state), and the month's hours.  ``audience="shared"`` prints no signature image
    (states and times only)."""
    settings = store.settings()
    start, end = parse_month(month)
    record = _learner(store, learner_id)
    now = _now(settings, now)
    rows = va.learner_attendance(store, learner_id, now, audience="staff", start=start, end=end)
    title = f"Émargement de {record.profile.name} — {month_label(month)}"
    pdf = AttendancePDF(title, title, _at(now, settings.timezone))
    _month_pages(pdf, store, record, rows, month, settings, audience)
    return bytes(pdf.output())


def learner_months_pdf(store, month: str, group: str | None = None, now: dt.datetime | None = None) -> bytes:
    """:func:`learner_month_pdf` of every learner expected at a session of ``month`` (the members of
    ``group``, when given), by name, in one PDF."""
    settings = store.settings()
    start, end = parse_month(month)
    groups = store.groups()
    if group is not None and group not in groups:
        raise DocumentError(f"groupe inconnu : {str(group)[:40]}")
    now = _now(settings, now)
    chains = va.load_chains(store, start, end)
    title = f"Émargements du mois — {month_label(month)}"
    pdf = AttendancePDF(title, title, _at(now, settings.timezone))
    wanted = sorted(groups[group].members) if group is not None else None
    records = sorted(store.valid_records(wanted), key=lambda r: (r.profile.last_name.casefold(),
                                                                  r.profile.first_name.casefold(), r.id))
    for record in records:
        rows = va.learner_rows(record.profile, store.groups_of(record.id), for_audience(record.entries, "staff"),
                               chains, now, settings.attendance, settings.timezone)
        if rows:
            _month_pages(pdf, store, record, rows, month, settings, "staff")
    if pdf.page_no() == 0:
        pdf.add_page()
        pdf.title_block(title)
        pdf.paragraph("Aucune séance.")
    return bytes(pdf.output())


# --------------------------------------------------------------------------
# The certificat de réalisation
# --------------------------------------------------------------------------


#: The commitment to keep the records, as the Ministry's model words it.
RECORDS_COMMITMENT = (
    "Sans préjudice des délais imposés par les règles fiscales, comptables ou commerciales, je m'engage à "
    "conserver l'ensemble des pièces justificatives qui ont permis d'établir le présent certificat pendant une "
    "durée de 3 ans à compter de la fin de l'année du dernier paiement. En cas de cofinancement des fonds "
    "européens la durée de conservation est étendue conformément aux obligations conventionnelles spécifiques."
)


@dataclass(frozen=True)
class CertificateHours:
    """The hours a certificat states, from signed sessions and declared distance work."""

    in_person: float
    synchronous: float
    foad: float
    foad_declarations: int
    foad_evidence: int
    sessions: int

    @property
    def total(self) -> float:
        return round(self.in_person + self.synchronous + self.foad, 4)


def action_nature(settings: Organisation, profile: LearnerProfile) -> str:
    """The nature of the action: ``attendance.natures`` for the programme, else « apprentissage » for an
    apprenticeship contract, else ``attendance.default_nature``."""
    for item in settings.attendance.natures:
        if item.programme.casefold() == profile.programme.casefold():
            return item.nature
    if profile.contract == "apprentissage":
        return "apprentissage"
    return settings.attendance.default_nature


def certificate_hours(store, learner_id: str, start: dt.date, end: dt.date, now: dt.datetime) -> CertificateHours:
    record = _learner(store, learner_id)
    rows = va.learner_attendance(store, learner_id, now, audience="staff", start=start, end=end)
    in_person = sum(r.hours_attended for r in rows if r.session.modality == "presentiel")
    synchronous = sum(r.hours_attended for r in rows if r.session.modality == "distance-synchrone")
    foad = va.distance_hours(effective(record.entries), start, end)
    return CertificateHours(round(in_person, 4), round(synchronous, 4), foad.hours, len(foad.entries),
                            sum(len(e.meta.attachments) for e in foad.entries),
                            sum(1 for r in rows if r.hours_attended > 0))


def certificate_pdf(store, learner_id: str, start: dt.date, end: dt.date, now: dt.datetime | None = None) -> bytes:
    """The certificat de réalisation of ``learner_id`` for ``start``..``end`` (the programme's dates bound
    it); :class:`DocumentError` without ``attendance.signatory``, for an unknown learner or a bad period."""
    settings = store.settings()
    signatory = settings.attendance.signatory
    if signatory is None:
        raise DocumentError("le ou la signataire des certificats de réalisation n'est pas indiqué·e dans les "
                            "réglages de l'organisme (nom, fonction, lieu) : à compléter par l'administrateur·rice")
    if not isinstance(start, dt.date) or not isinstance(end, dt.date) or end < start:
        raise DocumentError("période : la date de fin (au) précède la date de début (du)")
    record = _learner(store, learner_id)
    profile = record.profile
    start = max(start, profile.start)
    if profile.end is not None:
        end = min(end, profile.end)
    if end < start:
        raise DocumentError(f"période : hors de la formation de {profile.name} (du {_day(profile.start)}"
                            f"{' au ' + _day(profile.end) if profile.end else ''})")
    tz = settings.timezone
    now = _now(settings, now)
    hours = certificate_hours(store, learner_id, start, end, now)
    nature = action_nature(settings, profile)

    pdf = AttendancePDF(f"Certificat de réalisation — {profile.name}",
                        f"Certificat de réalisation — {profile.name} — du {_day(start)} au {_day(end)}",
                        _at(now, tz))
    pdf.set_margins(20, 14, 20)
    pdf.add_page()
    pdf.set_font(pdf.family, "B", 17)
    pdf.cell(0, 10, pdf.text("CERTIFICAT DE RÉALISATION"), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(pdf.family, "", 8)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 4, pdf.text("Article R. 6332-26 du code du travail — modèle de l'arrêté du 21 décembre 2018"),
             align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(5)
    representative = signatory.name + (f", {signatory.title}," if signatory.title else "")
    organisation = settings.name + (f" (déclaration d'activité n° {settings.nda})" if settings.nda else "")
    pdf.paragraph(f"Je soussigné(e) {representative} représentant légal du dispensateur de l'action concourant "
                  f"au développement des compétences {organisation},", 10.5, 6)
    if settings.address or settings.attendance.siret:
        details = ", ".join(x for x in (settings.address and settings.address.replace("\n", ", "),
                                        settings.attendance.siret and f"SIRET {settings.attendance.siret}") if x)
        pdf.paragraph(details, 8.5)
    pdf.ln(2)
    pdf.paragraph("atteste que :", 10.5, 6)
    pdf.paragraph(profile.name, 11, 6.5, bold=True)
    employer = profile.company.name if profile.company is not None else "sans objet"
    pdf.paragraph(f"salarié(e) de l'entreprise {employer}", 10.5, 6)
    pdf.paragraph(f"a suivi l'action {profile.programme}", 10.5, 6)
    pdf.ln(2)
    pdf.paragraph("Nature de l'action concourant au développement des compétences :", 10.5, 6)
    for key, label in ACTION_NATURES.items():
        pdf.set_x(pdf.l_margin + 6)
        pdf.paragraph(f"{'☒' if key == nature else '☐'} {label[0].lower() + label[1:]}", 10.5, 6)
    pdf.ln(2)
    pdf.paragraph(f"qui s'est déroulée du {_day(start)} au {_day(end)},", 10.5, 6)
    pdf.paragraph(f"pour une durée de {hours_text(hours.total).removesuffix(' h')} heures.", 10.5, 6, bold=True)
    pdf.ln(2)
    detail = [
        f"dont {hours_text(hours.in_person)} en présentiel et {hours_text(hours.synchronous)} à distance en "
        f"synchrone, d'après les feuilles d'émargement signées par demi-journée "
        f"({french.count(hours.sessions, 'séance', 'séances')}) ;",
        f"et {hours_text(hours.foad)} de formation à distance asynchrone (FOAD) déclarées "
        f"({french.count(hours.foad_declarations, 'déclaration', 'déclarations')}, "
        f"{french.count(hours.foad_evidence, 'pièce justificative', 'pièces justificatives')} : activités "
        "réalisées et assistance apportée).",
    ]
    for line in detail:
        pdf.set_x(pdf.l_margin + 6)
        pdf.paragraph(line, 8.5)
    pdf.ln(4)
    pdf.paragraph(RECORDS_COMMITMENT, 9)
    pdf.ln(5)
    today = _local(now, tz).date()
    pdf.paragraph(f"Fait à : {signatory.place or '—'}", 10.5, 6)
    pdf.paragraph(f"Le : {_day(today)}", 10.5, 6)
    pdf.ln(4)
    pdf.room_for(40)
    x, y = pdf.get_x() + 70, pdf.get_y()
    pdf.set_xy(x, y)
    pdf.set_font(pdf.family, "", 9)
    pdf.multi_cell(100, 4.5, pdf.text("Cachet et signature du responsable du dispensateur de l'action"),
                   new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_x(x)
    pdf.set_font(pdf.family, "B", 9.5)
    pdf.cell(100, 5, pdf.text(signatory.name + (f", {signatory.title}" if signatory.title else "")),
             new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.rect(x, pdf.get_y() + 1, 100, 30)
    return bytes(pdf.output())


# --------------------------------------------------------------------------
# The funders' CSV
# --------------------------------------------------------------------------


FUNDERS_HEADER = ("Apprenant·e", "Identifiant", "Formation", "Groupe", "Entreprise", "Mois", "Heures prévues",
                  "Heures réalisées", "Heures d'absence justifiée", "Heures d'absence non justifiée")


def funders_csv(store, month: str, group: str | None = None, now: dt.datetime | None = None, *,
                learners: Sequence[str] | None = None) -> bytes:
    """Hours planned, attended, justified and unjustified absence per learner for ``month``, for French
    Excel (UTF-8 with BOM, ``;``, decimal comma, no formula).  The learners expected at a session of the
    month (the members of ``group``, or ``learners``, when given), by name."""
    start, end = parse_month(month)
    settings = store.settings()
    groups = store.groups()
    if group is not None and group not in groups:
        raise DocumentError(f"groupe : groupe inconnu ({str(group)[:40]})")
    now = _now(settings, now)
    chains = va.load_chains(store, start, end)
    wanted = set(groups[group].members) if group is not None else None
    if learners is not None:
        wanted = set(learners) if wanted is None else wanted & set(learners)
    lines = []
    for record in store.valid_records(sorted(wanted) if wanted is not None else None):
        profile = record.profile
        mine = store.groups_of(record.id)
        rows = va.learner_rows(profile, mine, for_audience(record.entries, "staff"), chains, now,
                               settings.attendance, settings.timezone)
        if not rows:
            continue
        total = va.totals(rows, settled_only=False)
        names = ", ".join(g.name for g in mine if group is None or g.id == group)
        lines.append(((profile.last_name.casefold(), profile.first_name.casefold(), record.id), [
            f"{profile.last_name} {profile.first_name}", record.id, profile.programme, names,
            profile.company.name if profile.company else "", month, decimal(total.planned), decimal(total.attended),
            decimal(total.justified), decimal(total.unjustified)]))
    rows_out = [FUNDERS_HEADER] + [line for _, line in sorted(lines)]
    return csv_text(rows_out, bom=True).encode("utf-8")


def period_months(start: dt.date, end: dt.date) -> list[str]:
    """``YYYY-MM`` of every month from ``start`` to ``end``."""
    out, day = [], start.replace(day=1)
    while day <= end:
        out.append(f"{day:%Y-%m}")
        day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out
