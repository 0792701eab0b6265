"""Accepting a WebSocket only after the request was checked.

Flask-Sock's ``@sock.route`` completes the handshake before the view runs, so
a refusal could only close an open socket. Here the view is an ordinary route
(``websocket=True``): it checks the request and returns a plain 403 response
when it refuses, and only then upgrades with ``accept``. ``finished`` returns
the response the server expects after the socket was used (same as Flask-Sock).
"""

from __future__ import annotations

import threading
from contextlib import suppress

from flask import Response, current_app, request
from simple_websocket import Server

# Where each server puts the client's socket in the WSGI environ.
SOCKET_KEYS = ("werkzeug.socket", "gunicorn.socket")


class WholeFrames:
    """The client socket, sending every frame whole and one frame at a time.

    simple_websocket writes frames with ``socket.send``, which may write only
    part of a frame (on gevent's cooperative sockets, whenever the kernel's
    buffer is full), and its own thread answers pings while the terminal's
    threads send output: two partial writes could interleave and corrupt the
    stream. ``sendall`` under one lock sends each frame entirely, alone.
    """

    def __init__(self, sock):
        self._sock = sock
        self._lock = threading.Lock()

    def send(self, data: bytes) -> int:
        with self._lock:
            self._sock.sendall(data)
        return len(data)

    def __getattr__(self, name):
        return getattr(self._sock, name)


def accept(ping_interval: float | None = None) -> Server:
    """Complete the WebSocket handshake of the current request."""
    options = dict(current_app.config.get("SOCK_SERVER_OPTIONS", {}))
    if ping_interval:
        options["ping_interval"] = ping_interval
    options.setdefault("max_message_size", 1024 * 1024)
    environ = dict(request.environ)
    for key in SOCKET_KEYS:
        if key in environ:
            environ[key] = WholeFrames(environ[key])
            break
    return Server(environ, **options)


def finished(ws: Server) -> Response:
    """Close ``ws`` and return what the WSGI server expects after an upgrade."""
    with suppress(Exception):
        ws.close()

    class WebSocketResponse(Response):
        def __call__(self, *args, **kwargs):
            if ws.mode == "eventlet":
                try:
                    from eventlet.wsgi import WSGI_LOCAL

                    already_handled = []
                except ImportError:
                    from eventlet.wsgi import ALREADY_HANDLED as already_handled

                    WSGI_LOCAL = None
                if hasattr(WSGI_LOCAL, "already_handled"):
                    WSGI_LOCAL.already_handled = True
                return already_handled
            if ws.mode == "gunicorn":
                raise StopIteration()
            if ws.mode == "werkzeug":
                return super().__call__(*args, **kwargs)
            return []

    return WebSocketResponse()
