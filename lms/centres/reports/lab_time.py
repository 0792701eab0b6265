"""Minutes of lab time, as every report counts them."""

from __future__ import annotations

from datetime import datetime


def session_minutes(started_at, ended_at, expires_at, now: datetime) -> int:
    """A lab session's minutes: from start to end, or to now (capped at its expiry) if live."""
    if started_at is None:
        return 0
    end = ended_at or min(now, expires_at or now)
    return max(0, int((end - started_at).total_seconds() // 60))
