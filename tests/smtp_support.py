"""A real SMTP server on a free local port (aiosmtpd), for tests of the platform's mail.

Use the ``smtp_server`` fixture: ``smtp_server.url`` goes into ``LMS_SMTP_URL``;
``smtp_server.messages`` lists what arrived (email.message.EmailMessage, oldest first).
"""

from __future__ import annotations

import email
import email.policy
import socket
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class MailInbox:
    """aiosmtpd handler: keeps every message it is handed."""

    messages: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        return "250 Message accepted for delivery"


@dataclass
class LocalSmtpServer:
    url: str
    inbox: MailInbox

    @property
    def messages(self) -> list:
        return self.inbox.messages


@pytest.fixture
def smtp_server():
    inbox = MailInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield LocalSmtpServer(url=f"smtp://127.0.0.1:{port}", inbox=inbox)
    finally:
        controller.stop()
