"""Which database errors mean "busy or out of reach, try again" (503) and which are bugs."""

import sqlite3

import psycopg
import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from lms.database import BUSY_MESSAGE, UNREACHABLE_MESSAGE, unavailable_reason


def _wrapped(orig, kind=OperationalError, invalidated=False):
    return kind("SELECT 1", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    ("orig", "message"),
    [
        (sqlite3.OperationalError("database is locked"), BUSY_MESSAGE),
        (psycopg.errors.LockNotAvailable(), BUSY_MESSAGE),
        (psycopg.errors.SerializationFailure(), BUSY_MESSAGE),
        (psycopg.errors.DeadlockDetected(), BUSY_MESSAGE),
        (psycopg.errors.QueryCanceled(), BUSY_MESSAGE),
        (psycopg.errors.AdminShutdown(), BUSY_MESSAGE),
        (psycopg.errors.ConnectionFailure(), UNREACHABLE_MESSAGE),
    ],
)
def test_busy_and_lost_connections_are_worth_a_retry(orig, message):
    assert unavailable_reason(_wrapped(orig)) == message


def test_a_dropped_connection_is_worth_a_retry():
    error = _wrapped(psycopg.OperationalError("server closed the connection"), invalidated=True)
    assert unavailable_reason(error) == UNREACHABLE_MESSAGE


@pytest.mark.parametrize(
    "error",
    [
        _wrapped(sqlite3.OperationalError("no such table: users")),
        _wrapped(psycopg.errors.UndefinedTable(), kind=ProgrammingError),
        ValueError("not a database error"),
    ],
)
def test_other_errors_are_bugs(error):
    assert unavailable_reason(error) is None
