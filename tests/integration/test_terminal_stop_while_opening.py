"""A lab stopped while one of its terminals is still opening: no error, nothing held.

The panel closes its terminal tabs when the lab stops; a shell that was still
being opened then fails, and the server has nobody left to tell. That must
not be logged as an unhandled error, and the terminal's room in the process
must be given back.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from contextlib import suppress

import pytest

from lms import create_app
from lms.extensions import db
from tests.conftest import PASSWORD, reset_schema, test_config
from tests.terminal_support import Shell, add_running_session, serve_in_thread, sign_in

pytestmark = pytest.mark.docker


class HeldShells:
    """The Docker runtime, with ``open_shell`` held until the test lets it go."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.opening = threading.Event()
        self.go = threading.Event()

    def __getattr__(self, name):
        return getattr(self.runtime, name)

    def open_shell(self, *args, **kwargs):
        self.opening.set()
        self.go.wait(30)
        return self.runtime.open_shell(*args, **kwargs)


def test_stopping_the_lab_while_its_terminal_opens(
    tmp_path, docker_runtime, busybox_lab, caplog, monkeypatch
):
    from lms.auth.services import create_user
    from lms.labs.models import LabSession
    from lms.terminal.bridge import hub

    held = HeldShells(docker_runtime)
    app = create_app(test_config(tmp_path, LMS_RECORDINGS_DIR=str(tmp_path / "recordings")))
    app.extensions["lab_runtime"] = held
    key = f"test-stop-{uuid.uuid4().hex[:8]}"
    with app.app_context():
        reset_schema()
        owner = create_user("owner@terminal.example.org", PASSWORD, role="trainee")
        db.session.commit()
        docker_runtime.start(key, busybox_lab, str(owner.id), [])
        session_id = add_running_session(key, owner.id, busybox_lab.slug)
    # The app reads lab specs from its labs folder; the probe lab lives elsewhere.
    monkeypatch.setattr("lms.content.lab_library.get_spec", lambda slug: busybox_lab)
    base, live = serve_in_thread(app)
    caplog.set_level(logging.INFO)
    try:
        browser = sign_in(base, "owner@terminal.example.org")
        shell = Shell(base, browser, session_id, terminal="stopping001")
        assert held.opening.wait(30), "the terminal never started opening"
        # The lab stops; the panel closes the tab that was opening.
        with app.app_context():
            db.session.get(LabSession, session_id).status = "stopped"
            db.session.commit()
        docker_runtime.stop(key)
        shell.ws.close()
        shell.ws.thread.join(10)
        held.go.set()
        deadline = time.monotonic() + 30
        while hub.slots_taken and time.monotonic() < deadline:
            time.sleep(0.1)
        assert hub.slots_taken == 0
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
        assert not errors, [r.getMessage() for r in errors]
    finally:
        held.go.set()
        live.shutdown()
        with suppress(Exception):
            docker_runtime.stop(key)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
