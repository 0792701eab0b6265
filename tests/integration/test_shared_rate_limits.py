"""Flask-Limiter's limits hold across every web worker and host: the counts live in the
database by default (lms.ratelimits) or in Redis when LMS_RATELIMIT_STORAGE_URI says so.
Each test makes hits from another process (another gunicorn worker) and from this one."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lms import create_app, ratelimits
from lms.extensions import db, limiter
from tests.conftest import ROOT, reset_schema, test_config

REGISTRATIONS_PER_HOUR = 20  # lms.auth.views.register
BAD_FORM = {"name": "x", "email": "not an address"}  # refused by the form: nothing is created


def limited_config(tmp_path: Path, **overrides) -> dict:
    return test_config(tmp_path, RATELIMIT_ENABLED=True, LMS_SELF_REGISTRATION=True, **overrides)


@pytest.fixture
def make_app(tmp_path):
    """make(**config) -> an app with the limits on; the first one empties the database."""
    made = []

    def make(**overrides):
        app = create_app(limited_config(tmp_path, **overrides))
        with app.app_context():
            if not made:
                reset_schema()
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def register_from_another_process(tmp_path: Path, times: int, address: str, **overrides):
    """``times`` refused registrations from ``address``, made by a separate process."""
    worker = textwrap.dedent(
        f"""
        from pathlib import Path
        from lms import create_app
        from tests.integration.test_shared_rate_limits import BAD_FORM, limited_config

        app = create_app(limited_config(Path({str(tmp_path)!r}), **{overrides!r}))
        client = app.test_client()
        for _ in range({times}):
            response = client.post(
                "/register", data=BAD_FORM, environ_base={{"REMOTE_ADDR": {address!r}}}
            )
            assert response.status_code == 200, response.status_code
        """
    )
    subprocess.run([sys.executable, "-c", worker], check=True, timeout=300, cwd=ROOT)


def register(app, address: str):
    return app.test_client().post("/register", data=BAD_FORM, environ_base={"REMOTE_ADDR": address})


def assert_hits_are_shared(app, tmp_path: Path, **overrides) -> None:
    half = REGISTRATIONS_PER_HOUR // 2
    register_from_another_process(tmp_path, half, "203.0.113.9", **overrides)
    for _ in range(REGISTRATIONS_PER_HOUR - half):
        assert register(app, "203.0.113.9").status_code == 200
    refused = register(app, "203.0.113.9")
    assert refused.status_code == 429
    # The page a person sees: the site's own error page, saying what to do, and how long.
    page = refused.get_data(as_text=True)
    assert "Too many attempts" in page and "Wait" in page
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    # Another client is not held up by it.
    assert register(app, "198.51.100.4").status_code == 200


def test_limits_are_counted_in_the_database_across_processes(make_app, tmp_path):
    app = make_app()
    assert app.config["RATELIMIT_STORAGE_URI"] == "database://"
    assert_hits_are_shared(app, tmp_path)
    with app.app_context():
        assert db.session.query(ratelimits.RateLimitCounter).count() == 2


def test_a_window_that_ended_counts_from_zero_again(make_app, monkeypatch):
    app = make_app()
    now = [time.time()]
    monkeypatch.setattr(ratelimits, "time", type("Clock", (), {"time": lambda: now[0]}))
    for _ in range(REGISTRATIONS_PER_HOUR):
        assert register(app, "203.0.113.50").status_code == 200
    assert register(app, "203.0.113.50").status_code == 429
    now[0] += 3601
    assert register(app, "203.0.113.50").status_code == 200
    with app.app_context():
        assert limiter.storage.get(next(iter(_keys(app)))) == 1


def _keys(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(db.select(ratelimits.RateLimitCounter.key)))


@pytest.fixture
def redis_url(tmp_path):
    """A redis-server of this test's own, on a free port."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", tmp_path],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_limits_are_counted_in_redis_when_configured(make_app, tmp_path, redis_url):
    app = make_app(LMS_RATELIMIT_STORAGE_URI=redis_url)
    assert_hits_are_shared(app, tmp_path, LMS_RATELIMIT_STORAGE_URI=redis_url)
    assert _keys(app) == []  # nothing in the database
