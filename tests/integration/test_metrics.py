"""/metrics: Prometheus's text format for a scraper with the token (or from an allowed
network), nothing for anyone else; the values say what the platform is doing (a lab
started on the fake runtime, a queued job); several gunicorn workers answer as one."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest
import requests
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from lms import create_app
from lms.extensions import db
from lms.labs import jobs
from lms.labs.pool_models import READY, PoolSession
from tests.conftest import reset_schema, test_config
from tests.lab_support import ApiClient, FakeRuntime, close_lab_app, create_user, make_lab_app

TOKEN = "scrape-me-0123456789"  # noqa: S105 - a test's token
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape, by name and sorted labels (parsed by prometheus_client)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture
def lab_app(tmp_path):
    from lms.labs import app_runtime

    app = make_lab_app(tmp_path, LMS_METRICS_TOKEN=TOKEN)
    app.extensions[app_runtime.RUNTIME_KEY] = FakeRuntime()
    yield app
    close_lab_app(app)


def test_a_scrape_with_the_token_shows_the_labs_and_queues(lab_app):
    _, token = create_user(lab_app, "ana@example.org")
    trainee = ApiClient(lab_app, token)
    started = trainee.start("tiny-lab")
    assert started.status_code in (200, 201, 202), started.json
    assert trainee.wait_settled(started.json["id"])["status"] == "running"
    with lab_app.app_context():
        jobs.enqueue("metrics-test-later", delay=3600)  # waits in the queue
        db.session.add(PoolSession(key="metrics-pool-1", lab_slug="tiny-lab", status=READY))
        db.session.commit()

    client = lab_app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    scrape = client.get("/metrics", headers=SCRAPER)
    assert scrape.status_code == 200 and scrape.mimetype == "text/plain"
    values = samples(scrape.get_data(as_text=True))

    assert values[("lms_labs", (("status", "running"),))] == 1
    assert values[("lms_labs", (("status", "starting"),))] == 0
    assert values[("lms_lab_start_seconds_count", ())] == 1
    assert values[("lms_lab_start_seconds_bucket", (("le", "+Inf"),))] == 1
    assert values[("lms_lab_starts_failed_total", ())] == 0
    queued = (("kind", "metrics-test-later"), ("status", "queued"))
    assert values[("lms_lab_jobs", queued)] == 1
    assert values[("lms_terminal_sessions_open", ())] == 0
    assert values[("lms_lab_pool_sessions", (("lab", "tiny-lab"), ("status", "ready")))] == 1
    assert values[("lms_lab_pool_sessions", (("lab", "tiny-lab"), ("status", "claimed")))] == 0
    # The start went through the app's inline lab worker, which recorded the engine up.
    assert values[("lms_lab_engine_up", ())] == 1
    assert values[("lms_lab_workers", ())] >= 1
    assert ("lms_xapi_statements_queued", ()) in values
    # The requests just made, by endpoint and status class.
    assert (
        values[("lms_http_request_duration_seconds_count", _labels("api.labs_start", "2xx"))] >= 1
    )
    assert ("lms_http_request_duration_seconds_count", _labels("metrics.metrics", "4xx")) in values


def _logins_by_worker(folder: Path, tmp_path: Path) -> dict[str, float]:
    """/login answers counted in each worker's own file (read alone, in a copy)."""
    counts = {}
    for path in folder.glob("histogram_*.db"):
        alone = tmp_path / f"alone-{path.stem}"
        alone.mkdir(exist_ok=True)
        shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        value = registry.get_sample_value(
            "lms_http_request_duration_seconds_count", {"endpoint": "auth.login", "status": "2xx"}
        )
        counts[path.stem] = value or 0
    return counts


def _labels(endpoint: str, status: str) -> tuple:
    return (("endpoint", endpoint), ("status", status))


WHO_MAY_SCRAPE = [  # settings, request headers, answer
    ({}, SCRAPER, 404),  # no token, no network: there is no /metrics
    ({"LMS_METRICS_ALLOW": "10.0.0.0/8"}, {}, 403),  # the test client is 127.0.0.1
    ({"LMS_METRICS_ALLOW": "127.0.0.0/8, ::1/128"}, {}, 200),
    ({"LMS_METRICS_ALLOW": "127.0.0.1/32", "LMS_METRICS_TOKEN": TOKEN}, {}, 401),
    ({"LMS_METRICS_ALLOW": "127.0.0.1/32", "LMS_METRICS_TOKEN": TOKEN}, SCRAPER, 200),
]


def test_who_may_scrape(tmp_path):
    app = create_app(test_config(tmp_path))
    with app.app_context():
        reset_schema()
    client = app.test_client()
    for settings, headers, expected in WHO_MAY_SCRAPE:
        app.config.update({"LMS_METRICS_TOKEN": "", "LMS_METRICS_ALLOW": "", **settings})
        assert client.get("/metrics", headers=headers).status_code == expected, settings


def test_a_bad_network_setting_stops_the_app_with_a_clear_message(tmp_path):
    with pytest.raises(ValueError, match="LMS_METRICS_ALLOW"):
        create_app(test_config(tmp_path, LMS_METRICS_ALLOW="10.0.0.0/33"))


def test_two_gunicorn_workers_answer_as_one(tmp_path):
    """Requests served by either worker are all in a scrape, whichever worker answers it
    (prometheus_client's multiprocess files, in the folder gunicorn.conf.py is given)."""
    from tests.integration.test_terminal_capacity import Server

    config = test_config(tmp_path, LMS_METRICS_TOKEN=TOKEN)
    app = create_app(config)
    with app.app_context():
        reset_schema()
        db.session.remove()
        db.engine.dispose()
    folder = tmp_path / "prometheus"
    server = Server(
        config,
        tmp_path / "gunicorn.log",
        LMS_WORKERS="2",
        LMS_LAB_WORKER="external",
        PROMETHEUS_MULTIPROC_DIR=str(folder),
    )
    login_count = ("lms_http_request_duration_seconds_count", _labels("auth.login", "2xx"))
    try:
        before = samples(requests.get(f"{server.base}/metrics", headers=SCRAPER, timeout=30).text)
        sent = 0
        # New connections until both workers have answered some (the kernel picks).
        while len([n for n in _logins_by_worker(folder, tmp_path).values() if n]) < 2:
            assert sent < 300, "one worker answered every request"
            assert requests.get(f"{server.base}/login", timeout=30).status_code == 200
            sent += 1
        scrapes = [
            samples(requests.get(f"{server.base}/metrics", headers=SCRAPER, timeout=30).text)
            for _ in range(4)
        ]
        # Every scrape, whichever worker answers it, counts every worker's requests: the
        # sum of the workers' own files. (A start-up probe of Server's that timed out may
        # still be answered late: hence at least, against the count before.)
        by_worker = _logins_by_worker(folder, tmp_path)
        assert {scrape[login_count] for scrape in scrapes} == {sum(by_worker.values())}
        assert sum(by_worker.values()) >= before.get(login_count, 0) + sent
    finally:
        server.process.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown: a test's server
        server.stop()
