"""Public documents under ``/.well-known/``: what verifiers need to check livret's signatures.

- ``livret-keys.json``: the organisation's public signing keys, old ones
  included (``livret verify-pack --key URL`` and auditors read it);
- ``did.json``: the DID document of the organisation's ``did:web`` (the
  issuer of its signed Open Badges), when ``public_url`` is set; also at
  ``/did.json``, where did:web looks when the public address has a path
  (``https://host/livret`` → ``did:web:host:livret`` → ``https://host/livret/did.json``).

Public keys only: no sign-in, nothing about learners.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify

from livret.seal.credentials import did_document
from livret.seal.keys import Keys, SigningKeyError, public_document

from .state import livret

bp = Blueprint("wellknown", __name__)


def _published():
    try:
        keys = Keys.for_project(livret().project).published()
    except SigningKeyError:
        abort(503)
    if not keys:
        abort(404)
    return keys


def _public(response):
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"  # verifiers run in browsers too
    return response


@bp.get("/.well-known/livret-keys.json")
def keys():
    return _public(jsonify(public_document(_published())))


@bp.get("/.well-known/did.json")
@bp.get("/did.json")
def did():
    public_url = livret().project.store.settings().public_url
    if not public_url:
        abort(404)
    return _public(jsonify(did_document(public_url, _published())))
