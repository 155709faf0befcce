"""The attendance documents (livret/attendance/documents.py) and the audit pack that carries them.

One signed project for the module (tests/signed_attendance.py: written through the real attendance
service); PDFs are read back with ``pdftotext`` (poppler), CSVs with the csv module.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import subprocess
import zipfile
import zlib

import pytest
from attendance_support import add_session, attendance_project
from click.testing import CliRunner
from signed_attendance import NOW, ORGANISATION, signed_project

from livret.attendance import documents as d
from livret.audit.pack import attendance_files, build_pack, verify_pack
from livret.cli import main
from livret.store.schema import Organisation
from livret.store.signatures import file_sha256

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) absent")

NOVEMBER = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    return signed_project(tmp_path_factory.mktemp("documents") / "proj")


def text_of(pdf: bytes, *, layout: bool = True) -> str:
    args = ["pdftotext", *(["-layout"] if layout else []), "-", "-"]
    return subprocess.run(args, input=pdf, capture_output=True, check=True).stdout.decode("utf-8")


def flat(pdf: bytes) -> str:
    """The PDF's text as one line of single spaces (a sentence wrapped over lines reads whole)."""
    return " ".join(text_of(pdf, layout=False).split())


def drawn_segments(pdf: bytes) -> int:
    """How many straight segments (``l`` operators) the page contents draw: signature strokes only
    (the tables are rectangles)."""
    count = 0
    # Up to "endstream" with the end-of-line before it: the compressed data may itself end with a
    # b"\r" (1 time in 256); the decompressor stops at the end of its stream and leaves the rest.
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            content = zlib.decompressobj().decompress(raw)
        except zlib.error:
            continue
        count += len(re.findall(rb"[\d.]+ [\d.]+ l\b", content))
    return count


def test_session_sheet_lists_every_expected_learner_with_signature_state_and_seal(signed):
    project, ids = signed
    pdf = d.session_sheet_pdf(project.store, ids["morning"], NOW)
    text = text_of(pdf)
    for expected in ("Feuille d'émargement", "OF de test", "12 rue des Lilas, 69001 Lyon", "n° 84 69 12345 69",
                     "123 456 789 00012", "Accueil du public", "10 novembre 2026, matin", "09:00 – 12:30 (3,5 h)",
                     "Salle 2", "Tina Martin", "TEST Alice", "TEST Bob", "Présent·e", "Retard de 10 min",
                     "signé le 10/11/2026 à 09:02", "par code QR de la séance", "signé le 10/11/2026 à 09:12",
                     "par l'appareil du formateur",
                     "Bob Test", "nom saisi, session authentifiée", "contresigné le 10/11/2026 à 12:25",
                     "feuille signée le 10/11/2026 à 12:25 (2 lignes sur 2", "Page 1 / 1",
                     "généré le 20/11/2026 à 18:00"):
        assert expected in text, expected
    session_file = project.store.session(ids["morning"]).path
    assert f"{session_file} (2 signatures) :\n{file_sha256(project.store.root, session_file)}\n" in text
    assert "Bus en retard" not in text  # the trainer's note is the staff's, never on the funders' sheet
    assert drawn_segments(pdf) >= 5  # alice's drawing (two strokes, seven points) drawn as lines
    distance = flat(d.session_sheet_pdf(project.store, ids["afternoon"], NOW))
    assert "à distance (synchrone)" in distance
    assert "par son appareil (session personnelle) connexion depuis 203.0.113.7" in distance
    assert "Absence justifiée" in distance
    assert "Rendez-vous médical" not in distance and "Note confidentielle" not in distance
    with pytest.raises(d.DocumentError, match="séance inconnue"):
        d.session_sheet_pdf(project.store, "01JM2Q8V6Z9X3K4T5R6S7W8Y9A", NOW)


def test_learner_month_grid_has_half_days_states_and_totals(signed):
    project, _ = signed
    alice = d.learner_month_pdf(project.store, "alice", "2026-11", NOW)
    text = text_of(alice)
    for expected in ("Feuille d'émargement — novembre 2026", "Alice Test", "Entreprise Dupont", "Matin",
                     "Après-midi", "mardi", "10/11/2026", "jeudi", "12/11/2026", "Accueil du public",
                     "Atelier à distance", "signé à 09:02", "signé à 13:35", "Heures du mois", "10,5 h",
                     "FOAD) déclaré sur le mois : 6 h"):
        assert expected in text, expected
    assert drawn_segments(alice) >= 10  # two drawn signatures this month
    shared = d.learner_month_pdf(project.store, "alice", "2026-11", NOW, audience="shared")
    assert drawn_segments(shared) == 0 and "signature dessinée" in text_of(shared)
    bob = re.sub(r"\s+", " ", text_of(d.learner_month_pdf(project.store, "bob", "2026-11", NOW)))
    for expected in ("Retard de 10 min", "Absence justifiée", "Non émargé",
                     "10,5 h 3,33 h 3,5 h 3,67 h"):  # planned, attended, justified, unjustified
        assert expected in bob, expected
    assert "Rendez-vous médical" not in bob
    empty = text_of(d.learner_month_pdf(project.store, "alice", "2026-10", NOW))
    assert "Aucune séance ce mois-ci." in empty
    with pytest.raises(d.DocumentError, match="^mois : AAAA-MM attendu"):
        d.learner_month_pdf(project.store, "alice", "2026-13", NOW)
    with pytest.raises(d.DocumentError, match="apprenant·e inconnu·e"):
        d.learner_month_pdf(project.store, "nobody", "2026-11", NOW)


