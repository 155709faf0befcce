"""Where mails go and who they come from.

The SMTP server is set by the environment (never in the store, whose files
reach git): ``LIVRET_SMTP_URL`` such as ``smtp+starttls://user@host:587``,
with the password in ``LIVRET_SMTP_PASSWORD`` (never in the URL, never in a
log line).  Schemes: ``smtp://`` (plain, port 25), ``smtp+starttls://``
(STARTTLS, port 587), ``smtps://`` (TLS from the start, port 465).
``LIVRET_SMTP_CA_FILE`` names a PEM file of authorities to trust instead of
the system's (a private relay; the tests' self-signed server).

Unset, livret runs in *embedded* mode: each mail is written as an ``.eml``
file under ``<project>/instance/outbox/`` (the demo uses this).

Who the mails come from is the organisation's choice, in
``_organisation.yml`` (``mail: {sender, sender_name, reply_to}``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

URL_VAR = "LIVRET_SMTP_URL"
PASSWORD_VAR = "LIVRET_SMTP_PASSWORD"
CA_VAR = "LIVRET_SMTP_CA_FILE"
TIMEOUT_VAR = "LIVRET_SMTP_TIMEOUT"
#: scheme -> (security, default port)
SCHEMES = {"smtp": ("none", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}
DEFAULT_TIMEOUT = 30.0
#: The From address of embedded mode when the organisation names none (the files are read by people).
PLACEHOLDER_SENDER = "livret@localhost"


class MailConfigError(ValueError):
    """A mail setting that cannot be used; the message is French and names the variable or key."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    #: ``none``, ``starttls`` or ``tls``.
    security: str = "none"
    user: str = ""
    password: str = field(default="", repr=False)
    ca_file: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    @property
    def scheme(self) -> str:
        return {"none": "smtp", "starttls": "smtp+starttls", "tls": "smtps"}[self.security]

    def describe(self) -> str:
        """The server for people and logs: never the password."""
        who = f"{self.user}@" if self.user else ""
        return f"{self.scheme}://{who}{self.host}:{self.port}"


def parse_url(url: str, *, password: str = "", ca_file: str | None = None,
              timeout: float = DEFAULT_TIMEOUT) -> SmtpSettings:
    """The settings of ``LIVRET_SMTP_URL``; :class:`MailConfigError` naming the variable when it is wrong."""
    text = (url or "").strip()
    example = "ex. smtp+starttls://utilisateur@smtp.exemple.fr:587"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise MailConfigError(f"{URL_VAR} invalide : port incorrect ({example})") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise MailConfigError(f"{URL_VAR} invalide : schéma {scheme or '(absent)'!r} inconnu (attendu : "
                              f"smtp://, smtp+starttls:// ou smtps:// ; {example})")
    if parts.password is not None:
        raise MailConfigError(f"{URL_VAR} : ne mettez pas le mot de passe dans l'adresse, mais dans "
                              f"{PASSWORD_VAR}")
    host = parts.hostname or ""
    if not host or any(c.isspace() for c in host):
        raise MailConfigError(f"{URL_VAR} invalide : serveur absent ({example})")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise MailConfigError(f"{URL_VAR} invalide : rien après le port ({example})")
    security, default_port = SCHEMES[scheme]
    if port == 0:
        raise MailConfigError(f"{URL_VAR} invalide : port 0 ({example})")
    user = unquote(parts.username or "")
    if password and not user:
        raise MailConfigError(f"{PASSWORD_VAR} est renseigné mais {URL_VAR} ne nomme pas d'utilisateur "
                              "(utilisateur@serveur)")
    return SmtpSettings(host=host, port=port or default_port, security=security, user=user, password=password,
                        ca_file=ca_file or None, timeout=timeout)


def from_env(environ: Mapping[str, str] | None = None) -> SmtpSettings | None:
    """The SMTP settings of the environment, or None (embedded mode: ``.eml`` files)."""
    env = os.environ if environ is None else environ
    url = env.get(URL_VAR, "").strip()
    if not url:
        return None
    raw_timeout = env.get(TIMEOUT_VAR, "").strip()
    try:
        timeout = float(raw_timeout) if raw_timeout else DEFAULT_TIMEOUT
    except ValueError:
        raise MailConfigError(f"{TIMEOUT_VAR} invalide : {raw_timeout!r} (un nombre de secondes)") from None
    if not 0 < timeout <= 600:
        raise MailConfigError(f"{TIMEOUT_VAR} invalide : entre 0 et 600 secondes")
    ca_file = env.get(CA_VAR, "").strip() or None
    if ca_file and not os.path.isfile(ca_file):
        raise MailConfigError(f"{CA_VAR} : fichier introuvable : {ca_file}")
    return parse_url(url, password=env.get(PASSWORD_VAR, ""), ca_file=ca_file, timeout=timeout)


@dataclass(frozen=True)
class Sender:
    """Who the organisation's mails come from."""

    address: str
    name: str
    reply_to: str | None = None
    #: True when ``address`` is the embedded mode's placeholder (no ``mail.sender`` set).
    placeholder: bool = False

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2] or "localhost"


NO_SENDER = ("_organisation.yml : mail.sender (l'adresse d'expédition) n'est pas renseigné ; le serveur SMTP "
             "refuserait ou classerait en indésirable un courriel sans expéditeur de l'organisme")


def sender_of(org, *, smtp: bool) -> Sender:
    """The sender of ``org`` (an :class:`~livret.store.schema.Organisation`).

    In SMTP mode ``mail.sender`` is required (:class:`MailConfigError` otherwise);
    in embedded mode a placeholder stands in, marked as such.
    """
    mail = org.mail
    name = (mail.sender_name or org.name or "livret").strip()
    if mail.sender:
        return Sender(mail.sender, name, mail.reply_to)
    if smtp:
        raise MailConfigError(NO_SENDER)
    return Sender(PLACEHOLDER_SENDER, name, mail.reply_to, placeholder=True)
