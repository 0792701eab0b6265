"""Accepting a WebSocket only after the request was checked.

Flask-Sock's ``@sock.route`` completes the handshake before the view runs, so
a refusal could only close an open socket. Here the view is an ordinary route
(``websocket=True``): it checks the request and returns a plain 403 response
when it refuses, and only then upgrades with ``accept``. ``finished`` returns
the response the server expects after the socket was used (same as Flask-Sock).
"""

from __future__ import annotations

from contextlib import suppress

from flask import Response, current_app, request
from simple_websocket import Server


def accept(ping_interval: float | None = None) -> Server:
    """Complete the WebSocket handshake of the current request."""
    options = dict(current_app.config.get("SOCK_SERVER_OPTIONS", {}))
    if ping_interval:
        options["ping_interval"] = ping_interval
    options.setdefault("max_message_size", 1024 * 1024)
    return Server(request.environ, **options)


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