def test_certificate_carries_every_field_of_the_ministry_model(signed):
    """Every field of the Ministry's model of the certificat de réalisation (arrêté du 21 décembre 2018)."""
    project, _ = signed
    text = flat(d.certificate_pdf(project.store, "alice", *NOVEMBER, NOW))
    model = [
        "CERTIFICAT DE RÉALISATION",
        "Je soussigné(e) Claire Dubois, directrice,",  # the legal representative
        "représentant légal du dispensateur de l'action concourant au développement des compétences OF de test",
        "(déclaration d'activité n° 84 69 12345 69)",
        "atteste que : Alice Test",  # the beneficiary
        "salarié(e) de l'entreprise Entreprise Dupont",  # the employer (work-study)
        "a suivi l'action Formation de test",
        "Nature de l'action concourant au développement des compétences :",
        "☒ action de formation", "☐ bilan de compétences", "☐ action de VAE",
        "☐ action de formation par apprentissage",
        "qui s'est déroulée du 01/11/2026 au 30/11/2026,",
        "pour une durée de 16,5 heures.",
        " ".join(d.RECORDS_COMMITMENT.split()),
        "Fait à : Lyon", "Le : 20/11/2026",
        "Cachet et signature du responsable du dispensateur de l'action", "Claire Dubois, directrice",
    ]
    for field in model:
        assert field in text, field
    # the hours carried out: signed in person, signed at a distance, and FOAD declared apart with its evidence
    assert "dont 7 h en présentiel et 3,5 h à distance en synchrone" in text
    assert "6 h de formation à distance asynchrone (FOAD) déclarées (1 déclaration, 1 pièce justificative" \
        in text
    bob = flat(d.certificate_pdf(project.store, "bob", *NOVEMBER, NOW))
    assert "salarié(e) de l'entreprise sans objet" in bob and "pour une durée de 3,33 heures." in bob
    with pytest.raises(d.DocumentError, match="période"):
        d.certificate_pdf(project.store, "alice", dt.date(2026, 11, 30), dt.date(2026, 11, 1), NOW)


def test_nature_of_the_action_by_programme_then_contract_then_default():
    settings = Organisation.model_validate({"attendance": {"natures": [
        {"programme": "Bilan", "nature": "bilan-de-competences"}], "default_nature": "vae"}})
    base = {"id": "x", "first_name": "X", "last_name": "Y", "framework": "mini", "start": "2026-01-05"}
    from livret.store.schema import LearnerProfile

    def profile(**over):
        return LearnerProfile.model_validate({**base, "programme": "CAP", **over})

    assert d.action_nature(settings, profile(programme="bilan")) == "bilan-de-competences"
    assert d.action_nature(settings, profile(contract="apprentissage", company={"name": "Dupont"})) \
        == "apprentissage"
    assert d.action_nature(settings, profile()) == "vae"


@pytest.fixture(scope="module")
def unsigned(tmp_path_factory):
    """No signatory; the group « =SOMME(1;2) » (alice) has one session, nobody signed."""
    from livret.admin.groups import create_group

    project = attendance_project(tmp_path_factory.mktemp("unsigned") / "proj")
    create_group(project.store, {"name": "=SOMME(1;2)"}, ["alice"], author="ada", group_id="formule")
    add_session(project, group="formule", title="=HYPERLINK(\"x\")")
    return project


