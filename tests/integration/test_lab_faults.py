"""Faults of the lab engine on the real Docker engine: leftovers of failed starts, starts
cut off by a dead server, two installations sharing one engine, and an engine that hangs.

Uses tests/fixtures/labs/tiny-lab. Every app sweeps its own key prefix when the test ends.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import suppress
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import select

from lms.auth.models import utcnow
from lms.content.lab_parser import load_lab
from lms.extensions import db
from lms.labs import app_runtime, health, services
from lms.labs.errors import NOT_ANSWERING_MESSAGE
from lms.labs.leases import process_identity
from lms.labs.models import LabSession
from lms.labs.reaper import reap, reconcile
from lms.labs.runtime import (
    LABEL_PLATFORM,
    LABEL_SESSION,
    PLATFORM_NAME,
    get_image_builder,
    get_runtime,
)
from tests.conftest import PASSWORD, ROOT
from tests.lab_support import FIXTURE_LABS, ApiClient, close_lab_app, create_user, make_lab_app

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def tiny_lab(docker_client):
    spec = load_lab(FIXTURE_LABS / "tiny-lab")
    get_image_builder().build(spec)
    return spec


@pytest.fixture
def app(tmp_path, tiny_lab):
    app = make_lab_app(tmp_path)
    yield app
    close_lab_app(app)


def containers_of(client, key: str):
    return client.containers.list(all=True, filters={"label": [f"{LABEL_SESSION}={key}"]})


def networks_of(client, key: str):
    return client.networks.list(filters={"label": [f"{LABEL_SESSION}={key}"]})


def new_key(app) -> str:
    with app.app_context():
        return services.new_session_key()


def leftover_network(client, key: str):
    """What a start leaves when the engine drops after the network, before the container."""
    return client.networks.create(
        f"lms-{key}",
        driver="bridge",
        internal=True,
        labels={LABEL_PLATFORM: PLATFORM_NAME, LABEL_SESSION: key},
    )


def starting_row(
    app, key: str, user_id: int, lease_until, owner=None, created_ago=timedelta(minutes=2)
):
    """The row a start leaves in the database: still "starting", held by ``owner``."""
    with app.app_context():
        now = utcnow()
        row = LabSession(
            key=key,
            user_id=user_id,
            lab_slug="tiny-lab",
            status="starting",
            created_at=now - created_ago,
            expires_at=now + timedelta(minutes=5),
            lease_until=lease_until,
            lease_owner=owner,
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def row_state(app, session_id: int) -> tuple[str, str | None]:
    with app.app_context():
        row = db.session.get(LabSession, session_id)
        return row.status, row.end_reason


# -- the periodic reaper sweeps networks too ---------------------------------------------------


def test_one_reaper_pass_removes_a_network_no_session_owns(app, docker_client):
    key = new_key(app)
    leftover_network(docker_client, key)
    with app.app_context():
        report = reap()  # the periodic pass, not the start-up reconcile
    assert key in report.orphans
    assert networks_of(docker_client, key) == []


def test_the_reaper_leaves_the_network_of_a_live_start_alone(app, docker_client):
    user_id, _ = create_user(app, "dora@example.org")
    key = new_key(app)
    leftover_network(docker_client, key)
    starting_row(app, key, user_id, lease_until=utcnow() + timedelta(minutes=1))
    with app.app_context():
        report = reap()
    assert key not in report.orphans
    assert len(networks_of(docker_client, key)) == 1


# -- starts cut off by a server that died ---------------------------------------------------


def test_reconcile_finishes_a_start_whose_server_died_after_starting_the_lab(
    app, tiny_lab, docker_client
):
    user_id, token = create_user(app, "erin@example.org")
    key = new_key(app)
    get_runtime().start(key, tiny_lab, str(user_id), [])  # what the dead server did
    session_id = starting_row(app, key, user_id, lease_until=utcnow() - timedelta(seconds=1))

    with app.app_context():
        report = reconcile()

    assert key in report.resumed
    body = ApiClient(app, token).session(session_id)
    assert body["status"] == "running" and body["seconds_left"] > 0
    assert [c.status for c in containers_of(docker_client, key)] == ["running"]


def test_reconcile_fails_and_cleans_a_start_cut_off_half_way(app, docker_client):
    user_id, token = create_user(app, "finn@example.org")
    key = new_key(app)
    leftover_network(docker_client, key)  # the server died before creating the container
    session_id = starting_row(app, key, user_id, lease_until=utcnow() - timedelta(seconds=1))

    with app.app_context():
        reconcile()

    assert row_state(app, session_id) == ("failed", "interrupted")
    body = ApiClient(app, token).session(session_id)
    assert "could not start" in body["error"]
    assert networks_of(docker_client, key) == []
    # The trainee can start the lab again at once.
    again = ApiClient(app, token).start("tiny-lab")
    assert again.status_code == 202, again.json


# A server process that starts a lab and is killed once its containers run, before it
# can mark the session running (what `kill -9` of a web server mid-start leaves).
KILLED_SERVER = """
import os, sys
from pathlib import Path
from sqlalchemy import select
from lms import create_app
from lms.auth.models import User
from lms.extensions import db
from lms.labs import app_runtime, services, workers
from tests.conftest import test_config
from tests.lab_support import FIXTURE_LABS, LAB_COURSES

