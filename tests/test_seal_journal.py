"""The witness journal against someone who can run git in portfolios/.

Each attack of the red team is reproduced on a real git store whose writes
went through the store API with the journal registered; ``check`` must
report each one, and an untouched store must pass.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from factories import add, make_project, meeting, when

from livret.instance.db import DB_NAME
from livret.seal import witnessed
from livret.seal.check import accept, check
from livret.seal.journal import ORIGIN, Journal, chain_problems


def git(project, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "intrus", "GIT_AUTHOR_EMAIL": "i@x", "GIT_COMMITTER_NAME": "intrus",
           "GIT_COMMITTER_EMAIL": "i@x", "FILTER_BRANCH_SQUELCH_WARNING": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(["git", *args], cwd=project.portfolios, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def sealed(tmp_path):
    """A project whose journal started at creation, with three entries written through livret."""
    project = make_project(tmp_path / "p")
    journal = witnessed(project)
    entries = [add(project, "alice", meeting(title=f"Entretien {n}", date=when(f"2026-02-0{n + 1}")))
               for n in range(3)]
    assert check(journal) == []
    return project, journal, entries


def messages(findings) -> str:
    return "\n".join(str(f) for f in findings)


def test_every_write_is_one_chained_record_without_personal_data(sealed):
    project, journal, entries = sealed
    records = journal.records()
    assert [r.kind for r in records] == ["genesis", "commit", "commit", "commit"]
    assert records[0].prev == ORIGIN and chain_problems(records) == []
    assert all(r.prev == p.hash for p, r in zip(records, records[1:], strict=False))
    head = git(project, "rev-parse", "HEAD").strip()
    assert records[-1].commit_id == head
    assert records[-1].tree_id == git(project, "rev-parse", "HEAD^{tree}").strip()
    raw = (project.instance / DB_NAME).read_bytes()
    assert b"tina" not in raw and b"alice" not in raw  # authors are salted hashes, no learner named
    assert records[-1].author == journal.author_hash("tina") != journal.author_hash("tom")


def test_amend_of_the_commit_that_added_an_entry(sealed):
    project, journal, entries = sealed
    path = project.portfolios / entries[-1].path
    path.write_text(path.read_text(encoding="utf-8").replace("Texte.", "Texte modifié."), encoding="utf-8")
    git(project, "commit", "-q", "--amend", "-a", "--no-edit")
    assert "de l'historique (historique réécrit" in messages(check(journal))


def test_filter_branch_that_edits_an_entry_where_it_was_added(sealed):
    project, journal, entries = sealed
    target = entries[0].path
    git(project, "filter-branch", "-f", "--tree-filter",
        f"test -f {target} && sed -i 's/Texte./Falsifié./' {target} || true", "HEAD")
    found = messages(check(journal))
    assert "de l'historique (historique réécrit" in found


def test_filter_branch_that_removes_an_entry_from_every_commit(sealed):
    project, journal, entries = sealed
    target = entries[1].path
    git(project, "filter-branch", "-f", "--index-filter", f"git rm -q --cached --ignore-unmatch {target}", "HEAD")
    assert "de l'historique (historique réécrit" in messages(check(journal))


def test_reset_hard_over_two_committed_entries(sealed):
    project, journal, _ = sealed
    git(project, "reset", "-q", "--hard", "HEAD~2")
    found = check(journal)
    assert "2 commits témoignés absents" in messages(found)


def test_every_commit_reattributed_and_backdated(sealed):
    project, journal, _ = sealed
    git(project, "filter-branch", "-f", "--env-filter",
        "GIT_AUTHOR_NAME=autre; GIT_AUTHOR_DATE='2020-01-01T10:00:00'; GIT_COMMITTER_DATE='2020-01-01T10:00:00'",
        "HEAD")
    assert "de l'historique (historique réécrit" in messages(check(journal))


def test_git_folder_deleted(sealed):
    project, journal, _ = sealed
    shutil.rmtree(project.portfolios / ".git")
    assert "historique git absent" in messages(check(journal))


def test_journal_truncated(sealed):
    project, journal, _ = sealed
    with sqlite3.connect(project.instance / DB_NAME) as conn:
        conn.execute("DELETE FROM journal WHERE seq >= 3")
    found = check(journal)
    assert chain_problems(journal.records()[:2]) == []  # a prefix is a valid chain...
    assert "fait hors de livret" in messages(found)  # ...but the history holds commits it does not know


def test_journal_edited(sealed):
    project, journal, _ = sealed
    with sqlite3.connect(project.instance / DB_NAME) as conn:
        conn.execute("UPDATE journal SET recorded = '2020-01-01T00:00:00+00:00' WHERE seq = 2")
    assert "modifié après coup" in messages(check(journal))


def test_journal_record_removed_from_the_middle(sealed):
    project, journal, _ = sealed
    with sqlite3.connect(project.instance / DB_NAME) as conn:
        conn.execute("DELETE FROM journal WHERE seq = 2")
    assert "enregistrement n° 2 manquant" in messages(check(journal))


def test_a_hand_commit_is_foreign_until_accepted_with_a_reason(sealed):
    project, journal, entries = sealed
    (project.portfolios / "alice" / "learner.md").write_text(
        (project.portfolios / "alice" / "learner.md").read_text(encoding="utf-8") + "\nAjout manuel.\n",
        encoding="utf-8")
    git(project, "commit", "-q", "-am", "correction à la main")
    commit = git(project, "rev-parse", "HEAD").strip()
    found = check(journal)
    assert [f.commit_id for f in found] == [commit]
    assert "correction à la main" in str(found[0])
    assert [f.commit_id for f in check(journal)] == [commit]  # still reported, recorded once
    assert sum(r.kind == "foreign" for r in journal.records()) == 1
    with pytest.raises(ValueError, match="--reason"):
        accept(journal, commit[:10], "ok", author="admin")
    accept(journal, commit[:10], "Faute de frappe corrigée dans le profil par l'administratrice.", author="admin")
    assert check(journal) == []
    record = journal.records()[-1]
    assert record.kind == "accepted" and journal.note(record.seq).startswith("Faute de frappe")
    # A later rewrite of the accepted commit is still caught: it is in the chain.
    git(project, "commit", "-q", "--amend", "-m", "autre message")
    assert "de l'historique (historique réécrit" in messages(check(journal))


def test_an_untouched_store_passes_and_livret_writes_are_never_foreign(sealed):
    project, journal, _ = sealed
    project.store.write_profile(project.store.profile("bob"), "Nouveau texte.", author="admin",
                                message="bob : profil modifié")
    for n in range(3):
        add(project, "bob", meeting(title=f"Suivi {n}"))
    assert check(journal) == []


def test_a_journal_that_cannot_be_written_spools_then_replays_in_order(sealed):
    project, journal, _ = sealed
    db_file = project.instance / DB_NAME
    moved = db_file.with_name("ailleurs.sqlite3")
    for suffix in ("", "-wal", "-shm"):
        if db_file.with_name(DB_NAME + suffix).exists():
            db_file.with_name(DB_NAME + suffix).rename(moved.with_name("ailleurs.sqlite3" + suffix))
    db_file.mkdir()  # the database cannot be opened: the journal spools
    spooled = add(project, "alice", meeting(title="Pendant la panne"))
    assert (project.instance / "seal" / "spool.jsonl").is_file()
    db_file.rmdir()
    for suffix in ("", "-wal", "-shm"):
        if moved.with_name("ailleurs.sqlite3" + suffix).exists():
            moved.with_name("ailleurs.sqlite3" + suffix).rename(db_file.with_name(DB_NAME + suffix))
    later = add(project, "alice", meeting(title="Après la panne"))
    assert not (project.instance / "seal" / "spool.jsonl").exists()
    ids = [r.commit_id for r in journal.records()[-2:]]
    head = git(project, "log", "--format=%H", "-2").split()
    assert ids == list(reversed(head))  # spooled record first, then the later one
    assert check(journal) == []
    assert spooled.id and later.id


def test_registering_twice_keeps_one_hook(sealed):
    project, journal, _ = sealed
    again = witnessed(project)
    assert again is journal
    assert sum(getattr(h, "__self__", None) is journal for h in project.store.after_commit) == 1
    assert Journal.for_project(project).records() == journal.records()


def test_a_commit_left_unjournaled_by_a_crash_is_caught_up_at_the_next_start(sealed):
    """Killed between the commit and the record: the next start journals what livret itself wrote."""
    project, journal, _ = sealed
    from livret.store import Store
    from livret.store.project import Project

    unwitnessed = Store(project.portfolios, display_root=project.root)  # no hook: as if killed after the commit
    unwitnessed.append_entry("alice", meeting(title="Écrite juste avant l'arrêt"), "Texte.",
                             author="tina", role="tutor")
    assert "fait hors de livret" in messages(check(journal, record_foreign=False))
    restarted = witnessed(Project.at(project.root))
    assert restarted.records()[-1].kind == "commit"
    assert restarted.note(restarted.records()[-1].seq).startswith("journalisé au redémarrage")
    assert check(restarted) == []


def test_catching_up_never_takes_a_hand_commit(sealed):
    project, journal, entries = sealed
    path = project.portfolios / entries[0].path
    path.write_text(path.read_text(encoding="utf-8") + "\nAjout.\n", encoding="utf-8")
    git(project, "commit", "-q", "-am", "modification à la main")
    from livret.store.project import Project

    restarted = witnessed(Project.at(project.root))
    assert restarted.records()[-1].commit_id != git(project, "rev-parse", "HEAD").strip()
    assert "fait hors de livret" in messages(check(restarted))


def test_catching_up_finds_a_commit_older_than_the_last_record(sealed):
    """Threads' hooks run in any order: the commit left out may come before the last one recorded."""
    project, journal, _ = sealed
    from livret.store import Store
    from livret.store.project import Project

    Store(project.portfolios, display_root=project.root).append_entry(
        "alice", meeting(title="Commit sans enregistrement"), "Texte.", author="tina", role="tutor")
    left_out = git(project, "rev-parse", "HEAD").strip()
    add(project, "alice", meeting(title="Enregistré ensuite"))  # journaled, after the one left out
    restarted = witnessed(Project.at(project.root))
    assert left_out in {r.commit_id for r in restarted.records()}
    assert check(restarted) == []


def test_a_framework_import_from_the_command_line_is_witnessed(sealed):
    project, journal, _ = sealed
    from click.testing import CliRunner

    from livret.cli import main

    csv = Path(__file__).parent / "fixtures" / "interop" / "moodle-tuteur-fr.csv"
    result = CliRunner().invoke(main, ["framework", "import", str(csv), "--format", "moodle", "--id", "cadre",
                                       "--root", str(project.root)])
    assert result.exit_code == 0, result.output
    assert journal.records()[-1].commit_id == git(project, "rev-parse", "HEAD").strip()
    assert check(journal) == []


def test_concurrent_first_writes_share_one_salt(tmp_path):
    """The first writes of a new instance, in several threads at once, all get the one salt."""
    import threading

    project = make_project(tmp_path / "p")
    journals = [Journal.for_project(project) for _ in range(8)]
    (project.instance / "seal" / "salt").unlink(missing_ok=True)  # no write has needed it yet
    hashes, errors = [], []

    def first_write(journal):
        try:
            hashes.append(journal.author_hash("tina"))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=first_write, args=(j,)) for j in journals]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(hashes)) == 1
