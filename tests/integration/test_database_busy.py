"""A write that waits past the database's lock timeout: a 503 with Retry-After and a clear
message, nothing half-written, and the same request works once the lock is gone.

A real second connection holds the write lock: ``BEGIN EXCLUSIVE`` on the SQLite file,
or ``LOCK TABLE`` on PostgreSQL. The app waits only a short while for locks.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from lms import create_app
from lms.extensions import db
from lms.progress.models import ModuleProgress, QuizAttempt
from tests.conftest import reset_schema, test_config

QUIZ_URL = "/courses/demo-course/first-steps/quiz"
RIGHT_ANSWERS = {"q0": "2", "q1": ["1", "2"]}


def _short_lock_wait() -> dict:
    url = os.environ.get("LMS_TEST_DATABASE_URL", "")
    if url.startswith("postgres"):
        return {"connect_args": {"options": "-c lock_timeout=300"}}
    return {"connect_args": {"timeout": 0.3}}


@pytest.fixture
def app(tmp_path):
    app = create_app(test_config(tmp_path, SQLALCHEMY_ENGINE_OPTIONS=_short_lock_wait()))
    with app.app_context():
        reset_schema()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@contextmanager
def write_lock_held_elsewhere(app):
    """Another connection, outside the app's pool, holds the write lock until the block ends."""
    with app.app_context():
        url = db.engine.url
    if url.get_backend_name() == "sqlite":
        other = sqlite3.connect(url.database, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
    else:
        import psycopg

        plain = make_url(url).set(drivername="postgresql")
        other = psycopg.connect(plain.render_as_string(hide_password=False))
        other.execute("LOCK TABLE quiz_attempts, module_progress IN EXCLUSIVE MODE")
    try:
        yield
    finally:
        other.rollback()
        other.close()


def _rows(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_a_write_blocked_by_a_lock_gets_a_503_and_saves_nothing(app, client, courses, trainee):
    with write_lock_held_elsewhere(app):
        response = client.post(QUIZ_URL, data=RIGHT_ANSWERS)
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    page = response.get_data(as_text=True)
    assert "The database is busy right now, so nothing was saved" in page and "<html" in page
    assert _rows(app, QuizAttempt) == 0 and _rows(app, ModuleProgress) == 0

    again = client.post(QUIZ_URL, data=RIGHT_ANSWERS)
    assert again.status_code == 200 and b"You got 2 of 2 right" in again.data
    assert _rows(app, QuizAttempt) == 1


def test_a_client_that_asks_for_json_hears_busy_as_json(app, client, courses, trainee):
    with write_lock_held_elsewhere(app):
        response = client.post(QUIZ_URL, data=RIGHT_ANSWERS, headers={"Accept": "application/json"})
    assert response.status_code == 503 and response.headers["Retry-After"].isdigit()
    assert response.json["error"] == "database_busy"


def test_reading_a_module_while_the_database_is_locked_still_works(app, client, courses, trainee):
    """The visit cannot be written, but reading never fails because of it."""
    with write_lock_held_elsewhere(app):
        response = client.get("/courses/demo-course/first-steps")
    assert response.status_code == 200 and b"First steps" in response.data
