"""Signing sessions in the core (livret.attendance): windows, who is expected, twice, cancelled sessions, the
trainer's device, the countersignature and marks, concurrent presses, the drawing, the QR code, personal codes.

Fixed clocks: the session of 10 November 2026, 09:00-12:30 (own device: 08:45-09:30; trainer's device: until 12:30).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import threading

import pytest
from attendance_support import add_session, at, attendance_project, cancel_session
from factories import PARIS

from livret.attendance import drawing, qr
from livret.attendance.codes import PersonalCodes
from livret.attendance.service import AttendanceRefused, countersign, mark, sign_session
from livret.instance.accounts import Accounts, LoginRefused
from livret.instance.db import InstanceDB
from livret.store.errors import InvalidInput
from livret.store.signatures import check_seal
from livret.views.attendance import session_sheet


@pytest.fixture
def project(tmp_path):
    return attendance_project(tmp_path / "proj")


@pytest.fixture
def chain(project):
    return add_session(project)


def head(project) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=project.portfolios, capture_output=True, text=True,
                          check=True).stdout.strip()


def signs(project, chain_id, learner="alice", now=None, **kw):
    kw.setdefault("method", "password")
    kw.setdefault("signed_as", "typed-name")
    return sign_session(project.store, chain_id, learner, username=kw.pop("username", learner),
                        name=kw.pop("name", f"{learner.capitalize()} Test"), role=kw.pop("role", "learner"),
                        now=now or at(8, 50), **kw)


def refused(project, fn, *args, match: str, **kw):
    before = head(project)
    with pytest.raises((AttendanceRefused, InvalidInput)) as info:
        fn(*args, **kw)
    assert match in str(info.value) or any(match in e.message for e in getattr(info.value, "errors", []))
    assert head(project) == before  # nothing written
    return info.value


def test_window_opens_15_minutes_before_and_closes_30_minutes_after(project, chain):
    refused(project, signs, project, chain, now=at(8, 44), match="l'émargement ouvre le 10 novembre 2026 à 08:45")
    refused(project, signs, project, chain, "bob", now=at(9, 30), match="l'émargement est clos depuis 09:30")
    sig = signs(project, chain, now=at(8, 45)).meta
    assert (sig.session, sig.method, sig.signed_as, sig.trainer, sig.trainer_name, sig.visibility) == (
        chain, "password", "typed-name", "tina", "Tina Martin", "shared")
    assert sig.signed[0].path == project.store.session(chain).path and check_seal(project.store.root, sig).intact
    refused(project, signs, project, chain, now=at(9, 0), match="déjà émargé le 10 novembre 2026 à 08:45")
    # the trainer's device: until the end of the session
    assert signs(project, chain, "bob", now=at(12, 29), method="trainer-device").meta.method == "trainer-device"
    other = add_session(project, start="09:00", end="10:00", title="Autre")
    refused(project, signs, project, other, now=at(10, 0), method="trainer-device", match="clos depuis 10:00")
    assert project.store.check() == []


def test_only_expected_learners_sign_for_themselves(project, chain):
    err = refused(project, signs, project, chain, "carol", match="aucune séance")  # in no group, not convened
    assert err.unknown
    refused(project, signs, project, chain, "alice", username="bob", match="aucune séance")  # not her account
    refused(project, signs, project, chain, "alice", role="tutor", match="seul·e l'apprenant·e")
    refused(project, signs, project, "01ARZ3NDEKTSV4RRFFQ69G5FAV", match="aucune séance")
    convened = add_session(project, group=None, convened=["carol"], title="Rattrapage")
    assert signs(project, convened, "carol").meta.session == convened
    refused(project, signs, project, convened, "alice", match="aucune séance")


def test_a_cancelled_session_is_not_signed_and_a_change_keeps_the_chain(project, chain):
    change = cancel_session(project, chain)
    refused(project, signs, project, chain, match="annulée")
    refused(project, signs, project, change, match="aucune séance")  # a change is named by its chain's first id
    refused(project, mark, project.store, chain, "alice", status="absent", username="tina", name="Tina",
            role="tutor", now=at(10), match="annulée")


def test_a_distance_session_keeps_the_connection(project):
    remote = add_session(project, modality="distance-synchrone", video_link="https://visio.example/abc")
    sig = signs(project, remote, connection={"ip": "203.0.113.9", "user_agent": "Firefox"}).meta
    assert sig.connection.ip == "203.0.113.9" and sig.connection.user_agent == "Firefox"
    in_person = add_session(project, start="10:00", end="12:00", title="En salle")
    assert signs(project, in_person, now=at(9, 50), connection={"ip": "203.0.113.9"}).meta.connection is None


def test_a_drawing_is_sealed_with_the_session(project, chain):
    strokes = [[[10, 10], [200, 150.4]], [[500, 300]]]
    stored = signs(project, chain, signed_as="drawing", strokes=strokes)
    svg_path = project.portfolios / "alice" / stored.meta.attachments[0]
    assert [s.path for s in stored.meta.signed] == [project.store.session(chain).path,
                                                   f"alice/{stored.meta.attachments[0]}"]
    assert drawing.strokes_from_svg(svg_path.read_bytes()) == [[(10, 10), (200, 150)], [(500, 300), (500, 300)]]
    assert check_seal(project.store.root, stored.meta).intact and project.store.check() == []
    svg_path.write_bytes(svg_path.read_bytes().replace(b"M10 10", b"M11 10"))  # edited by hand
    assert check_seal(project.store.root, stored.meta).changed == [f"alice/{stored.meta.attachments[0]}"]


@pytest.mark.parametrize("strokes, message", [
    (None, "le dessin est vide"), ("[]", "le dessin est vide"), ("[[[1, 1]]]", "le dessin est vide"),
    ("<svg/>", "dessin illisible"), ("[[[1, 2, 3]]]", "un point est [x, y]"),
    ("[[[1001, 5], [2, 2]]]", "sort du cadre"),
    ([[[1, 1], [2, 2]]] * 51, "trop de traits"), ([[[i % 1000, 1] for i in range(2001)]], "trop détaillé"),
    ('[[["1", 2], [3, 4]]]', "un point est [x, y]"), ("[[[NaN, 2], [3, 4]]]", "un point est [x, y]"),
])
def test_a_bad_drawing_is_refused_naming_the_field(project, chain, strokes, message):
    err = refused(project, signs, project, chain, signed_as="drawing", strokes=strokes, match=message)
    assert err.errors[0].field == "strokes" and err.errors[0].message.startswith("signature dessinée : ")


def test_strokes_from_svg_reads_only_our_format():
    svg = drawing.drawing_svg([[[0, 0], [1000, 400]]])
    assert drawing.strokes_from_svg(svg) == [[(0, 0), (1000, 400)]]
    for other in (b"<svg><script>alert(1)</script></svg>", svg.replace(b"L1000", b"L1000<a/>"), b"\xff"):
        with pytest.raises(ValueError):
            drawing.strokes_from_svg(other)


def test_two_presses_at_once_write_one_signature(project, chain):
    results = []

    def press():
        try:
            results.append(signs(project, chain).id)
        except AttendanceRefused as exc:
            results.append(str(exc))

    threads = [threading.Thread(target=press) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.startswith("déjà émargé") for r in results) == 3
    assert len([e for e in project.store.load_learner("alice").entries if e.type == "signature"]) == 1
    assert project.store.check() == []


def test_marks_rules_and_the_staff_note(project, chain):
    by_tina = {"username": "tina", "name": "Tina Martin", "role": "tutor"}
    refused(project, mark, project.store, chain, "alice", status="late", username="tom", name="Tom", role="tutor",
            now=at(10), match="seul·e le formateur")
    refused(project, mark, project.store, chain, "alice", status="late", now=at(10), match="minutes", **by_tina)
    refused(project, mark, project.store, chain, "alice", status="late", minutes=210, now=at(10),
            match="entre 1 et 209", **by_tina)
    refused(project, mark, project.store, chain, "alice", status="justified", now=at(10), match="motif", **by_tina)
    refused(project, mark, project.store, chain, "alice", status="absent", now=at(8), match="une fois la séance",
            **by_tina)
    refused(project, mark, project.store, chain, "alice", status="absent", proof=("a.pdf", b"%PDF-1.4"), now=at(10),
            match="justificatif", **by_tina)
    refused(project, mark, project.store, chain, "bob", status="justified", reason="Maladie", now=at(10),
            proof=("a.exe", b"MZ\x90\x00"), match="justificatif : « a.exe » : type de fichier", **by_tina)
    refused(project, mark, project.store, chain, "carol", status="absent", now=at(10), match="aucune séance",
            **by_tina)
    signs(project, chain)
    late = mark(project.store, chain, "alice", status="late", minutes=20, now=at(10), **by_tina)
    assert (late.meta.status, late.meta.minutes, late.meta.session, late.visibility) == ("late", 20, chain, "shared")
    # a justification arriving after the session, by an admin, with its proof
    mark(project.store, chain, "bob", status="justified", reason="Arrêt maladie", note="Reçu par courrier",
         proof=("arret.pdf", b"%PDF-1.4 arret"), username="ada", name="Ada", role="admin", now=at(18))
    (note,) = [e for e in project.store.load_learner("bob").entries if e.type == "feedback"]
    assert note.visibility == "staff" and note.meta.attachments[0].endswith("-arret.pdf")
    assert note.body.strip() == "Motif : Arrêt maladie\n\nReçu par courrier"
    rows = dict(session_sheet(project.store, chain, at(18)).rows)
    assert (rows["alice"].state, rows["alice"].hours_attended) == ("late", 3.1667)
    assert (rows["bob"].state, rows["bob"].hours_justified, len(rows["bob"].notes)) == ("justified", 3.5, 1)
    assert project.store.check() == []


def test_countersignature_seals_each_line_and_only_changes_sign_again(project, chain):
    by_tina = {"username": "tina", "name": "Tina Martin", "role": "tutor"}
    refused(project, countersign, project.store, chain, now=at(8, 59), match="une fois la séance commencée",
            **by_tina)
    refused(project, countersign, project.store, chain, username="tom", name="Tom", role="tutor", now=at(10),
            match="seul·e le formateur")
    alice_sig = signs(project, chain)
    lines = countersign(project.store, chain, now=at(12, 30), **by_tina)
    assert [e.path.split("/")[0] for e in lines] == ["alice", "bob"]
    session_file = project.store.session(chain).path
    assert [s.path for s in lines[0].meta.signed] == [session_file, alice_sig.path]
    assert [s.path for s in lines[1].meta.signed] == [session_file]
    assert all((e.meta.role, e.meta.session, e.meta.method) == ("tutor", chain, "password") for e in lines)
    refused(project, countersign, project.store, chain, now=at(12, 40), match="déjà signée", **by_tina)
    absent = mark(project.store, chain, "bob", status="absent", now=at(12, 45), **by_tina)
    (again,) = countersign(project.store, chain, now=at(12, 50), username="ada", name="Ada", role="admin")
    assert [s.path for s in again.meta.signed] == [session_file, absent.path]
    assert dict(session_sheet(project.store, chain, at(13)).rows)["bob"].countersignature.id == again.id
    assert project.store.check() == []


def test_the_qr_code_rotates_and_is_accepted_for_two_slots(tmp_path):
    db = InstanceDB(tmp_path / "instance")
    t0 = dt.datetime(2026, 11, 10, 9, 0, 0, tzinfo=PARIS)
    code = qr.current_code(db, "CHAIN", t0, 30)
    assert len(code) == qr.CODE_LENGTH and code == qr.current_code(InstanceDB(tmp_path / "instance"), "CHAIN", t0, 30)
    assert qr.valid_code(db, "CHAIN", code, t0 + dt.timedelta(seconds=45), 30)  # the next slot still accepts it
    assert not qr.valid_code(db, "CHAIN", code, t0 + dt.timedelta(seconds=61), 30)
    assert not qr.valid_code(db, "OTHER", code, t0, 30) and not qr.valid_code(db, "CHAIN", "", t0, 30)
    assert qr.current_code(db, "CHAIN", t0 + dt.timedelta(seconds=30), 30) != code
    assert not qr.qr_required(db, "CHAIN")
    qr.set_qr_required(db, "CHAIN", True, username="tina")
    assert qr.qr_required(db, "CHAIN")
    svg = qr.qr_svg("https://of.example/seances/CHAIN/emarger?code=" + code)
    assert svg.startswith(b"<svg") and b"<script" not in svg


def test_personal_codes_are_hashed_and_wrong_ones_counted(tmp_path):
    accounts = Accounts(InstanceDB(tmp_path / "instance"))
    accounts.add("alice", "learner", "mdp-tres-long-et-Solide-1")
    codes = PersonalCodes(accounts)
    for bad, message in (("12345", "6 chiffres"), ("111111", "trop facile"), ("123456", "trop facile")):
        with pytest.raises(InvalidInput, match=message):
            codes.set("alice", bad, by="alice")
    code = codes.generate("alice", by="tina")
    conn = accounts.db.connect()
    stored = conn.execute("SELECT code_hash FROM attendance_codes").fetchone()[0]
    conn.close()
    assert code not in stored
    codes.verify("alice", code, origin="10.0.0.1")
    wrong = "000001" if code != "000001" else "000002"
    for _ in range(5):
        with pytest.raises(LoginRefused, match="Code personnel incorrect"):
            codes.verify("alice", wrong, origin="10.0.0.1")
    with pytest.raises(LoginRefused, match="Trop de tentatives"):
        codes.verify("alice", code, origin="10.0.0.1")  # the limit of failed sign-ins holds, even for the right code
    codes.verify("alice", code, origin="10.0.0.2")  # another device is not locked out
