"""Sign-in throttling: only failed attempts count, kept in the database.

Two counters, so that a class behind one address signs in freely while guessing stays slow:

- per account (the submitted address, whether or not it has an account): after a few
  consecutive failures each further attempt waits 1 s, 2 s, 4 s ... up to a cap. A success
  resets it. The cap keeps an attacker from locking anyone (the admin included) out for
  longer than that.
- per client address: at most N failures in a window, then every attempt from the address
  waits for the window to end. Successes never count.

The counts live in ``login_failures`` so that every gunicorn worker sees the same ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, delete, select, update
from sqlalchemy.exc import IntegrityError

from lms.auth.models import LoginFailure, utcnow
from lms.extensions import db

ACCOUNT = "account"
ADDRESS = "address"
FORGET_AFTER = timedelta(days=1)  # rows idle this long are deleted


@dataclass(frozen=True)
class Wait:
    """A refused attempt: how long to wait and why."""

    seconds: int
    message: str


def account_delay(failures: int, free: int, cap: int) -> int:
    """Seconds an account waits after ``failures`` consecutive failures: none for the first
    ``free``, then 1, 2, 4 ... up to ``cap``."""
    if failures < free:
        return 0
    return min(cap, 2 ** min(failures - free, 30))


def _settings() -> tuple[int, int, int, int]:
    config = current_app.config
    return (
        config["LMS_LOGIN_FREE_FAILURES"],
        config["LMS_LOGIN_MAX_DELAY"],
        config["LMS_LOGIN_FAILURES_PER_ADDRESS"],
        config["LMS_LOGIN_ADDRESS_WINDOW"],
    )


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def _row(kind: str, key: str) -> LoginFailure | None:
    return db.session.scalar(
        select(LoginFailure).where(LoginFailure.kind == kind, LoginFailure.key == key[:320])
    )


def check(account: str, address: str) -> Wait | None:
    """Whether a sign-in for ``account`` from ``address`` must wait (checked before the
    password, so a throttled guess learns nothing)."""
    free, cap, per_address, window = _settings()
    now = utcnow()
    by_address = _row(ADDRESS, address)
    if by_address and by_address.count >= per_address:
        ends = by_address.first_at + timedelta(seconds=window)
        if ends > now:
            seconds = _seconds_until(ends, now)
            return Wait(
                seconds,
                f"Too many failed sign-ins from your network. Wait {_phrase(seconds)}, "
                "then try again.",
            )
    by_account = _row(ACCOUNT, account)
    if by_account:
        ends = by_account.last_at + timedelta(seconds=account_delay(by_account.count, free, cap))
        if ends > now:
            seconds = _seconds_until(ends, now)
            return Wait(
                seconds,
                f"Too many failed sign-ins for this account. Wait {_phrase(seconds)}, "
                "then try again.",
            )
    return None


def record_failure(account: str, address: str) -> None:
    """Count a failed sign-in against both keys, atomically across workers."""
    window = _settings()[3]
    now = utcnow()
    _bump(ACCOUNT, account, now, restart_before=None)
    _bump(ADDRESS, address, now, restart_before=now - timedelta(seconds=window))
    db.session.execute(delete(LoginFailure).where(LoginFailure.last_at < now - FORGET_AFTER))
    db.session.commit()


def record_success(account: str) -> None:
    """A correct password ends the account's run of failures (not the address's)."""
    if _row(ACCOUNT, account) is None:
        return  # the usual case: no write at all
    db.session.execute(
        delete(LoginFailure).where(LoginFailure.kind == ACCOUNT, LoginFailure.key == account[:320])
    )
    db.session.commit()


def _bump(kind: str, key: str, now: datetime, restart_before: datetime | None) -> None:
    """count + 1 in one UPDATE (no lost updates between workers); a window that ended
    before ``restart_before`` starts again at 1."""
    expired = LoginFailure.first_at < restart_before if restart_before else None
    values = {"last_at": now}
    if expired is None:
        values["count"] = LoginFailure.count + 1
    else:
        values["count"] = case((expired, 1), else_=LoginFailure.count + 1)
        values["first_at"] = case((expired, now), else_=LoginFailure.first_at)
    key = key[:320]
    where = (LoginFailure.kind == kind, LoginFailure.key == key)
    if db.session.execute(update(LoginFailure).where(*where).values(**values)).rowcount:
        return
    try:
        with db.session.begin_nested():
            db.session.add(LoginFailure(kind=kind, key=key, count=1, first_at=now, last_at=now))
    except IntegrityError:  # another worker inserted it first: count on its row
        db.session.execute(update(LoginFailure).where(*where).values(**values))


def _phrase(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"
