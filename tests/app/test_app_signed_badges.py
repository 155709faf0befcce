"""Signed badges resolve and verify: the issuer's did:web document is served by the app, the JWT
verifies with PyJWT (not the code that signed), and the public keys are published."""

from __future__ import annotations

import json

import jwt
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from factories import add, public_keys_file, when

from livret.cli import main
from livret.seal.keys import b64decode, read_public_keys
from livret.store.yamlio import dump_yaml

PUBLIC = "https://of.example.org"


def acquired(project):
    add(project, "alice", {"type": "assessment", "date": when("2026-03-02"), "title": "Évaluation",
                           "competencies": [{"code": "A1", "level": "3"}]})


def test_signed_badges_verify_against_the_did_document_the_app_serves(app_project, client, tmp_path):
    settings = app_project.portfolios / "_organisation.yml"
    settings.write_text(dump_yaml({"name": "OF de test", "public_url": PUBLIC}), encoding="utf-8")
    acquired(app_project)
    out = tmp_path / "badges"
    result = CliRunner().invoke(main, ["badges", "alice", "-o", str(out), "--root", str(app_project.root)])
    assert result.exit_code == 0, result.output
    assert "signé" in result.output and "did:web:of.example.org" in result.output
    tokens = sorted(out.glob("*.jwt"))
    assert tokens and len(tokens) == len(sorted(out.glob("*.json")))
    token = tokens[0].read_text(encoding="ascii")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["kid"].startswith("did:web:of.example.org#")

    document = client.get("/.well-known/did.json")
    assert document.status_code == 200 and document.headers["Access-Control-Allow-Origin"] == "*"
    did = document.get_json()
    assert did["id"] == "did:web:of.example.org"
    method = next(m for m in did["verificationMethod"] if m["id"] == header["kid"])
    key = Ed25519PublicKey.from_public_bytes(b64decode(method["publicKeyJwk"]["x"]))
    claims = jwt.decode(token, key=key, algorithms=["EdDSA"])
    assert claims["vc"]["issuer"]["id"] == "did:web:of.example.org"
    assert claims["vc"]["credentialSubject"]["achievement"]["name"]

    published = client.get("/.well-known/livret-keys.json")
    assert published.status_code == 200
    assert read_public_keys(published.get_data(as_text=True))[0].kid == header["kid"].split("#")[1]
    assert json.loads(public_keys_file(app_project, tmp_path).read_text()) == published.get_json()


def test_without_a_public_https_address_badges_are_not_signed(app_project, client, tmp_path):
    acquired(app_project)
    out = tmp_path / "badges"
    result = CliRunner().invoke(main, ["badges", "alice", "-o", str(out), "--root", str(app_project.root)])
    assert result.exit_code == 0 and "non signés" in result.output
    assert not list(out.glob("*.jwt"))
    assert client.get("/.well-known/did.json").status_code == 404