def test_certificate_is_refused_without_the_signatory_setting(unsigned):
    with pytest.raises(d.DocumentError, match=r"signataire des certificats de réalisation"):
        d.certificate_pdf(unsigned.store, "alice", *NOVEMBER, NOW)
    record = unsigned.store.load_learner("alice")
    files, note = attendance_files(unsigned.store, record, "staff", NOW.date(), NOW)
    assert sorted(files) == ["assiduite/emargement-2026-11.pdf", "assiduite/heures-financeurs-2026-11.csv"]
    assert "Certificat de réalisation non joint : le ou la signataire des certificats" in note


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())  # UTF-8 with a BOM: French Excel opens it by double-click
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_funders_csv_has_hours_per_learner_for_french_excel(signed, unsigned):
    project, _ = signed
    rows = read_csv(d.funders_csv(project.store, "2026-11", now=NOW))
    assert rows[0] == list(d.FUNDERS_HEADER)
    assert rows[1:] == [
        ["Test Alice", "alice", "Formation de test", "Promo", "Entreprise Dupont", "2026-11", "10,50", "10,50",
         "0,00", "0,00"],
        ["Test Bob", "bob", "Formation de test", "Promo", "", "2026-11", "10,50", "3,33", "3,50", "3,67"],
    ]
    assert [r[1] for r in read_csv(d.funders_csv(project.store, "2026-11", "promo", NOW, learners=["bob"]))[1:]] \
        == ["bob"]
    assert read_csv(d.funders_csv(project.store, "2026-10", now=NOW))[1:] == []
    with pytest.raises(d.DocumentError, match="^groupe : groupe inconnu"):
        d.funders_csv(project.store, "2026-11", "nope", NOW)
    with pytest.raises(d.DocumentError, match="^mois :"):
        d.funders_csv(project.store, "11/2026", now=NOW)
    guarded = read_csv(d.funders_csv(unsigned.store, "2026-11", "formule", NOW))
    assert guarded[1][3] == "'=SOMME(1;2)"  # a group name that would be a formula stays text
    assert guarded[1][6:] == ["3,50", "0,00", "0,00", "3,50"]  # the window closed unsigned: unjustified


def test_month_sheets_and_learner_months_of_a_group_in_one_pdf_each(signed, unsigned):
    project, ids = signed
    text = text_of(d.month_sheets_pdf(project.store, "2026-11", "promo", NOW))
    assert text.count("Feuille d'émargement\n") == 3
    for title in ("Accueil du public", "Atelier à distance", "Suivi de projet"):
        assert title in text
    alone = text_of(d.session_sheet_pdf(project.store, ids["morning"], NOW))
    assert alone.split("Page 1 /")[0].split("Feuille d'émargement\n", 1)[1] in text  # the same sheet, batched
    months = text_of(d.learner_months_pdf(project.store, "2026-11", "promo", NOW))
    assert months.count("Feuille d'émargement — novembre 2026") == 2
    assert months.index("Alice Test") < months.index("Bob Test")
    assert "Aucune séance." in text_of(d.month_sheets_pdf(unsigned.store, "2026-11", "promo", NOW))
    assert "Aucune séance." in text_of(d.learner_months_pdf(unsigned.store, "2026-10", now=NOW))
    for batch in (d.month_sheets_pdf, d.learner_months_pdf):
        with pytest.raises(d.DocumentError, match="groupe inconnu"):
            batch(project.store, "2026-11", "nope", NOW)


def test_audit_pack_carries_the_documents_and_verify_pack_checks_them(signed, tmp_path):
    project, _ = signed
    out = tmp_path / "pack.zip"
    build_pack(project, "alice", out, audience="staff", now=NOW)
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        manifest = __import__("json").loads(zf.read("manifest.json"))
        readme = zf.read("LISEZMOI.txt").decode("utf-8")
        members = {n: zf.read(n) for n in names}
    expected = {"assiduite/emargement-2026-11.pdf": "feuille d'émargement mensuelle, novembre 2026",
                "assiduite/heures-financeurs-2026-11.csv": "heures pour les financeurs, novembre 2026",
                "assiduite/certificat-de-realisation.pdf": "certificat de réalisation du 05/01/2026 au 20/11/2026"}
    assert {f["path"]: f["document"] for f in manifest["files"] if "document" in f} == expected
    assert "et le certificat de réalisation depuis le début de la formation" in readme
    assert [r[1] for r in read_csv(members["assiduite/heures-financeurs-2026-11.csv"])[1:]] == ["alice"]
    assert "pour une durée de" in flat(members["assiduite/certificat-de-realisation.pdf"])
    assert verify_pack(out) == []
    result = CliRunner().invoke(main, ["verify-pack", str(out)])
    assert result.exit_code == 3  # intact, signer not confirmed without --key
    assert "assiduite/certificat-de-realisation.pdf: intact (certificat de réalisation" in result.output

    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as zf:
        for name, data in members.items():
            if name == "assiduite/certificat-de-realisation.pdf":
                data = data.replace(b"20/11/2026", b"21/11/2026") + b"% edited\n"
            zf.writestr(name, data)
    findings = verify_pack(tampered)
    assert [(f.path, f.kind) for f in findings] == [("assiduite/certificat-de-realisation.pdf", "altered")]
    assert findings[0].message.startswith("certificat de réalisation du 05/01/2026 au 20/11/2026 : fichier modifié")
    result = CliRunner().invoke(main, ["verify-pack", str(tampered)])
    assert result.exit_code == 1 and "assiduite/certificat-de-realisation.pdf: certificat" in result.output


def test_organisation_fixture_is_valid():
    """The fixture's settings are the schema's (a misspelt key would silently drop the signatory)."""
    assert Organisation.model_validate(ORGANISATION).attendance.signatory.name == "Claire Dubois"
