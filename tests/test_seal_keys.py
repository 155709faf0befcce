"""The organisation's signing keys and signed credentials, checked with an independent JOSE library."""

from __future__ import annotations

import json
import stat

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from livret.seal.credentials import did_document, did_web, sign_credential
from livret.seal.keys import Keys, b64decode, public_document, read_public_keys


def test_init_creates_one_private_key_kept_private(tmp_path):
    keys = Keys(tmp_path)
    first = keys.init()
    assert keys.init() == first  # idempotent
    pem = tmp_path / "keys" / f"{first.kid}.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    kid, signature = keys.sign(b"donnees")
    assert kid == first.kid and first.verify(signature, b"donnees") and not first.verify(signature, b"autre")


def test_rotation_keeps_old_keys_published_and_verifying(tmp_path):
    keys = Keys(tmp_path)
    old = keys.init()
    _, old_signature = keys.sign(b"dossier de 2026")
    new = keys.rotate()
    assert new.kid != old.kid and keys.current() == new
    published = read_public_keys(json.dumps(public_document(keys.published())))
    by_kid = {k.kid: k for k in published}
    assert by_kid[old.kid].retired and by_kid[new.kid].retired is None
    assert by_kid[old.kid].verify(old_signature, b"dossier de 2026")
    assert keys.sign(b"x")[0] == new.kid


def test_a_published_list_whose_ids_do_not_match_the_keys_is_refused(tmp_path):
    keys = Keys(tmp_path)
    keys.init()
    document = public_document(keys.published())
    document["keys"][0]["kid"] = "0" * 16
    with pytest.raises(ValueError, match="ne correspond pas"):
        read_public_keys(json.dumps(document))


def test_did_web_of_a_public_address():
    assert did_web("https://of.example.org") == "did:web:of.example.org"
    assert did_web("https://of.example.org:8443/livret/") == "did:web:of.example.org%3A8443:livret"
    with pytest.raises(ValueError):
        did_web("http://of.example.org")


def test_a_signed_credential_verifies_with_pyjwt_and_the_did_document(tmp_path):
    keys = Keys(tmp_path)
    keys.init()
    credential = {"id": "urn:uuid:1", "type": ["VerifiableCredential", "OpenBadgeCredential"],
                  "issuer": {"type": ["Profile"], "name": "OF"}, "validFrom": "2026-05-04T10:00:00+02:00",
                  "credentialSubject": {"id": "urn:uuid:2", "type": ["AchievementSubject"]}}
    token = sign_credential(credential, keys, "https://of.example.org")
    header = jwt.get_unverified_header(token)
    document = did_document("https://of.example.org", keys.published())
    method = next(m for m in document["verificationMethod"] if m["id"] == header["kid"])
    public = Ed25519PublicKey.from_public_bytes(b64decode(method["publicKeyJwk"]["x"]))
    claims = jwt.decode(token, key=public, algorithms=["EdDSA"])
    assert claims["iss"] == "did:web:of.example.org" == claims["vc"]["issuer"]["id"]
    assert claims["vc"]["credentialSubject"]["id"] == "urn:uuid:2" and claims["jti"] == "urn:uuid:1"
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, key=public, algorithms=["EdDSA"])
    keys.rotate()  # a rotated key: the old badge still verifies with the published document
    document = did_document("https://of.example.org", keys.published())
    method = next(m for m in document["verificationMethod"] if m["id"] == header["kid"])
    jwt.decode(token, key=Ed25519PublicKey.from_public_bytes(b64decode(method["publicKeyJwk"]["x"])),
               algorithms=["EdDSA"])
