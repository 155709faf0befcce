"""A month of signed half-days, written through the attendance service with fixed clocks (a dev tool).

Used twice:

- ``python benchmarks/attendance_month.py`` writes the shipped demo's
  attendance (docs/demo.md, « Émargement »): the group « Tronc commun —
  automne 2026 » (Claire Dubois, Kevin Lefebvre, Thomas Roux, Inès Garnier),
  Amina Benali convened to its distance sessions, four weeks of sessions from
  2 November 2026 (the first three signed, countersigned and marked; the
  fourth ahead of the demo's day), and Amina's asynchronous distance work
  (FOAD).  It works on a copy of ``portfolios/`` with its own git history and
  copies the new files back (the lead commits them); it refuses a demo that
  already has ``_sessions/``.
- benchmarks/bench_attendance.py builds the month of a group of 30 with
  :func:`write_sessions` and :func:`sign_month`.

Everything goes through :mod:`livret.attendance.service` (``sign_session``,
``mark``, ``countersign``) with ``now`` inside each window; the ids are made
from that clock too (:func:`fixed_clock`), as if the records had been
written then.  Drawings are deterministic strokes (:func:`strokes_for`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import random
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ulid  # noqa: E402

from livret.attendance import service  # noqa: E402
from livret.store import sessions as store_sessions  # noqa: E402
from livret.store import writer as store_writer  # noqa: E402
from livret.store.schema import Group  # noqa: E402
from livret.store.writer import GroupChange  # noqa: E402
from livret.views import attendance as va  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PARIS = ZoneInfo("Europe/Paris")

# --------------------------------------------------------------------------
# Clocks and drawings
# --------------------------------------------------------------------------

_CLOCK: list[dt.datetime] = []


class _ClockULID(ulid.ULID):
    """``ULID()`` made from the generator's clock (a record's id says when it was written)."""

    def __init__(self, value: bytes | None = None) -> None:
        if value is None and _CLOCK:
            value = ulid.ULID.from_datetime(_CLOCK[-1]).bytes
        super().__init__(value)


@contextlib.contextmanager
def fixed_clock() -> Iterator[Callable[[dt.datetime], dt.datetime]]:
    """Within: ``at(moment)`` sets the clock the new ids are made from, and returns ``moment``."""
    patched = [store_writer, store_sessions, service]
    saved = [m.ULID for m in patched]
    for module in patched:
        module.ULID = _ClockULID

    def at(moment: dt.datetime) -> dt.datetime:
        _CLOCK.append(moment)
        return moment

    try:
        yield at
    finally:
        for module, value in zip(patched, saved):
            module.ULID = value
        _CLOCK.clear()


def strokes_for(who: str, n: int) -> list[list[list[int]]]:
    """A plausible handwritten signature for ``who`` (its shape), drawn the ``n``-th time (its jitter):
    a looping initial, a running wave of letters, a flourish underneath; in the 1000 × 400 box."""
    shape, hand = random.Random(who), random.Random(f"{who}:{n}")
    x0, y0 = 70 + shape.randint(0, 60), 190 + shape.randint(-30, 30)
    loop = [[x0 + int(60 * math.sin(t / 6 * math.pi) + hand.uniform(-4, 4)),
             y0 - int(90 * math.sin(t / 12 * math.pi) + hand.uniform(-4, 4))] for t in range(13)]
    amp, freq, phase = shape.randint(35, 70), shape.uniform(0.5, 0.9), shape.uniform(0, 3)
    wave = [[x0 + 70 + 11 * i + int(hand.uniform(-3, 3)),
             y0 + int(amp * math.sin(i * freq + phase) * (1 - i / 80) + hand.uniform(-5, 5))] for i in range(55)]
    flourish = [[x0 + 40 + 13 * i, y0 + 95 + int(12 * math.sin(i / 5) + hand.uniform(-3, 3))] for i in range(45)]
    return [[[min(990, max(10, x)), min(390, max(10, y))] for x, y in stroke] for stroke in (loop, wave, flourish)]


def local(day: dt.date, clock: str, tz: ZoneInfo = PARIS) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), tz)


# --------------------------------------------------------------------------
# Sessions and what happens at each
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a learner does at a session: ``sign`` (with ``method``, ``signed_as``, ``early`` minutes before
    the start: negative is after it), or the trainer's ``mark`` (``absent``, ``late``, ``left-early``,
    ``justified``: then ``minutes``, ``reason``, ``proof``, and ``justified_later``: absent first, then
    justified with the proof the next morning)."""

    sign: bool = True
    method: str = "password"
    signed_as: str = "drawing"
    early: int = 5
    mark: str | None = None
    minutes: int | None = None
    reason: str | None = None
    note: str = ""
    proof: tuple[str, bytes] | None = None
    justified_later: bool = False


