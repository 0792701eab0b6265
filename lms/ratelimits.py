"""Flask-Limiter's counts in the platform's database, so every worker and host shares them.

``LMS_RATELIMIT_STORAGE_URI`` picks where Flask-Limiter keeps its counts (the ``limits``
library's storage URI). The default, ``database://``, is :class:`DatabaseStorage`: one row
per limit and client in ``rate_limit_counters``, in the same database as everything else,
so any number of gunicorn workers and hosts see the same counts without another service.
``redis://host:6379/0`` (or any other scheme of the ``limits`` library) uses that instead,
for a platform whose limits are hit so often that the database should not carry them.

Why a storage and not counts of our own (as lms.auth.throttle keeps for sign-ins): the
limits stay declared where they apply (``@limiter.limit("20 per hour")``), Flask-Limiter
keeps answering 429 with ``Retry-After`` and the friendly page, and Redis stays a
one-setting switch. Sign-in failures and wrong flags are not Flask-Limiter limits: they
are counted from their own tables (login_failures, task_attempts).

The storage serves Flask-Limiter's default strategy, the fixed window (a counter that
starts with the first hit and is dropped when its window ends): ``incr``, ``get`` and
``get_expiry``. The moving-window strategies need Redis.
"""

from __future__ import annotations

import time

from flask import has_app_context
from limits.storage import Storage
from sqlalchemy import Float, Integer, String, case, delete, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from lms.database import insert_on_conflict
from lms.extensions import db

SCHEME = "database"
# Counters whose window ended are deleted by the next hit after this many seconds.
SWEEP_INTERVAL = 300


class RateLimitCounter(db.Model):
    """Hits of one limit by one client (Flask-Limiter's key) in the current window."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    # Unix time at which the window ends and the count starts again from zero.
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class DatabaseStorage(Storage):
    """A ``limits`` storage on the Flask app's SQLAlchemy engine (``database://``).

    Each call runs in its own short transaction on its own connection, never in the
    request's session: a hit counts even when the request's own work is rolled back.
    It needs an application context, which every request has."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._last_sweep = 0.0

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add ``amount`` hits to ``key`` in one atomic upsert; a counter whose window has
        ended starts again at ``amount`` with a new window of ``expiry`` seconds."""
        now = time.time()
        table = RateLimitCounter.__table__
        with db.engine.begin() as connection:
            insert = _dialect_insert(connection.dialect.name)(table)
            expired = table.c.expires_at <= now
            statement = (
                insert.values(key=key, count=amount, expires_at=now + expiry)
                .on_conflict_do_update(
                    index_elements=[table.c.key],
                    set_={
                        "count": case((expired, amount), else_=table.c.count + amount),
                        "expires_at": case((expired, now + expiry), else_=table.c.expires_at),
                    },
                )
                .returning(table.c.count)
            )
            count = connection.execute(statement).scalar_one()
            if now - self._last_sweep > SWEEP_INTERVAL:
                self._last_sweep = now
                connection.execute(delete(table).where(table.c.expires_at < now))
        return count

    def get(self, key: str) -> int:
        row = self._row(key)
        return row.count if row is not None else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return row.expires_at if row is not None else time.time()

    def check(self) -> bool:
        if not has_app_context():
            return False
        try:
            with db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with db.engine.begin() as connection:
            return connection.execute(delete(RateLimitCounter.__table__)).rowcount

    def clear(self, key: str) -> None:
        with db.engine.begin() as connection:
            connection.execute(
                delete(RateLimitCounter.__table__).where(RateLimitCounter.key == key)
            )

    def _row(self, key: str):
        """The counter of ``key`` if its window is still open, else None."""
        table = RateLimitCounter.__table__
        with db.engine.connect() as connection:
            return connection.execute(
                select(table.c.count, table.c.expires_at).where(
                    table.c.key == key, table.c.expires_at > time.time()
                )
            ).one_or_none()


def _dialect_insert(dialect_name: str):
    try:
        return insert_on_conflict(dialect_name)
    except NotImplementedError:
        raise NotImplementedError(
            f"database:// rate limits support PostgreSQL and SQLite, not {dialect_name}: "
            "set LMS_RATELIMIT_STORAGE_URI to redis://..."
        ) from None
