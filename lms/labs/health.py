"""What we know of the container engine's health: a cached probe, one per app, that a
request waits on for at most a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import Flask

from lms.labs.app_runtime import lab_runtime, once_per_app
from lms.labs.errors import NOT_ANSWERING_MESSAGE, UNAVAILABLE_MESSAGE
from lms.labs.runtime import EngineNotAnswering, EngineUnavailable, LabRuntime

log = logging.getLogger(__name__)

HEALTH_KEY = "lab_engine_health"


class EngineHealth:
    """The last known state of the engine, refreshed by a probe at most every few seconds.

    ``known_down`` never contacts the engine (pages use it); ``is_up`` may
    probe, but waits for it at most ``wait`` seconds: a hung engine costs a
    request one second, not a worker. The probe's own calls time out within
    seconds (the runtime's quick client), so a hang is noticed that fast and
    told apart from an engine that refuses connections (``not_answering``).
    """

    UP_TTL = 5.0  # seconds a successful probe (or start) is trusted
    DOWN_TTL = 5.0  # seconds a failure is trusted before probing again

    def __init__(self, runtime_of: Callable[[], LabRuntime]):
        self._runtime_of = runtime_of
        self._up: bool | None = None
        self._not_answering = False
        self._checked = 0.0
        self._probe: threading.Thread | None = None
        self._probe_started = 0.0
        self._done = threading.Event()
        self._lock = threading.Lock()

    def mark(self, up: bool, not_answering: bool = False) -> None:
        with self._lock:
            self._up, self._checked = up, time.monotonic()
            self._not_answering = not up and not_answering

    def mark_failure(self, exc: EngineUnavailable) -> None:
        """Record what an engine call found: unreachable, or not answering (a hang)."""
        self.mark(False, not_answering=isinstance(exc, EngineNotAnswering))

    @property
    def not_answering(self) -> bool:
        """The engine took the connection but did not answer: the last call timed out,
        or the probe in flight has waited longer than a request ever does."""
        with self._lock:
            probing = self._probe is not None and self._probe.is_alive()
            return (self._up is False and self._not_answering) or (
                probing and time.monotonic() - self._probe_started > 0.5
            )

    def unavailable_message(self) -> str:
        """What to tell a trainee whose start is refused."""
        return NOT_ANSWERING_MESSAGE if self.not_answering else UNAVAILABLE_MESSAGE

    def known_down(self) -> bool:
        with self._lock:
            return self._up is False and time.monotonic() - self._checked < 60.0

    def is_up(self, wait: float = 1.0) -> bool:
        with self._lock:
            age = time.monotonic() - self._checked
            if self._up is not None and age < (self.UP_TTL if self._up else self.DOWN_TTL):
                return self._up
            if self._probe is None or not self._probe.is_alive():
                self._done = threading.Event()
                self._probe = threading.Thread(
                    target=self._ping, args=(self._done,), name="lab-engine-probe", daemon=True
                )
                self._probe_started = time.monotonic()
                self._probe.start()
            done = self._done
        if not done.wait(wait):
            return False
        with self._lock:
            return bool(self._up)

    def _ping(self, done: threading.Event) -> None:
        try:
            self._runtime_of().ping()
            self.mark(True)
        except EngineUnavailable as exc:
            log.warning("lab engine unavailable: %s", exc)
            self.mark_failure(exc)
        except Exception:
            log.exception("probing the lab engine failed")
            self.mark(False)
        finally:
            done.set()


def engine_health(app: Flask | None = None) -> EngineHealth:
    return once_per_app(app, HEALTH_KEY, lambda app: EngineHealth(lambda: lab_runtime(app)))
