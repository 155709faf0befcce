"""The audit pack: one zip that an auditor or a company opens with no account and no network.

``livret export LEARNER -o FILE.zip [--audience shared|staff]`` writes::

    LISEZMOI.txt                          how to open and check the pack (French)
    manifest.json                         every other file with its SHA-256, the journal's head, a timestamp
    manifest.sig                          the organisation's Ed25519 signature of manifest.json
    SHA256SUMS                            every other file's SHA-256, as ``sha256sum -c SHA256SUMS`` checks it
    SHA256SUMS.sig                        the raw Ed25519 signature of SHA256SUMS (``openssl pkeyutl -verify -rawin``)
    cle-publique-organisme.pem            the signing key's public half (to compare with the published one)
    livret-de-suivi.pdf                   the printable follow-up record
    site/index.html                       the portfolio, built to open from disk (file://), search included
    portfolios/<learner>/learner.md       the source files, as in the store
    portfolios/<learner>/entries/*.md
    portfolios/<learner>/files/*          attachments
    portfolios/_frameworks/<id>.yml       the learner's framework
    assiduite/emargement-<YYYY-MM>.pdf    signed attendance: the learner's month (half-day grid), per month
    assiduite/heures-financeurs-<YYYY-MM>.csv   the funders' hours of the month (this learner's line)
    assiduite/certificat-de-realisation.pdf     the certificat de réalisation, programme start to today

The manifest lists every file of the pack with its SHA-256 and size and, for
entry and attachment files where the store is a git repository, the commit
that added them: an auditor can match the pack against the organisation's
history.  ``livret verify-pack FILE.zip --key KEYS`` recomputes the hashes
(in bounded memory), names every altered, missing or added file, and checks
the signature against the organisation's public keys obtained *outside* the
pack: a pack rewritten with recomputed hashes then fails, whoever re-signs
it.  The manifest also carries the witness journal's head and its latest
trusted timestamp (:mod:`livret.seal`), so that beside the store
(``--root``) the pack's state is checked against the journal.

The ``shared`` audience (the default) holds what the shared site holds:
``staff`` entries are left out entirely — their files, their attachments,
their text in the PDF and in the site — and so is every version of an entry
whose correction is ``staff``.  Attachments cited by no shared entry are left
out too.  An entry file that names a left-out entry (``about``, ``corrects``,
``updates``) is written again without that key (see :func:`entry_file`):
nothing in a shared pack names a staff entry.

The attendance documents (:mod:`livret.attendance.documents`) come when the
learner is expected at sessions or declared distance work; a ``shared``
pack's month sheets show states and times, no signature image.  Without the
organisation's signatory (``attendance.signatory``) the certificat is left
out and the README says why.  Each is listed in the manifest with a
``document`` label that ``verify-pack`` names.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import tempfile
import zipfile
from collections.abc import Container, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cryptography.hazmat.primitives import serialization

from ..attendance import documents as attendance_docs
from ..seal.journal import Journal
from ..seal.keys import Keys, PublicKey, b64decode, b64encode, key_id
from ..seal.timestamps import Timestamps
from ..store import FRAMEWORKS_DIR, PROFILE_FILE, LearnerRecord, StoredEntry, atomic, nofollow
from ..store.project import Project
from ..store.schema import entry_to_data
from ..store.yamlio import render_front_matter
from ..views.attendance import distance_hours, learner_attendance
from ..views.progress import for_audience, without_hidden_references
from .integrity import commits_adding
from .record_pdf import record_pdf

FORMAT = "livret-audit-pack/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
SIGNATURE_FORMAT = "livret-signature/1"
#: A manifest larger than this is not one livret wrote (100,000 files take about 20 MB).
MAX_MANIFEST = 64 * 1024 * 1024
CHUNK = 1024 * 1024
README = "LISEZMOI.txt"
#: Checkable with standard tools alone: ``sha256sum -c SHA256SUMS`` and ``openssl pkeyutl -verify -rawin``.
SUMS = "SHA256SUMS"
SUMS_SIGNATURE = "SHA256SUMS.sig"
PUBLIC_KEY = "cle-publique-organisme.pem"
PDF_NAME = "livret-de-suivi.pdf"
ATTENDANCE_DIR = "assiduite"
CERTIFICATE_NAME = f"{ATTENDANCE_DIR}/certificat-de-realisation.pdf"
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


def entry_file(data: bytes, entry: StoredEntry, kept: Container[str]) -> bytes:
    """An entry's file as the pack holds it: ``data`` (the store's bytes) unchanged, unless the entry
    names one the pack leaves out (``about``, ``corrects`` or ``updates`` of a ``staff`` entry, in a
    ``shared`` pack).  Then it is written again from its data without that key, as every shared
    output shows it (:func:`livret.views.progress.without_hidden_references`): no file of a shared
    pack names a staff entry, not even by its id."""
    shown = without_hidden_references(entry, kept)
    if shown is entry:
        return data
    return render_front_matter(entry_to_data(shown.meta), shown.body).encode("utf-8")


def pack_attachments(record: LearnerRecord, entries: Iterable[StoredEntry], audience: str) -> list[str]:
    """``files/<name>`` paths to include: all for ``staff``, those cited by the given entries for ``shared``."""
    if audience == "staff":
        return list(record.files)
    cited = {a for e in entries for a in e.meta.attachments}
    return [f for f in record.files if f in cited]


def attendance_files(store, record: LearnerRecord, audience: str, today: dt.date,
                     now: dt.datetime) -> tuple[dict[str, tuple[bytes, str]], str]:
    """The pack's attendance documents ``{name: (bytes, label)}`` and the README's paragraph on them
    (empty, with no document, for a learner expected at no session and with no distance work)."""
    profile = record.profile
    rows = learner_attendance(store, record.id, now, audience="staff")
    foad = distance_hours(for_audience(record.entries, "staff"))
    if not rows and not foad.entries:
        return {}, ""
    files: dict[str, tuple[bytes, str]] = {}
    for month in sorted({f"{r.session.date:%Y-%m}" for r in rows}):
        label = attendance_docs.month_label(month)
        files[f"{ATTENDANCE_DIR}/emargement-{month}.pdf"] = (
            attendance_docs.learner_month_pdf(store, record.id, month, now, audience=audience),
            f"feuille d'émargement mensuelle, {label}")
        files[f"{ATTENDANCE_DIR}/heures-financeurs-{month}.csv"] = (
            attendance_docs.funders_csv(store, month, now=now, learners=[record.id]),
            f"heures pour les financeurs, {label}")
    end = min(today, profile.end) if profile.end else today
    note = (f"- {ATTENDANCE_DIR}/ : l'assiduité émargée par demi-journée ; pour chaque mois, la feuille\n"
            "  d'émargement de l'apprenant·e et ses heures pour les financeurs (CSV pour Excel)")
    try:
        files[CERTIFICATE_NAME] = (attendance_docs.certificate_pdf(store, record.id, profile.start, end, now),
                                   f"certificat de réalisation du {profile.start:%d/%m/%Y} au {end:%d/%m/%Y}")
        note += ",\n  et le certificat de réalisation depuis le début de la formation.\n"
    except attendance_docs.DocumentError as exc:
        note += f".\n  Certificat de réalisation non joint : {exc}.\n"
    return files, note


def readme(learner_name: str, learner_id: str, audience: str, created: str, attendance: str = "") -> str:
    version = ("complète (équipe : toutes les entrées)" if audience == "staff"
               else "partagée (sans les entrées réservées à l'équipe)")
    return f"""Dossier d'audit de {learner_name} ({learner_id})
