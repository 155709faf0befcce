"""Signed Open Badges 3.0 credentials: the JSON Web Token proof format, signed with the organisation's key.

Open Badges 3.0 allows two proof formats: an embedded Data Integrity proof
(``eddsa-rdfc-2022``) or a JWT (the specification's "JSON Web Token Proof
Format", a compact JWS whose payload carries the credential in ``vc``).
livret uses the JWT: any JOSE library verifies it (the tests use PyJWT, an
implementation independent of the signing code), it needs no JSON-LD
processing — Data Integrity's RDF canonicalisation must fetch or pin the
JSON-LD contexts, which an offline auditor cannot — and the signature
covers the exact bytes handed out.

The issuer is a ``did:web`` identifier of the organisation's public address
(``https://example.org`` → ``did:web:example.org``): verifiers resolve it to
``https://example.org/.well-known/did.json``, which the app serves from the
published keys (:func:`did_document`), and the header's ``kid`` names the
key (``did:web:example.org#<key id>``), so a rotated key keeps verifying
the badges it signed.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlsplit

from .keys import Keys, PublicKey, b64encode

MEDIA_TYPE = "application/vc+jwt"


def did_web(base_url: str) -> str:
    """``did:web`` of a public address (a port is percent-encoded, a path becomes ``:`` segments)."""
    parts = urlsplit(base_url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("adresse publique : https://… attendue (did:web)")
    host = parts.hostname + (f"%3A{parts.port}" if parts.port else "")
    path = [p for p in parts.path.split("/") if p]
    return ":".join(["did", "web", host, *path])


def did_document(base_url: str, keys: list[PublicKey]) -> dict[str, Any]:
    """The DID document served at ``/.well-known/did.json``: every published key, old ones included."""
    did = did_web(base_url)
    methods = [{
        "id": f"{did}#{key.kid}",
        "type": "JsonWebKey2020",
        "controller": did,
        "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": key.public},
    } for key in keys]
    current = [m["id"] for m, k in zip(methods, keys, strict=True) if not k.retired]
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
        "authentication": current,
    }


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign_credential(credential: dict[str, Any], keys: Keys, base_url: str) -> str:
    """A compact JWS (EdDSA) of ``credential``, its issuer set to the organisation's ``did:web``."""
    did = did_web(base_url)
    kid, private = keys.private_key()
    vc = dict(credential)
    issuer = dict(vc.get("issuer") or {})
    issuer["id"] = did
    vc["issuer"] = issuer
    valid_from = vc.get("validFrom") or dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    claims: dict[str, Any] = {
        "iss": did,
        "jti": vc.get("id"),
        "nbf": int(dt.datetime.fromisoformat(valid_from.replace("Z", "+00:00")).timestamp()),
        "sub": (vc.get("credentialSubject") or {}).get("id"),
        "vc": vc,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    header = {"alg": "EdDSA", "typ": "JWT", "kid": f"{did}#{kid}"}
    signing_input = b64encode(_json(header)) + "." + b64encode(_json(claims))
    return signing_input + "." + b64encode(private.sign(signing_input.encode("ascii")))
