"""Integrity of the store: what ``livret verify`` reports.

Entries and attachments are append-only (docs/format.md): once written and
committed, a file under ``<learner>/entries/`` or ``<learner>/files/`` never
changes.  Where ``portfolios/`` is a git repository its history is the audit
trail, so this module answers an auditor's question "can I trust these
files?" with facts from git:

- files that do not parse (the same problems as ``livret check``), and every
  symbolic link or special file in the store (kind ``link``: livret never
  follows one, see :mod:`livret.store.nofollow`);
- files never committed (present, or staged, but in no commit);
- committed files changed or deleted since their last commit, naming the
  commit that added them and what changed (keys of the front matter, lines
  of the text, size of an attachment);
- entries and attachments that a later commit changed or deleted (somebody
  edited an entry and committed it: history shows it, we report it);
- a failing ``git fsck`` (a corrupt or truncated repository);
- every signature whose signed files (the entry, its attachments) changed
  or vanished since it was signed (kind ``signature``, see
  :mod:`livret.store.signatures`); for an attendance signature, the
  session file in force when it was signed and the drawing's SVG, which
  must be among the sealed files;
- the history against the witness journal (:mod:`livret.seal.check`): a
  rewritten, reset or truncated history, a missing ``.git``, a commit made
  outside livret, an altered journal; the trusted timestamps and the
  witness repository when they are configured.

:func:`attendance_notices` adds lines that are no failure: a session
changed (a new file in its chain, through livret) after a learner signed
it; the signature stays valid for the session as it was.

It stays fast on a big store: a fixed, small number of git processes over
the whole repository (one ``git diff``, one ``git ls-files``, one ``git
log`` per question), never one process per file.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..seal import check as seal_check
from ..seal import timestamps
from ..seal.journal import Journal
from ..seal.witness import Witness, WitnessError
from ..store import StoredEntry, UnknownLearner, nofollow
from ..store.french_dates import fr_date
from ..store.history import History
from ..store.project import Project
from ..store.schema import SESSIONS_DIR
from ..store.signatures import check_seal
from ..store.yamlio import FrontMatterError, load_yaml, parse_front_matter
from ..views.attendance import chains

#: The problems of ``livret check`` that name a symbolic link or a special file.
_UNSAFE_MESSAGES = {nofollow.LINK_MESSAGE, nofollow.SPECIAL_MESSAGE}

#: Where seal findings point: the witness journal in the instance database.
JOURNAL = "instance/journal"

#: Store paths that are append-only: ``<learner>/entries/*`` and ``<learner>/files/*``.
APPEND_ONLY_DIRS = ("entries", "files")


@dataclass(frozen=True)
class Finding:
    """One line of ``livret verify``: a file (relative to the project) and what is wrong."""

    path: str
    message: str
    kind: str  # parse, link, untracked, modified, deleted, rewritten, fsck, seal; notice (not a failure)
    line: int | None = None
    commit: str | None = None  # the commit that added the file, where known

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


def is_append_only(store_path: str) -> bool:
    """``alice/entries/x.md``, ``alice/files/y.pdf`` and ``_sessions/2026-12/z.yml`` are append-only;
    profiles and groups are not."""
    parts = PurePosixPath(store_path).parts
    if len(parts) == 3 and parts[0] == SESSIONS_DIR:
        return not parts[2].startswith(".")
    return len(parts) == 3 and parts[1] in APPEND_ONLY_DIRS and not parts[2].startswith(".")


def verify(project: Project, *, remote: bool = False) -> list[Finding]:
    """Every integrity finding of the project's store; empty when the store is clean.

    The files against their history (below), then the history against the
    witness journal (:mod:`livret.seal`), its trusted timestamps when a TSA
    is configured, and with ``remote`` the witness repository.
    """
    store = project.store
    findings = [
        Finding(p.path, p.message, "link" if p.message in _UNSAFE_MESSAGES else "parse", line=p.line)
        for p in store.check()
    ]
    if store.history.enabled:
        prefix = _display_prefix(project)
        findings += GitAudit(store.history, prefix).findings()
    findings += signature_findings(project)
    return findings + seal_findings(project, remote=remote)


def signature_findings(project: Project) -> list[Finding]:
    """Each file a signature sealed that changed or vanished since (kind ``signature``)."""
    store = project.store
    prefix = _display_prefix(project)
    findings = []
    for lid, e in _signatures(store):
        state = check_seal(store.root, e.meta)
        who = f"{e.meta.signer_name} du {fr_date(e.meta.date)}"
        findings += [Finding(prefix + path, f"{_signed_noun(path)} modifiée après la signature de {who}",
                             "signature") for path in state.changed]
        findings += [Finding(prefix + path, f"{_signed_noun(path)} supprimée après la signature de {who}",
                             "signature") for path in state.missing]
        if e.meta.session is not None:  # an attendance signature seals its own drawing too
            sealed = {f.path for f in e.meta.signed}
            findings += [Finding(prefix + e.path, f"dessin {a} hors du sceau de l'émargement de {who} : "
                                                  "sa modification passerait inaperçue", "signature")
                         for a in e.meta.attachments if f"{lid}/{a}" not in sealed]
    return findings


def _signatures(store) -> Iterator[tuple[str, StoredEntry]]:
    """(learner id, signature entry) of every learner's folder."""
    for lid in store.learner_ids():
        try:
            record = store.load_learner(lid)
        except UnknownLearner:
            continue
        yield from ((lid, e) for e in record.entries if e.type == "signature")


