"""``livret verify``: integrity of the store against its git history (real git, real files)."""

from __future__ import annotations

import subprocess

import pytest
from click.testing import CliRunner
from factories import add, make_project, meeting

from livret.audit.integrity import describe_change, verify
from livret.cli import main


def files_of(findings):
    """The findings about files; a commit made by hand is also one of the seal (tests/test_seal_journal.py),
    checked here once: every hand commit of these tests is reported as made outside livret."""
    seal = [f for f in findings if f.kind == "seal"]
    assert seal and all("fait hors de livret" in f.message for f in seal)
    return [f for f in findings if f.kind != "seal"]


def run_verify(project):
    result = CliRunner().invoke(main, ["verify", "--root", str(project.root)])
    return result.exit_code, result.output


def git(project, *args):
    return subprocess.run(["git", "-c", "user.name=x", "-c", "user.email=x@x", *args],
                          cwd=project.portfolios, capture_output=True, text=True, check=True).stdout


def added_by(project, rel):
    return git(project, "log", "--diff-filter=A", "--format=%H", "--", rel).strip()


@pytest.fixture
def filled(project):
    first = add(project, "alice", meeting(title="Premier entretien"), "Tout va bien.")
    second = add(project, "alice", meeting(title="Deuxième entretien", date="2026-03-02T10:00:00+01:00"))
    other = add(project, "bob", meeting(), author="tom")
    return project, first, second, other


def test_clean_store_passes(filled):
    project = filled[0]
    assert verify(project) == []
    code, out = run_verify(project)
    assert code == 0, out
    assert "Dépôt intact" in out


def test_edit_in_place_is_named_with_its_commit(filled):
    project, first, _, _ = filled
    path = project.portfolios / first.path
    commit = added_by(project, first.path)
    assert len(commit) == 40
    path.write_text(path.read_text().replace("Premier entretien", "Entretien réécrit")
                    .replace("Tout va bien.", "Tout va mal."), encoding="utf-8")
    code, out = run_verify(project)
    assert code == 1
    lines = [line for line in out.splitlines() if line.startswith("portfolios/")]
    assert lines == [
        f"portfolios/{first.path}: entrée modifiée après son enregistrement (ajoutée par le commit "
        f"{commit}) : en-tête modifié (title) ; texte modifié (+1 −1 lignes)"
    ]


def test_deleted_and_uncommitted_files_are_named(filled):
    project, _, second, other = filled
    (project.portfolios / second.path).unlink()
    stray = project.portfolios / "bob" / "entries" / "2026-04-01-feedback-abcdefgh.md"
    stray.write_text((project.portfolios / other.path).read_text(), encoding="utf-8")
    (project.portfolios / "bob" / "files" / "notes.txt").write_text("pas dans git", encoding="utf-8")
    findings = {f.path: f for f in verify(project)}
    deleted = findings[f"portfolios/{second.path}"]
    assert deleted.kind == "deleted"
    assert deleted.commit == added_by(project, second.path)
    assert f"supprimée après son enregistrement (ajoutée par le commit {deleted.commit})" in deleted.message
    assert findings["portfolios/bob/files/notes.txt"].kind == "untracked"
    assert findings["portfolios/bob/files/notes.txt"].message.startswith("fichier jamais enregistré ")
    assert findings[f"portfolios/{stray.relative_to(project.portfolios)}"].kind == "untracked"
    # the copy reuses an id: the store's own check reports it too, with its line
    parse = [f for f in verify(project) if f.kind == "parse"]
    assert parse and parse[0].line == 2 and "déjà utilisé" in parse[0].message
    code, _ = run_verify(project)
    assert code == 1


def test_a_staged_file_is_not_a_committed_one(filled):
    project = filled[0]
    (project.portfolios / "alice" / "files" / "photo.txt").write_text("x", encoding="utf-8")
    git(project, "add", "alice/files/photo.txt")
    [finding] = verify(project)
    assert finding.path == "portfolios/alice/files/photo.txt" and finding.kind == "untracked"


