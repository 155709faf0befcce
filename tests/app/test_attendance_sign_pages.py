"""Signing sessions in the app (forms_app/attendance.py): authorization, CSRF, the QR code, the trainer's device,
marks with a proof (upload limits), the countersignature, the learner's list and personal codes.

Sessions are placed around the real clock (the app's); the learners' programmes are moved around today.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from app_support import png_bytes
from attendance_support import add_live_session, around_today, attendance_project

from livret.attendance import qr


def head(project) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=project.portfolios, capture_output=True, text=True,
                          check=True).stdout.strip()


def post_files(auth, url: str, fields: dict, name: str, content: bytes):
    """Post a multipart form as a browser does, encoded in memory (no temporary file left open)."""
    from io import BytesIO

    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    data = MultiDict([*fields.items(), ("csrf_token", auth.token()),
                      ("proof", FileStorage(BytesIO(content), filename=name))])
    boundary, body = encode_multipart(data)
    return auth.client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def entries(project, learner, type_=None):
    return [e for e in project.store.load_learner(learner).entries if type_ is None or e.type == type_]


@pytest.fixture
def app_project(tmp_path, accounts_template):
    """alice and bob in group ``promo`` (carol in none, no account), uploads limited to 1 MB; a session open now."""
    from app_support import install_accounts

    project = attendance_project(tmp_path / "proj", organisation={"name": "OF de test", "uploads": {"max_mb": 1}})
    around_today(project)
    install_accounts(accounts_template, project.instance)
    return project


@pytest.fixture
def chain(app_project):
    return add_live_session(app_project)


def test_who_opens_what(app_project, chain, client, auth):
    expected = {  # (session page, qr.svg, etat.json, emarger, appareil, releve)
        "tina": (200, 200, 200, 404, 200, 200),  # the trainer
        "ada": (200, 200, 200, 404, 200, 200),  # an admin
        "audra": (200, 403, 200, 404, 403, 403),  # an auditor reads
        "tom": (200, 403, 200, 404, 403, 403),  # bob's tutor: his learner's line, read-only
        "carl": (404, 404, 404, 404, 404, 404),  # a company tutor: no session page
        "alice": (302, 403, 404, 200, 403, 403),  # an expected learner
    }
    for user, statuses in expected.items():
        auth.login(user)
        got = tuple(client.get(f"/seances/{chain}{suffix}").status_code
                    for suffix in ("", "/qr.svg", "/etat.json", "/emarger", "/appareil", "/releve"))
        assert got == statuses, user
    auth.login("tom")
    state = client.get(f"/seances/{chain}/etat.json").json
    assert [r["id"] for r in state["rows"]] == ["bob"]  # his learner only
    assert client.get("/seances/01ARZ3NDEKTSV4RRFFQ69G5FAV").status_code == 404
    assert client.get("/seances/pas-une-seance/emarger").status_code == 404


def test_unexpected_learner_gets_404_and_nothing_is_written(app_project, tmp_path, client, auth):
    other = add_live_session(app_project, group=None, convened=["bob"])  # bob only
    auth.login("alice")
    before = head(app_project)
    assert client.get(f"/seances/{other}/emarger").status_code == 404
    assert auth.post(f"/seances/{other}/emarger", {"signed_as": "typed-name", "name": "Alice"}).status_code == 404
    assert head(app_project) == before


def test_learner_signs_by_typed_name_once(app_project, chain, client, auth):
    auth.login("alice")
    page = client.get(f"/seances/{chain}/emarger").text
    assert "Saisir mon nom" in page and 'name="strokes"' in page
    no_token = client.post(f"/seances/{chain}/emarger", data={"signed_as": "typed-name", "name": "Alice"})
    assert no_token.status_code == 400
    assert entries(app_project, "alice", "signature") == []  # no CSRF token: nothing written
    answer = auth.post(f"/seances/{chain}/emarger", {"signed_as": "typed-name", "name": "Alice Test"})
    assert answer.status_code == 303
    (sig,) = entries(app_project, "alice", "signature")
    assert (sig.meta.session, sig.meta.method, sig.meta.signed_as, sig.meta.signer_name) == (
        chain, "password", "typed-name", "Alice Test")
    assert sig.meta.connection is None  # in person: no connection kept
    before = head(app_project)
    again = auth.post(f"/seances/{chain}/emarger", {"signed_as": "typed-name", "name": "Alice Test"})
    assert again.status_code == 422 and "Déjà émargé le" in again.text
    assert head(app_project) == before
    assert "Présent·e (signé)" in client.get("/mes-seances").text
    assert app_project.store.check() == []


def test_drawing_is_checked_and_stored_as_our_svg(app_project, chain, client, auth):
    auth.login("alice")
    empty = auth.post(f"/seances/{chain}/emarger", {"signed_as": "drawing", "strokes": "[]"})
    assert empty.status_code == 422 and "Signature dessinée : le dessin est vide" in empty.text
    hostile = auth.post(f"/seances/{chain}/emarger", {"signed_as": "drawing", "strokes": "<svg onload=x>"})
    assert hostile.status_code == 422 and entries(app_project, "alice") == []
    strokes = [[[100, 100], [300, 200], [500, 120]], [[600, 300]]]
    assert auth.post(f"/seances/{chain}/emarger", {"signed_as": "drawing",
                                                   "strokes": json.dumps(strokes)}).status_code == 303
    (sig,) = entries(app_project, "alice", "signature")
    svg = (app_project.portfolios / "alice" / sig.meta.attachments[0]).read_bytes()
    assert svg.startswith(b"<svg") and b"script" not in svg and b"M100 100L300 200L500 120" in svg
    assert sig.meta.signed[1].path == f"alice/{sig.meta.attachments[0]}"
    page = client.get(f"/seances/{chain}/emarger").text
    assert 'd="M100 100 L300 200 L500 120' in page  # her own signature, re-drawn from the strokes


def test_qr_code_when_required(app_project, chain, client, auth):
    auth.login("tina")
    answer = client.get(f"/seances/{chain}/qr.svg")
    assert answer.headers["Content-Type"].startswith("image/svg+xml") and answer.headers["Cache-Control"] == "no-store"
    assert auth.post(f"/seances/{chain}/exiger-qr", {"required": "1"}).status_code == 303
    assert "Ne plus exiger le code QR" in client.get(f"/seances/{chain}").text
    auth.login("alice")
    refused = auth.post(f"/seances/{chain}/emarger", {"signed_as": "typed-name", "name": "Alice"})
    assert refused.status_code == 422 and "exige le code QR" in refused.text
    stale = auth.post(f"/seances/{chain}/emarger", {"signed_as": "typed-name", "name": "Alice", "code": "AAAAAAAAAA"})
    assert stale.status_code == 422 and entries(app_project, "alice") == []
    db = client.application.extensions["livret"].accounts.db
    code = qr.current_code(db, chain, client.application.extensions["livret"].now(), 30)
    assert f'value="{code}"' in client.get(f"/seances/{chain}/emarger?code={code}").text
    ok = auth.post(f"/seances/{chain}/emarger", {"signed_as": "typed-name", "name": "Alice", "code": code})
    assert ok.status_code == 303
    assert entries(app_project, "alice", "signature")[0].meta.method == "qr-code"


def test_trainer_device_password_or_personal_code(app_project, chain, client, auth):
    auth.login("tina")
    page = client.get(f"/seances/{chain}/appareil").text
    assert "Alice Test" in page and "Bob Test" in page
    before = head(app_project)
    wrong = auth.post(f"/seances/{chain}/appareil", {"learner": "alice", "secret": "482913",
                                                    "signed_as": "typed-name", "name": "Alice"})
    assert wrong.status_code == 422 and "Code personnel incorrect" in wrong.text
    assert head(app_project) == before
    shown = auth.post("/apprenants/alice/code-personnel")
    code = re.search(r'class="code personal-code">(\d{6})<', shown.text).group(1)
    assert auth.post("/apprenants/bob/code-personnel").status_code == 403  # not tina's learner
    ok = auth.post(f"/seances/{chain}/appareil", {"learner": "alice", "secret": code, "signed_as": "typed-name",
                                                 "name": "Alice Test"})
    assert ok.status_code == 303
    sig = entries(app_project, "alice", "signature")[0]
    assert (sig.meta.author, sig.meta.role, sig.meta.method) == ("alice", "learner", "trainer-device")
    from app_support import password_of
    assert auth.post(f"/seances/{chain}/appareil", {"learner": "bob", "secret": password_of("bob"),
                                                   "signed_as": "typed-name", "name": "Bob"}).status_code == 303
    assert "Tout le monde a émargé" in client.get(f"/seances/{chain}/appareil").text


def test_marks_proof_limits_and_countersignature(app_project, chain, client, auth):
    auth.login("tina")
    before = head(app_project)
    big = png_bytes() + b"\0" * (1024 * 1024 + 10)
    too_big = post_files(auth, f"/seances/{chain}/releve", {"learner": "bob", "status": "justified",
                                                            "reason": "Maladie"}, "arret.png", big)
    assert too_big.status_code == 422 and "Justificatif : « arret.png » : fichier trop volumineux" in too_big.text
    no_reason = auth.post(f"/seances/{chain}/releve", {"learner": "bob", "status": "justified"})
    assert no_reason.status_code == 422 and "Motif : indiquez le motif" in no_reason.text
    assert head(app_project) == before
    ok = post_files(auth, f"/seances/{chain}/releve", {"learner": "bob", "status": "justified", "reason": "Maladie",
                                                       "note": "Certificat reçu"}, "arret.png", png_bytes())
    assert ok.status_code == 303
    (note,) = entries(app_project, "bob", "feedback")
    assert note.visibility == "staff" and note.meta.attachments and "Motif : Maladie" in note.body
    assert "Absence justifiée" in client.get(f"/seances/{chain}").text
    auth.login("tom")  # bob's tutor: read-only, no mark
    assert auth.post(f"/seances/{chain}/releve", {"learner": "bob", "status": "absent"}).status_code == 403
    assert auth.post(f"/seances/{chain}/contresigner").status_code == 403
    auth.login("tina")
    early = auth.post(f"/seances/{chain}/contresigner")
    if app_project.store.session(chain).session.start > client.application.extensions["livret"].now().strftime("%H:%M"):
        assert early.status_code == 422 and "une fois la séance commencée" in early.text  # starts in 5 minutes
    started = add_live_session(app_project, started=True)
    assert auth.post(f"/seances/{started}/contresigner").status_code == 303
    lines = [e for lid in ("alice", "bob") for e in entries(app_project, lid, "signature")]
    assert [(e.meta.session, e.meta.role, e.meta.author) for e in lines] == [(started, "tutor", "tina")] * 2
    again = auth.post(f"/seances/{started}/contresigner")
    assert again.status_code == 422 and "Feuille déjà signée" in again.text
    assert app_project.store.check() == []


def test_my_sessions_and_personal_code(app_project, chain, client, auth):
    auth.login("alice")
    page = client.get("/mes-seances").text
    assert "Accueil du public" in page and f"/seances/{chain}/emarger" in page and "Mes séances" in page
    assert auth.post("/compte/code-personnel", {"code": "1234", "confirm": "1234"}).status_code == 422
    weak = auth.post("/compte/code-personnel", {"code": "123456", "confirm": "123456"})
    assert weak.status_code == 422 and "trop facile" in weak.text
    assert auth.post("/compte/code-personnel", {"code": "482913", "confirm": "482914"}).status_code == 422
    assert auth.post("/compte/code-personnel", {"code": "482913", "confirm": "482913"}).status_code == 303
    assert "code défini" in client.get("/compte/code-personnel").text
    auth.login("tina")
    assert client.get("/mes-seances").status_code == 403
    assert client.get("/compte/code-personnel").status_code == 403
