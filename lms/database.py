"""Creating and upgrading the database schema through Alembic migrations."""

from __future__ import annotations

from flask_migrate import upgrade


def upgrade_database() -> None:
    """Create the schema or bring it to the latest migration (idempotent)."""
    upgrade()
