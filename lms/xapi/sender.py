"""Delivering queued statements to the learning record store, off the request.

A sender takes a batch of due statements (a claim: it moves their ``next_attempt_at``
forward, so another process's sender skips them; one that dies leaves them due again
after ``CLAIM_SECONDS``), POSTs them in one request, and records the outcome:

- stored (2xx): ``sent``;
- the LRS cannot be reached, answers 5xx, refuses the credentials (401/403), is not there
  (404) or asks to slow down (408/429): nothing is lost; the batch is due again after a
  backoff that doubles with each attempt (``BACKOFF_FIRST`` up to ``BACKOFF_MAX``);
- the LRS refuses the statements themselves (400, 409, 413, 422): each is sent on its own,
  so that the good ones are stored and only a statement refused alone is ``rejected``
  (its error kept, never sent again).

Statements carry their ids: one sent again after a lost answer is stored once.

Where senders run follows ``LMS_LAB_WORKER``: a thread of each web process (``inline``,
started on the first request) or of each ``lms labs worker`` process (``external``).
``lms xapi send`` flushes the queue once; ``lms xapi status`` reports on it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from flask import Flask, current_app
from sqlalchemy import delete, func, select, update

from lms.auth.models import utcnow
from lms.extensions import db
from lms.xapi.models import QUEUED, REJECTED, SENT, XapiStatement

log = logging.getLogger(__name__)

BATCH_SIZE = 50  # statements per POST
CLAIM_SECONDS = 120  # a batch in a sender's hands; due again after this if it died
BACKOFF_FIRST = 10.0  # seconds before the second attempt; doubled for each further one
BACKOFF_MAX = 3600.0
TIMEOUT_SECONDS = 15.0
POLL_SECONDS = 5.0  # how often a sender looks for due statements
KEEP_SENT = timedelta(days=7)  # sent statements are then deleted (the LRS has them)
PRUNE_EVERY_SECONDS = 3600.0
XAPI_VERSION = "1.0.3"
STATEMENT_FAULTS = frozenset({400, 409, 413, 422})  # the LRS refuses what was sent
ERROR_SHOWN = 500  # characters of an LRS's answer kept with a statement
SENDER_KEY = "xapi_sender"


@dataclass
class SendReport:
    sent: int = 0
    rejected: int = 0
    deferred: int = 0  # left queued after a failed attempt
    error: str | None = None  # why the last attempt failed

    def add(self, other: SendReport) -> None:
        self.sent += other.sent
        self.rejected += other.rejected
        self.deferred += other.deferred
        self.error = other.error or self.error


class LrsUnavailable(Exception):
    """The LRS could not take the batch now; it is sent again later."""


class StatementsRefused(Exception):
    """The LRS refused what was sent (a 4xx that names the statements)."""


# -- one pass ----------------------------------------------------------------------------------


def send_due(force: bool = False, batch_size: int = BATCH_SIZE) -> SendReport:
    """Send due statements in batches until none is left or the LRS fails; ``force``
    sends every queued statement now, whatever its backoff (``lms xapi send``; a batch a
    background sender holds at that moment may be sent twice: the LRS stores it once)."""
    report = SendReport()
    endpoint = statements_url()
    if endpoint is None:
        return report
    client = None  # made once there is something to send: an idle pass stays cheap
    try:
        while True:
            batch = claim(batch_size, force=force)
            if not batch:
                break
            client = client or _client()
            outcome = _deliver(client, endpoint, batch)
            report.add(outcome)
            if outcome.deferred:  # the LRS is failing: leave the rest to the backoff
                break
    finally:
        if client is not None:
            client.close()
    return report


def statements_url() -> str | None:
    endpoint = (current_app.config.get("LMS_XAPI_ENDPOINT") or "").strip().rstrip("/")
    if not endpoint:
        return None
    return endpoint if endpoint.endswith("/statements") else endpoint + "/statements"


def _client() -> httpx.Client:
    config = current_app.config
    username = config.get("LMS_XAPI_USERNAME")
    auth = (username, config.get("LMS_XAPI_PASSWORD") or "") if username else None
    return httpx.Client(
        auth=auth,
        timeout=TIMEOUT_SECONDS,
        headers={"X-Experience-API-Version": XAPI_VERSION},
    )


def claim(batch_size: int, force: bool = False) -> list[XapiStatement]:
    """Take up to ``batch_size`` due statements, oldest first; exactly once across
    processes (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one UPDATE under its lock)."""
    now = utcnow()
    due = XapiStatement.status == QUEUED
    if not force:
        due = due & (XapiStatement.next_attempt_at <= now)
    # A read first: an idle sender then never asks SQLite for its write lock.
    if db.session.scalar(select(XapiStatement.id).where(due).limit(1)) is None:
        db.session.commit()
        return []
    candidates = (
        select(XapiStatement.id)
        .where(due)
        .order_by(XapiStatement.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )
    claimed = (
        db.session.execute(
            update(XapiStatement)
            .where(XapiStatement.id.in_(candidates), due)
            .values(
                next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS),
                last_attempt_at=now,
                attempts=XapiStatement.attempts + 1,
            )
            .returning(XapiStatement.id)
        )
        .scalars()
        .all()
    )
    db.session.commit()
    if not claimed:
        return []
    return list(
        db.session.scalars(
            select(XapiStatement).where(XapiStatement.id.in_(claimed)).order_by(XapiStatement.id)
        )
    )


def _deliver(client: httpx.Client, endpoint: str, batch: list[XapiStatement]) -> SendReport:
    try:
        _post(client, endpoint, batch)
    except LrsUnavailable as exc:
        return _defer(batch, str(exc))
    except StatementsRefused as exc:
        if len(batch) == 1:
            return _reject(batch[0], str(exc))
        report = SendReport()
        for single in batch:  # find the statements refused on their own
            report.add(_deliver(client, endpoint, [single]))
            if report.deferred:
                rest = [s for s in batch if s.status == QUEUED and s.id > single.id]
                if rest:
                    report.add(_defer(rest, report.error or "the LRS failed"))
                break
        return report
    return _mark_sent(batch)


def _post(client: httpx.Client, endpoint: str, batch: list[XapiStatement]) -> None:
    body = "[" + ",".join(s.statement_json for s in batch) + "]"
    try:
        response = client.post(endpoint, content=body, headers={"Content-Type": "application/json"})
    except httpx.HTTPError as exc:
        raise LrsUnavailable(f"the LRS could not be reached: {exc}") from exc
    if response.is_success:
        return
    answer = f"the LRS answered {response.status_code}: {response.text[:ERROR_SHOWN]}".strip()
    if response.status_code in STATEMENT_FAULTS:
        raise StatementsRefused(answer)
    raise LrsUnavailable(answer)


def _mark_sent(batch: list[XapiStatement]) -> SendReport:
    now = utcnow()
    for item in batch:
        item.status, item.sent_at, item.last_error = SENT, now, None
    db.session.commit()
    return SendReport(sent=len(batch))


def _reject(item: XapiStatement, error: str) -> SendReport:
    item.status, item.last_error = REJECTED, error
    db.session.commit()
    log.warning("xAPI statement %s rejected: %s", item.statement_id, error)
    return SendReport(rejected=1, error=error)


def _defer(batch: list[XapiStatement], error: str) -> SendReport:
    now = utcnow()
    for item in batch:
        item.next_attempt_at = now + timedelta(seconds=backoff(item.attempts))
        item.last_error = error
    db.session.commit()
    log.warning("xAPI: %d statement(s) kept for later: %s", len(batch), error)
    return SendReport(deferred=len(batch), error=error)


def backoff(attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones."""
    return min(BACKOFF_FIRST * 2 ** max(0, attempts - 1), BACKOFF_MAX)


