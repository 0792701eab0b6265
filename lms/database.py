"""Creating and upgrading the database schema through Alembic migrations."""

from __future__ import annotations

import sqlite3

from flask_migrate import upgrade
from sqlalchemy import event
from sqlalchemy.engine import Engine


def upgrade_database() -> None:
    """Create the schema or bring it to the latest migration (idempotent)."""
    upgrade()


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection, _record) -> None:
    """SQLite: readers don't wait for a writer (WAL), and writers wait instead of failing."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
