"""The audit pack: contents, manifest, staff confidentiality, verify-pack, opening from file://.

Real MkDocs build, real git, real zip; the browser test drives Debian's
Chromium on the unzipped pack.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from factories import add, meeting, public_keys_file, when

from livret.audit.pack import PackError, build_pack, pack_entries, verify_pack
from livret.audit.record_pdf import record_document, record_pdf
from livret.cli import main

#: Written only in staff entries (body, title) and a staff-only attachment.
SECRET = "zqx-staff-secret-4711"
TODAY = dt.date(2026, 11, 21)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]


@pytest.fixture
def record(project):
    """alice: shared entries with an attachment, staff entries whose text is SECRET."""
    add(project, "alice", {"type": "positioning", "date": when("2026-01-06"), "title": "Positionnement",
                           "competencies": [{"code": "A1", "level": "1"}]})
    shared = add(project, "alice", meeting(title="Entretien de rentrée"), "Échange sur le projet professionnel.")
    add(project, "alice", {"type": "evidence", "date": when("2026-03-03"), "title": "Fiche d'accueil",
                           "competencies": [{"code": "A1"}]}, "Ma fiche d'accueil.",
        author="alice", role="learner", uploads=[("fiche.txt", b"Fiche d'accueil du nouvel arrivant\n")])
    add(project, "alice", meeting(title=f"Point {SECRET}", visibility="staff", date=when("2026-03-10")),
        f"{SECRET} : difficultés de logement.",
        uploads=[("notes.txt", f"Notes {SECRET}\n".encode())])
    add(project, "alice", {"type": "alert", "date": when("2026-03-11"), "title": f"Alerte {SECRET}",
                           "category": "personnelle", "severity": "haute"}, f"{SECRET} détails.")
    # a shared entry corrected into a staff one: neither version may reach a shared pack
    first = add(project, "alice", {"type": "feedback", "date": when("2026-03-12"), "title": "Retour initial"},
                f"{SECRET} écrit par erreur en partagé.")
    add(project, "alice", {"type": "feedback", "date": when("2026-03-12"), "title": "Retour corrigé",
                           "visibility": "staff", "corrects": first.id}, "Déplacé vers l'équipe.")
    rec = project.store.load_learner("alice")
    assert rec.problems == []
    rec.shared_id = shared.id
    return rec


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def added_by(project, rel: str) -> str:
    return subprocess.run(["git", "log", "--diff-filter=A", "--format=%H", "--", rel], cwd=project.portfolios,
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def shared_pack(project, record, tmp_path):
    out = tmp_path / "alice.zip"
    result = CliRunner().invoke(main, ["export", "alice", "-o", str(out), "--root", str(project.root)])
    assert result.exit_code == 0, result.output
    assert "Dossier d'audit de alice (partagé)" in result.output
    return out


def test_shared_pack_holds_what_it_should(project, record, shared_pack):
    files = members(shared_pack)
    names = set(files)
    assert {"manifest.json", "LISEZMOI.txt", "livret-de-suivi.pdf", "site/index.html",
            "portfolios/alice/learner.md", "portfolios/_frameworks/mini.yml"} <= names
    assert files["livret-de-suivi.pdf"].startswith(b"%PDF-")
    entries = sorted(n for n in names if n.startswith("portfolios/alice/entries/"))
    assert len(entries) == 3  # positioning, the shared meeting, the evidence
    attachments = [n for n in names if n.startswith("portfolios/alice/files/")]
    assert len(attachments) == 1 and attachments[0].endswith("-fiche.txt")
    assert any(n.startswith("site/") and n.endswith(".html") and "entrees" in n for n in names)


def test_manifest_lists_every_file_with_hash_and_commit(project, record, shared_pack):
    files = members(shared_pack)
    manifest = json.loads(files.pop("manifest.json"))
    files.pop("manifest.sig")  # the signature of the manifest (tests/test_seal_pack.py)
    files.pop("SHA256SUMS"), files.pop("SHA256SUMS.sig")  # for standard tools (test_pack_checks_with_standard_tools)
    assert manifest["format"] == "livret-audit-pack/1" and manifest["audience"] == "shared"
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(files)
    for name, data in files.items():
        assert listed[name]["sha256"] == hashlib.sha256(data).hexdigest()
        assert listed[name]["size"] == len(data)
    for name in files:
        if name.startswith("portfolios/alice/"):
            source = name.removeprefix("portfolios/")
            assert listed[name]["source"] == source
            assert listed[name]["commit"] == added_by(project, source)
    shared = next(f for f in manifest["files"] if f.get("entry") == record.shared_id)
    assert shared["type"] == "meeting" and shared["visibility"] == "shared"


def test_staff_text_appears_nowhere_in_a_shared_pack(project, record, shared_pack):
    for name, data in members(shared_pack).items():
        assert SECRET.encode() not in data, name
    # The PDF's text is compressed and font-encoded: check what it says, not its bytes.
    doc = record_document(record, project.store.settings(), audience="shared", today=TODAY)
    assert not any(SECRET in s for s in doc.strings())
    assert "Alertes" not in " ".join(s.title for s in doc.sections)


def test_staff_pack_holds_everything(project, record, tmp_path):
    out = tmp_path / "staff.zip"
    summary = build_pack(project, "alice", out, audience="staff", today=TODAY)
    assert summary.entries == len(record.entries) == 7 and summary.attachments == 2
    files = members(out)
    assert any(SECRET.encode() in data for name, data in files.items() if name.startswith("site/"))
    doc = record_document(record, project.store.settings(), audience="staff", today=TODAY)
    assert any(SECRET in s for s in doc.strings())
    assert doc.sections[-1].title == "10. Alertes (équipe seulement)"
    assert verify_pack(out) == []


def test_pack_entries_drop_versions_corrected_into_staff(record):
    shared_titles = sorted(e.meta.title for e in pack_entries(record, "shared"))
    assert shared_titles == ["Entretien de rentrée", "Fiche d'accueil", "Positionnement"]


def test_verify_pack_names_altered_missing_and_added_files(project, shared_pack, tmp_path):
    ok = CliRunner().invoke(main, ["verify-pack", str(shared_pack), "--key", str(public_keys_file(project, tmp_path))])
    assert ok.exit_code == 0 and "Dossier intact" in ok.output
    files = members(shared_pack)
    entry = next(n for n in files if n.startswith("portfolios/alice/entries/") and "meeting" in n)
    files[entry] = files[entry].replace("Échange".encode(), "Echange".encode())
    del files["site/suivi/index.html" if "site/suivi/index.html" in files else "site/suivi.html"]
    files["site/ajout.html"] = b"<p>ajout</p>"
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    result = CliRunner().invoke(main, ["verify-pack", str(tampered)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if ": fichier" in line]
    assert len(lines) == 3
    assert any(line.startswith(f"{entry}: fichier modifié (SHA-256 attendu ") for line in lines)
    assert any(line.startswith("site/suivi") and "fichier manquant" in line for line in lines)
    assert "site/ajout.html: fichier ajouté (absent du manifeste)" in lines


def unzip(path: Path, into: Path) -> Path:
    with zipfile.ZipFile(path) as zf:
        zf.extractall(into)
    return into


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"})


def test_pack_checks_with_standard_tools(project, record, shared_pack, tmp_path):
    """An auditor without livret: ``sha256sum -c`` and ``openssl pkeyutl -verify -rawin``, as the README says."""
    folder = unzip(shared_pack, tmp_path / "unzipped")
    readme = (folder / "LISEZMOI.txt").read_text(encoding="utf-8")
    commands = [line.strip() for line in readme.splitlines()
                if line.strip().startswith(("sha256sum -c", "openssl pkeyutl", "openssl pkey "))]
    assert [c.split()[:2] for c in commands] == [["sha256sum", "-c"], ["openssl", "pkeyutl"], ["openssl", "pkey"]]
    listed = (folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    names = {line.split("  ", 1)[1] for line in listed}
    assert {"manifest.json", "manifest.sig", "LISEZMOI.txt", "livret-de-suivi.pdf", "site/index.html",
            "cle-publique-organisme.pem", "portfolios/alice/learner.md"} <= names
    assert not {"SHA256SUMS", "SHA256SUMS.sig"} & names
    sums = run(commands[0].split(), folder)
    assert sums.returncode == 0, sums.stdout + sums.stderr
    assert sums.stdout.count(": OK") == len(listed)
    verify = run(commands[1].split(), folder)
    assert verify.returncode == 0 and "Signature Verified Successfully" in verify.stdout, verify.stdout + verify.stderr
    # the key id that the README tells to compare is the organisation's published one
    kid = subprocess.run(commands[2], shell=True, cwd=folder, capture_output=True, text=True, check=True).stdout.strip()
    published = json.loads(public_keys_file(project, tmp_path).read_text())["keys"]
    assert kid == published[-1]["kid"]
    assert verify_pack(shared_pack) == []

    # one byte changed in a file: sha256sum names it; the signature still holds for the unchanged SHA256SUMS
    pdf = folder / "livret-de-suivi.pdf"
    pdf.write_bytes(pdf.read_bytes() + b"\n")
    sums = run(commands[0].split(), folder)
    assert sums.returncode != 0 and "livret-de-suivi.pdf: FAILED" in sums.stdout
    # SHA256SUMS rewritten to match: its signature no longer verifies
    text = (folder / "SHA256SUMS").read_text(encoding="utf-8")
    old = next(line for line in text.splitlines() if line.endswith("  livret-de-suivi.pdf"))
    forged = hashlib.sha256(pdf.read_bytes()).hexdigest() + "  livret-de-suivi.pdf"
    (folder / "SHA256SUMS").write_text(text.replace(old, forged), encoding="utf-8")
    assert run(commands[0].split(), folder).returncode == 0
    verify = run(commands[1].split(), folder)
    assert verify.returncode != 0 and "Signature Verification Failure" in verify.stdout + verify.stderr


def test_verify_pack_names_a_rewritten_sums_file(shared_pack, tmp_path):
    files = members(shared_pack)
    files["SHA256SUMS"] = files["SHA256SUMS"].replace(b"  LISEZMOI.txt", b"  LISEZMOI.TXT")
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(forged, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    findings = verify_pack(forged)
    assert [(f.path, f.kind) for f in findings] == [("SHA256SUMS", "altered")]
    assert "LISEZMOI" in findings[0].message


def test_verify_pack_refuses_what_is_not_a_pack(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    result = CliRunner().invoke(main, ["verify-pack", str(junk)])
    assert result.exit_code == 1 and "archive zip illisible" in result.output
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("a.txt", "a")
    assert "manifeste absent" in CliRunner().invoke(main, ["verify-pack", str(empty)]).output


def test_export_refuses_bad_input_and_writes_nothing(project, tmp_path):
    out = tmp_path / "x.zip"
    unknown = CliRunner().invoke(main, ["export", "zoe", "-o", str(out), "--root", str(project.root)])
    assert unknown.exit_code == 1 and "apprenant·e inconnu·e : 'zoe'" in unknown.output
    bad = CliRunner().invoke(main, ["export", "alice", "-o", str(out), "--audience", "public",
                                    "--root", str(project.root)])
    assert bad.exit_code == 2
    with pytest.raises(PackError, match="audience"):
        build_pack(project, "alice", out, audience="public")
    assert not out.exists()


def test_pdf_without_dejavu_falls_back_to_core_font(project, record, monkeypatch, tmp_path):
    from livret.publish import pdf as module

    monkeypatch.setattr(module, "FONT_DIRS", (tmp_path / "no-fonts",))
    assert module.font_dir() is None
    data = record_pdf(record, project.store.settings(), audience="shared", today=TODAY)
    assert data.startswith(b"%PDF-") and b"Helvetica" in data and b"DejaVu" not in data


@pytest.mark.browser
def test_unzipped_pack_opens_from_disk_with_search(project, record, shared_pack, tmp_path, chromium_path,
                                                   artifacts_dir):
    from playwright.sync_api import sync_playwright

    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(shared_pack) as zf:
        zf.extractall(folder)
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.goto((folder / "site" / "index.html").as_uri())
            assert page.title().endswith("Portfolio de Alice Test")
            page.get_by_role("link", name="Suivi").first.click()
            page.wait_for_url("**/suivi*")
            assert page.locator("h1").inner_text().startswith("Suivi")
            page.get_by_role("link", name="Entretien de rentrée").first.click()
            assert "projet professionnel" in page.locator("article").inner_text()
            page.keyboard.press("/")
            query = page.locator("input[data-md-component=search-query]")
            meta = page.locator(".md-search-result__meta")
            # the index loads in a worker: a query typed before it is ready is dropped
            page.wait_for_function("document.querySelector('.md-search-result__meta')"
                                   ".textContent.includes('Taper pour')", timeout=15_000)
            query.press_sequentially("fiche", delay=20)  # typed, like a person: search runs on keys
            result = page.locator(".md-search-result__item").first
            result.wait_for(timeout=10_000)
            assert "Fiche d'accueil" in page.locator(".md-search-result").inner_text()
            page.screenshot(path=str(artifacts_dir / "audit-pack-search.png"))
            query.fill("")
            query.press_sequentially(SECRET, delay=10)
            page.wait_for_function("document.querySelector('.md-search-result__meta')"
                                   ".textContent.includes('Aucun document')", timeout=5_000)
            assert meta.inner_text().startswith("Aucun document")
        finally:
            browser.close()
    outside = [u for u in requests if not u.startswith(("file://", "data:", "blob:"))]
    assert outside == [], f"the offline site loaded something from outside: {outside[:5]}"


def test_pdf_shows_the_profile_text_without_markdown_markers():
    from livret.audit.record_pdf import plain_paragraphs

    text = "## Projet\nLucas, **21 ans**, voir [le site](https://x.example).\nSuite.\n\n- un\n- deux *b*"
    assert plain_paragraphs(text) == ["Projet", "Lucas, 21 ans, voir le site. Suite.", "- un\n- deux b"]
