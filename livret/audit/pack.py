"""The audit pack: one zip that an auditor or a company opens with no account and no network.

``livret export LEARNER -o FILE.zip [--audience shared|staff]`` writes::

    LISEZMOI.txt                          how to open and check the pack (French)
    manifest.json                         every other file with its SHA-256
    livret-de-suivi.pdf                   the printable follow-up record
    site/index.html                       the portfolio, built to open from disk (file://), search included
    portfolios/<learner>/learner.md       the source files, as in the store
    portfolios/<learner>/entries/*.md
    portfolios/<learner>/files/*          attachments
    portfolios/_frameworks/<id>.yml       the learner's framework

The manifest lists every file of the pack with its SHA-256 and size and, for
entry and attachment files where the store is a git repository, the commit
that added them: an auditor can match the pack against the organisation's
history.  ``livret verify-pack FILE.zip`` recomputes the hashes and names
every altered, missing or added file.  (The manifest proves the pack has not
changed since it was made; it is not a signature: someone able to rewrite
the pack could rewrite its manifest, which the commits then contradict.)

The ``shared`` audience (the default) holds what the shared site holds:
``staff`` entries are left out entirely — their files, their attachments,
their text in the PDF and in the site — and so is every version of an entry
whose correction is ``staff``.  Attachments cited by no shared entry are left
out too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..store import FRAMEWORKS_DIR, PROFILE_FILE, LearnerRecord, StoredEntry, atomic
from ..store.project import Project
from ..views.progress import for_audience
from .integrity import commits_adding
from .record_pdf import record_pdf

FORMAT = "livret-audit-pack/1"
MANIFEST = "manifest.json"
README = "LISEZMOI.txt"
PDF_NAME = "livret-de-suivi.pdf"
SITE_DIR = "site"
AUDIENCES = ("shared", "staff")
#: Fixed timestamp for zip members, so the same inputs give the same bytes.
ZIP_TIME = (2000, 1, 1, 0, 0, 0)


class PackError(RuntimeError):
    """The pack cannot be made (unknown learner, invalid profile, build failure)."""


@dataclass(frozen=True)
class PackSummary:
    path: Path
    learner: str
    audience: str
    files: int
    entries: int
    attachments: int
    size: int


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------
# What goes in
# --------------------------------------------------------------------------


def pack_entries(record: LearnerRecord, audience: str) -> list[StoredEntry]:
    """Entries whose file goes in the pack: those of the audience, every version.

    :func:`livret.views.progress.for_audience` also withdraws, from ``shared``, the
    earlier versions of an entry corrected into a ``staff`` one.
    """
    return for_audience(record.entries, audience)


def pack_attachments(record: LearnerRecord, entries: Iterable[StoredEntry], audience: str) -> list[str]:
    """``files/<name>`` paths to include: all for ``staff``, those cited by the given entries for ``shared``."""
    if audience == "staff":
        return list(record.files)
    cited = {a for e in entries for a in e.meta.attachments}
    return [f for f in record.files if f in cited]


def readme(learner_name: str, learner_id: str, audience: str, created: str) -> str:
    version = ("complète (équipe : toutes les entrées)" if audience == "staff"
               else "partagée (sans les entrées réservées à l'équipe)")
    return f"""Dossier d'audit de {learner_name} ({learner_id})
Version {version}, créé le {created}.

Contenu
- {SITE_DIR}/index.html : le portfolio. Ouvrez-le dans un navigateur (double-clic) :
  il fonctionne sans connexion, recherche comprise.
- {PDF_NAME} : le livret de suivi imprimable (profil, compétences, entretiens,
  évaluations, plans d'action, assiduité).
- portfolios/ : les fichiers d'origine (entrées en Markdown avec en-tête YAML,
  pièces jointes, référentiel).
- {MANIFEST} : l'empreinte SHA-256 de chaque fichier et, pour les entrées et
  pièces jointes, le commit git qui les a ajoutées.

Vérifier que rien n'a changé
  livret verify-pack CE-FICHIER.zip
