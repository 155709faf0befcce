"""The organisation's signing keys (Ed25519): audit packs and badges are signed with them.

Private keys live in ``instance/keys/<key id>.pem`` (PKCS #8, mode 0600,
never in the store or a site); ``instance/keys/keys.json`` lists every key
the organisation ever used, with the date each one signs from and, for an
old key, the date it was retired.  :func:`public_keys` is what the
organisation publishes (the app serves it at ``/.well-known/livret-keys.json``)
and gives to auditors: ``livret verify-pack --key`` checks a pack against it.

Rotation: ``livret keys rotate`` creates a new key that signs from now on;
the old one is kept (retired) so that packs it signed keep verifying.  Loss
of a private key: rotate, and publish the new public list; what the lost key
signed still verifies with its public key, which was published.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..store import atomic

KEYS_DIR = "keys"
INDEX = "keys.json"
#: The document format of a published key list.
FORMAT = "livret-keys/1"


class SigningKeyError(RuntimeError):
    """No usable key, or a key file that cannot be read."""


@dataclass(frozen=True)
class PublicKey:
    """A published key: its id, the raw public key (base64url), and when it signed."""

    kid: str
    public: str
    valid_from: str  # ISO 8601 date-time (UTC)
    retired: str | None = None

    def key(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(b64decode(self.public))

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            self.key().verify(signature, data)
        except (InvalidSignature, ValueError):
            return False
        return True


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public: Ed25519PublicKey) -> str:
    """A short id derived from the key itself (first 16 hex digits of the SHA-256 of its raw bytes)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


class Keys:
    """The key folder of one project's instance."""

    def __init__(self, instance_dir: Path):
        self.dir = Path(instance_dir) / KEYS_DIR

    @classmethod
    def for_project(cls, project) -> Keys:
        return cls(project.instance)

    def published(self) -> list[PublicKey]:
        try:
            data = json.loads((self.dir / INDEX).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise SigningKeyError(f"{self.dir / INDEX} illisible : {exc}") from exc
        return [PublicKey(**k) for k in data.get("keys", [])]

    def current(self) -> PublicKey | None:
        live = [k for k in self.published() if k.retired is None]
        return live[-1] if live else None

    def init(self) -> PublicKey:
        """The current key, created when there is none."""
        return self.current() or self.rotate()

    def rotate(self) -> PublicKey:
        """A new key that signs from now on; the previous one is retired, kept for verification."""
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        private = Ed25519PrivateKey.generate()
        public = private.public_key()
        kid = key_id(public)
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        path = self.dir / f"{kid}.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        now = _now()
        keys = [k if k.retired else PublicKey(k.kid, k.public, k.valid_from, now) for k in self.published()]
        new = PublicKey(kid, b64encode(public.public_bytes(serialization.Encoding.Raw,
                                                           serialization.PublicFormat.Raw)), now)
        keys.append(new)
        atomic.replace(self.dir / INDEX, json.dumps(public_document(keys), indent=2).encode("utf-8"))
        return new

    def sign(self, data: bytes) -> tuple[str, bytes]:
        """(key id, signature) of ``data`` with the current key."""
        kid, private = self.private_key()
        return kid, private.sign(data)

    def private_key(self) -> tuple[str, Ed25519PrivateKey]:
        """The current key's id and private key."""
        current = self.current()
        if current is None:
            raise SigningKeyError("aucune clé de signature : lancez « livret keys init »")
        try:
            private = serialization.load_pem_private_key((self.dir / f"{current.kid}.pem").read_bytes(), None)
        except (OSError, ValueError) as exc:
            raise SigningKeyError(f"clé privée {current.kid} illisible : {exc}") from exc
        if not isinstance(private, Ed25519PrivateKey):
            raise SigningKeyError(f"clé privée {current.kid} : Ed25519 attendue")
        return current.kid, private


def public_document(keys: list[PublicKey]) -> dict:
    """The published key list (JSON): what auditors and verifiers are given."""
    return {"format": FORMAT, "keys": [{k: v for k, v in asdict(key).items() if v is not None} for key in keys]}


def read_public_keys(text: str) -> list[PublicKey]:
    """Keys from a published list (JSON) or from one PEM public key; raises ValueError."""
    text = text.strip()
    if text.startswith("-----BEGIN PUBLIC KEY-----"):
        public = serialization.load_pem_public_key(text.encode("ascii"))
        if not isinstance(public, Ed25519PublicKey):
            raise ValueError("clé publique : Ed25519 attendue")
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return [PublicKey(key_id(public), b64encode(raw), "")]
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("keys"), list):
        raise ValueError(f"liste de clés : format « {FORMAT} » attendu")
    keys = []
    for item in data["keys"]:
        key = PublicKey(str(item["kid"]), str(item["public"]), str(item.get("valid_from", "")),
                        item.get("retired"))
        if key_id(key.key()) != key.kid:
            raise ValueError(f"clé {key.kid} : l'identifiant ne correspond pas à la clé")
        keys.append(key)
    return keys
