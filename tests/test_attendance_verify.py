"""``livret verify`` on signed attendance: signatures, their drawings and the sessions they seal.

A hand edit of a signature file, of its drawing or of the session file it sealed fails; a session
changed through livret after signing is a note, not a failure.
"""

from __future__ import annotations

import datetime as dt

import pytest
from attendance_support import PARIS
from click.testing import CliRunner
from signed_attendance import NOW, signed_project

from livret.attendance import drawing
from livret.audit.integrity import attendance_notices, verify
from livret.cli import main


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    return signed_project(tmp_path_factory.mktemp("verify") / "proj")


def cli_verify(project):
    return CliRunner().invoke(main, ["verify", "--root", str(project.root)])


def alice_signature(project, chain_id: str):
    return next(e for e in project.store.load_learner("alice").entries
                if e.type == "signature" and e.meta.session == chain_id and e.meta.role == "learner")


def hand_edit(project, rel: str, old: bytes, new: bytes) -> bytes:
    path = project.portfolios / rel
    before = path.read_bytes()
    assert old in before, rel
    path.write_bytes(before.replace(old, new, 1))
    return before


def test_verify_fails_on_a_hand_edited_signature_drawing_or_signed_session(signed):
    project, ids = signed
    assert verify(project) == [] and attendance_notices(project) == []
    result = cli_verify(project)
    assert result.exit_code == 0, result.output
    signature = alice_signature(project, ids["morning"])
    svg = f"alice/{signature.meta.attachments[0]}"
    session = project.store.session(ids["morning"]).path
    cases = [
        (signature.path, b"signer_name: Alice Test", b"signer_name: Alice Tesd", "entrée modifiée après la "
                                                                                 "signature de Tina Martin"),
        (svg, b"M", b"M1 1L999 399M", "pièce jointe modifiée après la signature de Alice Test"),
        (session, b"title: Accueil du public", b"title: Accueil du publik", "séance modifiée après la signature de "
                                                                            "Alice Test"),
    ]
    for rel, old, new, message in cases:
        before = hand_edit(project, rel, old, new)
        try:
            findings = verify(project)
            assert any(f.path == f"portfolios/{rel}" and message in f.message for f in findings), (rel, findings)
            result = cli_verify(project)
            assert result.exit_code == 1 and f"portfolios/{rel}: " in result.output
        finally:
            (project.portfolios / rel).write_bytes(before)
        assert verify(project) == [], rel


def test_a_committed_edit_of_a_session_file_is_reported_as_rewritten(tmp_path):
    project, ids = signed_project(tmp_path / "proj", organisation=None)
    session = project.store.session(ids["thursday"]).path
    hand_edit(project, session, b"place: Salle 3", b"place: Salle 9")
    project.store.history.commit([session], author="mallory", message="correction")
    findings = verify(project)
    assert any(f.kind == "rewritten" and f.path == f"portfolios/{session}" for f in findings)
    assert any(f.kind == "signature" and f.path == f"portfolios/{session}" for f in findings)


def test_a_drawing_outside_the_seal_fails(tmp_path):
    """A signature whose drawing is not among the sealed files (not as the service writes them) is reported."""
    project, ids = signed_project(tmp_path / "proj", organisation=None)
    chain = project.store.session(ids["thursday"])
    from livret.store.signatures import file_sha256

    entry = project.store.append_entry("bob", {
        "type": "signature", "date": "2026-11-12T09:05:00+01:00", "title": "Émargement", "session": ids["thursday"],
        "signer_name": "Bob Test", "method": "password", "signed_as": "drawing", "trainer": "tina",
        "signed": [{"path": chain.path, "sha256": file_sha256(project.store.root, chain.path)}],
    }, "", author="bob", role="learner", internal=True, now=dt.datetime(2026, 11, 12, 9, 5, tzinfo=PARIS),
        generated=[("files/zz-signature.svg", drawing.svg_from_strokes([[(1, 1), (50, 60)]]))])
    findings = verify(project)
    assert [(f.path, f.kind) for f in findings] == [(f"portfolios/{entry.path}", "signature")]
    assert "dessin files/zz-signature.svg hors du sceau de l'émargement de Bob Test" in findings[0].message


def test_a_session_changed_through_livret_after_signing_is_a_note_not_a_failure(signed):
    project, ids = signed
    first = project.store.session(ids["thursday"]).session
    fields = {k: v for k, v in first.model_dump(mode="json").items()
              if k not in ("id", "recorded", "author", "author_name") and v not in (None, [])}
    fields.update(updates=ids["thursday"], reason="Salle indisponible", place="Salle 5")
    project.store.write_sessions([fields], author="ada", message="changement de salle", now=NOW)
    assert verify(project) == []
    notices = attendance_notices(project)
    signature = alice_signature(project, ids["thursday"])
    assert [(n.path, n.kind) for n in notices] == [(f"portfolios/{signature.path}", "notice")]
    assert notices[0].message.startswith("séance modifiée après l'émargement de Alice Test du 12 novembre 2026 "
                                         "(le 20 novembre 2026, motif : Salle indisponible)")
    result = cli_verify(project)
    assert result.exit_code == 0
    assert f"portfolios/{signature.path}: note : séance modifiée après l'émargement de Alice Test" in result.output
