"""Prometheus metrics at /metrics: request latency, labs, pools, engine health, terminals,
background queues.

- ``latency``: a latency histogram of every request, by endpoint and status class,
  observed in the process that served it. Under gunicorn's several workers it is kept
  in prometheus_client's multiprocess mode: each worker writes its samples to files in
  ``PROMETHEUS_MULTIPROC_DIR`` (gunicorn.conf.py sets it), and a scrape answered by any
  worker adds up every worker's files.
- ``database``: everything else is read from the database when scraped (one cheap
  query each), so every worker answers the same whichever the load balancer picks.
- ``views``: /metrics itself, answered only to a bearer token (``LMS_METRICS_TOKEN``)
  and/or client networks (``LMS_METRICS_ALLOW``); with neither set it is a 404.
"""

from __future__ import annotations

import os

from flask import Flask

from lms.metrics.blueprint import bp  # noqa: F401  (registered by lms.create_app)

# Settings of this domain and their defaults; each can also come from the environment.
SETTINGS: dict[str, type] = {
    "LMS_METRICS_TOKEN": str,  # the bearer token a scraper sends; "" with no ALLOW: no /metrics
    "LMS_METRICS_ALLOW": str,  # client networks (CIDRs, comma-separated) allowed to scrape
}
DEFAULTS: dict[str, object] = {"LMS_METRICS_TOKEN": "", "LMS_METRICS_ALLOW": ""}

from lms.metrics import views  # noqa: E402,F401  (routes attach to bp)


def init_app(app: Flask) -> None:
    for key, kind in SETTINGS.items():
        if key in os.environ and key not in app.config:
            app.config[key] = kind(os.environ[key])
        app.config.setdefault(key, DEFAULTS[key])
    try:
        views.allowed_networks(app.config["LMS_METRICS_ALLOW"])
    except ValueError as exc:
        raise ValueError(f"LMS_METRICS_ALLOW: {exc} (give CIDRs such as 10.0.0.0/8)") from exc

    from lms.metrics import latency

    latency.observe_requests(app)