def write_sessions(store, slots: Sequence[dict], *, group: str | None, author: str, author_name: str,
                   now: dt.datetime, convocations: dict[int, list[str]] | None = None) -> list:
    """The sessions of ``slots`` (session fields without ``group``) in one commit."""
    items = [{**slot, **({"group": group} if group else {})} for slot in slots]
    return store.write_sessions(items, author=author, author_name=author_name, convocations=convocations or {},
                                message=f"{len(items)} séance(s) planifiée(s)", now=now)


def sign_month(store, at: Callable[[dt.datetime], dt.datetime], outcome: Callable[[str, va.Chain, int], Outcome],
               *, until: dt.datetime, names: dict[str, str]) -> dict[str, int]:
    """Everything that happens at every session of the store that starts before ``until``: each expected
    learner signs or is marked (``outcome(learner_id, chain, n)``), then the trainer signs the sheet at
    the end.  ``names``: username -> name.  Returns counts by kind of record."""
    settings = store.settings()
    tz = settings.timezone
    counts = {"signatures": 0, "marks": 0, "countersignatures": 0}
    later: list[tuple[dt.datetime, Callable[[dt.datetime], None]]] = []
    profiles = {r.id: r.profile for r in store.valid_records()}
    for n, chain in enumerate(va.load_chains(store).values()):
        s = chain.session
        start, end = va.session_datetimes(s, tz)
        if chain.cancelled or start >= until:
            continue
        sheet = va.session_sheet(store, chain.id, start)
        trainer = dict(username=s.trainer, name=names.get(s.trainer, s.trainer), role="tutor")
        marks = []
        for learner_id, _ in sheet.rows:
            what = outcome(learner_id, chain, n)
            profile = profiles[learner_id]
            if what.sign:
                moment = at(start - dt.timedelta(minutes=what.early, seconds=17 * (n % 3) + len(learner_id)))
                connection = ({"ip": f"192.0.2.{10 + n % 200}", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) "
                               "Firefox/132.0"} if s.modality == "distance-synchrone" else None)
                service.sign_session(store, chain.id, learner_id, username=profile.account, name=profile.name,
                                     role="learner", method=what.method, signed_as=what.signed_as,
                                     strokes=strokes_for(learner_id, n) if what.signed_as == "drawing" else None,
                                     connection=connection, now=moment)
                counts["signatures"] += 1
            if what.mark:
                marks.append((learner_id, what))
        for i, (learner_id, what) in enumerate(marks):
            status = "absent" if what.justified_later else what.mark
            moment = at(end - dt.timedelta(minutes=15 + i))
            service.mark(store, chain.id, learner_id, status=status, minutes=what.minutes,
                         reason=None if what.justified_later else what.reason, note=what.note,
                         proof=None if what.justified_later else what.proof, now=moment, **trainer)
            counts["marks"] += 1
            if what.justified_later:
                def justify(moment, chain_id=chain.id, learner_id=learner_id, what=what, trainer=trainer):
                    service.mark(store, chain_id, learner_id, status="justified", reason=what.reason,
                                 note=what.note, proof=what.proof, now=at(moment), **trainer)
                    service.countersign(store, chain_id, now=at(moment + dt.timedelta(minutes=2)), **trainer)
                later.append((local(s.date + dt.timedelta(days=1 if s.date.weekday() < 4 else 3), "08:40"), justify))
        if sheet.rows:
            counts["countersignatures"] += len(service.countersign(store, chain.id, now=at(end - dt.timedelta(
                minutes=10)), **trainer))
        for moment, action in sorted((x for x in later if x[0] <= end), key=lambda x: x[0]):
            action(moment)
            counts["marks"] += 1
        later = [x for x in later if x[0] > end]
    for moment, action in later:
        action(moment)
        counts["marks"] += 1
    return counts


# --------------------------------------------------------------------------
# The shipped demo's month
# --------------------------------------------------------------------------

