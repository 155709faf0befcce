"""The witness repository: records pushed to a git remote (a bare repository here), checked back.

The combined attack — the history and the local journal rewritten together —
is caught by the remote.
"""

from __future__ import annotations

import sqlite3
import subprocess

import pytest
from factories import add, make_project, meeting

from livret.seal import witnessed
from livret.seal.check import check
from livret.seal.journal import record_hash
from livret.seal.witness import Witness, WitnessError, record_path


@pytest.fixture
def remote(tmp_path):
    path = tmp_path / "temoin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    subprocess.run(["git", "config", "receive.denyNonFastForwards", "true"], cwd=path, check=True)
    return path


@pytest.fixture
def sealed(tmp_path):
    project = make_project(tmp_path / "p")
    journal = witnessed(project)
    for n in range(3):
        add(project, "alice", meeting(title=f"Entretien {n}"))
    return project, journal


def test_push_sends_only_new_records_and_verifies_back(sealed, remote):
    project, journal = sealed
    witness = Witness(journal, str(remote))
    assert witness.push() == 4  # genesis + 3 commits
    assert witness.push() == 0
    add(project, "bob", meeting())
    assert witness.push() == 1
    state = witness.remote_state()
    assert sorted(state.records) == [1, 2, 3, 4, 5]
    assert witness.compare(state, journal.records()) == []
    listing = subprocess.run(["git", "ls-tree", "-r", "--name-only", "main"], cwd=remote, capture_output=True,
                             text=True, check=True).stdout.split()
    assert record_path(5) in listing
    # Hashes and ids only: nothing of the store reaches the remote.
    objects = subprocess.run(["git", "log", "-p", "main"], cwd=remote, capture_output=True, text=True).stdout
    assert "tina" not in objects and "Entretien" not in objects and "alice" not in objects


def test_history_and_journal_rewritten_together_are_caught_by_the_remote(sealed, remote):
    project, journal = sealed
    witness = Witness(journal, str(remote))
    witness.push()
    # The insider resets the history, then rebuilds the journal's tail so that it matches.
    subprocess.run(["git", "reset", "-q", "--hard", "HEAD~1"], cwd=project.portfolios, check=True)
    with sqlite3.connect(journal.db.path) as conn:
        conn.execute("DELETE FROM journal WHERE seq = 4")
    assert check(journal, record_foreign=False) == []  # locally, everything agrees again
    findings = witness.compare(witness.remote_state(), journal.records())
    assert any("journal tronqué" in f for f in findings)
    with pytest.raises(WitnessError, match="refusé"):
        witness.push()


def test_a_recomputed_journal_differs_from_the_remote(sealed, remote):
    project, journal = sealed
    witness = Witness(journal, str(remote))
    witness.push()
    first = journal.records()[1]
    forged_time = "2020-01-01T00:00:00+00:00"
    forged = record_hash(first.seq, first.kind, first.commit_id, first.tree_id, forged_time, first.author,
                         first.note, first.prev)
    with sqlite3.connect(journal.db.path) as conn:
        conn.execute("UPDATE journal SET recorded = ?, hash = ? WHERE seq = ?", (forged_time, forged, first.seq))
    findings = witness.compare(witness.remote_state(), journal.records())
    assert any("journal réécrit" in f for f in findings)


def test_a_remote_whose_history_was_rewritten_is_reported(sealed, remote, tmp_path):
    project, journal = sealed
    witness = Witness(journal, str(remote))
    witness.push()
    work = tmp_path / "w"
    subprocess.run(["git", "clone", "-q", str(remote), str(work)], check=True)
    target = work / record_path(2)
    target.write_text(target.read_text(encoding="utf-8").replace("commit", "foreign"), encoding="utf-8")
    env = {"GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x", "GIT_COMMITTER_NAME": "x", "GIT_COMMITTER_EMAIL": "x@x",
           "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "commit", "-qam", "réécriture"], cwd=work, check=True, env=env)
    subprocess.run(["git", "push", "-q", "origin", "HEAD:main"], cwd=work, check=True, env=env)
    findings = witness.compare(witness.remote_state(), journal.records())
    assert any("a été réécrit" in f for f in findings)


def test_an_unreachable_remote_is_a_clear_error(sealed, tmp_path):
    _, journal = sealed
    with pytest.raises(WitnessError, match="injoignable"):
        Witness(journal, str(tmp_path / "absent.git")).push()
