"""Trusted timestamps (RFC 3161) of the journal's head: a witness an insider cannot reach.

Once a day (and on demand: ``livret seal timestamp``) the hash of the
journal's last record is sent to the organisation's time-stamping authority
(TSA); its signed token says that this exact chain existed at that time.
Tokens are kept in the instance database and go into audit packs.  A journal
rewritten later (with the history, by someone with shell access) no longer
holds the records the tokens cover, and old records would only have tokens
dated after the rewrite: ``verify`` reports both.

The request and the checks use rfc3161-client (Trail of Bits, used by
sigstore); the TSA's certificate chain is checked against the root given in
the settings (``seal.tsa_ca``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass

from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from ..instance import db as instance_db
from .journal import Journal, Record

#: A checkpoint older than this is « en retard » (the dashboard and verify say so).
LATE_AFTER = dt.timedelta(days=2)

instance_db.register("seal_timestamps", [
    """
    CREATE TABLE seal_timestamps (
        id INTEGER PRIMARY KEY,
        seq INTEGER NOT NULL,
        head_hash TEXT NOT NULL,
        gen_time TEXT NOT NULL,
        token BLOB NOT NULL
    );
    """,
])


class TimestampError(RuntimeError):
    """The TSA could not be reached, refused, or answered something that does not verify."""


@dataclass(frozen=True)
class Token:
    seq: int  # the journal record whose hash was timestamped
    head_hash: str
    gen_time: dt.datetime  # the TSA's time
    token: bytes  # the DER TimeStampResp, as received


def _message(head_hash: str) -> bytes:
    """What is timestamped: the record's hash, as the bytes of its hex text."""
    return head_hash.encode("ascii")


def request_token(url: str, head_hash: str, roots: list[x509.Certificate], *, timeout: float = 30) -> bytes:
    """Ask the TSA at ``url`` to timestamp ``head_hash``; the answer is checked before it is returned."""
    request = TimestampRequestBuilder(data=_message(head_hash), hash_algorithm=HashAlgorithm.SHA256,
                                      nonce=True, cert_req=True).build()
    http = urllib.request.Request(url, data=request.as_bytes(), method="POST",
                                  headers={"Content-Type": "application/timestamp-query",
                                           "Accept": "application/timestamp-reply"})
    try:
        with urllib.request.urlopen(http, timeout=timeout) as answer:  # noqa: S310 - the configured TSA
            body = answer.read(1024 * 1024)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise TimestampError(f"autorité d'horodatage injoignable ({url}) : {exc}") from exc
    try:
        response = decode_timestamp_response(body)
    except ValueError as exc:
        raise TimestampError(f"réponse d'horodatage illisible : {exc}") from exc
    if response.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise TimestampError(f"l'autorité d'horodatage a refusé la demande (statut {response.status})")
    if response.tst_info.nonce != request.nonce:
        raise TimestampError("réponse d'horodatage : le nonce ne correspond pas à la demande")
    verify_token(body, head_hash, roots)
    return body


def verify_token(token: bytes, head_hash: str, roots: list[x509.Certificate]) -> dt.datetime:
    """The time a token certifies for ``head_hash``; raises TimestampError when it does not verify."""
    if not roots:
        raise TimestampError("aucun certificat racine de l'autorité d'horodatage (réglage seal.tsa_ca)")
    try:
        response = decode_timestamp_response(token)
        builder = VerifierBuilder()
        for root in roots:
            builder = builder.add_root_certificate(root)
        builder.build().verify_message(response, _message(head_hash))
    except (ValueError, VerificationError) as exc:
        raise TimestampError(f"jeton d'horodatage invalide : {exc}") from exc
    imprint = response.tst_info.message_imprint.message
    if imprint != hashlib.sha256(_message(head_hash)).digest():
        raise TimestampError("jeton d'horodatage : il ne couvre pas cet enregistrement")
    return response.tst_info.gen_time.astimezone(dt.timezone.utc)


def load_roots(pem: bytes) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise TimestampError(f"certificat racine de l'autorité d'horodatage illisible : {exc}") from exc


class Timestamps:
    """The tokens of one project's journal."""

    def __init__(self, journal: Journal):
        self.journal = journal
        self.db = journal.db

    def tokens(self) -> list[Token]:
        with contextlib.closing(self.db.connect()) as conn:
            rows = conn.execute("SELECT seq, head_hash, gen_time, token FROM seal_timestamps ORDER BY id").fetchall()
        return [Token(r[0], r[1], dt.datetime.fromisoformat(r[2]), bytes(r[3])) for r in rows]

    def latest(self) -> Token | None:
        tokens = self.tokens()
        return tokens[-1] if tokens else None

    def checkpoint(self, url: str, roots: list[x509.Certificate], *, force: bool = False) -> Token | None:
        """Timestamp the journal's head unless it was already timestamped (or ``force``)."""
        head = self.journal.head()
        if head is None:
            return None
        latest = self.latest()
        if latest is not None and latest.head_hash == head.hash and not force:
            return latest
        token = request_token(url, head.hash, roots)
        gen_time = verify_token(token, head.hash, roots)
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO seal_timestamps (seq, head_hash, gen_time, token) VALUES (?, ?, ?, ?)",
                         (head.seq, head.hash, gen_time.isoformat(), token))
        return Token(head.seq, head.hash, gen_time, token)

    def due(self, now: dt.datetime | None = None) -> bool:
        """Whether the daily checkpoint is due (the head changed and the last token is a day old)."""
        head = self.journal.head()
        latest = self.latest()
        if head is None:
            return False
        if latest is None:
            return True
        now = now or dt.datetime.now(dt.timezone.utc)
        return latest.head_hash != head.hash and now - latest.gen_time >= dt.timedelta(days=1)


def check(journal: Journal, roots: list[x509.Certificate], records: list[Record] | None = None,
          now: dt.datetime | None = None) -> list[str]:
    """What the tokens say against the journal (French findings; empty when they agree)."""
    records = records if records is not None else journal.records()
    by_seq = {r.seq: r for r in records}
    tokens = Timestamps(journal).tokens()
    findings = []
    now = now or dt.datetime.now(dt.timezone.utc)
    if not tokens:
        if records and now - dt.datetime.fromisoformat(records[0].recorded) > LATE_AFTER:
            findings.append("aucun horodatage du journal alors qu'une autorité d'horodatage est configurée")
        return findings
    for token in tokens:
        record = by_seq.get(token.seq)
        try:
            gen_time = verify_token(token.token, token.head_hash, roots)
        except TimestampError as exc:
            findings.append(f"horodatage du n° {token.seq} : {exc}")
            continue
        if record is None or record.hash != token.head_hash:
            findings.append(f"l'horodatage du {gen_time:%d/%m/%Y %H:%M} couvre un enregistrement n° {token.seq} "
                            "que le journal n'a plus tel quel : journal réécrit")
    # Every record since timestamps began, old enough, must be covered by a token obtained soon
    # after it was recorded: a rewritten journal can only get tokens dated after the rewrite.
    began = min(t.gen_time for t in tokens) - LATE_AFTER
    for record in records:
        recorded = dt.datetime.fromisoformat(record.recorded)
        if now - recorded <= LATE_AFTER or recorded < began:
            continue
        if not any(t.seq >= record.seq and t.gen_time - recorded <= LATE_AFTER for t in tokens):
            findings.append(f"enregistrement n° {record.seq} ({recorded:%d/%m/%Y}) : aucun horodatage dans les "
                            f"{LATE_AFTER.days} jours qui ont suivi")
            break
    return findings
