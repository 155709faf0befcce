"""A deterministic synthetic organisation: N learners x M entries.

Benchmarks and reliability tests need a store that looks like a real one
(mostly follow-up meetings, some evidence with attachments, assessments on a
real framework, monthly attendance, a few staff-only alerts, company
feedback for work-study learners, two years of history) and that is the same
on every machine for a given seed, so that figures can be compared.

Entries are written fast (plain file writes, one git commit at the end) but
always through the project's own writer: each entry is a model validated
with ``livret.store.schema.ENTRY_ADAPTER`` and rendered with
``livret.store.yamlio.render_front_matter``, so the generated store passes
``livret check`` exactly like one written by the app.

Each learner has its own random generator (seeded with the seed and the
learner's index), so learners can be generated in parallel and the result
does not depend on the number of processes.

Usage::

    python -m benchmarks.synth DIR --size M [--seed 7] [--no-git]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import struct
import time
import unicodedata
import zlib
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ulid import ULID

from livret.store.attachments import stored_name
from livret.store.history import History
from livret.store.project import Project
from livret.store.schema import ENTRY_ADAPTER, Framework, LearnerProfile, entry_to_data
from livret.store.yamlio import dump_yaml, load_yaml, render_front_matter

REPO = Path(__file__).resolve().parent.parent
SCAFFOLD = REPO / "livret" / "scaffold"
#: The shipped framework used for ratings (the scaffold's, else the demo's).
SHIPPED_FRAMEWORKS = (
    SCAFFOLD / "portfolios" / "_frameworks" / "tuteur.yml",
    REPO / "portfolios" / "_frameworks" / "tuteur.yml",
)

#: name -> (learners, entries per learner)
SIZES: dict[str, tuple[int, int]] = {"S": (10, 20), "M": (100, 40), "L": (1000, 100)}

PARIS = ZoneInfo("Europe/Paris")
#: Every generated date is before this moment; history spans the two years before it.
REFERENCE = dt.datetime(2026, 10, 30, 18, 0, tzinfo=PARIS)
SPAN_DAYS = 730

FIRST_NAMES = [
    "Camille", "Léa", "Manon", "Chloé", "Inès", "Sarah", "Jade", "Louise", "Emma", "Zoé",
    "Lucas", "Hugo", "Nathan", "Louis", "Enzo", "Mathis", "Yanis", "Karim", "Théo", "Adam",
    "Fatou", "Aïcha", "Mélanie", "Sofiane", "Julien", "Élodie", "Thomas", "Nicolas", "Amandine", "Rémi",
]
LAST_NAMES = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
    "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Benali",
]
PROGRAMMES = [
    "Titre professionnel Formateur professionnel d'adultes",
    "CAP Boulanger",
    "BTS Management commercial opérationnel",
    "Titre professionnel Secrétaire assistant",
    "CAP Accompagnant éducatif petite enfance",
    "BP Préparateur en pharmacie",
]
COMPANIES = [
    ("Boulangerie Dupont", "Lyon"), ("Pharmacie du Centre", "Villeurbanne"),
    ("Crèche Les Petits Pas", "Grenoble"), ("Supermarché Bio&Co", "Saint-Étienne"),
    ("Cabinet Roux Conseil", "Annecy"), ("Mairie de Vénissieux", "Vénissieux"),
]
SENTENCES = [
    "L'apprenant·e a présenté l'avancement de son dossier professionnel.",
    "Nous avons repris les points abordés lors de l'entretien précédent.",
    "Les objectifs de la période ont été atteints en grande partie.",
    "Une difficulté d'organisation a été évoquée : le planning de l'entreprise change souvent.",
    "La séquence pédagogique préparée est cohérente et bien documentée.",
    "Il reste à formaliser l'évaluation de fin de séquence.",
    "Le retour de l'entreprise est positif, l'intégration dans l'équipe se passe bien.",
    "Les absences du mois sont justifiées (rendez-vous médicaux).",
    "Proposition : s'appuyer sur les ressources du centre de documentation.",
    "La mise en situation a montré une bonne maîtrise des gestes professionnels.",
    "Un point sera fait avec le maître d'apprentissage lors de la prochaine visite.",
    "L'auto-évaluation est réaliste et rejoint l'observation du tuteur.",
    "Les échéances de l'examen ont été rappelées, ainsi que les pièces à fournir.",
    "Le travail en autonomie progresse, avec encore quelques hésitations.",
]
DECISIONS = [
    "Finaliser le dossier professionnel avant la fin du mois",
    "Préparer une mise en situation filmée",
    "Contacter l'entreprise pour organiser une visite",
    "Relire la grille d'évaluation avec l'apprenant·e",
    "Planifier un entretien de bilan intermédiaire",
    "Consulter la référente handicap",
]
MEETING_TITLES = {
    "accueil": "Entretien d'accueil",
    "suivi": "Entretien de suivi",
    "bilan-intermediaire": "Bilan intermédiaire",
    "bilan-final": "Bilan final",
    "visite-entreprise": "Visite en entreprise",
}
ATTACHMENT_NAMES = {
    "image/png": ["photo-atelier.png", "capture séquence.png", "planning équipe.png"],
    "image/jpeg": ["photo chantier.jpg", "réalisation-vitrine.jpeg", "IMG_2041.JPG"],
    "application/pdf": ["compte-rendu.pdf", "fiche séquence.pdf", "attestation-stage.pdf"],
}
#: Shares of the entries left once the fixed ones (positioning, attendance, plans, alerts) are placed.
FREE_MIX = {
    "meeting": 0.42, "evidence": 0.17, "reflection": 0.11, "feedback": 0.10,
    "assessment": 0.10, "company-feedback": 0.10,
}


def framework_text() -> str:
    """The YAML of the shipped ``tuteur`` framework, used for every rating."""
    for path in SHIPPED_FRAMEWORKS:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise FileNotFoundError("référentiel tuteur.yml introuvable : " + ", ".join(map(str, SHIPPED_FRAMEWORKS)))


# --------------------------------------------------------------------------
# Attachments with valid headers and realistic sizes
# --------------------------------------------------------------------------


def _png(rng: random.Random, size: int) -> bytes:
    """A real (decodable) PNG of noise, about ``size`` bytes."""
    width = max(8, int((size / 3) ** 0.5))
    height = max(8, size // (3 * width))
    raw = b"".join(b"\0" + rng.randbytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b"")


def _jpeg(rng: random.Random, size: int) -> bytes:
    """JFIF headers and comment segments of noise: sniffed as a JPEG, about ``size`` bytes."""
    out = bytearray(b"\xff\xd8" + b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    while len(out) < size:
        n = min(65000, size - len(out))
        out += b"\xff\xfe" + struct.pack(">H", n + 2) + rng.randbytes(n)
    return bytes(out) + b"\xff\xd9"


def _pdf(rng: random.Random, size: int) -> bytes:
    """A one-page PDF with a correct cross-reference table, padded by a binary stream."""
    pad = rng.randbytes(max(0, size - 700))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length 44 >>\nstream\nBT /F1 18 Tf 72 760 Td (Compte rendu) Tj ET\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(pad) + pad + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


MAKERS = {"image/png": _png, "image/jpeg": _jpeg, "application/pdf": _pdf}


def attachment(rng: random.Random) -> tuple[str, bytes]:
    """(name as uploaded, content) of a 20-300 KB image or PDF."""
    mime = rng.choices(list(MAKERS), weights=[3, 4, 3])[0]
    size = int(min(300_000, max(20_000, rng.lognormvariate(11.3, 0.6))))
    return rng.choice(ATTACHMENT_NAMES[mime]), MAKERS[mime](rng, size)


# --------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


@dataclass(frozen=True)
class Person:
    first: str
    last: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    def username(self, suffix: int | str = "") -> str:
        return f"{_ascii(self.first)}.{_ascii(self.last)}{suffix}".replace(" ", "-")


def tutor_names(count: int, prefix: str) -> list[str]:
    """Deterministic usernames for tutors (``prefix`` 't') or company tutors ('e')."""
    return [f"{prefix}.{_ascii(FIRST_NAMES[i % 30])}.{_ascii(LAST_NAMES[(i * 7 + 3) % 30])}{i:03d}"
            for i in range(count)]


@dataclass(frozen=True)
class Cast:
    """Who is who in the organisation: derived from the sizes only."""

    learners: int
    tutors: tuple[str, ...]
    company_tutors: tuple[str, ...]

    @classmethod
    def for_size(cls, learners: int) -> Cast:
        return cls(learners, tuple(tutor_names(max(1, learners // 12), "t")),
                   tuple(tutor_names(max(1, learners // 8), "e")))

    def person(self, index: int) -> Person:
        return Person(FIRST_NAMES[index % 30], LAST_NAMES[(index // 30 + index * 11) % 30])

    def learner_id(self, index: int) -> str:
        p = self.person(index)
        return f"{_ascii(p.first)}-{_ascii(p.last)}-{index:04d}".replace(" ", "-")

    def account(self, index: int) -> str:
        return self.person(index).username(f".{index:04d}")

    def tutor(self, index: int) -> str:
        return self.tutors[index % len(self.tutors)]

    def company_tutor(self, index: int) -> str:
        return self.company_tutors[index % len(self.company_tutors)]

    def work_study(self, index: int) -> bool:
        return index % 2 == 0


# --------------------------------------------------------------------------
# One learner
# --------------------------------------------------------------------------


@dataclass
class LearnerResult:
    id: str
    entries: int = 0
    staff: int = 0
    attachments: int = 0
    attachment_bytes: int = 0
    types: Counter = field(default_factory=Counter)


class _LearnerWriter:
    """Generates and writes one learner's profile, entries and attachments."""

    def __init__(self, pf: Path, cast: Cast, index: int, n_entries: int, seed: int,
                 framework: Framework, reference: dt.datetime, with_attachments: bool):
        self.rng = random.Random(f"{seed}:{index}")
        self.cast, self.index, self.n = cast, index, n_entries
        self.fw = framework
        self.codes = [c.code for _, c in framework.competencies()]
        self.levels = [v.value for v in framework.scale.values]
        self.reference = reference
        self.with_attachments = with_attachments
        self.lid = cast.learner_id(index)
        self.dir = pf / self.lid
        self.person = cast.person(index)
        self.tutor = cast.tutor(index)
        self.work_study = cast.work_study(index)
        self.company_tutor = cast.company_tutor(index) if self.work_study else None
        offset = self.rng.randint(0, SPAN_DAYS // 2)
        self.start = (reference - dt.timedelta(days=SPAN_DAYS - offset)).date()
        self.result = LearnerResult(self.lid)
        self.written: dict[str, list[Any]] = {}  # type -> written entries (models)
        self.max_attachments = 2 + n_entries // 25

    # -- helpers

    def when(self, day: dt.date, hour: float | None = None) -> dt.datetime:
        hour = self.rng.uniform(8.5, 17.5) if hour is None else hour
        naive = dt.datetime(day.year, day.month, day.day) + dt.timedelta(hours=hour)
        return naive.replace(minute=naive.minute // 5 * 5, second=0, microsecond=0, tzinfo=PARIS)

    def frac(self, moment: dt.datetime) -> float:
        span = (self.reference.date() - self.start).days or 1
        return min(1.0, max(0.0, (moment.date() - self.start).days / span))

    def level(self, moment: dt.datetime, noise: float = 0.6) -> str:
        """A level that rises over the learner's course (lowest value means 'not rated')."""
        top = len(self.levels) - 1
        rank = round(1 + self.frac(moment) * (top - 0.6) + self.rng.gauss(0, noise))
        return self.levels[min(top, max(1, rank))]

    def ratings(self, moment: dt.datetime, count: int, levels: bool) -> list[dict[str, Any]]:
        codes = self.rng.sample(self.codes, min(count, len(self.codes)))
        return [{"code": c, "level": self.level(moment)} if levels else {"code": c} for c in codes]

    def body(self, lo: int = 1, hi: int = 3) -> str:
        paras = []
        for _ in range(self.rng.randint(lo, hi)):
            paras.append(" ".join(self.rng.sample(SENTENCES, self.rng.randint(2, 4))))
        if self.rng.random() < 0.3:
            paras.append("\n".join(f"- {d}" for d in self.rng.sample(DECISIONS, 2)))
        if self.rng.random() < 0.2:
            paras[0] = "**Point clé :** " + paras[0]
        return "\n\n".join(paras)

    def new_id(self, moment: dt.datetime) -> str:
        ms = int(moment.timestamp() * 1000)
        return str(ULID.from_bytes(ms.to_bytes(6, "big") + self.rng.randbytes(10)))

    def write(self, fields: dict[str, Any], moment: dt.datetime, author: str, role: str, body: str) -> Any:
        recorded = min(self.reference, moment + dt.timedelta(minutes=self.rng.randint(10, 2400)))
        data = {"id": self.new_id(recorded), **fields, "date": moment.isoformat(),
                "recorded": recorded.isoformat(), "author": author, "role": role}
        entry = ENTRY_ADAPTER.validate_python(data)
        name = f"{entry.date.date().isoformat()}-{entry.type}-{entry.id[-8:].lower()}.md"
        (self.dir / "entries" / name).write_text(render_front_matter(entry_to_data(entry), body), encoding="utf-8")
        self.written.setdefault(entry.type, []).append(entry)
        r = self.result
        r.entries += 1
        r.types[entry.type] += 1
        r.staff += entry.visibility == "staff"
        return entry

    def attach(self, moment: dt.datetime) -> list[str]:
        if not self.with_attachments or self.result.attachments >= self.max_attachments:
            return []
        name, data = attachment(self.rng)
        mime = {b"\x89P": "image/png", b"\xff\xd8": "image/jpeg", b"%P": "application/pdf"}[data[:2]]
        rel = f"files/{self.new_id(moment)[-8:].lower()}-{stored_name(name, mime)}"
        (self.dir / rel).write_bytes(data)
        self.result.attachments += 1
        self.result.attachment_bytes += len(data)
        return [rel]

    # -- the learner

    def profile(self) -> None:
        end = self.start + dt.timedelta(days=self.rng.choice([365, 540, 730]))
        company = None
        if self.work_study:
            name, city = COMPANIES[self.index % len(COMPANIES)]
            company = {"name": name, "city": city, "contact": self.company_tutor}
        profile = LearnerProfile(
            id=self.lid, first_name=self.person.first, last_name=self.person.last,
            email=f"{self.cast.account(self.index)}@example.org",
            programme=PROGRAMMES[self.index % len(PROGRAMMES)], framework=self.fw.id,
            start=self.start, end=end, modality=self.rng.choice(["presentiel", "distance", "hybride"]),
            work_study=self.work_study, company=company, account=self.cast.account(self.index),
            tutors=[self.tutor], company_tutors=[self.company_tutor] if self.company_tutor else [],
        )
        data = {k: v for k, v in profile.model_dump(mode="json", exclude_none=True).items() if v != []}
        (self.dir / "entries").mkdir(parents=True)
        (self.dir / "files").mkdir()
        text = ("Objectifs exprimés à l'inscription : obtenir la certification et "
                "consolider les acquis en situation de travail.")
        (self.dir / "learner.md").write_text(render_front_matter(data, text), encoding="utf-8")

    def plan(self) -> list[tuple[dt.datetime, str]]:
        """(date, type) of every entry, in date order."""
        rng, n = self.rng, self.n
        first = self.when(self.start + dt.timedelta(days=rng.randint(2, 20)))
        slots: list[tuple[dt.datetime, str]] = [(first, "positioning")]
        months = []
        day = dt.date(self.start.year, self.start.month, 1)
        while True:
            nxt = (day + dt.timedelta(days=32)).replace(day=1)
            if nxt > self.reference.date():
                break
            months.append(nxt - dt.timedelta(days=1))
            day = nxt
        for last_day in months[-max(1, min(len(months), round(n * 0.15))):]:
            slots.append((self.when(last_day, 18), "attendance"))
        fixed = []
        if n >= 10:
            fixed += ["action-plan", "action-plan-update"] * (1 + (n >= 40))
        if rng.random() < 0.35 and n >= 8:
            fixed += ["alert", "alert-update"] if rng.random() < 0.5 else ["alert"]
        free = max(0, n - len(slots) - len(fixed))
        mix = dict(FREE_MIX)
        if not self.work_study:
            mix.pop("company-feedback")
        kinds = fixed + rng.choices(list(mix), weights=list(mix.values()), k=free)
        span = (self.reference - dt.timedelta(days=1) - first).total_seconds()
        for kind in kinds:
            moment = first + dt.timedelta(seconds=rng.uniform(3600 * 24, span))
            slots.append((self.when(moment.date()), kind))
        slots.sort()
        return slots[:n]

    def entry(self, moment: dt.datetime, kind: str) -> None:
        rng = self.rng
        tutor = (self.tutor, "tutor")
        learner = (self.cast.account(self.index), "learner")
        title_suffix = f" du {moment.day:02d}/{moment.month:02d}/{moment.year}"
        if kind == "positioning":
            self.write({"type": "positioning", "title": "Positionnement initial",
                        "competencies": [{"code": c, "level": self.levels[rng.randint(1, 2)]}
                                         for c in rng.sample(self.codes, min(8, len(self.codes)))],
                        "needs": rng.sample(DECISIONS, 2), "goals": ["Obtenir la certification visée"]},
                       moment, *tutor, self.body(1, 2))
        elif kind == "attendance":
            planned = rng.choice([70, 105, 140, 151.5])
            attended = round(planned * min(1.0, rng.uniform(0.65, 1.08)) * 2) / 2
            first_day = moment.date().replace(day=1)
            self.write({"type": "attendance", "title": f"Assiduité {moment.month:02d}/{moment.year}",
                        "period_start": first_day.isoformat(), "period_end": moment.date().isoformat(),
                        "hours_planned": planned, "hours_attended": attended}, moment, *tutor, "")
        elif kind == "meeting" or (kind == "action-plan-update" and "action-plan" not in self.written):
            first_meeting = "meeting" not in self.written
            kinds = ["suivi"] * 6 + ["bilan-intermediaire"] + (["visite-entreprise"] * 2 if self.work_study else [])
            mkind = "accueil" if first_meeting else rng.choice(kinds)
            staff = not first_meeting and rng.random() < 0.06
            self.write({"type": "meeting", "title": MEETING_TITLES[mkind] + title_suffix, "kind": mkind,
                        "modality": rng.choices(["presentiel", "distance-synchrone", "distance-asynchrone"],
                                                [6, 3, 1])[0],
                        "duration": rng.choice([30, 45, 45, 60, 90]),
                        "participants": [self.person.name, "Tuteur·rice référent·e"],
                        "decisions": rng.sample(DECISIONS, rng.randint(0, 2)),
                        "competencies": self.ratings(moment, rng.randint(0, 2), levels=rng.random() < 0.5),
                        "visibility": "staff" if staff else "shared"},
                       moment, *tutor, self.body())
        elif kind == "evidence":
            self.write({"type": "evidence", "title": rng.choice(["Séquence réalisée", "Photo de réalisation",
                                                                 "Compte rendu d'activité", "Attestation"]),
                        "competencies": self.ratings(moment, rng.randint(1, 3), levels=False),
                        "attachments": self.attach(moment) if rng.random() < 0.6 else [],
                        "context": "Réalisé en entreprise pendant la période."},
                       moment, *learner, self.body(1, 2))
        elif kind == "reflection":
            self.write({"type": "reflection", "title": "Auto-évaluation" + title_suffix,
                        "competencies": self.ratings(moment, rng.randint(1, 3), levels=True)},
                       moment, *learner, self.body(1, 2))
        elif kind == "feedback":
            evidence = self.written.get("evidence")
            self.write({"type": "feedback", "title": "Retour sur le travail rendu",
                        "about": rng.choice(evidence).id if evidence and rng.random() < 0.6 else None,
                        "competencies": self.ratings(moment, rng.randint(0, 1), levels=False)},
                       moment, *tutor, self.body(1, 2))
        elif kind == "assessment":
            self.write({"type": "assessment", "title": "Évaluation des compétences" + title_suffix,
                        "competencies": self.ratings(moment, rng.randint(2, 5), levels=True)},
                       moment, *tutor, self.body(1, 1))
        elif kind == "action-plan":
            self.write({"type": "action-plan", "title": "Plan d'action : " + rng.choice(DECISIONS).lower(),
                        "objectives": rng.sample(DECISIONS, rng.randint(1, 2)),
                        "actions": rng.sample(DECISIONS, rng.randint(1, 3)),
                        "due": (moment.date() + dt.timedelta(days=rng.randint(20, 90))).isoformat()},
                       moment, *tutor, self.body(1, 1))
        elif kind == "action-plan-update":
            plan = self.written["action-plan"][0]
            self.write({"type": "action-plan", "title": f"Mise à jour : {plan.title}"[:200],
                        "updates": plan.id, "due": plan.due.isoformat(),
                        "status": rng.choice(["done", "done", "dropped"])}, moment, *tutor, "")
        elif kind in ("alert", "alert-update"):
            previous = self.written.get("alert")
            fields = {"type": "alert", "title": "Alerte : " + rng.choice(["absences répétées",
                                                                         "difficultés financières",
                                                                         "problème de santé",
                                                                         "conflit en entreprise"]),
                      "category": rng.choice(["pedagogique", "organisationnelle", "sante",
                                              "personnelle", "financiere"]),
                      "severity": rng.choice(["faible", "moyenne", "haute"])}
            if kind == "alert-update" and previous:
                fields.update(title="Alerte close", category=previous[0].category,
                              severity=previous[0].severity, status="closed", updates=previous[0].id)
            self.write(fields, moment, *tutor, self.body(1, 1))
        elif kind == "company-feedback":
            day = moment.date()
            self.write({"type": "company-feedback", "title": "Retour de l'entreprise" + title_suffix,
                        "period_start": (day - dt.timedelta(days=30)).isoformat(), "period_end": day.isoformat(),
                        "missions": rng.sample(DECISIONS, rng.randint(1, 2)),
                        "observations": " ".join(rng.sample(SENTENCES, 2)),
                        "competencies": self.ratings(moment, rng.randint(0, 3), levels=True)},
                       moment, self.company_tutor, "company", self.body(1, 1))
        else:  # pragma: no cover - plan() only yields the kinds above
            raise ValueError(kind)

    def run(self) -> LearnerResult:
        self.profile()
        for moment, kind in self.plan():
            self.entry(moment, kind)
        return self.result


def _learner_job(args: tuple) -> LearnerResult:
    pf, cast, index, n, seed, fw_data, reference, with_attachments = args
    fw = Framework.model_validate(fw_data)
    return _LearnerWriter(pf, cast, index, n, seed, fw, reference, with_attachments).run()


# --------------------------------------------------------------------------
# The organisation
# --------------------------------------------------------------------------


@dataclass
class SynthReport:
    """What was generated, for the benchmark table and the tests."""

    project: Project
    learners: list[LearnerResult]
    cast: Cast
    seconds: float

    def _total(self, name: str) -> int:
        return sum(getattr(r, name) for r in self.learners)

    entries = property(lambda self: self._total("entries"))
    staff_entries = property(lambda self: self._total("staff"))
    attachments = property(lambda self: self._total("attachments"))
    attachment_bytes = property(lambda self: self._total("attachment_bytes"))

    @property
    def types(self) -> Counter:
        total: Counter = Counter()
        for r in self.learners:
            total.update(r.types)
        return total


def copy_site_config(root: Path) -> None:
    """mkdocs.yml and site_src/ of a new project, from the scaffold ``livret init`` uses."""
    for name in ("mkdocs.yml", "site_src"):
        src = SCAFFOLD / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy(src, root / name)


def _packed(history: History) -> None:
    """Pack the store's objects now (``git gc``), before anything is measured.

    After the first commit of a big store, git packs its loose objects by
    itself in a detached background process (``gc --auto``): for size L that
    is minutes of CPU and disk taken from whatever runs next.  ``git gc``
    refuses to start while that process runs, so this waits for it, then
    packs what is left.
    """
    for _ in range(1800):
        if history.git("gc", "--quiet", check=False).returncode == 0:
            return
        time.sleep(1)


def generate(root: Path, *, learners: int, entries: int, seed: int = 7, git: bool = True,
             attachments: bool = True, reference: dt.datetime = REFERENCE, jobs: int | None = None) -> SynthReport:
    """Write a synthetic project at ``root`` (which must not exist or be empty)."""
    t0 = time.perf_counter()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise FileExistsError(f"{root} n'est pas vide")
    copy_site_config(root)
    pf = root / "portfolios"
    (pf / "_frameworks").mkdir(parents=True)
    fw_text = framework_text()
    fw = Framework.model_validate(load_yaml(fw_text).data)
    (pf / "_frameworks" / f"{fw.id}.yml").write_text(fw_text, encoding="utf-8")
    (pf / "_organisation.yml").write_text(dump_yaml({"name": "Organisme de formation synthétique"}),
                                          encoding="utf-8")
    cast = Cast.for_size(learners)
    fw_data = fw.model_dump(mode="json")
    jobs_args = [(pf, cast, i, entries, seed, fw_data, reference, attachments) for i in range(learners)]
    if jobs is None:  # in parallel only when it pays for the processes' start-up
        jobs = (os.cpu_count() or 1) if learners * entries >= 4000 else 1
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            results = list(pool.map(_learner_job, jobs_args, chunksize=8))
    else:
        results = [_learner_job(a) for a in jobs_args]
    if git:
        History(pf).init()  # one initial commit of everything
        _packed(History(pf))
    return SynthReport(Project.at(root), results, cast, time.perf_counter() - t0)


def generate_size(root: Path, size: str, **kw: Any) -> SynthReport:
    n, m = SIZES[size]
    return generate(root, learners=n, entries=m, **kw)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Génère une organisation synthétique (déterministe).")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-git", action="store_true")
    args = parser.parse_args(argv)
    report = generate_size(args.directory, args.size, seed=args.seed, git=not args.no_git)
    print(f"{len(report.learners)} apprenant·es, {report.entries} entrées "
          f"({report.staff_entries} « staff »), {report.attachments} pièces jointes "
          f"({report.attachment_bytes / 1e6:.1f} Mo) en {report.seconds:.1f} s dans {args.directory}")


if __name__ == "__main__":
    main()
