"""The session replay: each command, and each lab web page opened through the platform's
proxy, is listed under the task the trainee was working on when it happened."""

from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lms.auth.models import utcnow
from lms.extensions import db
from lms.labs.models import RUNNING, LabSession, TaskAttempt
from lms.terminal import services
from lms.terminal.models import LabWebRequest, TerminalCommand, TerminalRecording
from lms.terminal.proxy import Upstream

LAB = "http-basics"  # tasks, in order: vault (flag), cookie-attribute (check); web on 8080


class LabPage(BaseHTTPRequestHandler):
    """Stands in for the lab's web service: a page, and an image the page pulls in."""

    def do_GET(self):  # noqa: N802 - http.server's name
        image = self.path.endswith(".png")
        body = b"\x89PNG" if image else b"<html><body>The door</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "image/png" if image else "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def lab_web_service(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), LabPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    # The proxy finds the container on the lab network; here the service runs locally.
    monkeypatch.setattr(
        services,
        "upstream_for",
        lambda session, p, fresh=False: Upstream("127.0.0.1", port, "target"),
    )
    yield
    server.shutdown()
    server.server_close()


def test_commands_and_web_requests_go_to_the_task_worked_on(
    app, client, auth, make_user, lab_web_service
):
    trainee_id = make_user("trainee@example.org", name="Tess")
    make_user("admin@example.org", role="platform_admin")
    now = utcnow()
    with app.app_context():
        lab = LabSession(
            key="replay-test",
            user_id=trainee_id,
            lab_slug=LAB,
            status=RUNNING,
            started_at=now - timedelta(minutes=20),
            expires_at=now + timedelta(minutes=30),
        )
        db.session.add(lab)
        db.session.commit()
        session_id = lab.id

    auth.login("trainee@example.org")
    web = f"/labs/sessions/{session_id}/web/8080"
    assert client.get(f"{web}/hall?door=open").status_code == 200
    assert client.get(f"{web}/logo.png").status_code == 200  # an image: not listed

    with app.app_context():
        (request_row,) = db.session.query(LabWebRequest).all()
        at = request_row.at  # the page was opened between the two completions below
        recording = TerminalRecording(
            session_id=session_id,
            user_id=trainee_id,
            terminal_key="t1",
            path="x.cast",
            started_at=at - timedelta(minutes=15),
        )
        db.session.add(recording)
        db.session.flush()

        def command(text, minutes):
            db.session.add(
                TerminalCommand(
                    recording_id=recording.id,
                    session_id=session_id,
                    text=text,
                    at=at + timedelta(minutes=minutes),
                    offset=60.0 * (15 + minutes),
                )
            )

        def attempt(task, success, minutes, kind="flag"):
            db.session.add(
                TaskAttempt(
                    session_id=session_id,
                    user_id=trainee_id,
                    lab_slug=LAB,
                    task_id=task,
                    kind=kind,
                    success=success,
                    created_at=at + timedelta(minutes=minutes),
                )
            )

        command("curl -i http://target:8080/", -10)
        attempt("vault", False, -9)
        command("curl -i http://target:8080/vault", -8)
        attempt("vault", True, -7)  # vault done
        command("grep -ri httponly /etc", -4)
        attempt("cookie-attribute", True, 3, kind="check")  # cookie-attribute done
        command("history", 5)  # after the last task
        db.session.commit()

    auth.logout()
    auth.login("admin@example.org")
    page = client.get(f"/labs/sessions/{session_id}/review").get_data(as_text=True)
    vault = page.split('data-task="vault"')[1].split('data-task="')[0]
    cookie = page.split('data-task="cookie-attribute"')[1].split('id="commands-after"')[0]
    after = page.split('id="commands-after"')[1].split("</section>")[0]

    assert "$ curl -i http://target:8080/<" in vault and "/vault<" in vault
    assert "grep -ri httponly" not in vault and "/hall" not in vault
    assert "$ grep -ri httponly /etc" in cookie
    assert "GET :8080/hall?door=open" in cookie and "logo.png" not in page
    assert "$ history" in after and "$ history" not in cookie
