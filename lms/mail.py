"""Outgoing e-mail: a small sender over smtplib, configured by ``LMS_SMTP_URL``.

``LMS_SMTP_URL`` names the server: ``smtp://user:password@host:587`` (plain SMTP, upgraded
with STARTTLS whenever the server offers it) or ``smtps://user:password@host:465``
(TLS from the first byte). User and password are optional and URL-encoded. Without the
setting no mail is sent and :func:`mail_enabled` is false: callers show links to copy
instead. The sender address is ``LMS_MAIL_FROM``.

Callers: invitations (lms.centres.invitations), password resets (lms.auth).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

from flask import current_app

SMTP_TIMEOUT_SECONDS = 15
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


class MailError(Exception):
    """The message could not be handed to the SMTP server; ``str()`` says why, for a person."""


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to hand over mail, parsed from ``LMS_SMTP_URL``."""

    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = None


def parse_smtp_url(url: str) -> SmtpServer:
    """``smtp://[user[:password]@]host[:port]`` or ``smtps://…`` -> SmtpServer (ValueError if not)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError(f"LMS_SMTP_URL must start with smtp:// or smtps://, not {url!r}")
    if not parts.hostname:
        raise ValueError("LMS_SMTP_URL names no host")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as error:  # a port that is not a number
        raise ValueError(f"LMS_SMTP_URL has a bad port: {error}") from None
    return SmtpServer(
        host=parts.hostname,
        port=port,
        implicit_tls=parts.scheme == "smtps",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def mail_enabled() -> bool:
    """Whether this installation sends e-mail (``LMS_SMTP_URL`` is set)."""
    return bool(current_app.config.get("LMS_SMTP_URL"))


def sender_address() -> str:
    configured = current_app.config.get("LMS_MAIL_FROM")
    if configured:
        return configured
    server = parse_smtp_url(current_app.config["LMS_SMTP_URL"])
    return f"lms@{server.host}"


def build_message(to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender_address()
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender_address().rpartition("@")[2] or None)
    message.set_content(body)
    return message


def send_mail(to: str, subject: str, body: str) -> None:
    """Send a plain-text message to one address; MailError when the server cannot take it.

    Nothing is sent (and MailError raised) when ``LMS_SMTP_URL`` is not set: check
    :func:`mail_enabled` first where copying a link is the fallback.
    """
    url = current_app.config.get("LMS_SMTP_URL")
    if not url:
        raise MailError("e-mail is not configured on this platform (LMS_SMTP_URL)")
    try:
        server = parse_smtp_url(url)
    except ValueError as error:
        raise MailError(str(error)) from None
    message = build_message(to, subject, body)
    try:
        with _connect(server) as connection:
            if server.username:
                connection.login(server.username, server.password or "")
            connection.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        current_app.logger.warning("mail to %s not sent: %s", to, error)
        raise MailError(f"the mail server did not take the message ({error})") from error


def _connect(server: SmtpServer) -> smtplib.SMTP:
    tls = ssl.create_default_context()
    if server.implicit_tls:
        return smtplib.SMTP_SSL(server.host, server.port, timeout=SMTP_TIMEOUT_SECONDS, context=tls)
    connection = smtplib.SMTP(server.host, server.port, timeout=SMTP_TIMEOUT_SECONDS)
    try:
        connection.ehlo()
        # Never send credentials or links in clear text when the server can do better.
        if connection.has_extn("starttls"):
            connection.starttls(context=tls)
            connection.ehlo()
    except BaseException:
        connection.close()
        raise
    return connection
