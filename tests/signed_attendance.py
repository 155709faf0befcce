"""A project with signed sessions, written through the real attendance service (documents, verify, pack tests).

``signed_project(root)``: the group ``promo`` (alice, bob), carol in no group;
on 10 November 2026 a morning in the room (alice draws on her phone through
the QR code, bob types his name on the trainer's device and is marked 10
minutes late; the sheet countersigned by tina) and an afternoon at a distance
(alice signs from her connection; bob is absent, justified, with a proof and
a staff note); on 12 November a morning alice signs and bob never does.
alice also declares 6 hours of FOAD with one piece of evidence.  The
organisation has a signatory, an address, an NDA and a SIRET, all committed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from attendance_support import add_session, at
from factories import make_project

from livret.admin.groups import create_group
from livret.attendance import service
from livret.seal import witnessed
from livret.store.history import History
from livret.store.project import Project
from livret.store.yamlio import dump_yaml

#: After every fixture session: the windows have closed.
NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=at(9).tzinfo)
STROKES = [[[100, 300], [200, 100], [300, 300], [400, 120], [520, 280]], [[600, 200], [900, 210]]]
ORGANISATION = {
    "name": "OF de test",
    "address": "12 rue des Lilas, 69001 Lyon",
    "nda": "84 69 12345 69",
    "attendance": {
        "signatory": {"name": "Claire Dubois", "title": "directrice", "place": "Lyon"},
        "siret": "123 456 789 00012",
    },
}
PROOF = ("certificat-medical.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")


def signed_project(root: Path, *, organisation: dict | None = ORGANISATION) -> tuple[Project, dict[str, str]]:
    """The project and its sessions' chain ids: ``morning``, ``afternoon``, ``thursday``."""
    project = make_project(root, learners=("alice", "bob", "carol"), git=False)
    if organisation is not None:  # committed with the rest, as ``livret init`` would
        (project.portfolios / "_organisation.yml").write_text(dump_yaml(organisation), encoding="utf-8")
    History(project.portfolios).init()
    witnessed(project)
    create_group(project.store, {"name": "Promo"}, ["alice", "bob"], author="ada", group_id="promo")
    store = project.store
    day2 = dt.date(2026, 11, 12)
    ids = {
        "morning": add_session(project, place="Salle 2"),
        "afternoon": add_session(project, start="13:30", end="17:00", modality="distance-synchrone",
                                 title="Atelier à distance", video_link="https://visio.example.org/atelier"),
        "thursday": add_session(project, day=day2, title="Suivi de projet", place="Salle 3"),
    }
    learner = {"username": "alice", "name": "Alice Test", "role": "learner"}
    service.sign_session(store, ids["morning"], "alice", **learner, method="qr-code", signed_as="drawing",
                         strokes=STROKES, now=at(9, 2))
    service.sign_session(store, ids["morning"], "bob", username="bob", name="Bob Test", role="learner",
                         method="trainer-device", signed_as="typed-name", now=at(9, 12))
    trainer = {"username": "tina", "name": "Tina Martin", "role": "tutor"}
    service.mark(store, ids["morning"], "bob", status="late", minutes=10, note="Bus en retard.", **trainer,
                 now=at(9, 15))
    service.countersign(store, ids["morning"], **trainer, now=at(12, 25))
    service.sign_session(store, ids["afternoon"], "alice", **learner, method="password", signed_as="drawing",
                         strokes=STROKES, connection={"ip": "203.0.113.7", "user_agent": "Firefox"},
                         now=at(13, 35))
    service.mark(store, ids["afternoon"], "bob", status="justified", reason="Rendez-vous médical",
                 note="Note confidentielle de l'équipe.", proof=PROOF, **trainer, now=at(16, 0))
    service.sign_session(store, ids["thursday"], "alice", **learner, method="password", signed_as="typed-name",
                         now=at(9, 5, day2))
    store.append_entry("alice", {
        "type": "distance-work", "date": at(18, 0, day2).isoformat(), "title": "Modules en ligne",
        "period_start": "2026-11-02", "period_end": "2026-11-13", "hours": 6,
        "activities": ["Module 1 : accueil (quiz réussi)"], "assistance": "Forum du formateur, réponse sous 24 h",
    }, "", author="tina", role="tutor", uploads=[("releve-connexions.pdf", PROOF[1])], now=NOW)
    return project, ids
