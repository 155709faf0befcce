"""The witnesses never block a write, and the admin dashboard says when one is late."""

from __future__ import annotations

import subprocess

from app_support import AuthActions, make_app
from factories import meeting

from livret.seal.journal import Journal
from livret.store.yamlio import dump_yaml


def configure(project, remote: str) -> None:
    (project.portfolios / "_organisation.yml").write_text(
        dump_yaml({"name": "OF de test", "seal": {"witness_remote": remote}}), encoding="utf-8")


def test_a_witness_that_is_down_never_blocks_a_write_and_is_shown_late(app_project, tmp_path):
    remote = tmp_path / "temoin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    configure(app_project, str(tmp_path / "injoignable.git"))
    app = make_app(app_project.root)
    state = app.extensions["livret"]
    store = state.project.store
    store.append_entry("alice", meeting(title="Pendant la panne du témoin"), "Texte.", author="tina", role="tutor")
    rounds = state.seal.run_once()
    assert rounds["remote"].last_error and "injoignable" in rounds["remote"].last_error
    client = app.test_client()
    auth = AuthActions(client)
    auth.login("ada")  # admin
    board = client.get("/tableau-de-bord").get_data(as_text=True)
    assert "Dépôt témoin en retard" in board
    auth.login("tina")  # a tutor is not told about the organisation's witnesses
    assert "Dépôt témoin en retard" not in client.get("/tableau-de-bord").get_data(as_text=True)

    configure(app_project, str(remote))  # the remote is back: the next round catches up
    rounds = state.seal.run_once()
    assert rounds["remote"].last_error is None and state.seal.late() == []
    pushed = subprocess.run(["git", "ls-tree", "-r", "--name-only", "main"], cwd=remote, capture_output=True,
                            text=True, check=True).stdout.split()
    records = Journal.for_project(state.project).records()
    assert len(pushed) == len(records) and records[-1].kind == "commit"  # the write made during the outage too
