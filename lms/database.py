"""Creating and upgrading the database schema through Alembic migrations; telling a
database that is busy or briefly unreachable from a bug."""

from __future__ import annotations

import sqlite3

from flask_migrate import upgrade
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

# PostgreSQL SQLSTATEs that mean "try again in a moment", not "the request is wrong":
# serialization failure, deadlock, lock timeout, statement timeout or cancel, server
# shutting down or restarting, too many connections. Class 08 is a lost connection.
RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03", "53300"}
SQLITE_BUSY_MESSAGES = ("database is locked", "database table is locked", "database is busy")

BUSY_MESSAGE = (
    "The database is busy right now, so nothing was saved. Wait a few seconds and try again."
)
UNREACHABLE_MESSAGE = (
    "The database could not be reached, so nothing was saved. Wait a few seconds and try again."
)


def upgrade_database() -> None:
    """Create the schema or bring it to the latest migration (idempotent)."""
    upgrade()


def unavailable_reason(exc: BaseException) -> str | None:
    """A message for a person when ``exc`` means the database is busy or out of reach for
    a moment (worth a 503 and a retry); None for anything else, which is a bug."""
    if not isinstance(exc, DBAPIError):
        return None
    if exc.connection_invalidated:
        return UNREACHABLE_MESSAGE
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or ""
    if sqlstate in RETRYABLE_SQLSTATES:
        return BUSY_MESSAGE
    if sqlstate.startswith("08"):
        return UNREACHABLE_MESSAGE
    if isinstance(exc.orig, sqlite3.OperationalError) and any(
        text in str(exc.orig).lower() for text in SQLITE_BUSY_MESSAGES
    ):
        return BUSY_MESSAGE
    return None


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection, _record) -> None:
    """SQLite: readers don't wait for a writer (WAL). Writers wait for the lock for the
    ``timeout`` given to sqlite3.connect (5 s unless SQLALCHEMY_ENGINE_OPTIONS'
    ``connect_args`` say otherwise), then fail with "database is locked"."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def insert_on_conflict(dialect_name: str):
    """The dialect's INSERT, which has ON CONFLICT DO NOTHING / DO UPDATE (PostgreSQL and
    SQLite, the two databases the platform runs on); NotImplementedError for others."""
    if dialect_name == "postgresql":
        return postgresql.insert
    if dialect_name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"the platform runs on PostgreSQL or SQLite, not {dialect_name}")