def test_an_edit_committed_afterwards_is_still_reported(filled):
    project, first, _, _ = filled
    path = project.portfolios / first.path
    origin = added_by(project, first.path)
    path.write_text(path.read_text().replace("duration: 45", "duration: 90"), encoding="utf-8")
    git(project, "commit", "-qam", "correction discrète")
    tamper = git(project, "rev-parse", "HEAD").strip()
    [finding] = files_of(verify(project))
    assert finding.kind == "rewritten" and finding.commit == origin
    assert str(finding) == (
        f"portfolios/{first.path}: entrée modifiée par le commit {tamper} (x, "
        f"{git(project, 'log', '-1', '--format=%as').strip()}) après son ajout par le commit {origin} : "
        "en-tête modifié (duration)"
    )


def test_a_deletion_committed_afterwards_is_reported(filled):
    project, _, _, other = filled
    git(project, "rm", "-q", other.path)
    git(project, "commit", "-qm", "ménage")
    [finding] = files_of(verify(project))
    assert finding.kind == "rewritten" and "supprimée par le commit" in finding.message


def test_profile_changes_through_the_store_are_not_tampering(filled):
    project = filled[0]
    record = project.store.load_learner("alice")
    profile = record.profile.model_copy(update={"programme": "Nouvelle formation"})
    project.store.write_profile(profile, record.profile_body, author="admin", message="profil")
    assert verify(project) == []


def test_unparseable_file_is_reported_with_its_line(filled):
    project = filled[0]
    bad = project.portfolios / "bob" / "entries" / "2026-05-01-meeting-zzzzzzzz.md"
    bad.write_text("---\ntype: meeting\ntitle: [oops\n---\n", encoding="utf-8")
    git(project, "add", ".")
    git(project, "commit", "-qm", "ajout à la main")
    [finding] = files_of(verify(project))
    assert finding.kind == "parse" and str(finding).startswith(
        "portfolios/bob/entries/2026-05-01-meeting-zzzzzzzz.md:")


def test_failing_fsck_is_reported(filled):
    project, first, _, _ = filled
    blob = git(project, "rev-parse", f"HEAD:{first.path}").strip()
    obj = project.portfolios / ".git" / "objects" / blob[:2] / blob[2:]
    obj.chmod(0o644)
    obj.write_bytes(b"not a zlib stream")
    findings = verify(project)
    fsck = [f for f in findings if f.kind == "fsck"]
    assert fsck and fsck[0].path == "portfolios/.git" and "git fsck a échoué" in fsck[0].message
    assert run_verify(project)[0] == 1


def test_store_without_git_checks_parsing_only(tmp_path):
    project = make_project(tmp_path / "nogit", git=False)
    add(project, "alice", meeting())
    assert verify(project) == []
    (project.portfolios / "alice" / "learner.md").write_text("pas d'en-tête\n", encoding="utf-8")
    code, out = run_verify(project)
    assert code == 1 and "portfolios/alice/learner.md:1: pas d'en-tête YAML" in out


def test_missing_store_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["verify", "--root", str(tmp_path)])
    assert result.exit_code == 2 and "pas de dossier portfolios/" in result.output


def test_describe_change_names_keys_and_lines():
    before = b"---\ntitle: A\nkind: suivi\n---\n\nun\ndeux\n"
    after = b"---\ntitle: B\nkind: suivi\nduration: 3\n---\n\nun\ntrois\nquatre\n"
    assert describe_change(before, after) == "en-tête modifié (title, duration) ; texte modifié (+2 −1 lignes)"
    assert describe_change(b"\x89PNG\x00", b"\x89PNG\x00\x01") == "contenu modifié (5 → 6 octets)"
    assert describe_change(b"a\n", b"a\r\n") == "modification d'espaces ou de fins de ligne"
    assert describe_change(b"---\ntitle: A\n---\n", b"---\ntitle: [\n---\n").startswith("en-tête YAML devenu illisible")
    assert describe_change(None, b"x") == "version précédente introuvable"
