"""Importing a framework file: one path for the command line and the browser.

``livret framework import`` and the admin's import page both call
:func:`read_framework_file` (parse and validate, nothing written), then
:func:`import_framework` (one commit).  Before replacing a framework,
:func:`impact` says what the replacement changes: the learners whose
profile names it, the codes that disappear, and the entries that would no
longer be valid (a cited code gone, a level off the new scale).  A
replacement that would make an entry invalid is refused, whatever the path:
``livret check`` stays clean after an import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..store import FRAMEWORKS_DIR, Store, UnknownLearner
from ..store.schema import Framework
from ..store.validation import check_competencies
from ..store.writer import ANY_REVISION
from .frameworks import ImportFailed, ImportResult, write_framework
from .mahara import read_mahara_matrix
from .moodle import read_moodle_csv

#: Format name -> its reader (``--format`` of the command line, the form's select).
READERS: dict[str, Callable[..., ImportResult]] = {"moodle": read_moodle_csv, "mahara": read_mahara_matrix}
#: What each format is, for people.
FORMAT_LABELS = {
    "moodle": "Moodle : CSV de l'outil d'import des référentiels de compétences",
    "mahara": "Mahara : matrice SmartEvidence (.matrix)",
}
#: The largest framework file read (a framework of a few thousand competencies is well under 1 MB).
MAX_FILE_BYTES = 5 * 1024 * 1024


def read_framework_file(data: bytes, fmt: str, *, name: str, framework_id: str | None = None) -> ImportResult:
    """Parse another tool's framework file into a validated framework; nothing is written.

    Raises :class:`ImportFailed` with one French line per problem.
    """
    reader = READERS.get(fmt)
    if reader is None:
        raise ImportFailed([f"format inconnu : « {fmt} » (moodle ou mahara)"])
    if len(data) > MAX_FILE_BYTES:
        raise ImportFailed([f"{name} : fichier trop gros ({len(data) // 1024} Ko ; "
                            f"au plus {MAX_FILE_BYTES // (1024 * 1024)} Mo)"])
    if not data.strip():
        raise ImportFailed([f"{name} : fichier vide"])
    return reader(data, name=name, framework_id_=framework_id)


@dataclass
class Impact:
    """What writing ``framework`` would replace (nothing when ``exists`` is False)."""

    exists: bool
    #: The replaced file's revision (:meth:`Store.revision`): the replacement is refused if it changes.
    revision: str | None = None
    #: The framework in place (None when absent or unreadable).
    current: Framework | None = None
    #: (id, name) of each learner whose profile names the framework.
    learners: list[tuple[str, str]] = field(default_factory=list)
    #: Codes of the current framework that the new one does not have.
    removed_codes: list[str] = field(default_factory=list)
    #: Entries that the new framework would make invalid, one French line each.
    broken: list[str] = field(default_factory=list)


def impact(store: Store, framework: Framework) -> Impact:
    """What replacing the framework of the same id by ``framework`` changes; reads only its learners."""
    revision = store.revision(f"{FRAMEWORKS_DIR}/{framework.id}.yml")
    if revision is None:
        return Impact(False)
    current, _ = store.framework(framework.id)
    out = Impact(True, revision, current)
    if current is not None:
        out.removed_codes = [c.code for _, c in current.competencies() if framework.competency(c.code) is None]
    for lid in store.learner_ids():
        try:
            profile = store.profile(lid)
        except UnknownLearner:
            continue
        if profile is None or profile.framework != framework.id:
            continue
        out.learners.append((lid, profile.name))
        try:
            entries = store.load_learner(lid).entries
        except UnknownLearner:
            continue
        for entry in entries:
            for error in check_competencies(entry.meta, framework):
                where = ".".join(str(part) for part in error.loc)
                out.broken.append(f"{profile.name} ({lid}) : {entry.path} : {where} : {error.message}")
    return out


def commit_message(framework: Framework, fmt: str, file_name: str, *, replaced: bool = False) -> str:
    """The history's line for an import: « Référentiel <id> importé de Moodle (<file>) »."""
    verb = "remplacé par un import" if replaced else "importé"
    return f"Référentiel {framework.id} {verb} de {fmt.capitalize()} ({file_name})"


def import_framework(store: Store, result: ImportResult, *, author: str, message: str, replace: bool = False,
                     expected: str | None = ANY_REVISION) -> Path:
    """Write an imported framework in one commit authored by ``author``.

    A new id is written; an existing one only with ``replace`` (else
    :class:`~livret.store.StoreError`), and never when the replacement would
    make a learner's entry invalid (:class:`ImportFailed` naming each one).
    ``expected``: the replaced file's revision the decision was made on.
    """
    framework = result.framework
    if replace:
        found = impact(store, framework)
        if found.broken:
            raise ImportFailed([f"le référentiel {framework.id} ne peut pas être remplacé : des entrées "
                                "deviendraient invalides (compétence absente du nouveau référentiel ou "
                                "niveau hors de sa nouvelle échelle)"] + found.broken)
    return write_framework(store, framework, author=author, force=replace, message=message, expected=expected)
