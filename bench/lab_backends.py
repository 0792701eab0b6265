"""Benchmark: lab starts on each lab backend (docker, swarm) against a bare `docker run`.

1. One start at a time, --rounds of each, interleaved round by round (so the machine's
   load falls on all alike), until the lab is running:
   - the runtime directly (``lab_runtime`` of an app with LMS_LAB_BACKEND=<backend>, i.e.
     ``get_runtime(backend=...)`` with the platform's limits): ``start`` with the trainee's
     flag as a secret file, then ``is_running`` polled every 10 ms; stopped after each;
   - a bare `docker run -d --rm IMAGE sleep infinity` of the same image, until Docker
     reports it running (no network, flag, limits or labels);
   - with --platform, the platform path too: POST /api/v1/labs/<lab>/start, then the
     session polled every 10 ms until running (the lab job on the inline worker).
   Median, p90, min and max of each, and the ratios to the bare `docker run`.
2. A burst: --burst starts at once (one thread each) on each backend's runtime, and as
   many bare `docker run`s at once; time until all of them are running.

The swarm backend is measured when it exists (lms.labs.runtime.swarm) and the engine is
in an active swarm (`docker swarm init`; a single node will do); --backends chooses.
Images come from each backend's image builder (``lms labs build`` does the same). Each
backend gets a throw-away SQLite database and a live server on a free port; every
container, service, network and secret it made is removed at the end.

    .venv/bin/python bench/lab_backends.py [--lab shell-basics] [--rounds 10] [--burst 30]
        [--backends docker,swarm] [--no-platform]
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import logging
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from lab_start import (  # noqa: E402
    ROOT,
    Platform,
    docker_remove,
    docker_run,
    docker_run_once,
    percentile,
    wait_running,
)

from lms.content.lab_parser import load_lab  # noqa: E402
from lms.labs.flags import flag_secrets  # noqa: E402

BARE = "docker run (bare)"
POLL = 0.01


def swarm_available() -> str | None:
    """None when the swarm backend can be measured here, else why not."""
    if importlib.util.find_spec("lms.labs.runtime.swarm") is None:
        return "no swarm backend in this checkout (lms.labs.runtime.swarm)"
    state = subprocess.run(
        ["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if state != "active":
        return f"the engine is not in a swarm ({state or 'unknown'}): docker swarm init"
    return None


class Backend:
    """A backend's platform (app and server), its runtime, the lab and its image."""

    def __init__(self, name: str, tmp: Path, lab: str):
        self.name = name
        folder = tmp / name
        folder.mkdir()
        self.platform = Platform(folder, lab, burst=1, settings={"LMS_LAB_BACKEND": name})
        self.runtime = self.platform.runtime()
        self.spec = load_lab(ROOT / "labs" / lab)
        self.image = self.platform.image()  # the backend's image builder
        with self.platform.app.app_context():
            self.secrets = flag_secrets(self.spec, user_id=1)
        self._numbers = itertools.count()
        self._browser = None

    def new_key(self) -> str:
        # The platform's prefix: its close() removes whatever a failed round left.
        return f"{self.platform.prefix}{self.name[0]}{next(self._numbers)}"

    def start_until_running(self, key: str) -> float:
        began = time.perf_counter()
        self.runtime.start(key, self.spec, "bench", self.secrets)
        while not self.runtime.is_running(key):
            time.sleep(POLL)
        return time.perf_counter() - began

    def runtime_start(self) -> float:
        key = self.new_key()
        try:
            return self.start_until_running(key)
        finally:
            self.runtime.stop(key)

    def platform_start(self) -> float:
        if self._browser is None:
            self._browser = self.platform.browser(0)
        session_id, took = self.platform.start_and_wait(self._browser)
        self.platform.stop(self._browser, session_id)
        self.platform.wait_idle()
        return took

    def burst(self, size: int) -> list[float]:
        keys = [self.new_key() for _ in range(size)]
        try:
            return at_once(self.start_until_running, keys)
        finally:
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(self.runtime.stop, keys))

    def close(self) -> None:
        self.platform.close()


