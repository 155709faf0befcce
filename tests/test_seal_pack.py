"""Signed audit packs: a pack rewritten with recomputed hashes fails; a rotated key still verifies.

Real packs (``livret export``), real Ed25519 signatures, the real CLI.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from factories import add, make_project, meeting, public_keys_file

from livret.audit.pack import sums_file
from livret.cli import main
from livret.seal.keys import Keys, b64encode, key_id


@pytest.fixture
def packed(tmp_path):
    project = make_project(tmp_path / "p")
    add(project, "alice", meeting(title="Entretien de suivi"), "Échange.")
    pack = tmp_path / "alice.zip"
    result = CliRunner().invoke(main, ["export", "alice", "-o", str(pack), "--root", str(project.root)])
    assert result.exit_code == 0, result.output
    return project, pack


def verify_pack(pack: Path, *args: str):
    return CliRunner().invoke(main, ["verify-pack", str(pack), *args])


def rewrite(pack: Path, out: Path, change) -> Path:
    """Copy a pack, letting ``change(files)`` edit its members (a dict name -> bytes)."""
    with zipfile.ZipFile(pack) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    change(files)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out


def forge_entry_and_manifest(files: dict) -> None:
    """What a forger does: alter an entry, then recompute its hash and size in the manifest."""
    entry = next(n for n in files if "/entries/" in n)
    files[entry] = files[entry].replace("Échange".encode(), "Aucun échange".encode())
    manifest = json.loads(files["manifest.json"])
    for item in manifest["files"]:
        if item["path"] == entry:
            item["sha256"] = hashlib.sha256(files[entry]).hexdigest()
            item["size"] = len(files[entry])
    files["manifest.json"] = (json.dumps(manifest, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def test_an_intact_pack_verifies_with_the_organisation_key(packed, tmp_path):
    project, pack = packed
    result = verify_pack(pack, "--key", str(public_keys_file(project, tmp_path)))
    assert result.exit_code == 0, result.output
    assert "clé de l'organisme confirmée" in result.output


def test_without_a_key_from_outside_the_signature_is_unconfirmed(packed):
    _, pack = packed
    result = verify_pack(pack)
    assert result.exit_code == 3
    assert "signature valide, clé non confirmée" in result.output


def test_a_pack_altered_with_recomputed_hashes_fails(packed, tmp_path):
    project, pack = packed
    forged = rewrite(pack, tmp_path / "forge.zip", forge_entry_and_manifest)
    for args in ([], ["--key", str(public_keys_file(project, tmp_path))]):
        result = verify_pack(forged, *args)
        assert result.exit_code == 1, result.output
        assert "signature invalide" in result.output


def test_a_pack_re_signed_by_a_forger_fails_against_the_organisation_key(packed, tmp_path):
    project, pack = packed
    forger = Ed25519PrivateKey.generate()
    raw = forger.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def re_sign(files):
        forge_entry_and_manifest(files)
        files["manifest.sig"] = json.dumps({
            "format": "livret-signature/1", "alg": "Ed25519", "kid": key_id(forger.public_key()),
            "public": b64encode(raw), "signature": b64encode(forger.sign(files["manifest.json"]))}).encode()
        files["SHA256SUMS"] = sums_file(files)  # a careful forger rewrites the standard tools' list too
        files["SHA256SUMS.sig"] = forger.sign(files["SHA256SUMS"])

    forged = rewrite(pack, tmp_path / "resigne.zip", re_sign)
    alone = verify_pack(forged)
    assert alone.exit_code == 3  # the pack's own key says nothing of who signed
    result = verify_pack(forged, "--key", str(public_keys_file(project, tmp_path)))
    assert result.exit_code == 1 and "clé inconnue de l'organisme" in result.output


def test_an_unsigned_pack_fails(packed, tmp_path):
    project, pack = packed
    unsigned = rewrite(pack, tmp_path / "nonsigne.zip", lambda files: files.pop("manifest.sig"))
    result = verify_pack(unsigned, "--key", str(public_keys_file(project, tmp_path)))
    assert result.exit_code == 1 and "non signé" in result.output


def test_a_pack_signed_before_a_key_rotation_still_verifies(packed, tmp_path):
    project, pack = packed
    old = Keys.for_project(project).current()
    CliRunner().invoke(main, ["keys", "rotate", "--root", str(project.root)])
    assert Keys.for_project(project).current().kid != old.kid
    result = verify_pack(pack, "--key", str(public_keys_file(project, tmp_path)))
    assert result.exit_code == 0 and old.kid in result.output
    newer = tmp_path / "nouveau.zip"
    CliRunner().invoke(main, ["export", "alice", "-o", str(newer), "--root", str(project.root)])
    assert verify_pack(newer, "--key", str(public_keys_file(project, tmp_path))).exit_code == 0


def test_a_pack_is_checked_against_the_journal_beside_the_store(packed, tmp_path):
    project, pack = packed
    keys = str(public_keys_file(project, tmp_path))
    assert verify_pack(pack, "--key", keys, "--root", str(project.root)).exit_code == 0
    with sqlite3.connect(project.instance / "livret.sqlite3") as conn:
        conn.execute("UPDATE journal SET hash = ? WHERE seq = (SELECT MAX(seq) FROM journal)", ("0" * 64,))
    result = verify_pack(pack, "--key", keys, "--root", str(project.root))
    assert result.exit_code == 1 and "n'est pas dans le journal témoin" in result.output


BOMB_CHECK = """
import resource, sys
from pathlib import Path
from livret.audit.pack import verify_pack
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
findings = verify_pack(Path(sys.argv[1]))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(after - before, [str(f) for f in findings])
"""


def test_a_member_that_inflates_to_a_gigabyte_costs_a_chunk(packed, tmp_path):
    _, pack = packed
    bomb = tmp_path / "bombe.zip"

    def inflate(files):
        files.pop("manifest.sig")
    rewrite(pack, bomb, inflate)
    with zipfile.ZipFile(bomb) as zf:
        target = next(n for n in zf.namelist() if "/entries/" in n)
    with zipfile.ZipFile(bomb) as zf:
        kept = {n: zf.read(n) for n in zf.namelist() if n != target}
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in kept.items():
            zf.writestr(name, data)
        with zf.open(target, "w", force_zip64=True) as member:
            block = b"\0" * (16 * 1024 * 1024)
            for _ in range(64):  # 1 GiB once inflated
                member.write(block)
    assert bomb.stat().st_size < 10 * 1024 * 1024
    done = subprocess.run([sys.executable, "-c", BOMB_CHECK, str(bomb)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    grown_kb, findings = done.stdout.split(" ", 1)
    assert int(grown_kb) < 100 * 1024, f"verify-pack grew by {grown_kb} kB"
    assert "dépasse nettement" in findings and target in findings
