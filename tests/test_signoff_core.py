"""Sign-off in the core: the signing service's refusals, the seal, ``livret verify``, the derived views."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from click.testing import CliRunner
from factories import PARIS, add, when
from signoff_support import NOW, add_visit, signoff_project

from livret.audit.integrity import verify
from livret.cli import main
from livret.signoff.service import SignRefused, sign
from livret.store.errors import InvalidInput
from livret.store.signatures import check_seal
from livret.views import signoffs as sv

LATER = NOW + dt.timedelta(days=1)


@pytest.fixture
def project(tmp_path):
    return signoff_project(tmp_path / "proj")


def sign_as(project, entry_id, username="carl", role="company", name="Carl Martin", learner="alice", **kw):
    return sign(project.store, learner, entry_id, username=username, name=name, role=role,
                method=kw.pop("method", "mail-link"), now=kw.pop("now", LATER), **kw)


def entries_count(project, learner="alice"):
    return len(project.store.load_learner(learner).entries)


def test_a_signature_records_who_how_when_and_the_seal(project):
    report = add_visit(project)
    stored = sign_as(project, report.id, comment="Visite conforme.")
    sig = stored.meta
    assert (sig.type, sig.about, sig.author, sig.role, sig.signer_name, sig.method) == (
        "signature", report.id, "carl", "company", "Carl Martin", "mail-link")
    assert sig.title == "Signature : Visite en entreprise" and sig.visibility == "shared"
    assert sig.date == LATER and sig.recorded == LATER and sig.author_name == "Carl Martin"
    assert [s.path for s in sig.signed] == [report.path]
    assert stored.body == "Visite conforme."
    assert check_seal(project.store.root, sig).intact
    assert project.store.check() == []
    log = subprocess.run(["git", "log", "-1", "--format=%an|%s"], cwd=project.portfolios, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert log == f"carl|alice : signature de {report.id} (carl, tuteur·rice entreprise)"


def test_attachments_are_sealed_too(project):
    evidence = add(project, "alice", {"type": "evidence", "date": when("2026-11-03"), "title": "Ma preuve"},
                   author="alice", role="learner", uploads=[("rapport.txt", b"Rapport de stage\n")])
    sig = sign_as(project, evidence.id).meta
    assert len(sig.signed) == 2 and sig.signed[1].path.startswith("alice/files/")


@pytest.mark.parametrize("who", [("carl", "company", "bob"), ("tom", "tutor", "alice"), ("bob", "learner", "alice")])
def test_a_signer_not_assigned_gets_the_unknown_answer(project, who):
    username, role, learner = who
    report = add_visit(project)
    before = entries_count(project)
    with pytest.raises(SignRefused) as exc:
        sign_as(project, report.id, username=username, role=role, learner=learner)
    assert exc.value.unknown
    assert entries_count(project) == before


def test_a_staff_entry_is_refused_exactly_like_an_unknown_id(project):
    staff = add(project, "alice", {"type": "assessment", "date": when("2026-11-04"), "title": "Évaluation",
                                   "visibility": "staff", "competencies": [{"code": "A1", "level": "3"}]})
    with pytest.raises(SignRefused) as hidden:
        sign_as(project, staff.id)
    unknown_id = "01JM2Q8V6Z9X3K4T5R6S7W8Y9A"
    with pytest.raises(SignRefused) as unknown:
        sign_as(project, unknown_id)
    assert hidden.value.unknown and unknown.value.unknown
    assert str(hidden.value).replace(staff.id, "X") == str(unknown.value).replace(unknown_id, "X")
    assert entries_count(project) == 1


def test_what_no_rule_asks_double_signatures_and_signatures_of_signatures_are_refused(project):
    report = add_visit(project)
    feedback = add(project, "alice", {"type": "feedback", "date": when("2026-11-05"), "title": "Retour"})
    with pytest.raises(SignRefused, match="n'attend pas votre signature"):
        sign_as(project, feedback.id)
    with pytest.raises(SignRefused, match="n'attend pas votre signature"):
        sign_as(project, report.id, username="tina", role="tutor")  # the rule asks learner and company only
    first = sign_as(project, report.id)
    with pytest.raises(SignRefused, match="déjà signé le 21 novembre 2026"):
        sign_as(project, report.id)
    with pytest.raises(SignRefused, match="une signature ne se signe pas"):
        sign_as(project, first.id, username="alice", role="learner", name="Alice Test")
    with pytest.raises(InvalidInput) as long:
        sign_as(project, report.id, username="alice", role="learner", comment="x" * 2001)
    assert long.value.errors[0].field == "comment"
    assert entries_count(project) == 3


def test_the_generic_paths_never_write_a_signature(project):
    report = add_visit(project)
    forged = {"type": "signature", "date": when("2026-11-06"), "title": "Fausse", "about": report.id,
              "signer_name": "Carl", "method": "password", "signed": [{"path": report.path, "sha256": "0" * 64}]}
    with pytest.raises(InvalidInput) as exc:
        add(project, "alice", forged, author="carl", role="company")
    assert "bouton « Signer »" in exc.value.errors[0].message
    from livret.store.schema import types_written_by
    assert "signature" not in types_written_by("admin")


def test_verify_passes_then_names_the_entry_edited_after_signing(project):
    report = add_visit(project)
    sign_as(project, report.id)
    assert verify(project) == []
    path = project.portfolios / report.path
    path.write_text(path.read_text(encoding="utf-8").replace("Compte rendu", "Compte rendu retouché"),
                    encoding="utf-8")
    found = [f for f in verify(project) if f.kind == "signature"]
    assert [str(f) for f in found] == [
        f"portfolios/{report.path}: entrée modifiée après la signature de Carl Martin du 21 novembre 2026"]
    result = CliRunner().invoke(main, ["verify", "--root", str(project.root)])
    assert result.exit_code == 1 and "modifiée après la signature de Carl Martin" in result.output


def test_verify_names_an_attachment_edited_after_signing(project):
    evidence = add(project, "alice", {"type": "evidence", "date": when("2026-11-03"), "title": "Ma preuve"},
                   author="alice", role="learner", uploads=[("rapport.txt", b"Rapport de stage\n")])
    sig = sign_as(project, evidence.id).meta
    assert verify(project) == []
    attachment = project.portfolios / sig.signed[1].path
    attachment.write_bytes(b"Rapport remplace\n")
    found = [str(f) for f in verify(project) if f.kind == "signature"]
    assert found == [f"portfolios/{sig.signed[1].path}: pièce jointe modifiée après la signature de Carl Martin "
                     "du 21 novembre 2026"]


def test_pending_views_follow_rules_roles_visibility_and_corrections(project):
    report = add_visit(project)
    add(project, "alice", {"type": "assessment", "date": when("2026-11-04"), "title": "Évaluation d'équipe",
                           "visibility": "staff", "competencies": [{"code": "A1", "level": "3"}]})
    add(project, "alice", {"type": "feedback", "date": when("2026-11-05"), "title": "Retour"})
    record = project.store.load_learner("alice")
    rules = project.store.settings().signoff.rules
    pending = sv.pending_signoffs(record.profile, record.entries, rules)
    assert {(p.entry_id, p.role, p.signers) for p in pending} == {
        (report.id, "learner", ("alice",)), (report.id, "company", ("carl",))}  # the staff one waits for nobody
    assert pending[0].since == NOW.date() and pending[0].learner_name == "Alice Test"
    sign_as(project, report.id)
    record = project.store.load_learner("alice")
    left = sv.pending_signoffs(record.profile, record.entries, rules)
    assert [(p.role) for p in left] == ["learner"]
    assert sv.pending_for(left, "learner", "alice") == left and sv.pending_for(left, "company", "carl") == []
    # A correction waits again, from its own recording day, for every role.
    later = dt.datetime(2026, 11, 25, 9, 0, tzinfo=PARIS)
    fixed = project.store.append_entry("alice", {**{k: v for k, v in report.to_data().items()
                                                    if k not in ("id", "recorded", "author", "role")},
                                                 "corrects": report.id}, "Corrigé.", author="tina", role="tutor",
                                       now=later)
    record = project.store.load_learner("alice")
    again = sv.pending_signoffs(record.profile, record.entries, rules)
    assert {(p.entry_id, p.role, p.since) for p in again} == {
        (fixed.id, "learner", later.date()), (fixed.id, "company", later.date())}
    grouped = sv.signatures_by_entry(record.entries)
    assert list(grouped) == [report.id]
    [view] = sv.signature_views(grouped[report.id], {grouped[report.id][0].id: check_seal(project.store.root,
                                                                                       grouped[report.id][0])})
    assert view.text == "Signé par Carl Martin (tuteur·rice entreprise) le 21 novembre 2026 — lien reçu par e-mail"
    assert view.seal_text == "intact"


def test_confirmations_depend_on_the_type():
    assert sv.confirmation("evidence") == "Je confirme que cette preuve correspond au travail réalisé."
    assert sv.confirmation("meeting", "visite-entreprise") == "Je confirme l'exactitude de ce compte rendu de visite."
    assert sv.confirmation("assessment") == "J'ai pris connaissance de cette évaluation."


def test_people_file_names_are_read_and_checked(project):
    (project.portfolios / "_people.yml").write_text("tina: Tina Durand\nBAD NAME: X\ncarl: ''\n", encoding="utf-8")
    names, problems = project.store.people()
    assert names == {"tina": "Tina Durand"}
    assert [(p.path, p.line) for p in problems] == [("portfolios/_people.yml", 2), ("portfolios/_people.yml", 3)]
    assert "identifiant invalide" in problems[0].message
    assert len(project.store.check()) == 2
    (project.portfolios / "_people.yml").write_text("tina: [\n", encoding="utf-8")
    [problem] = project.store.check()
    assert problem.path == "portfolios/_people.yml" and problem.line


SIGN_IN_A_PROCESS = """
import datetime as dt, sys, time
import livret.signoff.service as service
from livret.signoff.service import SignRefused, sign
from livret.store.project import Project
project = Project.at(sys.argv[1])
sealed = service.seal_of
def slow_seal(*args, **kw):  # widen the window between « not signed yet » and the write
    time.sleep(0.5)
    return sealed(*args, **kw)
service.seal_of = slow_seal
sys.stdin.readline()  # every process starts, then all sign at once
try:
    sign(project.store, "alice", sys.argv[2], username="carl", role="company", name="Carl Martin",
         method="mail-link", now=dt.datetime.fromisoformat(sys.argv[3]))
    print("signé")
except SignRefused as exc:
    print("refusé", exc)
"""


def test_concurrent_processes_write_one_signature(project):
    """Four processes press « Signer » at the same instant: one signature, three « déjà signé »."""
    import sys

    report = add_visit(project)
    procs = [subprocess.Popen([sys.executable, "-c", SIGN_IN_A_PROCESS, str(project.root), report.id,
                               LATER.isoformat()], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = sorted(proc.communicate(timeout=300)[0].strip() for proc in procs)
    assert [o.split()[0] for o in outputs] == ["refusé", "refusé", "refusé", "signé"], outputs
    assert all("déjà signé" in o for o in outputs[:3])
    signatures = [e for e in project.store.load_learner("alice").entries if e.meta.type == "signature"]
    assert len(signatures) == 1 and project.store.check() == []
