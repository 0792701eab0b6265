"""The lab in the trainee's browser: web terminal, web access to lab services, recordings.

- ``bridge``: a WebSocket bridged to a shell with a TTY in the lab's workstation
  container (xterm.js in the page), with re-attach after a network blip;
- ``asciicast`` and ``commands``: every terminal is recorded (asciicast v2) and the
  command lines typed are kept, for instructors' replay and review pages;
- ``proxy``: the lab's declared web ports, reachable by their owner through the
  platform at ``/labs/sessions/<id>/web/<port>/``.
"""

from __future__ import annotations

import atexit
import os

from flask import Flask

from lms.terminal.blueprint import bp  # noqa: E402,F401  (registered by lms.create_app)

# Settings of this domain and their defaults; each can also come from the environment.
SETTINGS: dict[str, type] = {
    "LMS_TERMINAL_IDLE_MINUTES": int,  # no keystroke for this long: the shell is closed
    "LMS_TERMINAL_REATTACH_SECONDS": int,  # a dropped connection may come back this long
    "LMS_TERMINAL_MAX_TABS": int,  # shells per trainee and lab session
    "LMS_TERMINAL_PING_SECONDS": int,  # WebSocket keep-alive ping interval
    "LMS_RECORDING_MAX_BYTES": int,  # recording cap per lab session (all its terminals)
    "LMS_RECORDINGS_DIR": str,  # where recordings go (default: instance/recordings)
    "LMS_PROXY_TIMEOUT": int,  # seconds to wait for a lab web service
    # Shells and live watches one web process holds; past it a new terminal is
    # refused ("the platform is full") and pages keep being served (README).
    "LMS_MAX_TERMINALS_PER_PROCESS": int,
}
DEFAULTS = {
    "LMS_TERMINAL_IDLE_MINUTES": 30,
    "LMS_TERMINAL_REATTACH_SECONDS": 60,
    "LMS_TERMINAL_MAX_TABS": 4,
    "LMS_TERMINAL_PING_SECONDS": 25,
    "LMS_RECORDING_MAX_BYTES": 8 * 1024 * 1024,
    "LMS_RECORDINGS_DIR": "",
    "LMS_PROXY_TIMEOUT": 30,
    "LMS_MAX_TERMINALS_PER_PROCESS": 500,
}

from lms.terminal import recording_views, views, web_views  # noqa: E402,F401  (routes attach to bp)


def init_app(app: Flask) -> None:
    for key, kind in SETTINGS.items():
        if key in os.environ and key not in app.config:
            app.config[key] = kind(os.environ[key])
        app.config.setdefault(key, DEFAULTS[key])

    from lms.labs import reaper
    from lms.terminal.bridge import hub
    from lms.terminal.services import end_abandoned_terminals

    # Terminals whose web process died: the reaper ends them (in any process).
    if end_abandoned_terminals not in reaper.SWEEPS:
        reaper.SWEEPS.append(end_abandoned_terminals)

    # A process that stops lets its terminals go: held shells keep running in the
    # labs for the next process to attach to (gunicorn's worker_exit hook calls it too).
    atexit.register(hub.release_all)
