"""A real SMTP server for the tests (aiosmtpd), and helpers to read what it received.

- :class:`Recorder`: an SMTP handler that records every message it accepts;
  ``refuse_first=N`` answers ``451`` to the first N messages (a greylisting
  or overloaded server), ``refuse_all="550 ..."`` refuses every recipient.
- :func:`smtp_server`: a context manager starting an aiosmtpd
  :class:`~aiosmtpd.controller.Controller` on 127.0.0.1 and a free port (or
  a given one: a server that comes up on the port where nothing listened),
  plain, STARTTLS (``tls=``) or SMTPS (``implicit_tls=``).
- :func:`self_signed`: a certificate for 127.0.0.1/localhost generated with
  ``cryptography`` into a folder (key and PEM), and its SSL context.
- :func:`free_port`, :func:`link_in`, :func:`parse`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import ipaddress
import re
import socket
import ssl
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller

LINK = re.compile(r"https?://[^\s<>\"']*/lien/[A-Za-z0-9_-]{43}")


class Recorder:
    """Accepts (and keeps) messages; may refuse the first ones (451) or every recipient (a 5xx line)."""

    def __init__(self, *, refuse_first: int = 0, refuse_all: str | None = None):
        self.refuse_first = refuse_first
        self.refuse_all = refuse_all
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refused = 0
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_all:
            return self.refuse_all
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            if self.refused < self.refuse_first:
                self.refused += 1
                return "451 4.3.2 Essayez plus tard (test)"
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            return f"250 2.0.0 Ok: queued as TEST{len(self.messages)}"

    def wait_for(self, count: int = 1, timeout: float = 60) -> list:
        """The messages once at least ``count`` arrived (polling, generous deadline)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.messages)} message(s) received, {count} expected")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def smtp_server(handler: Recorder | None = None, *, port: int | None = None, tls: ssl.SSLContext | None = None,
                implicit_tls: ssl.SSLContext | None = None):
    """An SMTP server on 127.0.0.1; yields (handler, port).  ``tls``: STARTTLS required; ``implicit_tls``: SMTPS."""
    handler = handler or Recorder()
    port = port or free_port()
    kwargs = {}
    if tls is not None:
        kwargs.update(tls_context=tls, require_starttls=True)
    if implicit_tls is not None:
        kwargs.update(ssl_context=implicit_tls, server_hostname="127.0.0.1")
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=30, **kwargs)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def self_signed(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """(the certificate's PEM path, a server SSL context) for 127.0.0.1 and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "livret test SMTP")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return cert_path, context


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def bodies(message) -> tuple[str, str]:
    """(plain text, HTML) of a received message."""
    return (message.get_body(preferencelist=("plain",)).get_content(),
            message.get_body(preferencelist=("html",)).get_content())


def link_in(message) -> str:
    """The one-time link of a mail (the same in both parts)."""
    text, html = bodies(message)
    found = LINK.findall(text)
    assert found, "no one-time link in the mail"
    assert found[0] in html
    return found[0]


# --------------------------------------------------------------------------
# A project whose organisation has a sender, and a learner without an account
# --------------------------------------------------------------------------

SENDER = "formation@of-test.fr"
PUBLIC_URL = "https://livret.of-test.fr"


def mail_project(root: Path, *, sender: str | None = SENDER, public_url: str | None = PUBLIC_URL,
                 without_account: dict[str, str] | None = None):
    """``factories.make_project`` whose ``_organisation.yml`` names a sender (and a public address), and
    whose learners in ``without_account`` (id -> e-mail) have no account yet (committed with the rest)."""
    from factories import make_project

    from livret.seal import witnessed
    from livret.store.history import History
    from livret.store.schema import LearnerProfile
    from livret.store.yamlio import dump_yaml, render_front_matter

    project = make_project(root, git=False)
    org: dict = {"name": "OF de test"}
    if public_url:
        org["public_url"] = public_url
    if sender:
        org["mail"] = {"sender": sender, "reply_to": "contact@of-test.fr"}
    (project.portfolios / "_organisation.yml").write_text(dump_yaml(org), encoding="utf-8")
    for lid, address in (without_account or {}).items():
        profile = project.store.profile(lid)
        data = {**profile.model_dump(mode="json", exclude_none=True), "email": address}
        data.pop("account", None)
        data = LearnerProfile.model_validate(data).model_dump(mode="json", exclude_none=True)
        (project.portfolios / lid / "learner.md").write_text(render_front_matter(data, f"Objectifs de {lid}."),
                                                             encoding="utf-8")
    History(project.portfolios).init()
    witnessed(project)
    return project


def smtp_env(port: int, scheme: str = "smtp", ca_file: Path | None = None) -> dict[str, str]:
    env = {"LIVRET_SMTP_URL": f"{scheme}://127.0.0.1:{port}", "LIVRET_SMTP_TIMEOUT": "20"}
    if ca_file:
        env["LIVRET_SMTP_CA_FILE"] = str(ca_file)
    return env


def mailed_link(instance: Path, address: str, timeout: float = 60) -> str:
    """The one-time link of the first ``.eml`` file written for ``address`` under ``instance/outbox/``
    (embedded mode: the app's background sender writes it), polling with a generous deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted((Path(instance) / "outbox").glob("*.eml")):
            message = parse(path.read_bytes())
            if address in (message["To"] or ""):
                return link_in(message)
        time.sleep(0.1)
    raise AssertionError(f"no mail written for {address} in {instance}/outbox")
