"""lms.mail against a real SMTP server (aiosmtpd on a free local port)."""

from __future__ import annotations

import pytest

from lms.mail import MailError, mail_enabled, parse_smtp_url, send_mail
from tests.smtp_support import free_port, smtp_server  # noqa: F401 - the fixture


def test_a_message_reaches_the_smtp_server(app, smtp_server):  # noqa: F811
    app.config.update(LMS_SMTP_URL=smtp_server.url, LMS_MAIL_FROM="range@example.org")
    with app.app_context():
        assert mail_enabled()
        send_mail("ada@example.org", "Hello", "A line of text.\nhttps://lms.example/x")
    (message,) = smtp_server.messages
    assert message["To"] == "ada@example.org"
    assert message["From"] == "range@example.org"
    assert message["Subject"] == "Hello"
    assert "https://lms.example/x" in message.get_content()


def test_without_a_server_sending_says_why(app):
    with app.app_context():
        assert not mail_enabled()
        with pytest.raises(MailError, match="not configured"):
            send_mail("ada@example.org", "Hello", "text")
        app.config["LMS_SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nobody listens
        with pytest.raises(MailError, match="did not take"):
            send_mail("ada@example.org", "Hello", "text")


def test_smtp_urls_are_parsed():
    server = parse_smtp_url("smtps://mailer%40example.org:p%3Ass@mail.example.org")
    assert (server.host, server.port, server.implicit_tls) == ("mail.example.org", 465, True)
    assert (server.username, server.password) == ("mailer@example.org", "p:ss")
    assert parse_smtp_url("smtp://relay:2525").port == 2525
    with pytest.raises(ValueError, match="smtp://"):
        parse_smtp_url("http://relay")