def attendance_notices(project: Project) -> list[Finding]:
    """Attendance signatures whose session changed (a new file in its chain) after signing (kind
    ``notice``: reported, not a failure; the signature seals the session as it was when signed)."""
    store = project.store
    prefix = _display_prefix(project)
    found = chains(store.sessions())
    notices = []
    for _, e in _signatures(store):
        if e.meta.session is None or e.meta.role != "learner":
            continue
        chain = found.get(e.meta.session)
        if chain is None or e.meta.signed[0].path == chain.latest.path:
            continue
        change = chain.latest.session
        what = "annulée" if change.status == "cancelled" else "modifiée"
        notices.append(Finding(prefix + e.path, f"séance {what} après l'émargement de {e.meta.signer_name} "
                                                f"du {fr_date(e.meta.date)} (le {fr_date(change.recorded)}, "
                                                f"motif : {change.reason or '—'}) ; l'émargement reste scellé "
                                                f"sur {e.meta.signed[0].path}", "notice"))
    return notices


def seal_findings(project: Project, *, remote: bool = False) -> list[Finding]:
    """The history against the journal and the configured witnesses (kind ``seal``)."""
    journal = Journal.for_project(project)
    journal.catch_up()
    findings = [Finding(JOURNAL, str(f), "seal", commit=f.commit_id or None) for f in seal_check.check(journal)]
    settings = project.store.settings().seal
    if settings.tsa_url and settings.tsa_ca:
        try:
            roots = timestamps.load_roots(_project_file(project, settings.tsa_ca).read_bytes())
        except (OSError, timestamps.TimestampError) as exc:
            findings.append(Finding(JOURNAL, f"horodatage : certificat racine illisible ({exc})", "seal"))
        else:
            findings += [Finding(JOURNAL, f, "seal") for f in timestamps.check(journal, roots)]
    if remote:
        if not settings.witness_remote:
            findings.append(Finding(JOURNAL, "--remote : aucun dépôt témoin configuré (réglage seal.witness_remote)",
                                    "seal"))
        else:
            try:
                witness = Witness(journal, settings.witness_remote)
                findings += [Finding(JOURNAL, f, "seal") for f in witness.compare(witness.remote_state(),
                                                                                   journal.records())]
            except WitnessError as exc:
                findings.append(Finding(JOURNAL, str(exc), "seal"))
    return findings


def _signed_noun(store_path: str) -> str:
    if store_path.startswith(SESSIONS_DIR + "/"):
        return "séance"
    return "pièce jointe" if "/files/" in store_path else "entrée"