Version {version}, créé le {created}.

Contenu
- {SITE_DIR}/index.html : le portfolio. Ouvrez-le dans un navigateur (double-clic) :
  il fonctionne sans connexion, recherche comprise.
- {PDF_NAME} : le livret de suivi imprimable (profil, compétences, entretiens,
  évaluations, preuves, retours de l'entreprise, signatures, plans d'action,
  assiduité).
- portfolios/ : les fichiers d'origine (entrées en Markdown avec en-tête YAML,
  pièces jointes, référentiel).
- {MANIFEST} : l'empreinte SHA-256 de chaque fichier et, pour les entrées et
  pièces jointes, le commit git qui les a ajoutées ; l'état du journal témoin
  de l'organisme et son dernier horodatage.
- {SIGNATURE} : la signature (Ed25519) du manifeste par l'organisme.
- {SUMS} : l'empreinte SHA-256 de chaque fichier du dossier ; {SUMS_SIGNATURE} : sa
  signature (Ed25519) par l'organisme ; {PUBLIC_KEY} : la clé publique qui l'a signée.
{attendance}
Vérifier sans installer livret (Linux, macOS ; sous Windows : WSL ou Git Bash)
Décompressez le dossier, puis, dans le dossier décompressé :
  sha256sum -c {SUMS}
  (macOS : shasum -a 256 -c {SUMS}) : chaque fichier doit être « OK » ; un
  fichier modifié est signalé « FAILED ».
  openssl pkeyutl -verify -rawin -pubin -inkey {PUBLIC_KEY} -in {SUMS} -sigfile {SUMS_SIGNATURE}
  (OpenSSL 3) doit répondre « Signature Verified Successfully ».
