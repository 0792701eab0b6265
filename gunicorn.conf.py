"""Gunicorn settings: pages, the JSON API and the terminal WebSockets in one server.

    gunicorn -c gunicorn.conf.py 'lms:create_app()'

Why threads: a terminal is a WebSocket held open for as long as the trainee
works, and Flask-Sock serves each one on a thread of the ``gthread`` worker
(no eventlet or gevent needed). Each open terminal uses one thread of
``LMS_THREADS``, so size it for the terminals open at once plus the page
requests beside them.

Why one worker by default: a terminal whose connection drops (a network blip,
a page reload) re-attaches to its running shell only in the process that holds
it. With more workers (``LMS_WORKERS``), a reconnect that lands on another
worker gets a fresh shell; put a proxy with sticky sessions in front, or keep
one worker per host.

Environment: ``LMS_BIND`` (default 127.0.0.1:5000; ``--bind`` on the command
line wins), ``LMS_WORKERS`` (1), ``LMS_THREADS`` (64), ``LMS_RECONCILE_ON_START``
(1: at start-up, reconcile lab sessions with the container engine once).
"""

import os

bind = os.environ.get("LMS_BIND", "127.0.0.1:5000")
worker_class = "gthread"
workers = int(os.environ.get("LMS_WORKERS", "1"))
threads = int(os.environ.get("LMS_THREADS", "64"))
# A gthread worker's timeout is its heartbeat, not a limit on requests: WebSockets
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
# Behind a reverse proxy on the same host: trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
wsgi_app = "lms:create_app()"


def when_ready(server):
    """Reconcile lab sessions with the engine once, in the master, before workers serve."""
    if os.environ.get("LMS_RECONCILE_ON_START", "1").lower() in ("0", "false", "no", "off"):
        return
    try:
        from lms.labs.reaper import on_server_ready
    except ImportError:  # a build without the labs domain
        return
    on_server_ready(server)


def worker_exit(server, worker):
    """A worker that stops leaves no shell running in any lab."""
    try:
        from lms.terminal.bridge import hub
    except ImportError:
        return
    hub.close_all("The platform is restarting: open the terminal again in a moment.")
