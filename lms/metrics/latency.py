"""The request latency histogram, observed in the process that served each request.

prometheus_client chooses where values live when it is first imported: in this
process's memory, or (``PROMETHEUS_MULTIPROC_DIR`` set, as gunicorn.conf.py does) in
files of that folder that every worker's scrape reads. Nothing here depends on which.
"""

from __future__ import annotations

import time

from flask import Flask, g, request
from prometheus_client import Histogram

REQUEST_SECONDS = Histogram(
    "lms_http_request_duration_seconds",
    "Time to answer a request, by Flask endpoint and status class (2xx, 4xx...).",
    ["endpoint", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def observe_requests(app: Flask) -> None:
    @app.before_request
    def _start_clock():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("metrics_started", None)
        # A WebSocket (a terminal) stays open for hours: no page latency to count.
        if started is not None and request.headers.get("Upgrade", "").lower() != "websocket":
            endpoint = request.url_rule.endpoint if request.url_rule else "unmatched"
            REQUEST_SECONDS.labels(endpoint, f"{response.status_code // 100}xx").observe(
                time.perf_counter() - started
            )
        return response
