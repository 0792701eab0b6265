"""Metrics read from the database at scrape time: the same answer from every worker.

One grouped query per family, on indexed columns (status) or small tables (pools,
workers, jobs): a scrape every 15 s costs the database little.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select

from lms.auth.models import utcnow
from lms.extensions import db
from lms.labs import health, jobs
from lms.labs.models import FAILED, LIVE_STATUSES, LabSession
from lms.labs.pool_models import CLAIMED, FILLING, READY, PoolSession
from lms.labs.pool_models import FAILED as POOL_FAILED
from lms.terminal.models import TerminalRecording
from lms.xapi.models import QUEUED as XAPI_QUEUED
from lms.xapi.models import XapiStatement

# Seconds from the start click to a running lab (LabSession.created_at -> started_at).
START_BUCKETS = (1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
POOL_STATUSES = (FILLING, READY, CLAIMED, POOL_FAILED)


class DatabaseCollector(Collector):
    """Called by prometheus_client on each scrape, inside the request (app context)."""

    def collect(self) -> Iterator[Metric]:
        yield from lab_sessions()
        yield lab_start_latency()
        yield pool_sessions()
        yield from engine_health()
        yield terminals_open()
        yield from queues()


def lab_sessions() -> Iterator[Metric]:
    live = GaugeMetricFamily("lms_labs", "Lab sessions now starting or running.", labels=["status"])
    counts = dict.fromkeys((*LIVE_STATUSES, FAILED), 0)
    rows = db.session.execute(
        select(LabSession.status, func.count())
        .where(LabSession.status.in_((*LIVE_STATUSES, FAILED)))
        .group_by(LabSession.status)
    )
    counts.update({status: count for status, count in rows})
    for status in LIVE_STATUSES:
        live.add_metric([status], counts[status])
    yield live
    failed = CounterMetricFamily(
        "lms_lab_starts_failed", "Lab sessions that failed to start, ever (their rows kept)."
    )
    failed.add_metric([], counts[FAILED])
    yield failed


def _seconds_between(start, end):
    """``end - start`` in seconds, in SQL: SQLite's julianday or PostgreSQL's epoch."""
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def lab_start_latency() -> Metric:
    """A histogram of every lab start that reached "running", from the sessions' own
    timestamps (a start run by any worker process, or an ``lms labs worker``, counts)."""
    seconds = _seconds_between(LabSession.created_at, LabSession.started_at)
    row = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(seconds), 0.0),
            *(
                func.coalesce(func.sum(case((seconds <= bound, 1), else_=0)), 0)
                for bound in START_BUCKETS
            ),
        ).where(LabSession.started_at.is_not(None))
    ).one()
    count, total, *within = row
    buckets = [(str(bound), int(n)) for bound, n in zip(START_BUCKETS, within, strict=True)]
    buckets.append(("+Inf", int(count)))
    histogram = HistogramMetricFamily(
        "lms_lab_start_seconds",
        "Seconds from a lab's start request to its containers running.",
    )
    histogram.add_metric([], buckets, float(total))
    return histogram


def pool_sessions() -> Metric:
    gauge = GaugeMetricFamily(
        "lms_lab_pool_sessions",
        "Warm pool labs by lab and state (filling, ready; claimed and failed: rows kept).",
        labels=["lab", "status"],
    )
    rows = db.session.execute(
        select(PoolSession.lab_slug, PoolSession.status, func.count())
        .where(PoolSession.status.in_(POOL_STATUSES))
        .group_by(PoolSession.lab_slug, PoolSession.status)
    )
    counts: dict[str, dict[str, int]] = {}
    for lab, status, count in rows:
        counts.setdefault(lab, dict.fromkeys(POOL_STATUSES, 0))[status] = count
    for lab, by_status in sorted(counts.items()):
        for status, count in by_status.items():
            gauge.add_metric([lab, status], count)
    return gauge


def engine_health() -> Iterator[Metric]:
    """What the lab workers last recorded of the container engine (lms.labs.health)."""
    record = health.freshest_record()
    up = GaugeMetricFamily(
        "lms_lab_engine_up", "1 when the container engine last answered a lab worker."
    )
    not_answering = GaugeMetricFamily(
        "lms_lab_engine_not_answering", "1 when the engine last hung rather than refused."
    )
    age = GaugeMetricFamily(
        "lms_lab_engine_checked_age_seconds", "Seconds since a worker last asked the engine."
    )
    if record is not None:
        up.add_metric([], 1 if record.engine_up else 0)
        not_answering.add_metric([], 1 if record.engine_not_answering else 0)
        age.add_metric([], (utcnow() - record.engine_checked_at).total_seconds())
    yield from (up, not_answering, age)
    workers = GaugeMetricFamily(
        "lms_lab_workers", "Processes running lab jobs that reported lately."
    )
    workers.add_metric(
        [],
        db.session.scalar(
            select(func.count())
            .select_from(health.WorkerRecord)
            .where(health.WorkerRecord.seen_at >= utcnow() - health.RECORD_FRESH)
        ),
    )
    yield workers


def terminals_open() -> Metric:
    gauge = GaugeMetricFamily(
        "lms_terminal_sessions_open", "Browser terminals open now (recordings not ended)."
    )
    gauge.add_metric(
        [],
        db.session.scalar(
            select(func.count())
            .select_from(TerminalRecording)
            .where(TerminalRecording.ended_at.is_(None))
        ),
    )
    return gauge


def queues() -> Iterator[Metric]:
    lab_jobs = GaugeMetricFamily(
        "lms_lab_jobs",
        "Lab jobs (start, stop, pool fill...) waiting or running.",
        labels=["kind", "status"],
    )
    rows = db.session.execute(
        select(jobs.LabJob.kind, jobs.LabJob.status, func.count())
        .where(jobs.LabJob.status.in_(jobs.OPEN_STATUSES))
        .group_by(jobs.LabJob.kind, jobs.LabJob.status)
    )
    for kind, status, count in rows:
        lab_jobs.add_metric([kind, status], count)
    yield lab_jobs
    xapi = GaugeMetricFamily(
        "lms_xapi_statements_queued", "xAPI statements waiting for the learning record store."
    )
    xapi.add_metric(
        [],
        db.session.scalar(
            select(func.count())
            .select_from(XapiStatement)
            .where(XapiStatement.status == XAPI_QUEUED)
        ),
    )
    yield xapi