def _project_file(project: Project, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else project.root / path


def _display_prefix(project: Project) -> str:
    """How store paths are shown: relative to the project root (``portfolios/...``)."""
    try:
        rel = project.portfolios.resolve().relative_to(project.root.resolve()).as_posix()
    except ValueError:
        rel = project.portfolios.resolve().as_posix()
    return "" if rel == "." else rel + "/"


class GitAudit:
    """The git questions of :func:`verify`, each answered by one git process."""

    def __init__(self, history: History, prefix: str = ""):
        self.history = history
        self.prefix = prefix

    def findings(self) -> list[Finding]:
        head = self._head()
        out: list[Finding] = []
        out += self._worktree(head)
        out += self._rewritten()
        out += self._fsck()
        return out

    # ------------------------------------------------------------------ git

    def _git(self, *args: str, input: bytes | None = None):
        return self.history.git(*args, check=False, input=input)

    def _head(self) -> str | None:
        proc = self._git("rev-parse", "--verify", "-q", "HEAD")
        return proc.stdout.decode().strip() or None if proc.returncode == 0 else None

    def _show(self, path: str) -> str:
        return self.prefix + path

    # ------------------------------------------------------------------ questions

    def _worktree(self, head: str | None) -> list[Finding]:
        """Files not committed, and committed files changed or deleted since."""
        out: list[Finding] = []
        untracked = self._z(self._git("ls-files", "--others", "--exclude-standard", "-z").stdout)
        staged_new: list[str] = []
        changed: list[tuple[str, str]] = []  # (status, path)
        if head is None:
            staged_new = self._z(self._git("ls-files", "--cached", "-z").stdout)
        else:
            fields = self._z(self._git("diff", "--name-status", "--no-renames", "-z", "HEAD").stdout)
            for status, path in zip(fields[::2], fields[1::2]):
                if status == "A":
                    staged_new.append(path)
                else:
                    changed.append((status[0], path))
        for path in sorted(set(untracked) | set(staged_new)):
            noun, e = _noun(path)
            out.append(Finding(self._show(path),
                               f"{noun} jamais enregistré{e} dans l'historique git (aucun commit ne le contient)",
                               "untracked"))
        if not changed:
            return out
        paths = [p for _, p in changed]
        added = self._added_by(paths)
        old = self._blobs([f"HEAD:{p}" for p in paths])
        for (status, path), before in zip(changed, old):
            commit = added.get(path)
            noun, e = _noun(path)
            origin = f"ajouté{e} par le commit {commit}" if commit else "commit d'ajout introuvable"
            if status == "D":
                message = f"{noun} supprimé{e} après son enregistrement ({origin})"
                kind = "deleted"
            else:
                now = self._read_worktree(path)
                message = (f"{noun} modifié{e} après son enregistrement ({origin}) : "
                           f"{describe_change(before, now)}")
                kind = "modified"
            out.append(Finding(self._show(path), message, kind, commit=commit))
        return out

    def _rewritten(self) -> list[Finding]:
        """Entries and attachments that a commit changed or deleted after the one that added them."""
        proc = self._git(
            "log", "--no-renames", "--diff-filter=MD", "--name-status", "-z",
            "--format=%x01%H%x02%an%x02%as", "--", ":(glob)*/entries/*", ":(glob)*/files/*",
            f":(glob){SESSIONS_DIR}/*/*",
        )
        if proc.returncode != 0:
            return []
        events: list[tuple[str, str, str, str, str]] = []  # commit, author, day, status, path
        for header, fields in _log_records(proc.stdout):
            commit, author, day = header.split("\x02")
            for status, path in zip(fields[::2], fields[1::2]):
                if is_append_only(path):
                    events.append((commit, author, day, status[0], path))
        if not events:
            return []
        added = self._added_by([e[4] for e in events])
        specs: list[str] = []
        for commit, _, _, status, path in events:
            specs += [f"{commit}^:{path}", f"{commit}:{path}"]
        blobs = self._blobs(specs)
        out = []
        for i, (commit, author, day, status, path) in enumerate(reversed(events)):
            j = len(events) - 1 - i
            before, after = blobs[2 * j], blobs[2 * j + 1]
            origin = added.get(path)
            since = f" après son ajout par le commit {origin}" if origin else ""
            noun, e = _noun(path)
            if status == "D":
                what = f"supprimé{e} par le commit {commit} ({author}, {day}){since}"
            else:
                what = (f"modifié{e} par le commit {commit} ({author}, {day}){since} : "
                        f"{describe_change(before, after)}")
            out.append(Finding(self._show(path), f"{noun} {what}", "rewritten", commit=origin))
        return out

    def _fsck(self) -> list[Finding]:
        proc = self._git("fsck", "--no-progress", "--no-dangling")
        if proc.returncode == 0:
            return []
        detail = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip().splitlines()
        summary = " ; ".join(detail[:3]) or f"code de sortie {proc.returncode}"
        return [Finding(self._show(".git"), f"git fsck a échoué : {summary}", "fsck")]

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _z(raw: bytes) -> list[str]:
        return [p for p in raw.decode("utf-8", "surrogateescape").split("\0") if p]

    def _added_by(self, paths: Iterable[str]) -> dict[str, str]:
        return commits_adding(self.history, paths)

    def _blobs(self, specs: Sequence[str]) -> list[bytes | None]:
        """Contents of ``rev:path`` objects, in order (one ``git cat-file --batch``)."""
        if not specs:
            return []
        proc = self._git("cat-file", "--batch", input="".join(s + "\n" for s in specs).encode())
        data = proc.stdout
        out: list[bytes | None] = []
        pos = 0
        for _ in specs:
            end = data.index(b"\n", pos)
            header = data[pos:end].split()
            pos = end + 1
            if len(header) == 3 and header[1] == b"blob":
                size = int(header[2])
                out.append(data[pos:pos + size])
                pos += size + 1
            else:
                out.append(None)  # missing (or not a blob)
        return out

    def _read_worktree(self, path: str) -> bytes | None:
        try:  # never through a link: a file replaced by one is "illisible", and reported as a link
            return nofollow.read_bytes(self.history.root, path)
        except OSError:
            return None


def commits_adding(history: History, paths: Iterable[str]) -> dict[str, str]:
    """The commit that first added each path (relative to the store), in one ``git log``.

    Paths never committed are absent from the result; so is everything when
    the store has no history.
    """
    paths = sorted(set(paths))
    if not paths or not history.enabled:
        return {}
    proc = history.git("log", "--no-renames", "--diff-filter=A", "--name-only", "-z",
                       "--format=%x01%H", "--", *[f":(literal){p}" for p in paths], check=False)
    added: dict[str, str] = {}
    for commit, names in _log_records(proc.stdout):
        for path in names:
            added[path] = commit  # log is newest first: the last seen is the oldest
    return added


def _noun(store_path: str) -> tuple[str, str]:
    """French noun for a store file and the ending its participles take."""
    if store_path.startswith(SESSIONS_DIR + "/"):
        return "fichier de séance", ""
    return ("entrée", "e") if "/entries/" in store_path else ("fichier", "")


def _log_records(raw: bytes) -> list[tuple[str, list[str]]]:
    """Parse ``git log -z --format=%x01...`` with ``--name-only``/``--name-status``.

    Each record is the formatted header and the NUL-separated fields after
    it (status letters and paths).
    """
    out = []
    for chunk in raw.decode("utf-8", "surrogateescape").split("\x01")[1:]:
        header, *fields = chunk.split("\0")
        out.append((header.strip(), [f.lstrip("\n") for f in fields if f.strip("\n")]))
    return out


def describe_change(before: bytes | None, after: bytes | None) -> str:
    """A short French summary of how a file changed: keys of its front matter, lines of its text.

    Pure function, so that the summary of an in-place edit and of a
    committed edit read the same.
    """
    if before is None:
        return "version précédente introuvable"
    if after is None:
        return "fichier illisible ou supprimé"
    try:
        old_text, new_text = before.decode("utf-8"), after.decode("utf-8")
    except UnicodeDecodeError:
        return f"contenu modifié ({len(before)} → {len(after)} octets)"
    parts: list[str] = []
    old_data, old_body = _split(old_text)
    new_data, new_body = _split(new_text)
    if old_data is not None and new_data is not None:
        keys = [k for k in dict.fromkeys([*old_data, *new_data]) if old_data.get(k) != new_data.get(k)]
        if keys:
            parts.append("en-tête modifié (" + ", ".join(keys) + ")")
        old_text, new_text = old_body, new_body
    elif old_data is not None or new_data is not None:
        parts.append("en-tête YAML devenu illisible" if new_data is None else "en-tête YAML ajouté")
    plus = minus = 0
    for line in difflib.unified_diff(old_text.splitlines(), new_text.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            plus += 1
        elif line.startswith("-") and not line.startswith("---"):
            minus += 1
    if plus or minus:
        parts.append(f"texte modifié (+{plus} −{minus} lignes)")
    return " ; ".join(parts) or "modification d'espaces ou de fins de ligne"


def _split(text: str) -> tuple[dict | None, str]:
    """Front matter and body of a Markdown file, or (data, "") of a YAML file; None if unreadable."""
    try:
        if text.lstrip("\ufeff").startswith("---"):
            doc = parse_front_matter(text)
            return doc.data, doc.body
        return load_yaml(text).data, ""
    except FrontMatterError:
        return None, text
