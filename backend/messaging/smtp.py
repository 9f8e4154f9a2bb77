"""Sending a Message row over SMTP, configured by ``SMTP_URL``.

``smtp://user:pass@host:port?tls=starttls`` (or ``tls=ssl``, or none for a plain
relay). With no ``SMTP_URL`` nothing is sent: the caller records the message.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from backend.messaging.models import Message
from backend.messaging.rendering import header_text

SMTP_TIMEOUT = 20


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: str  # "" | "starttls" | "ssl"


def parse_smtp_url(url: str) -> SmtpSettings:
    """Parse ``SMTP_URL``; raises ValueError for a scheme or tls mode it does not know."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"SMTP_URL must start with smtp:// or smtps://, not {parts.scheme!r}")
    tls = (parse_qs(parts.query).get("tls") or [""])[0].lower()
    if parts.scheme == "smtps":
        tls = "ssl"
    if tls not in ("", "none", "starttls", "ssl"):
        raise ValueError(f"unknown tls mode {tls!r}")
    tls = "" if tls == "none" else tls
    default_port = 465 if tls == "ssl" else 587 if tls == "starttls" else 25
    return SmtpSettings(
        host=parts.hostname or "localhost",
        port=parts.port or default_port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def recipients(message: Message) -> list[str]:
    return [r.strip() for r in (message.recipient or "").split(",") if r.strip()]


def build_email(message: Message, sender: str) -> EmailMessage:
    """The MIME mail for a row: text, HTML alternative when present, stored headers."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = ", ".join(recipients(message))
    # A line break in a header (a visitor's name in a subject, say) would fail the mail.
    mail["Subject"] = header_text(message.subject)
    mail["Date"] = formatdate(localtime=False)
    # An explicit domain: make_msgid's default asks DNS for our FQDN on every mail.
    domain = sender.rpartition("@")[2].strip(" >") or "leadrelay.invalid"
    mail["Message-ID"] = make_msgid(idstring=f"leadrelay.{message.id}", domain=domain)
    mail["X-LeadRelay-Key"] = message.key
    for name, value in ((message.payload or {}).get("headers") or {}).items():
        mail[name] = header_text(value, limit=2000)
    mail.set_content(message.body_text or "")
    if message.body_html:
        mail.add_alternative(message.body_html, subtype="html")
    return mail


def _hostname() -> str:
    # An explicit EHLO name: smtplib's default asks DNS for our FQDN (socket.getfqdn),
    # seconds per connection on a host whose resolver does not answer.
    return socket.gethostname() or "localhost"


class Mailer:
    """One SMTP session for many rows: connect on the first mail, reconnect after an error.

    ``with Mailer(url, sender) as mailer: mailer.send(row)``; ``send`` raises the
    smtplib/OSError error of that row (for its retry) and drops the connection, so the
    next row starts a fresh session.
    """

    def __init__(self, smtp_url: str, sender: str):
        self.settings = parse_smtp_url(smtp_url)
        self.sender = sender
        self.client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        if settings.tls == "ssl":
            client = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                local_hostname=_hostname(),
                timeout=SMTP_TIMEOUT,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(
                settings.host, settings.port, local_hostname=_hostname(), timeout=SMTP_TIMEOUT
            )
        try:
            if settings.tls == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.username:
                client.login(settings.username, settings.password or "")
        except BaseException:
            _close(client)
            raise
        return client

    def send(self, message: Message) -> None:
        mail = build_email(message, self.sender)
        try:
            if self.client is None:
                self.client = self._connect()
            self.client.send_message(mail, to_addrs=recipients(message))
        except BaseException:
            self.close(polite=False)
            raise

    def close(self, polite: bool = True) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            _close(client, polite=polite)

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _close(client: smtplib.SMTP, polite: bool = False) -> None:
    try:
        if polite:
            client.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        client.close()


def send(message: Message, smtp_url: str, sender: str) -> None:
    """Deliver one row over its own SMTP session; raises smtplib/OSError errors."""
    with Mailer(smtp_url, sender) as mailer:
        mailer.send(message)