def requeue_rejected() -> int:
    """Queue the rejected statements again (after the LRS or its settings were fixed)."""
    count = db.session.execute(
        update(XapiStatement)
        .where(XapiStatement.status == REJECTED)
        .values(status=QUEUED, next_attempt_at=utcnow())
    ).rowcount
    db.session.commit()
    return count


def prune(keep: timedelta = KEEP_SENT) -> int:
    """Delete statements sent more than ``keep`` ago."""
    gone = db.session.execute(
        delete(XapiStatement).where(
            XapiStatement.status == SENT, XapiStatement.sent_at < utcnow() - keep
        )
    ).rowcount
    db.session.commit()
    return gone


# -- the queue's state ------------------------------------------------------------------------


@dataclass
class QueueStatus:
    queued: int
    sent: int
    rejected: int
    oldest_queued_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None


def queue_status() -> QueueStatus:
    counts = dict(
        db.session.execute(
            select(XapiStatement.status, func.count()).group_by(XapiStatement.status)
        ).all()
    )
    oldest = db.session.scalar(
        select(func.min(XapiStatement.created_at)).where(XapiStatement.status == QUEUED)
    )
    failed = db.session.execute(
        select(XapiStatement.last_error, XapiStatement.last_attempt_at)
        .where(XapiStatement.last_error.is_not(None))
        .order_by(XapiStatement.last_attempt_at.desc(), XapiStatement.id.desc())
        .limit(1)
    ).first()
    db.session.commit()
    return QueueStatus(
        queued=counts.get(QUEUED, 0),
        sent=counts.get(SENT, 0),
        rejected=counts.get(REJECTED, 0),
        oldest_queued_at=oldest,
        last_error=failed.last_error if failed else None,
        last_error_at=failed.last_attempt_at if failed else None,
    )


# -- the sender thread ------------------------------------------------------------------------


class StatementSender:
    """A thread that sends due statements every ``POLL_SECONDS`` (at once again while it
    finds full batches), and prunes old sent ones."""

    def __init__(self, app: Flask):
        self.app = app
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="xapi-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 20.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        next_prune = 0.0
        pause = 0.0
        while not self._stopping.wait(pause):
            pause = POLL_SECONDS
            with self.app.app_context():
                try:
                    report = send_due()
                    if report.sent + report.rejected and not report.deferred:
                        pause = 0.0  # more may be due: keep going while the LRS takes them
                    now = time.monotonic()
                    if now >= next_prune:
                        prune()
                        next_prune = now + PRUNE_EVERY_SECONDS
                except Exception:
                    log.exception("sending xAPI statements failed")
                    db.session.rollback()
                finally:
                    db.session.remove()


_start_lock = threading.Lock()


def start_in_process(app: Flask) -> StatementSender | None:
    """Start this process's sender for ``app`` once (None while xAPI is off)."""
    if not app.config.get("LMS_XAPI_ENDPOINT"):
        return None
    with _start_lock:
        sender = app.extensions.get(SENDER_KEY)
        if sender is None:
            sender = app.extensions[SENDER_KEY] = StatementSender(app)
            sender.start()
    return sender