GROUP = "tronc-commun-2026"
MEMBERS = ["claire-dubois", "kevin-lefebvre", "thomas-roux", "ines-garnier"]
DISTANCE_LEARNER = "amina-benali"
FIRST_MONDAY = dt.date(2026, 11, 2)
WEEKS = 4
#: The demo's day (livret.store.demo.DEMO_TODAY): sessions from then on stay ahead, unsigned.
UNTIL = local(dt.date(2026, 11, 21), "00:00")
PLACE = "Salle Loire, 14 rue des Olivettes, 44000 Nantes"
VIDEO = "https://visio.cap-competences.example/tronc-commun"
MORNING, AFTERNOON = ("09:00", "12:30"), ("13:30", "17:00")
#: weekday -> (morning title, trainer), (afternoon title, trainer, distance) or None
WEEK = {
    0: (("Communication professionnelle", "sophie.bernard"),
        ("Communication professionnelle : ateliers", "sophie.bernard", False)),
    1: (("Outils numériques et travail collaboratif", "paul.martin"),
        ("Santé et sécurité au travail", "nadia.rousseau", False)),
    2: (("Méthodologie du dossier professionnel", "paul.martin"),
        ("Gestion des situations difficiles", "sophie.bernard", False)),
    3: (("Conduite d'entretien", "nadia.rousseau"),
        ("Classe virtuelle : retours d'expérience", "paul.martin", True)),
    4: (("Bilan de la semaine", "sophie.bernard"), None),
}


def demo_slots() -> list[dict]:
    slots = []
    for week in range(WEEKS):
        for weekday, (morning, afternoon) in WEEK.items():
            day = FIRST_MONDAY + dt.timedelta(weeks=week, days=weekday)
            title, trainer = morning
            slots.append({"date": day.isoformat(), "half_day": "matin", "start": MORNING[0], "end": MORNING[1],
                          "title": title, "trainer": trainer, "modality": "presentiel", "place": PLACE})
            if afternoon:
                title, trainer, distance = afternoon
                slot = {"date": day.isoformat(), "half_day": "apres-midi", "start": AFTERNOON[0],
                        "end": AFTERNOON[1], "title": title, "trainer": trainer}
                slot.update({"modality": "distance-synchrone", "video_link": VIDEO} if distance
                            else {"modality": "presentiel", "place": PLACE})
                slots.append(slot)
    return slots


def medical_certificate() -> bytes:
    """A small real PDF: the proof of the justified absence (fictional)."""
    from fpdf import FPDF

    pdf = FPDF(format="A5")
    pdf.set_creation_date(dt.datetime(2026, 11, 12, 8, 30, tzinfo=dt.timezone.utc))
    pdf.add_page()
    pdf.set_font("helvetica", "B", 14)
    pdf.cell(0, 10, "Certificat médical (document fictif)", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 11)
    pdf.multi_cell(0, 6, "Je soussignée, Dr Anne Perrin, certifie avoir examiné M. Kevin Lefebvre le "
                         "10 novembre 2026 et que son état de santé ne lui permettait pas de suivre sa formation "
                         "ce jour-là.\n\nFait à Nantes, le 10 novembre 2026.\n\nDocument de démonstration.")
    return bytes(pdf.output())


def demo_outcome(learner_id: str, chain: va.Chain, n: int) -> Outcome:
    """The personas at the sessions: Kevin (at risk) misses some, is late once, has one justified absence;
    Claire leaves early once; Inès signs with the QR code; Thomas types his name, twice on the trainer's
    device; Amina signs from home (distance)."""
    s = chain.session
    key = (learner_id, s.date.isoformat(), s.half_day)
    if learner_id == "kevin-lefebvre":
        if key in {("kevin-lefebvre", "2026-11-06", "matin"), ("kevin-lefebvre", "2026-11-16", "apres-midi"),
                   ("kevin-lefebvre", "2026-11-19", "matin")}:
            return Outcome(sign=False, mark="absent")
        if key == ("kevin-lefebvre", "2026-11-10", "matin"):
            return Outcome(sign=False, mark="justified", reason="Rendez-vous médical (certificat fourni)",
                           note="Certificat reçu le lendemain matin, joint.", justified_later=True,
                           proof=("certificat-medical.pdf", medical_certificate()))
        if key == ("kevin-lefebvre", "2026-11-17", "matin"):
            return Outcome(early=-25, method="trainer-device", signed_as="typed-name", mark="late", minutes=25)
        return Outcome(signed_as="typed-name" if n % 4 == 0 else "drawing", early=1 + n % 4)
    if learner_id == "claire-dubois":
        if key == ("claire-dubois", "2026-11-18", "apres-midi"):
            return Outcome(early=8, mark="left-early", minutes=45, note="Départ à 16 h 15 (jury blanc).")
        return Outcome(early=4 + n % 9)
    if learner_id == "ines-garnier":
        return Outcome(method="qr-code", early=2 + n % 6)
    if learner_id == "thomas-roux":
        trainer_device = n % 11 == 3
        return Outcome(method="trainer-device" if trainer_device else "password", signed_as="typed-name",
                       early=-3 if trainer_device else 6)
    return Outcome(early=7, signed_as="drawing")  # amina-benali, at a distance


