"""Shared fixtures: an app on a real database file, users, signed-in clients.

``LMS_TEST_DATABASE_URL`` runs the same tests on PostgreSQL (the Makefile sets it).
Fixtures for Docker live in tests/integration/conftest.py, for the browser in
tests/browser/conftest.py.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import text

from lms import create_app
from lms.config import TestingConfig
from lms.extensions import db
from lms.labs import workers

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_COURSES = ROOT / "tests" / "fixtures" / "courses"
PASSWORD = "correct horse battery"  # noqa: S105


def test_config(tmp_path: Path, **overrides) -> dict:
    url = os.environ.get("LMS_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'lms.sqlite'}"
    config = {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()}
    config.update(
        LMS_DATABASE_URL=url,
        LMS_COURSES_DIR=str(FIXTURE_COURSES),
        LMS_LABS_DIR=str(ROOT / "labs"),
        RATELIMIT_ENABLED=False,
    )
    config.update(overrides)
    return config


test_config.__test__ = False  # a helper, not a test


def reset_schema() -> None:
    """Empty database for each test.

    PostgreSQL: when the tables are exactly the models' (as the last test left them), empty
    them all with one TRUNCATE; otherwise (first test, or a test that migrated or changed
    the schema) drop everything, whatever left it there, and create the models' tables.
    Rebuilding some fifty tables for each of hundreds of tests took minutes.
    """
    if db.engine.dialect.name != "postgresql":
        # In one transaction: left to itself, SQLite commits (and syncs to disk) each of
        # the ~100 CREATE TABLE and CREATE INDEX statements, most of a second a test.
        with db.engine.begin() as conn:
            conn.exec_driver_sql("BEGIN")
            db.metadata.drop_all(conn)
            db.metadata.create_all(conn)
        return
    tables = sorted(db.metadata.tables)
    columns = sorted((t.name, c.name) for t in db.metadata.tables.values() for c in t.columns)
    with db.engine.begin() as conn:
        present = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        ).scalars()
        # Columns too: a model given a new column since the last run needs its table anew.
        present_columns = conn.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public'"
            )
        ).all()
        if sorted(present) == tables and sorted(map(tuple, present_columns)) == columns:
            quoted = ", ".join(f'"{name}"' for name in tables)
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
            return
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    db.create_all()


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes():
    """Test users' passwords are hashed with pbkdf2 of 1000 rounds, not production's scrypt
    (a third of a second a hash, and again a sign-in, on a busy machine; hundreds of users
    in a run). A sign-in checks with whatever method the stored hash names, so the tests
    prove the same; test_auth.py checks that passwords are stored with scrypt."""
    from werkzeug.security import generate_password_hash

    from lms.auth import models as auth_models

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            auth_models,
            "generate_password_hash",
            partial(generate_password_hash, method="pbkdf2:sha256:1000"),
        )
        yield


@pytest.fixture(autouse=True)
def _lab_workers_stop_with_their_test():
    """Every inline lab worker a test started stops with it (an app used again gets a new
    one): on PostgreSQL all tests share one database, and a worker left running would write
    its heartbeat and what it found of the engine into the next test's tables."""
    yield
    workers.stop_all_inline()


@pytest.fixture
def app(tmp_path):
    app = create_app(test_config(tmp_path))
    with app.app_context():
        reset_schema()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """make_user(email, role='trainee', password=PASSWORD, **fields) -> user id."""

    def _make(email="trainee@example.org", role="trainee", password=PASSWORD, **fields):
        from lms.auth.services import create_user

        with app.app_context():
            user = create_user(email, password, role=role, **fields)
            db.session.commit()
            return user.id

    return _make


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email="trainee@example.org", password=PASSWORD, follow=False):
        return self.client.post(
            "/login", data={"email": email, "password": password}, follow_redirects=follow
        )

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def courses(app):
    """The fixture courses, synced into the database."""
    from lms.catalog.services import sync_courses

    with app.app_context():
        report = sync_courses(FIXTURE_COURSES)
        assert not report.issues, report.issues
    return report


@pytest.fixture
def trainee(make_user, auth):
    """A signed-in trainee (the test client carries the session)."""
    user_id = make_user("trainee@example.org")
    auth.login()
    return user_id


BASE_IMAGES = ("lms-base/busybox:latest", "lms-base/debian:bookworm")


@pytest.fixture(scope="session")
def docker_client():
    """The real Docker engine. `make test` starts it and builds the base images, so a
    missing engine is a failure, never a silent skip."""
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"no Docker engine: {exc} (run `make services`)")
    for image in BASE_IMAGES:
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            pytest.fail(f"base image {image} missing (run scripts/build-base-images.sh)")
    yield client
    client.close()