La clé jointe prouve seulement que le dossier n'a pas changé depuis sa
signature ; pour savoir qui l'a signé, comparez son identifiant avec la liste
publiée par l'organisme (champ « kid » de /.well-known/livret-keys.json sur
son application, ou liste remise en main propre) :
  openssl pkey -pubin -in {PUBLIC_KEY} -outform DER | tail -c 32 | sha256sum | cut -c1-16

Vérifier que rien n'a changé
  livret verify-pack CE-FICHIER.zip --key CLES-DE-L-ORGANISME.json
signale tout fichier modifié, manquant ou ajouté depuis la création du dossier,
et vérifie la signature avec la liste des clés publiques de l'organisme,
obtenue par un autre canal que ce dossier (publiée à l'adresse
/.well-known/livret-keys.json de son application, ou remise en main propre).
Sans --key, une signature valide reste « non confirmée » : un faussaire qui
aurait refait le dossier aurait pu le signer avec sa propre clé.
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
    if nofollow.kind(store.root, f"{FRAMEWORKS_DIR}/{fw_path.name}") == nofollow.FILE:
        sources[f"{FRAMEWORKS_DIR}/{fw_path.name}"] = fw_path
    commits = commits_adding(store.history, sources)
    entry_of = {e.path: e for e in entries}
    stored, kept = {e.path: e for e in record.entries}, {e.id for e in entries}

    files: dict[str, bytes] = {}
    meta: dict[str, dict] = {}
    for store_path in sorted(sources):
        name = f"portfolios/{store_path}"
        try:  # never through a link (the record lists none; one put there since is refused)
            files[name] = nofollow.read_bytes(store.root, store_path)
        except OSError as exc:
            raise PackError(f"{store_path} : {getattr(exc, 'message', None) or exc.strerror or exc}") from None
        if store_path in entry_of:
            files[name] = entry_file(files[name], stored[store_path], kept)
        info: dict = {"source": store_path}
        if store_path in entry_of:
            e = entry_of[store_path]
            info.update(entry=e.id, type=e.type, visibility=e.visibility)
        if store_path in commits:
            info["commit"] = commits[store_path]
        meta[name] = info
    files[PDF_NAME] = record_pdf(record, settings, audience=audience, today=today, people=store.people_names())
    attendance, attendance_note = attendance_files(store, record, audience, today, now)
    for name, (data, label) in attendance.items():
        files[name] = data
        meta[name] = {"document": label}
    files[README] = readme(record.profile.name, learner_id, audience,
                           now.isoformat(), attendance_note).encode("utf-8")
    files[PUBLIC_KEY] = public_pem(Keys.for_project(project))

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
    manifest["seal"] = seal_section(project)
    files[MANIFEST] = (json.dumps(manifest, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    keys = Keys.for_project(project)
    files[SIGNATURE] = sign_manifest(keys, files[MANIFEST])
    files[SUMS] = sums_file(files)
    files[SUMS_SIGNATURE] = keys.sign(files[SUMS])[1]
    data = _zip(files)
    output = output.resolve()
    atomic.replace(output, data)
    return PackSummary(output, learner_id, audience, len(files), len(entries), len(attachments), len(data))


def seal_section(project: Project) -> dict:
    """What the pack carries of the seal: the journal's head and its latest trusted timestamp."""
    journal = Journal.for_project(project)
    head = journal.head()
    section: dict = {"journal_head": {"seq": head.seq, "hash": head.hash} if head else None, "timestamp": None}
    latest = Timestamps(journal).latest()
    if latest is not None:
        section["timestamp"] = {"seq": latest.seq, "hash": latest.head_hash, "time": latest.gen_time.isoformat(),
                                "token": base64.b64encode(latest.token).decode("ascii")}
    return section


def sign_manifest(keys: Keys, manifest: bytes) -> bytes:
    """``manifest.sig``: the Ed25519 signature of the manifest's bytes, the key's id and public key.

    The public key inside the pack only lets a reader check the signature;
    only a key obtained outside the pack (``verify-pack --key``) says who signed.
    """
    keys.init()  # a project made before signing keys existed gets its key at its first pack
    kid, signature = keys.sign(manifest)
    current = keys.current()
    document = {"format": SIGNATURE_FORMAT, "alg": "Ed25519", "kid": kid, "public": current.public if current else "",
                "signature": b64encode(signature)}
    return (json.dumps(document, indent=1) + "\n").encode("utf-8")


def public_pem(keys: Keys) -> bytes:
    """The current signing key's public half, PEM (SubjectPublicKeyInfo), as ``openssl -pubin`` reads it."""
    keys.init()
    return keys.private_key()[1].public_key().public_bytes(serialization.Encoding.PEM,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo)


def sums_line(name: str, data: bytes) -> str:
    """One ``sha256sum`` line; a name with a backslash or a newline is escaped as GNU coreutils does."""
    if "\\" in name or "\n" in name:
        return "\\" + sha256(data) + "  " + name.replace("\\", "\\\\").replace("\n", "\\n")
    return f"{sha256(data)}  {name}"


def sums_file(files: dict[str, bytes]) -> bytes:
    """``SHA256SUMS``: every file of the pack but itself and its signature, sorted."""
    return "".join(sums_line(n, files[n]) + "\n" for n in sorted(files)
                   if n not in (SUMS, SUMS_SIGNATURE)).encode("utf-8")


def _zip(files: dict[str, bytes]) -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        first = [MANIFEST, SIGNATURE, README, SUMS, SUMS_SIGNATURE, PUBLIC_KEY]
        for name in [n for n in first if n in files] + sorted(n for n in files if n not in first):
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

    Never extracts anything, and reads in bounded memory whatever the archive
    claims: a member is hashed in chunks and read no further than the size the
    manifest gives it (a small zip whose member inflates to gigabytes costs a
    chunk, not gigabytes).  The signature is :func:`pack_signature`'s business.
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
            manifest = json.loads(_read_bounded(zf, members[MANIFEST], MAX_MANIFEST).decode("utf-8"))
            listed = {f["path"]: f for f in manifest["files"]}
            if manifest.get("format") != FORMAT:
                raise ValueError(f"format inconnu {manifest.get('format')!r}")
        except (ValueError, KeyError, TypeError, zipfile.BadZipFile, OSError) as exc:
            return [PackFinding(MANIFEST, f"manifeste illisible ({exc})", "manifest")]
        findings: list[PackFinding] = []
        names = [i.filename for i in infos]
        for name in sorted({n for n in names if names.count(n) > 1}):
            findings.append(PackFinding(name, "fichier présent plusieurs fois dans l'archive", "added"))
        for name in sorted(set(listed) | set(members) - {MANIFEST, SIGNATURE, SUMS, SUMS_SIGNATURE}):
            if not _safe_member(name):
                findings.append(PackFinding(name, "chemin dangereux dans l'archive (absolu ou « .. »)", "unsafe"))
            document = listed.get(name, {}).get("document")
            what = f"{document} : " if isinstance(document, str) else ""
            if name not in members:
                findings.append(PackFinding(name, f"{what}fichier manquant (listé dans le manifeste)", "missing"))
                continue
            if name not in listed:
                findings.append(PackFinding(name, "fichier ajouté (absent du manifeste)", "added"))
                continue
            expected, size = listed[name].get("sha256"), listed[name].get("size")
            try:
                digest = _hash_bounded(zf, members[name], size if isinstance(size, int) else 0)
            except TooLarge:
                findings.append(PackFinding(name, f"fichier modifié (décompressé, il dépasse nettement les {size} "
                                                  "octets attendus)", "altered"))
                continue
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                findings.append(PackFinding(name, f"fichier illisible dans l'archive ({exc})", "altered"))
                continue
            if digest != expected:
                findings.append(PackFinding(
                    name, f"{what}fichier modifié (SHA-256 attendu {expected}, trouvé {digest})", "altered"))
        if SUMS in members:
            findings += _check_sums(zf, members, listed)
        return findings


def _check_sums(zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], listed: dict[str, dict]) -> list[PackFinding]:
    """``SHA256SUMS`` must say what the manifest says, and give the manifest and its signature their hashes."""
    expected = {n: f.get("sha256") for n, f in listed.items()}
    try:
        for name in (MANIFEST, SIGNATURE):
            if name in members:
                expected[name] = sha256(_read_bounded(zf, members[name], MAX_MANIFEST))
        text = _read_bounded(zf, members[SUMS], MAX_MANIFEST).decode("utf-8")
    except (TooLarge, UnicodeDecodeError, zipfile.BadZipFile, OSError, ValueError) as exc:
        return [PackFinding(SUMS, f"fichier illisible dans l'archive ({exc})", "altered")]
    found: dict[str, str] = {}
    for line in text.splitlines():
        digest, _, name = line.partition("  ")
        if digest.startswith("\\"):
            digest, name = digest[1:], re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), name)
        found[name] = digest
    if found != expected:
        differ = sorted(n for n in set(found) | set(expected) if found.get(n) != expected.get(n))
        return [PackFinding(SUMS, "ne correspond pas au manifeste (" + ", ".join(differ[:5]) + ")", "altered")]
    return []