tmp, prefix, email = sys.argv[1:4]
app = create_app(test_config(Path(tmp), LMS_LABS_DIR=str(FIXTURE_LABS),
                             LMS_COURSES_DIR=str(LAB_COURSES), LMS_LAB_SESSION_PREFIX=prefix))
runtime = app_runtime.lab_runtime(app)
real_start = runtime.start

def start_then_die(*args):
    real_start(*args)
    os._exit(9)

runtime.start = start_then_die
with app.app_context():
    services.start_lab(db.session.scalar(select(User).where(User.email == email)), "tiny-lab")
workers.wait_drained(app, 120)
"""


def test_start_up_reconcile_finishes_the_start_of_a_server_killed_mid_start(
    app, tmp_path, tiny_lab, docker_client
):
    _, token = create_user(app, "gus@example.org")
    prefix = app.config["LMS_LAB_SESSION_PREFIX"]
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_SERVER, str(tmp_path), prefix, "gus@example.org"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert killed.returncode == 9, killed.stderr[-2000:]
    with app.app_context():
        row = db.session.scalar(select(LabSession))
        key, session_id = row.key, row.id
        # Restarted at once: the dead server's lease has not lapsed yet, but it is gone.
        assert row.status == "starting" and row.lease_until > utcnow()
    assert [c.status for c in containers_of(docker_client, key)] == ["running"]

    with app.app_context():
        report = reconcile()  # what the restarted server does first

    assert key in report.resumed
    body = ApiClient(app, token).session(session_id)
    assert body["status"] == "running" and body["seconds_left"] > 0


def test_reconcile_leaves_a_start_another_live_server_is_working_on(app, tiny_lab, docker_client):
    user_id, _ = create_user(app, "gwen@example.org")
    key = new_key(app)
    get_runtime().start(key, tiny_lab, str(user_id), [])
    # Its server (this test process: alive) renews the lease while it works: reconcile
    # must not take the start over.
    session_id = starting_row(
        app, key, user_id, lease_until=utcnow() + timedelta(minutes=1), owner=process_identity()
    )
    with app.app_context():
        report = reconcile()
    assert key not in report.resumed + report.timed_out + report.orphans
    assert row_state(app, session_id) == ("starting", None)
    assert len(containers_of(docker_client, key)) == 1


def test_a_start_holds_its_lease_until_it_ends(app):
    user_id, token = create_user(app, "hana@example.org")
    api = ApiClient(app, token)
    response = api.start("tiny-lab")
    assert response.status_code == 202
    with app.app_context():
        row = db.session.get(LabSession, response.json["id"])
        assert row.lease_until is not None and row.lease_until > utcnow()
        assert row.lease_owner == process_identity()
    body = api.wait_settled(response.json["id"])
    assert body["status"] == "running"
    with app.app_context():
        assert db.session.get(LabSession, body["id"]).lease_until is None


# -- two installations on one engine ------------------------------------------------------------


def _folders(tmp_path, *names):
    for name in names:
        (tmp_path / name).mkdir()


def test_installations_get_their_own_default_prefix(tmp_path, tiny_lab):
    _folders(tmp_path, "one", "two")
    first = make_lab_app(tmp_path / "one", LMS_LAB_SESSION_PREFIX=None)
    second = make_lab_app(tmp_path / "two", LMS_LAB_SESSION_PREFIX=None)
    same_db = make_lab_app(tmp_path / "one", LMS_LAB_SESSION_PREFIX=None)
    try:
        second.instance_path = str(tmp_path / "elsewhere")  # another checkout, same database
        second.config["SQLALCHEMY_DATABASE_URI"] = first.config["SQLALCHEMY_DATABASE_URI"]
        prefixes = []
        for app in (first, second, same_db):
            with app.app_context():
                prefixes.append(services.key_prefix())
        assert prefixes[0] != prefixes[1]
        assert prefixes[0] == prefixes[2]  # stable across restarts of one installation
        assert all(p.startswith("lab-") and len(p) <= 16 for p in prefixes)
    finally:
        for app in (first, second, same_db):
            close_lab_app(app)


def test_one_installation_never_sweeps_the_labs_of_another(tmp_path, tiny_lab, docker_client):
    _folders(tmp_path, "ours", "theirs")
    # Two installations: two databases (SQLite files, whatever the test run's database).
    ours, theirs = (
        make_lab_app(
            tmp_path / name,
            LMS_LAB_SESSION_PREFIX=None,
            LMS_DATABASE_URL=f"sqlite:///{tmp_path / name / 'lms.sqlite'}",
        )
        for name in ("ours", "theirs")
    )
    try:
        _, token = create_user(theirs, "ivan@example.org")
        api = ApiClient(theirs, token)
        started = api.wait_settled(api.start("tiny-lab").json["id"])
        assert started["status"] == "running", started
        with theirs.app_context():
            key = db.session.scalar(select(LabSession.key))

        with ours.app_context():
            report = reconcile()

        assert key not in report.orphans
        assert [c.status for c in containers_of(docker_client, key)] == ["running"]
        assert len(networks_of(docker_client, key)) == 1
    finally:
        close_lab_app(ours)
        close_lab_app(theirs)


def test_the_prefix_is_logged_at_start_up(tmp_path, tiny_lab, caplog):
    from lms.labs.reaper import log_key_prefix

    app = make_lab_app(tmp_path, LMS_LAB_SESSION_PREFIX=None)
    try:
        with caplog.at_level("INFO"):
            log_key_prefix(app)
        with app.app_context():
            assert services.key_prefix() in caplog.text
    finally:
        close_lab_app(app)


# -- an engine that hangs -----------------------------------------------------------------------


class HangingEngine:
    """A unix socket in front of the real engine. It forwards both ways until ``hang()``;
    from then on it takes connections (new and open ones) and never answers."""

    def __init__(self, path: Path, upstream: str = "/var/run/docker.sock"):
        self.path, self.upstream = path, upstream
        self.hung = threading.Event()
        self.closed = threading.Event()
        self.sockets: list[socket.socket] = []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def hang(self) -> None:
        self.hung.set()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.sockets.append(client)
            if self.hung.is_set():
                continue  # accepted, never answered
            engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            engine.connect(self.upstream)
            self.sockets.append(engine)
            threading.Thread(target=self._pump, args=(client, engine), daemon=True).start()
            threading.Thread(target=self._pump, args=(engine, client), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                return
            if not self.hung.is_set():  # hung: swallow everything, answer nothing
                with suppress(OSError):
                    target.sendall(data)

    def close(self) -> None:
        self.closed.set()
        for sock in [self.listener, *self.sockets]:
            with suppress(OSError):
                sock.close()


@pytest.fixture
def hanging_engine(tmp_path, monkeypatch):
    """The engine in front of the real one, found hanging sooner than in production: an
    engine record is trusted for a second (not EngineHealth.UP_TTL), a lab worker probes
    every second (not every health.PROBE_SECONDS), and the runtime gives up on a call that
    answers at once (a ping) after 2 s (not 5). What the trainee and the admin are told is
    the same; the tests wait less for it."""
    monkeypatch.setattr(health.EngineHealth, "UP_TTL", 1.0)
    monkeypatch.setattr(health, "PROBE_SECONDS", 1.0)
    monkeypatch.setattr(app_runtime, "get_runtime", partial(get_runtime, quick_timeout=2.0))
    engine = HangingEngine(tmp_path / "engine.sock")
    yield engine
    engine.close()


def _admin(app):
    create_user(app, "root@example.org", role="platform_admin")
    admin = app.test_client()
    admin.post("/login", data={"email": "root@example.org", "password": PASSWORD})
    return admin


def test_an_engine_that_stops_answering_is_told_and_starts_are_refused(
    tmp_path, tiny_lab, hanging_engine
):
    app = make_lab_app(tmp_path, LMS_DOCKER_URL=hanging_engine.url)
    try:
        admin = _admin(app)
        _, token = create_user(app, "jo@example.org")
        healthy = admin.get("/labs/admin").get_data(as_text=True)
        assert 'id="labs-engine">up' in healthy

        hanging_engine.hang()

        # The page shows what the lab worker found (it never asks the engine itself): its
        # next probe, a few seconds away, finds the engine hanging.
        deadline = time.monotonic() + 60
        while True:
            page = admin.get("/labs/admin")
            assert page.status_code == 200
            if 'id="labs-engine">not answering' in page.get_data(as_text=True):
                break
            assert time.monotonic() < deadline, "the lab worker never found the engine hanging"
            time.sleep(0.5)
        assert "The engine is not answering" in page.get_data(as_text=True)
        refused = ApiClient(app, token).start("tiny-lab")
        assert refused.status_code == 503
        assert refused.json == {
            "error": "lab_service_unavailable",
            "message": NOT_ANSWERING_MESSAGE,
        }
        with app.app_context():
            assert db.session.scalar(select(LabSession.id)) is None  # nothing half-started
    finally:
        close_lab_app(app)


def test_an_engine_hung_from_the_start_refuses_starts_with_a_clear_503(
    tmp_path, tiny_lab, hanging_engine
):
    hanging_engine.hang()
    app = make_lab_app(tmp_path, LMS_DOCKER_URL=hanging_engine.url)
    try:
        _, token = create_user(app, "kim@example.org")
        refused = ApiClient(app, token).start("tiny-lab")
        assert refused.status_code == 503
        assert refused.json["message"] == NOT_ANSWERING_MESSAGE
        page = _admin(app).get("/labs/admin").get_data(as_text=True)
        assert 'id="labs-engine">not answering' in page
    finally:
        close_lab_app(app)
