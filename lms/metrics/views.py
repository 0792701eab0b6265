"""/metrics: Prometheus's text format, for a scraper with the token or from a network
allowed; anyone else gets the answer a page that does not exist gets."""

from __future__ import annotations

import hmac
import ipaddress
import os

from flask import Response, abort, current_app, request
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

from lms.extensions import csrf, limiter
from lms.metrics.blueprint import bp
from lms.metrics.database import DatabaseCollector


@bp.get("/metrics")
@csrf.exempt
@limiter.exempt
def metrics():
    _check_access()
    body = generate_latest(_process_registry()) + generate_latest(_database_registry())
    return Response(
        body, content_type=CONTENT_TYPE_PLAIN_0_0_4, headers={"Cache-Control": "no-store"}
    )


def _process_registry() -> CollectorRegistry:
    """This process's metrics, or (multiprocess mode) every worker's, added up."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _database_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    return registry


def _check_access() -> None:
    token = current_app.config.get("LMS_METRICS_TOKEN") or ""
    networks = allowed_networks(current_app.config.get("LMS_METRICS_ALLOW") or "")
    if not token and not networks:
        abort(404)  # not switched on: as if there were no such page
    if networks and not _address_in(request.remote_addr or "", networks):
        abort(403, description="Metrics are not served to this address.")
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), token.encode()):
            response = Response("A bearer token is needed.\n", 401, mimetype="text/plain")
            response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            abort(response)


def allowed_networks(setting: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The networks of LMS_METRICS_ALLOW (checked when the app starts: a typo fails there)."""
    return [
        ipaddress.ip_network(part.strip(), strict=False)
        for part in setting.split(",")
        if part.strip()
    ]


def _address_in(address: str, networks) -> bool:
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(client in network for network in networks)
