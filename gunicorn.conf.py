"""Gunicorn settings: pages, the JSON API and the terminal WebSockets in one server.

    gunicorn -c gunicorn.conf.py 'lms:create_app()'

Why gevent workers (README, "How terminals are served"): a terminal is a
WebSocket held open for as long as the trainee works. Each connection is a
greenlet of a ``gevent`` worker, not an operating-system thread, so an open
terminal costs about 120 KiB and no page-serving thread: pages,
terminals, live watches and the lab web proxy's long requests share the
worker's connections (``worker_connections``). The standard library is made
cooperative (monkey-patched) here, first thing, before anything of the
platform is imported: the Docker SDK's sockets, its exec streams and
PostgreSQL's driver (psycopg >= 3.1.14) then wait without blocking the
others.

Capacity: a worker holds at most ``LMS_MAX_TERMINALS_PER_PROCESS`` terminals
(and live watches); the next one is refused with "the platform is full, try
again" and pages keep being served, in the ``LMS_PAGE_CONNECTIONS`` connections
kept for them beside the terminals.

Several workers by default (``LMS_WORKERS``; default: one per CPU, at least 2),
and any number of hosts behind one load balancer, because no worker holds state
another one needs:

- a terminal's shell runs inside the lab under a session holder (dtach, see
  lms/labs/runtime/docker/shells.py), not in the worker: a reconnect that lands
  on any worker, or a restart of this server, attaches to the same shell;
  recordings are appended in ``LMS_RECORDINGS_DIR`` (shared storage for
  several hosts);
- engine work (starts, stops, pool refills, reaping) is a job in the database
  (lms/labs/jobs.py), claimed exactly once, by the workers' inline lab worker
  (``LMS_LAB_WORKER=inline``) or by ``lms labs worker`` processes (``external``);
  sweeps take a lease row, so one process sweeps at a time;
- rate limits count in the database (lms/ratelimits.py) or Redis, sign-in
  failures and wrong flags in their tables; sessions are signed cookies;
- what a worker keeps in memory is a cache: parsed courses, checked against the
  database's course version on every request; lab specs, against their files.

Environment: ``LMS_BIND`` (default 127.0.0.1:5000; ``--bind`` on the command
line wins), ``LMS_WORKERS`` (CPUs, at least 2), ``LMS_MAX_TERMINALS_PER_PROCESS`` (500),
``LMS_PAGE_CONNECTIONS`` (1000), ``LMS_RECONCILE_ON_START`` (1: at start-up,
reconcile lab sessions with the container engine once).
"""

import os
import resource
import shutil
import tempfile
from pathlib import Path

from gevent import monkey

monkey.patch_all()

# Imported after the patching, so that its locks and sockets are cooperative too.
from lms.terminal import DEFAULTS as TERMINAL_DEFAULTS  # noqa: E402

bind = os.environ.get("LMS_BIND", "127.0.0.1:5000")
worker_class = "gevent"
workers = int(os.environ.get("LMS_WORKERS") or max(2, os.cpu_count() or 1))
max_terminals = int(
    os.environ.get(
        "LMS_MAX_TERMINALS_PER_PROCESS", TERMINAL_DEFAULTS["LMS_MAX_TERMINALS_PER_PROCESS"]
    )
)
# Terminals are refused past max_terminals; the rest of the connections serve pages.
worker_connections = max_terminals + int(os.environ.get("LMS_PAGE_CONNECTIONS", "1000"))
# A gevent worker's timeout is its heartbeat, not a limit on requests: WebSockets
# may stay open for hours.
timeout = int(os.environ.get("LMS_WORKER_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
# Heartbeat files on tmpfs when there is one (containers often have a slow /tmp).
SHM = "/dev/shm"  # noqa: S108 - gunicorn's own advice: heartbeat files on tmpfs
worker_tmp_dir = SHM if os.path.isdir(SHM) else None
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LMS_LOG_LEVEL", "info")
# X-Forwarded-* headers are trusted only when the platform is told it has a proxy in
# front (LMS_TRUSTED_PROXIES, the number of proxies; the app applies werkzeug's ProxyFix
# for the client address and scheme); gunicorn then trusts them from FORWARDED_ALLOW_IPS,
# by default a proxy on the same host. Without a proxy, a client cannot set them.
_behind_proxy = int(os.environ.get("LMS_TRUSTED_PROXIES", "0") or 0) > 0
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1" if _behind_proxy else "")
wsgi_app = "lms:create_app()"

# /metrics (lms.metrics) under several workers: prometheus_client's multiprocess mode.
# Each worker writes its request-latency samples to files in this folder, and a scrape
# answered by any worker adds them all up. Set before any worker imports the app (the
# mode is chosen on import); emptied when the server starts (samples of an earlier run
# would be counted again). Default: a new folder on tmpfs when there is one.
_made_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _made_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="lms-metrics-", dir=SHM if os.path.isdir(SHM) else None
    )


def on_starting(server):
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


def on_exit(server):
    if _made_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def child_exit(server, worker):
    """A worker that exited: its samples stay counted, its live gauges go."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _raise_open_files_limit(needed: int) -> None:
    """Each terminal holds three files (browser socket, shell stream, recording)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


_raise_open_files_limit(4 * max_terminals + worker_connections + 256)


def when_ready(server):
    """Reconcile lab sessions with the engine once, in the master, before workers serve
    (with ``LMS_LAB_WORKER=external`` the ``lms labs worker`` processes do it instead)."""
    if os.environ.get("LMS_RECONCILE_ON_START", "1").lower() in ("0", "false", "no", "off"):
        return
    try:
        from lms.labs.reaper import on_server_ready
    except ImportError:  # a build without the labs domain
        return
    on_server_ready(server)


def worker_exit(server, worker):
    """A worker that stops lets its terminals go: their shells keep running in the labs
    and the browsers reconnect to another worker (plain shells, without a holder, end)."""
    try:
        from lms.terminal.bridge import hub
    except ImportError:
        return
    hub.release_all()
    try:
        from lms.labs.workers import stop_all_inline
    except ImportError:
        return
    stop_all_inline()  # LMS_LAB_WORKER=inline: finish the lab jobs in hand, claim no more
