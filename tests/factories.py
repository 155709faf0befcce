"""Build real livret projects in a temporary folder (no mocks: real files, real git)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

from livret.seal import witnessed
from livret.store.history import History
from livret.store.project import Project
from livret.store.schema import LearnerProfile
from livret.store.writer import profile_text
from livret.store.yamlio import dump_yaml, render_front_matter

REPO = Path(__file__).resolve().parent.parent
PARIS = dt.timezone(dt.timedelta(hours=1))

SMALL_FRAMEWORK: dict[str, Any] = {
    "id": "mini",
    "title": "Référentiel de test",
    "scale": {
        "values": [
            {"value": "1", "label": "Débutant"},
            {"value": "2", "label": "En progression"},
            {"value": "3", "label": "Maîtrisé"},
            {"value": "4", "label": "Expert"},
        ],
        "acquired": "3",
    },
    "blocks": [
        {"code": "A", "title": "Accueillir", "competencies": [
            {"code": "A1", "title": "Préparer l'arrivée"},
            {"code": "A2", "title": "Présenter l'organisation"},
        ]},
        {"code": "B", "title": "Suivre", "competencies": [
            {"code": "B1", "title": "Conduire un entretien de suivi"},
            {"code": "B2", "title": "Prévenir le décrochage"},
        ]},
    ],
}


def password_of(username: str) -> str:
    """The test password of ``username``: distinct per account, accepted by the password policy
    (livret.instance.passwords: 19 characters of three classes, without the username)."""
    import hashlib

    return f"mdp-{int(hashlib.sha256(username.encode()).hexdigest(), 16) % 10**8:08d}-secret"


def when(day: str, hour: int = 10) -> str:
    """An ISO date-time in Paris winter time."""
    d = dt.date.fromisoformat(day)
    return dt.datetime(d.year, d.month, d.day, hour, tzinfo=PARIS).isoformat()


def make_project(root: Path, *, git: bool = True, learners: tuple[str, ...] = ("alice", "bob"),
                 with_site: bool = True) -> Project:
    """A small valid project: one framework, learners with no entries yet.

    ``alice`` is tutored by ``tina`` (tutor) and has company tutor ``carl``;
    ``bob`` is tutored by ``tom``.  Learner accounts have the learner's id.
    """
    root.mkdir(parents=True, exist_ok=True)
    if with_site:
        scaffold = REPO / "livret" / "scaffold"
        for name in ("mkdocs.yml", "site_src"):
            src = scaffold / name
            if src.is_dir():
                shutil.copytree(src, root / name)
            elif src.exists():
                shutil.copy(src, root / name)
    pf = root / "portfolios"
    (pf / "_frameworks").mkdir(parents=True)
    (pf / "_frameworks" / "mini.yml").write_text(dump_yaml(SMALL_FRAMEWORK), encoding="utf-8")
    (pf / "_organisation.yml").write_text(dump_yaml({"name": "OF de test"}), encoding="utf-8")
    for lid in learners:
        tutor = "tina" if lid == "alice" else "tom"
        profile = LearnerProfile(
            id=lid, first_name=lid.capitalize(), last_name="Test", programme="Formation de test",
            framework="mini", start=dt.date(2026, 1, 5), end=dt.date(2026, 12, 18),
            work_study=lid == "alice", company={"name": "Entreprise Dupont"} if lid == "alice" else None,
            account=lid, tutors=[tutor], company_tutors=["carl"] if lid == "alice" else [],
        )
        (pf / lid / "entries").mkdir(parents=True)
        (pf / lid / "files").mkdir()
        (pf / lid / "learner.md").write_bytes(profile_text(profile, f"Objectifs de {lid}."))  # as the store writes it
    project = Project.at(root)
    if git:
        History(pf).init()
        witnessed(project)  # as ``livret init`` does: the journal starts with the project, writes are witnessed
    return project


def meeting(**over: Any) -> dict[str, Any]:
    data = {"type": "meeting", "date": when("2026-02-02"), "title": "Entretien de suivi",
            "kind": "suivi", "modality": "presentiel", "duration": 45}
    data.update(over)
    return data


def add(project: Project, learner: str, fields: dict[str, Any], body: str = "Texte.", *,
        author: str = "tina", role: str = "tutor", **kw: Any):
    """Append through the real store API with a fixed 'now' after every fixture date."""
    now = dt.datetime(2026, 11, 20, 18, 0, tzinfo=PARIS)
    return project.store.append_entry(learner, fields, body, author=author, role=role, now=now, **kw)


def hand_written(project: Project, learner: str, fields: dict[str, Any], body: str = "Texte.", *,
                 author: str = "tina", role: str = "tutor", recorded: str | None = None) -> str:
    """Write an entry file as a person with a text editor would: no store check; returns its path.

    For what the store refuses to write but must still read (an implausible
    date typed by hand).  ``recorded`` defaults to the entry's own ``date``.
    """
    from ulid import ULID

    entry_id = str(ULID())
    data = {"id": entry_id, **fields, "recorded": recorded or fields["date"], "author": author, "role": role}
    name = f"{str(fields['date'])[:10].lstrip('-')}-{fields['type']}-{entry_id[-8:].lower()}.md"
    path = project.portfolios / learner / "entries" / name
    path.write_text(render_front_matter(data, body), encoding="utf-8")
    return path.relative_to(project.root).as_posix()


def public_keys_file(project: Project, folder: Path) -> Path:
    """The organisation's published key list, as an auditor receives it (outside the pack)."""
    import json

    from livret.seal.keys import Keys, public_document

    path = folder / "cles-organisme.json"
    path.write_text(json.dumps(public_document(Keys.for_project(project).published())), encoding="utf-8")
    return path
