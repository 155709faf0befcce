"""The history checked against the journal: what ``livret verify`` adds to the store's own checks.

- the journal's chain is intact (no record edited, removed or inserted);
- every commit the journal witnessed is still in the history, with the same
  tree, and the head descends from it (an amend, a ``filter-branch``, a
  ``reset --hard``, re-attributed or backdated commits all change ids);
- the history holds no commit the journal does not know after its start: a
  commit made by hand with git is recorded as *foreign* and reported until an
  admin accepts it with a reason (``livret verify --accept``);
- a store whose ``.git`` disappeared while the journal witnessed commits.

Against someone who rewrites the history *and* the journal together (shell
access to both), only a witness outside the machine helps: a witness
repository (:mod:`livret.seal.witness`) or trusted timestamps
(:mod:`livret.seal.timestamps`).  docs/audit.md says so plainly.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store import french
from .journal import Journal, Record, chain_problems

#: At most this many commits are named one by one in a finding; the rest are counted.
NAMED = 10


@dataclass(frozen=True)
class Finding:
    """One thing ``verify`` reports about the seal (French, for people)."""

    message: str
    #: The commit concerned, when there is one (``verify --accept`` takes it).
    commit_id: str = ""

    def __str__(self) -> str:
        return self.message


def _short(commit_id: str) -> str:
    return commit_id[:12]


def history_commits(journal: Journal) -> list[tuple[str, str, str]]:
    """(commit, tree, subject) of every commit reachable from HEAD, oldest first; [] without history."""
    history = journal.history
    if not history.enabled:
        return []
    done = history.git("log", "--reverse", "--format=%H %T %s", "HEAD", check=False)
    if done.returncode != 0:
        return []
    out = []
    for line in done.stdout.decode("utf-8", errors="replace").splitlines():
        commit_id, tree_id, *subject = line.split(" ", 2)
        out.append((commit_id, tree_id, subject[0] if subject else ""))
    return out


def check(journal: Journal, *, record_foreign: bool = True) -> list[Finding]:
    """Findings about the history and the journal (empty when both agree).

    With ``record_foreign``, commits found in the history that livret did
    not make are added to the journal as *foreign* (so that a later rewrite
    of them is caught too); they are reported until accepted.
    """
    journal.replay_spool()
    records = journal.records()
    if not records and not journal.history.enabled:
        return []  # no history, no journal: nothing was ever witnessed (verify says "pas d'historique git")
    if not records:
        return [Finding("aucun journal des commits : l'historique n'est témoigné par rien "
                        "(« livret seal start » commence le journal)")]
    findings = [Finding(f"journal des commits altéré : {p}") for p in chain_problems(records)]
    genesis = records[0]
    history = journal.history
    if not history.enabled:
        witnessed = [r for r in records if r.commit_id]
        if witnessed:
            findings.append(Finding("historique git absent (portfolios/.git) : "
                                    + french.count(len(witnessed), "commit témoigné par le journal est introuvable",
                                                   "commits témoignés par le journal sont introuvables")))
        return findings
    commits = history_commits(journal)
    trees = {c: t for c, t, _ in commits}
    subjects = {c: s for c, _, s in commits}

    # Every witnessed commit is still there, with its tree.
    missing = [r for r in records if r.commit_id and r.commit_id not in trees]
    changed = [r for r in records if r.commit_id in trees and r.tree_id and trees[r.commit_id] != r.tree_id]
    if missing:
        findings.append(Finding(_listed(
            f"{french.count(len(missing), 'commit témoigné absent', 'commits témoignés absents')} de l'historique "
            "(historique réécrit, "
            "remis en arrière ou tronqué)", [f"{_short(r.commit_id)} (n° {r.seq}, {r.recorded})" for r in missing]),
            missing[0].commit_id))
    for r in changed:
        findings.append(Finding(f"commit {_short(r.commit_id)} : son contenu ne correspond plus au journal",
                                r.commit_id))

    # Commits the journal does not know, after its start.
    known = {r.commit_id for r in records if r.commit_id}
    accepted = {r.commit_id for r in records if r.kind == "accepted"}
    start = 0
    if genesis.commit_id:
        ids = [c for c, _, _ in commits]
        if genesis.commit_id in trees:
            start = ids.index(genesis.commit_id) + 1
        # else: the genesis itself is gone (reported above as missing); every commit is then suspect
    foreign_records = {r.commit_id for r in records if r.kind == "foreign"}
    unknown = [c for c, _, _ in commits[start:] if c not in known]
    if unknown and record_foreign:
        for commit_id in unknown:
            journal.append("foreign", commit_id, trees[commit_id], author="")
        foreign_records.update(unknown)
    pending = [c for c, _, _ in commits[start:] if c in foreign_records and c not in accepted] \
        + ([] if record_foreign else [c for c in unknown if c not in foreign_records])
    for commit_id in pending:
        findings.append(Finding(f"commit {_short(commit_id)} fait hors de livret (« {subjects.get(commit_id, '')} ») : "
                                f"à examiner, puis « livret verify --accept {_short(commit_id)} --reason … »",
                                commit_id))
    return findings


def _listed(head: str, items: list[str]) -> str:
    named = ", ".join(items[:NAMED])
    more = f" et {french.count(len(items) - NAMED, 'autre', 'autres')}" if len(items) > NAMED else ""
    return f"{head} : {named}{more}"


def accept(journal: Journal, commit: str, reason: str, *, author: str) -> Record:
    """Record an admin's acknowledgement of a foreign commit (``commit`` may be abbreviated)."""
    reason = " ".join(reason.split())
    if len(reason) < 10:
        raise ValueError("--reason : expliquez en une phrase pourquoi ce commit est accepté (10 caractères au moins)")
    matches = [r for r in journal.records() if r.kind == "foreign" and r.commit_id.startswith(commit.lower())]
    ids = {r.commit_id for r in matches}
    if not ids:
        raise ValueError(f"aucun commit étranger {commit} dans le journal (lancez d'abord « livret verify »)")
    if len(ids) > 1:
        raise ValueError(f"{commit} désigne plusieurs commits : donnez plus de caractères")
    commit_id = ids.pop()
    if any(r.kind == "accepted" and r.commit_id == commit_id for r in journal.records()):
        raise ValueError(f"le commit {_short(commit_id)} est déjà accepté")
    tree = next(r.tree_id for r in matches)
    return journal.append("accepted", commit_id, tree, author=author, note=reason)