def pack_documents(path: Path) -> list[tuple[str, str]]:
    """``(member, label)`` of the documents the manifest labels (the attendance documents); [] when unreadable."""
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(_read_bounded(zf, zf.getinfo(MANIFEST), MAX_MANIFEST).decode("utf-8"))
        return [(f["path"], f["document"]) for f in manifest["files"] if isinstance(f.get("document"), str)]
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, TypeError, AttributeError):
        return []


def _read_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes, refusing one that inflates past ``limit`` (whatever its header says)."""
    with zf.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"plus de {limit // (1024 * 1024)} Mo")
    return data


class TooLarge(ValueError):
    """A member inflates well past the size its manifest gives it."""


def _hash_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo, size: int) -> str:
    """SHA-256 of a member read in chunks, never more than ``size`` + one chunk (then :class:`TooLarge`).

    A member a little larger or smaller than listed is hashed whole (its digest
    then differs); only a member that would inflate far past it is cut short.
    """
    digest, read = hashlib.sha256(), 0
    with zf.open(info) as member:
        while chunk := member.read(CHUNK):
            read += len(chunk)
            if read > size + CHUNK:
                raise TooLarge(info.filename)
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class SignatureCheck:
    """What the signature of a pack says."""

    state: str  # confirmed, unconfirmed, invalid, unsigned, unknown-key
    message: str
    kid: str = ""


def pack_signature(path: Path, keys: list[PublicKey] | None = None) -> SignatureCheck:
    """Check ``manifest.sig`` against the manifest; with ``keys`` (obtained outside the pack), say who signed.

    Without ``keys`` a valid signature is only *unconfirmed*: a forger who
    rewrote the pack could have signed it with a key of their own.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            members = {i.filename: i for i in zf.infolist()}
            if SIGNATURE not in members:
                return SignatureCheck("unsigned", "dossier non signé (pas de manifest.sig)")
            manifest = _read_bounded(zf, members[MANIFEST], MAX_MANIFEST)
            document = json.loads(_read_bounded(zf, members[SIGNATURE], 64 * 1024).decode("utf-8"))
        kid, signature = str(document["kid"]), b64decode(str(document["signature"]))
        embedded = PublicKey(kid, str(document["public"]), "")
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, TypeError) as exc:
        return SignatureCheck("invalid", f"signature illisible ({exc})")
    if keys is None:
        if key_id(embedded.key()) != kid or not embedded.verify(signature, manifest):
            return SignatureCheck("invalid", "signature invalide : le manifeste a été modifié après sa signature", kid)
        return SignatureCheck("unconfirmed", f"signature valide, clé non confirmée ({kid}) : vérifiez avec la clé "
                                             "publique de l'organisme (--key)", kid)
    known = {k.kid: k for k in keys}
    if kid not in known:
        return SignatureCheck("unknown-key", f"signé par une clé inconnue de l'organisme ({kid})", kid)
    if not known[kid].verify(signature, manifest):
        return SignatureCheck("invalid", "signature invalide : le manifeste a été modifié après sa signature", kid)
    return SignatureCheck("confirmed", f"signature valide, clé de l'organisme confirmée ({kid})", kid)


def pack_against_journal(path: Path, journal: Journal) -> list[PackFinding]:
    """Beside the store: the state the pack sealed must be in the local journal."""
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(_read_bounded(zf, zf.getinfo(MANIFEST), MAX_MANIFEST).decode("utf-8"))
    head = (manifest.get("seal") or {}).get("journal_head")
    if not head:
        return [PackFinding(MANIFEST, "le dossier ne porte pas l'état du journal témoin", "manifest")]
    record = next((r for r in journal.records() if r.seq == head.get("seq")), None)
    if record is None or record.hash != head.get("hash"):
        return [PackFinding(MANIFEST, f"l'état scellé du dossier (journal n° {head.get('seq')}) n'est pas dans "
                                      "le journal témoin de ce dépôt", "manifest")]
    return []


def _safe_member(name: str) -> bool:
    p = PurePosixPath(name)
    return not (p.is_absolute() or ".." in p.parts or "\\" in name or name.startswith("/"))
