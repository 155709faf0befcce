"""A witness repository: the journal's records pushed to a git server the organisation does not run.

The records (ids, hashes, times: no personal data, no store content, so an
erasure never has to reach it) are pushed, one file per record, to any git
remote (a Forgejo or Gitea repository with force-push disabled on its
branch).  The remote only ever receives new files: ``verify --remote``
checks that no file was ever modified or deleted in its history, that every
record it holds is in the local journal unchanged, and says how far behind
the push is.  Someone who rewrites the local history *and* the journal
(shell access to the machine) cannot rewrite what the remote received.

The push never blocks a write: the app pushes in the background and retries;
``livret seal push`` pushes now.  A local clone is kept in
``instance/seal/witness/`` (a cache: it can be deleted).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..store import french
from .journal import Journal, Record, chain_problems

BRANCH = "main"
CLONE = "witness"
AUTHOR = "livret-temoin"


class WitnessError(RuntimeError):
    """The witness repository could not be reached or does not hold what it should."""


def record_path(seq: int) -> str:
    """``records/000/000000123.json``: a thousand records a folder."""
    return f"records/{seq // 1000:03d}/{seq:09d}.json"


def record_bytes(record: Record) -> bytes:
    return (json.dumps(record.to_json(), sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


@dataclass
class RemoteState:
    records: dict[int, bytes]  # seq -> file content, as the remote holds it
    rewritten: list[str]  # files modified or deleted in the remote's history (must be empty)


class Witness:
    """The witness repository of one project."""

    def __init__(self, journal: Journal, url: str):
        self.journal = journal
        self.url = url
        self.clone = journal.dir / CLONE

    def _git(self, *args: str, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(GIT_AUTHOR_NAME=AUTHOR, GIT_AUTHOR_EMAIL=f"{AUTHOR}@livret.invalid",
                   GIT_COMMITTER_NAME=AUTHOR, GIT_COMMITTER_EMAIL=f"{AUTHOR}@livret.invalid",
                   GIT_TERMINAL_PROMPT="0")
        done = subprocess.run(["git", *args], cwd=cwd or self.clone, env=env, capture_output=True, timeout=300)
        if check and done.returncode != 0:
            raise WitnessError(f"dépôt témoin ({self.url}) : git {args[0]} a échoué : "
                               + done.stderr.decode(errors="replace").strip())
        return done

    def _fetch(self) -> bool:
        """Bring the remote's branch into the local clone; False when the remote has no branch yet."""
        if not (self.clone / ".git").is_dir():
            shutil.rmtree(self.clone, ignore_errors=True)
            self.clone.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._git("init", "-q", "-b", BRANCH)
            self._git("remote", "add", "origin", self.url)
        else:
            self._git("remote", "set-url", "origin", self.url)
        done = self._git("fetch", "-q", "origin", check=False)
        if done.returncode != 0:
            raise WitnessError(f"dépôt témoin injoignable ({self.url}) : "
                               + done.stderr.decode(errors="replace").strip())
        has_branch = self._git("rev-parse", "--verify", "-q", f"origin/{BRANCH}", check=False).returncode == 0
        if has_branch:
            self._git("checkout", "-q", "-B", BRANCH, f"origin/{BRANCH}")
        return has_branch

    def remote_state(self) -> RemoteState:
        has_branch = self._fetch()
        if not has_branch:
            return RemoteState({}, [])
        rewritten = self._git("log", "--format=", "--name-only", "--diff-filter=MDRTC", f"origin/{BRANCH}")
        changed = [line for line in rewritten.stdout.decode().splitlines() if line.strip()]
        records = {}
        for path in sorted((self.clone / "records").rglob("*.json")):
            records[int(path.stem)] = path.read_bytes()
        return RemoteState(records, changed)

    def compare(self, state: RemoteState, records: list[Record]) -> list[str]:
        """Findings of the remote against the local journal (empty when the journal extends the remote)."""
        findings = []
        if state.rewritten:
            findings.append("le dépôt témoin a été réécrit : "
                            + french.count(len(state.rewritten), "fichier modifié ou supprimé",
                                           "fichiers modifiés ou supprimés") + " "
                            f"dans son historique ({', '.join(state.rewritten[:5])})")
        local = {r.seq: r for r in records}
        for seq, data in sorted(state.records.items()):
            record = local.get(seq)
            if record is None:
                findings.append(f"le dépôt témoin détient l'enregistrement n° {seq} que le journal local n'a "
                                "plus : journal tronqué")
                break
            if record_bytes(record) != data:
                findings.append(f"l'enregistrement n° {seq} du journal local diffère de celui du dépôt témoin : "
                                "journal réécrit")
                break
        try:
            remote_records = [Record(**json.loads(d)) for _, d in sorted(state.records.items())]
        except (TypeError, ValueError):
            findings.append("le dépôt témoin contient des enregistrements illisibles")
        else:
            findings += [f"dépôt témoin : {p}" for p in chain_problems(remote_records)]
        return findings

    def push(self) -> int:
        """Push the records the remote does not hold yet; returns how many. Refuses on divergence."""
        records = self.journal.records()
        state = self.remote_state()
        problems = self.compare(state, records)
        if problems:
            raise WitnessError("envoi au dépôt témoin refusé : " + " ; ".join(problems))
        new = [r for r in records if r.seq not in state.records]
        if not new:
            return 0
        for record in new:
            path = self.clone / record_path(record.seq)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(record_bytes(record))
        self._git("add", "records")
        self._git("commit", "-q", "-m", f"témoin : enregistrements {new[0].seq} à {new[-1].seq}")
        self._git("push", "-q", "origin", f"HEAD:refs/heads/{BRANCH}")
        return len(new)

    def lag(self, state: RemoteState, records: list[Record]) -> int:
        """How many local records the remote does not hold yet."""
        return sum(1 for r in records if r.seq not in state.records)