def distance_work(store, at) -> None:
    """Amina's asynchronous distance work (FOAD) in the first half of November, with its evidence."""
    moment = at(local(dt.date(2026, 11, 16), "17:40"))
    store.append_entry(DISTANCE_LEARNER, {
        "type": "distance-work", "date": moment.isoformat(), "title": "Travail à distance : 2 au 15 novembre",
        "period_start": "2026-11-02", "period_end": "2026-11-15", "hours": 9.5,
        "activities": ["Module en ligne « Accueillir un nouvel arrivant » (4 séquences, quiz validés)",
                       "Rédaction de la fiche d'accueil de son entreprise d'accueil"],
        "assistance": "Forum du module suivi par Paul Martin ; réponse sous 48 h ouvrées ; assistance technique "
                      "par la plateforme (ticket clos le 9 novembre)."},
        "Heures relevées sur la plateforme de formation à distance (journal de connexion exporté).",
        author="paul.martin", role="tutor", author_name="Paul Martin", now=moment)


def build_demo_month(portfolios: Path) -> dict[str, int]:
    """Write the demo's group, sessions, signatures, marks and FOAD into ``portfolios`` (a git store)."""
    from livret.store.project import Project

    project = Project.at(portfolios.parent)
    store = project.store
    names = store.people_names()
    with fixed_clock() as at:
        moment = at(local(dt.date(2026, 10, 19), "10:15"))
        group = Group(id=GROUP, name="Tronc commun — automne 2026", start=FIRST_MONDAY,
                      end=FIRST_MONDAY + dt.timedelta(weeks=WEEKS, days=-3), weekly_hours=31.5, members=MEMBERS,
                      description="Modules communs aux formations en centre : communication, numérique, sécurité, "
                                  "méthodes. Le jeudi après-midi, classe virtuelle ouverte aux parcours à distance.")
        store.write_changes((), [GroupChange(group, "*")], author="sophie.bernard", message=f"groupe {GROUP}")
        slots = demo_slots()
        distance = {i: [DISTANCE_LEARNER] for i, s in enumerate(slots) if s["modality"] == "distance-synchrone"}
        write_sessions(store, slots, group=GROUP, author="sophie.bernard", author_name=names["sophie.bernard"],
                       now=at(moment + dt.timedelta(minutes=20)), convocations=distance)
        counts = sign_month(store, at, demo_outcome, until=UNTIL, names=names)
        distance_work(store, at)
    return counts


def main() -> int:
    target = REPO / "portfolios"
    if (target / "_sessions").exists():
        print("portfolios/_sessions existe déjà : rien à faire (supprimez _sessions/ et _groups/ pour refaire)")
        return 1
    from livret.store.history import History

    with tempfile.TemporaryDirectory(prefix="livret-demo-month-") as tmp:
        copy = Path(tmp) / "portfolios"
        shutil.copytree(target, copy, ignore=shutil.ignore_patterns(".git"))
        History(copy).init()
        before = {p.relative_to(copy) for p in copy.rglob("*") if p.is_file() and ".git" not in p.parts}
        counts = build_demo_month(copy)
        created = sorted(p.relative_to(copy) for p in copy.rglob("*") if p.is_file() and ".git" not in p.parts
                         and p.relative_to(copy) not in before)
        for rel in created:
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(copy / rel, target / rel)
    print(f"{len(created)} fichier(s) ajouté(s) sous portfolios/ : {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