signale tout fichier modifié, manquant ou ajouté depuis la création du dossier.
"""


# --------------------------------------------------------------------------
# Making a pack
# --------------------------------------------------------------------------


def build_pack(project: Project, learner_id: str, output: Path, *, audience: str = "shared",
               today: dt.date | None = None, now: dt.datetime | None = None) -> PackSummary:
    """Write the audit pack of ``learner_id`` to ``output`` (atomically: all or nothing)."""
    from ..publish.build import build_offline  # the build is heavy: import it only to make a pack

    if audience not in AUDIENCES:
        raise PackError(f"audience : « shared » ou « staff » attendu (lu : {audience!r})")
    store = project.store
    if learner_id not in store.learner_ids():
        raise PackError(f"apprenant·e inconnu·e : {learner_id!r}")
    record = store.load_learner(learner_id)
    if record.profile is None:
        raise PackError(f"le profil de {learner_id} est invalide : corrigez-le d'abord (livret check)")
    settings = store.settings()
    now = now or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    today = today or now.date()

    entries = pack_entries(record, audience)
    attachments = pack_attachments(record, entries, audience)
    ldir = store.learner_dir(learner_id)
    sources: dict[str, Path] = {f"{learner_id}/{PROFILE_FILE}": ldir / PROFILE_FILE}
    sources |= {e.path: store.root / e.path for e in entries}
    sources |= {f"{learner_id}/{a}": ldir / a for a in attachments}
    fw_path = store.root / FRAMEWORKS_DIR / f"{record.profile.framework}.yml"
    if fw_path.is_file():
        sources[f"{FRAMEWORKS_DIR}/{fw_path.name}"] = fw_path
    commits = commits_adding(store.history, sources)
    entry_of = {e.path: e for e in entries}

    files: dict[str, bytes] = {}
    meta: dict[str, dict] = {}
    for store_path, src in sorted(sources.items()):
        name = f"portfolios/{store_path}"
        files[name] = src.read_bytes()
        info: dict = {"source": store_path}
        if store_path in entry_of:
            e = entry_of[store_path]
            info.update(entry=e.id, type=e.type, visibility=e.visibility)
        if store_path in commits:
            info["commit"] = commits[store_path]
        meta[name] = info
    files[PDF_NAME] = record_pdf(record, settings, audience=audience, today=today)
    files[README] = readme(record.profile.name, learner_id, audience,
                           now.isoformat()).encode("utf-8")

    with tempfile.TemporaryDirectory(prefix="livret-pack-") as tmp:
        site = Path(tmp) / SITE_DIR
        try:
            report = build_offline(project, learner_id, audience, site)
        except Exception as exc:  # the build reports French messages of its own
            raise PackError(f"construction du site hors ligne impossible : {exc}") from exc
        if not report.built:
            problems = "; ".join(str(p) for p in report.problems[:3])
            raise PackError(f"site hors ligne non construit : {problems or 'référentiel introuvable'}")
        for path in sorted(site.rglob("*")):
            if path.is_file() and not path.is_symlink():
                files[f"{SITE_DIR}/{path.relative_to(site).as_posix()}"] = path.read_bytes()

    head = None
    if store.history.enabled:
        proc = store.history.git("rev-parse", "--verify", "-q", "HEAD", check=False)
        head = proc.stdout.decode().strip() or None
    manifest = {
        "format": FORMAT,
        "learner": learner_id,
        "name": record.profile.name,
        "audience": audience,
        "created": now.isoformat(),
        "organisation": settings.name,
        "store_commit": head,
        "files": [{"path": name, "sha256": sha256(data), "size": len(data), **meta.get(name, {})}
                  for name, data in sorted(files.items())],
    }
    files[MANIFEST] = (json.dumps(manifest, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    data = _zip(files)
    output = output.resolve()
    atomic.replace(output, data)
    return PackSummary(output, learner_id, audience, len(files), len(entries), len(attachments), len(data))


def _zip(files: dict[str, bytes]) -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name in [MANIFEST, README, *sorted(n for n in files if n not in (MANIFEST, README))]:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, files[name])
    return buf.getvalue()


# --------------------------------------------------------------------------
# Checking a pack
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PackFinding:
    path: str  # member of the zip
    message: str
    kind: str  # altered, missing, added, unsafe, manifest

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def verify_pack(path: Path) -> list[PackFinding]:
    """Every difference between a pack and its manifest; empty when the pack is intact.

    Reads the zip in memory, member by member; never extracts anything.
    """
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        return [PackFinding(str(path), f"archive zip illisible ({exc})", "manifest")]
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        members = {i.filename: i for i in infos}
        if MANIFEST not in members:
            return [PackFinding(MANIFEST, "manifeste absent : ce n'est pas un dossier d'audit livret", "manifest")]
        try:
            manifest = json.loads(zf.read(MANIFEST).decode("utf-8"))
            listed = {f["path"]: f for f in manifest["files"]}
            if manifest.get("format") != FORMAT:
                raise ValueError(f"format inconnu {manifest.get('format')!r}")
        except (ValueError, KeyError, TypeError) as exc:
            return [PackFinding(MANIFEST, f"manifeste illisible ({exc})", "manifest")]
        findings: list[PackFinding] = []
        names = [i.filename for i in infos]
        for name in sorted({n for n in names if names.count(n) > 1}):
            findings.append(PackFinding(name, "fichier présent plusieurs fois dans l'archive", "added"))
        for name in sorted(set(listed) | set(members) - {MANIFEST}):
            if not _safe_member(name):
                findings.append(PackFinding(name, "chemin dangereux dans l'archive (absolu ou « .. »)", "unsafe"))
            if name not in members:
                findings.append(PackFinding(name, "fichier manquant (listé dans le manifeste)", "missing"))
                continue
            if name not in listed:
                findings.append(PackFinding(name, "fichier ajouté (absent du manifeste)", "added"))
                continue
            try:
                digest = sha256(zf.read(name))
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                findings.append(PackFinding(name, f"fichier illisible dans l'archive ({exc})", "altered"))
                continue
            expected = listed[name].get("sha256")
            if digest != expected:
                findings.append(PackFinding(
                    name, f"fichier modifié (SHA-256 attendu {expected}, trouvé {digest})", "altered"))
        return findings


def _safe_member(name: str) -> bool:
    p = PurePosixPath(name)
    return not (p.is_absolute() or ".." in p.parts or "\\" in name or name.startswith("/"))
