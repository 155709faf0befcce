"""How a mail leaves: an SMTP server, or an ``.eml`` file under ``instance/outbox/``.

A transport's :meth:`send` returns the server's answer (or the file's path)
and raises :class:`TemporaryFailure` (a 4xx answer, a server down or slow:
try again later) or :class:`PermanentFailure` (a 5xx answer, a refused
recipient: trying again would get the same answer).  A failure that is not
about the mail but about the connection (:attr:`MailFailure.connection`)
says that the next mails of the round would fail alike.
"""

from __future__ import annotations

import contextlib
import os
import re
import smtplib
import socket
import ssl
import tempfile
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path

from .settings import SmtpSettings

#: Folder of the embedded mode's files, under the project's instance folder.
OUTBOX_DIR = "outbox"


class MailFailure(Exception):
    """A mail not delivered; ``str()`` is the server's answer or the reason, in French."""

    def __init__(self, message: str, *, connection: bool = False):
        super().__init__(message)
        #: The server could not be reached or talked to: the round's next mails would fail too.
        self.connection = connection


class TemporaryFailure(MailFailure):
    """Try again later."""


class PermanentFailure(MailFailure):
    """Trying again would get the same answer."""


def _answer(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}".strip()


def _failure(code: int, text: bytes | str, what: str, *, connection: bool = False) -> MailFailure:
    message = f"{what} : {_answer(code, text)}"
    if 500 <= code < 600:
        return PermanentFailure(message, connection=connection)
    return TemporaryFailure(message, connection=connection)


def _envelope(mail: EmailMessage) -> tuple[str, list[str]]:
    sender = getaddresses([mail.get("Sender") or mail.get("From", "")])
    recipients = [addr for _, addr in getaddresses(mail.get_all("To", []) + mail.get_all("Cc", [])) if addr]
    return (sender[0][1] if sender else ""), recipients


class SmtpTransport:
    """One connection per :meth:`open` block; several mails can share it."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def describe(self) -> str:
        return self.settings.describe()

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.ca_file)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        except smtplib.SMTPConnectError as exc:
            raise _failure(exc.smtp_code, exc.smtp_error, "connexion refusée par le serveur",
                           connection=True) from None
        except ssl.SSLError as exc:
            raise TemporaryFailure(f"échec TLS avec {s.host}:{s.port} : {exc.reason or exc}",
                                   connection=True) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"serveur injoignable ({s.host}:{s.port}) : {_os_reason(exc)}",
                                   connection=True) from None
        try:
            smtp.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise TemporaryFailure(f"le serveur {s.host}:{s.port} ne propose pas STARTTLS", connection=True)
                code, text = smtp.starttls(context=self._context())
                if code != 220:
                    raise _failure(code, text, "STARTTLS refusé", connection=True)
                smtp.ehlo()
            if s.user:
                smtp.login(s.user, s.password)
        except smtplib.SMTPAuthenticationError as exc:
            _quietly_close(smtp)
            # Wrong credentials are not the mail's fault: it waits for the configuration to be fixed.
            raise TemporaryFailure(f"authentification refusée pour {s.user} : "
                                   f"{_answer(exc.smtp_code, exc.smtp_error)}", connection=True) from None
        except MailFailure:
            _quietly_close(smtp)
            raise
        except smtplib.SMTPResponseException as exc:
            _quietly_close(smtp)
            raise _failure(exc.smtp_code, exc.smtp_error, "refus du serveur", connection=True) from None
        except ssl.SSLError as exc:
            _quietly_close(smtp)
            raise TemporaryFailure(f"échec TLS avec {s.host}:{s.port} : {exc.reason or exc}",
                                   connection=True) from None
        except (OSError, smtplib.SMTPException) as exc:
            _quietly_close(smtp)
            raise TemporaryFailure(f"connexion interrompue ({s.host}:{s.port}) : {_os_reason(exc)}",
                                   connection=True) from None
        return smtp

    @contextlib.contextmanager
    def open(self):
        """A connection for the block (opened at the first mail, closed at the end)."""
        try:
            yield self
        finally:
            if self._smtp is not None:
                _quietly_close(self._smtp, polite=True)
                self._smtp = None

    def send(self, mail: EmailMessage) -> str:
        """Deliver ``mail``; the server's answer to its data (``250 2.0.0 Ok: queued as …``)."""
        if self._smtp is None:
            self._smtp = self._connect()
        smtp = self._smtp
        sender, recipients = _envelope(mail)
        try:
            code, text = smtp.mail(sender)
            if code != 250:
                smtp.rset()
                raise _failure(code, text, "expéditeur refusé")
            for rcpt in recipients:
                code, text = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    smtp.rset()
                    raise _failure(code, text, f"destinataire refusé ({rcpt})")
            code, text = smtp.data(mail.as_bytes())
            if code != 250:
                raise _failure(code, text, "message refusé")
            return _answer(code, text)
        except MailFailure:
            raise
        except smtplib.SMTPDataError as exc:  # DATA itself refused (not 354): about this mail
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.rset()
            raise _failure(exc.smtp_code, exc.smtp_error, "message refusé") from None
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise _failure(exc.smtp_code, exc.smtp_error, "refus du serveur", connection=True) from None
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise TemporaryFailure(f"connexion interrompue : {_os_reason(exc)}", connection=True) from None

    def _drop(self) -> None:
        if self._smtp is not None:
            _quietly_close(self._smtp)
            self._smtp = None


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connexion refusée (aucun serveur n'écoute)"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "délai dépassé"
    if isinstance(exc, socket.gaierror):
        return f"nom de serveur inconnu ({exc.strerror or exc})"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "le serveur a fermé la connexion"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _quietly_close(smtp: smtplib.SMTP, *, polite: bool = False) -> None:
    try:
        if polite:
            smtp.quit()
        else:
            smtp.close()
    except (OSError, smtplib.SMTPException):
        with contextlib.suppress(OSError):
            smtp.close()


_UNSAFE = re.compile(r"[^a-z0-9-]+")


class EmlTransport:
    """Embedded mode: each mail written as ``<instance>/outbox/<name>.eml`` (temp file, then rename)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    @classmethod
    def for_project(cls, project) -> EmlTransport:
        return cls(project.instance / OUTBOX_DIR)

    def describe(self) -> str:
        return f"fichiers .eml dans {self.folder}"

    @contextlib.contextmanager
    def open(self):
        yield self

    def send(self, mail: EmailMessage, *, name: str = "") -> str:
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            stem = _UNSAFE.sub("-", name.lower()).strip("-") or "courriel"
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".eml", dir=self.folder)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(mail.as_bytes())
                    handle.flush()
                    os.fsync(handle.fileno())
                target = self.folder / f"{stem}.eml"
                n = 2
                while target.exists():
                    target = self.folder / f"{stem}-{n}.eml"
                    n += 1
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise TemporaryFailure(f"écriture impossible dans {self.folder} : {exc.strerror or exc}",
                                   connection=True) from None
        return str(target)


def transport_for(project, smtp: SmtpSettings | None):
    """The SMTP transport when configured, else the ``.eml`` files of the project."""
    return SmtpTransport(smtp) if smtp is not None else EmlTransport.for_project(project)