def open_backend(name: str, tmp: Path, lab: str) -> Backend | None:
    """The backend, once it started a lab; None (and why, printed) when it cannot."""
    backend = None
    try:
        backend = Backend(name, tmp, lab)
        backend.runtime_start()
        return backend
    except Exception as exc:
        if name == "docker":
            raise
        print(f"{name} backend not measured: {type(exc).__name__}: {exc}")
        if backend is not None:
            backend.close()
        return None


def at_once(start: Callable[[str], float], items: list) -> list[float]:
    """Run ``start`` on every item in its own thread, all released together."""
    barrier = threading.Barrier(len(items))

    def one(item) -> float:
        barrier.wait()
        return start(item)

    with ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(one, items))


def bare_burst(image: str, size: int) -> list[float]:
    names: list[str] = []

    def one(_) -> float:
        began = time.perf_counter()
        name = docker_run(image)
        names.append(name)
        wait_running(name)
        return time.perf_counter() - began

    try:
        return at_once(one, list(range(size)))
    finally:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(docker_remove, names))


def sequential(backends: list[Backend], rounds: int, platform: bool) -> dict[str, list[float]]:
    image = backends[0].image
    measures: dict[str, Callable[[], float]] = {BARE: lambda: docker_run_once(image)}
    for backend in backends:
        measures[f"{backend.name} backend, runtime"] = backend.runtime_start
    if platform:
        for backend in backends:
            measures[f"{backend.name} backend, platform"] = backend.platform_start
    for measure in measures.values():
        measure()  # warm up: the engine, the CLI, the first service and network
    times: dict[str, list[float]] = {label: [] for label in measures}
    for number in range(rounds):
        for label, measure in measures.items():
            times[label].append(measure())
        print(f"   round {number + 1}/{rounds} done", file=sys.stderr, flush=True)
    return times


def print_table(title: str, times: dict[str, list[float]], columns: list[str]) -> None:
    base = statistics.median(times[BARE])
    print(f"\n{title}")
    print(f"   {'':30}" + "".join(f"{c:>11}" for c in columns) + "   / docker run")
    for label, values in times.items():
        figures = {
            "median": statistics.median(values),
            "p90": percentile(values, 0.9),
            "min": min(values),
            "max": max(values),
        }
        cells = "".join(f"{figures[c] * 1000:9.0f}ms" for c in columns)
        print(f"   {label:30}{cells}   {statistics.median(values) / base:8.2f}x")


def print_burst(size: int, bursts: dict[str, list[float]]) -> None:
    base = max(bursts[BARE])
    print(f"\n2. A burst of {size} starts at once, time until all are running")
    print(f"   {'':30}{'all running':>12}{'each median':>13}   / docker run")
    for label, values in bursts.items():
        print(
            f"   {label:30}{max(values):11.2f}s{statistics.median(values):12.2f}s"
            f"   {max(values) / base:8.2f}x"
        )


def machine() -> str:
    with open("/proc/loadavg") as loadavg:
        load = loadavg.read().split()[0]
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"{cores} cores, load {load}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lab", default="shell-basics", help="a lab of labs/ (default %(default)s)"
    )
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--burst", type=int, default=30)
    parser.add_argument("--backends", default="docker,swarm", help="default %(default)s")
    parser.add_argument(
        "--no-platform", action="store_true", help="skip starts through the platform"
    )
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    if "swarm" in names and (why := swarm_available()):
        print(f"swarm backend not measured: {why}")
        names.remove("swarm")
    print(f"lab '{args.lab}', backends {', '.join(names)}; {machine()} at the start")
    backends: list[Backend] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for name in names:
                if backend := open_backend(name, Path(tmp), args.lab):
                    backends.append(backend)
            times = sequential(backends, args.rounds, not args.no_platform)
            print_table(
                f"1. One start at a time until running, {args.rounds} rounds each (image "
                f"{backends[0].image})",
                times,
                ["median", "p90", "min", "max"],
            )
            bursts = {BARE: bare_burst(backends[0].image, args.burst)}
            for backend in backends:
                bursts[f"{backend.name} backend, runtime"] = backend.burst(args.burst)
            print_burst(args.burst, bursts)
        finally:
            for backend in backends:
                backend.close()
    print(f"\n{machine()} at the end; every bench container, service, network removed")


if __name__ == "__main__":
    main()
