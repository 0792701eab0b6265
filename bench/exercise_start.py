"""Benchmark: how long a class waits when the white cell presses Start (not a test).

Starts a team exercise of --teams teams on a team lab (default ``web-breach``: six
containers per team) on the real Docker engine, two ways, --rounds rounds interleaved
(the order alternates, so the machine's load falls on both alike):

- the platform: ``lms.exercises.lifecycle.start_exercise`` in an app on its own SQLite
  database, the start jobs on the app's inline lab worker (LMS_START_LAB_WORKERS threads,
  as a web process runs them); each team is ready when its lab session is ``running``
  (the database polled every 20 ms);
- bare: per team a ``docker network create --internal`` and one ``docker run -d`` per
  container (the same images, network aliases, command, limits and hardening), as many
  teams at a time as the platform has start workers; a team is ready when its last
  ``docker run -d`` returned (the container is running).

For each: seconds until the first and the last team are ready and the median team, and
the ratio platform / bare. Then, on the running teams of each round:

- an inject fired by hand to every team (``play.fire_inject``, default the memo
  ``status-request``: a file written into the lead's workstation) until every delivery
  is done, against ``docker exec -i ... sh -c 'cat > FILE'`` into each team in parallel;
- one check task round trip (``play.check_task``, default ``attacker-ip``: a lab job
  running the check in the team's lab), against a bare ``docker exec`` of the same command.

Every container and network it made (session keys and names starting with a prefix of
its own) is removed at the end, also on Ctrl-C, SIGTERM or a failure.

    .venv/bin/python bench/exercise_start.py [--teams 4] [--rounds 3] [--lab web-breach]
        [--inject status-request] [--task attacker-ip]
"""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lms import create_app  # noqa: E402
from lms.config import TestingConfig  # noqa: E402
from lms.content.lab_model import LabSpec  # noqa: E402
from lms.extensions import db  # noqa: E402

POLL = 0.02  # seconds between looks at the teams' sessions / deliveries
RUN_ID = uuid.uuid4().hex[:6]
PLATFORM_PREFIX = f"benchex-{RUN_ID}-"  # the platform's session keys
BARE_PREFIX = f"benchexbare-{RUN_ID}-"  # bare containers' and networks' names
PLATFORM, BARE = "platform (start_exercise)", "bare docker run"


@dataclass
class StartTimes:
    """Seconds from Start until each team was ready."""

    teams: list[float]
    engine: list[float] = field(default_factory=list)  # the platform's runtime.start calls

    @property
    def first(self) -> float:
        return min(self.teams)

    @property
    def last(self) -> float:
        return max(self.teams)

    @property
    def median(self) -> float:
        return statistics.median(self.teams)


def docker(*args: str, stdin: str | None = None) -> None:
    result = subprocess.run(["docker", *args], input=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:2])}: {result.stderr.strip()}")


# -- the platform --------------------------------------------------------------------------


class ExercisePlatform:
    """An app on its own SQLite database with a white cell and teams x roles trainees."""

    def __init__(self, tmp: Path, lab: str, teams: int):
        config = {k: getattr(TestingConfig, k) for k in dir(TestingConfig) if k.isupper()}
        config.update(
            LMS_DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite'}",
            LMS_LABS_DIR=str(ROOT / "labs"),
            LMS_LAB_SESSION_PREFIX=PLATFORM_PREFIX,
            LMS_MAX_LABS_TOTAL=teams + 10,
            RATELIMIT_ENABLED=False,
        )
        self.app = create_app(config)
        self.lab, self.team_count = lab, teams
        with self.app.app_context():
            from lms.auth.services import create_user
            from lms.content.lab_library import get_spec
            from lms.labs.app_runtime import lab_image_builder

            db.drop_all()
            db.create_all()
            spec = get_spec(lab)
            if spec is None or not spec.is_team:
                raise SystemExit(f"labs/{lab} is not a valid team lab")
            self.spec: LabSpec = spec
            self.images = lab_image_builder(self.app).build(spec)  # a no-op once built
            self.engine_seconds = self._time_runtime_starts()
            white_cell = create_user(
                "white-cell@example.org", None, role="platform_admin", name="White cell"
            )
            db.session.flush()
            self.white_cell_id = white_cell.id
            self.members: list[list[tuple[int, str]]] = []  # per team: (user id, role)
            for number in range(teams):
                team = []
                for role in spec.roles:
                    user = create_user(
                        f"t{number}-{role.name}@example.org", None, name=f"T{number} {role.name}"
                    )
                    db.session.flush()
                    team.append((user.id, role.name))
                self.members.append(team)
            db.session.commit()

    def request(self):
        # as in the white cell's and the member's requests (their messages are translated)
        return self.app.test_request_context()

    def runtime(self):
        from lms.labs.app_runtime import lab_runtime

        return lab_runtime(self.app)

    def _time_runtime_starts(self) -> list[float]:
        """The app's runtime (one per app) times its starts: the engine's share of a team's
        wait, the rest being the platform's (the start request, the job, the database)."""
        runtime, seconds = self.runtime(), []
        start = runtime.start

        def timed_start(*args, **kwargs):
            began = time.perf_counter()
            try:
                return start(*args, **kwargs)
            finally:
                seconds.append(time.perf_counter() - began)

        runtime.start = timed_start
        return seconds

    def start(self) -> tuple[int, StartTimes]:
        """A new draft exercise with the teams, started; (its id, when each team ran)."""
        from lms.auth.models import User
        from lms.exercises import lifecycle
        from lms.exercises.models import Exercise, Team, TeamMember
        from lms.labs.models import LabSession

        with self.request():
            exercise = Exercise(
                title="Bench exercise",
                lab_slug=self.lab,
                created_by_id=self.white_cell_id,
                duration_minutes=60,
            )
            db.session.add(exercise)
            db.session.flush()
            for number, members in enumerate(self.members):
                team = Team(exercise_id=exercise.id, name=f"Team {number + 1}")
                db.session.add(team)
                db.session.flush()
                for user_id, role in members:
                    db.session.add(
                        TeamMember(
                            team_id=team.id, exercise_id=exercise.id, user_id=user_id, role=role
                        )
                    )
            db.session.commit()
            exercise_id = exercise.id
            self.engine_seconds.clear()
            white_cell = db.session.get(User, self.white_cell_id)

            began = time.perf_counter()  # the white cell presses Start
            report = lifecycle.start_exercise(exercise, white_cell)
            if report.failed:
                raise RuntimeError(f"teams failed to start: {report.failed}")
            ready: dict[int, float] = {}
            query = (
                select(Team.id, LabSession.status)
                .join(LabSession, LabSession.id == Team.lab_session_id)
                .where(Team.exercise_id == exercise_id)
            )
            while len(ready) < self.team_count:
                for team_id, status in db.session.execute(query).all():
                    if status == "running":
                        ready.setdefault(team_id, time.perf_counter() - began)
                    elif status not in ("starting", "running"):
                        raise RuntimeError(f"a team's lab session ended as {status}")
                db.session.commit()  # end the read: the next one sees the workers' commits
                if time.perf_counter() - began > 600:
                    raise RuntimeError("the teams' labs did not run within 10 minutes")
                time.sleep(POLL)
            db.session.remove()
        return exercise_id, StartTimes(list(ready.values()), list(self.engine_seconds))

    def fire_inject(self, exercise_id: int, inject_id: str) -> float:
        """Fire ``inject_id`` by hand to every team; seconds until every delivery is done."""
        from lms.auth.models import User
        from lms.exercises import play
        from lms.exercises.models import Exercise, InjectDelivery

        with self.request():
            exercise = db.session.get(Exercise, exercise_id)
            white_cell = db.session.get(User, self.white_cell_id)
            began = time.perf_counter()
            play.fire_inject(exercise, inject_id, by=white_cell)
            query = select(InjectDelivery.status).where(
                InjectDelivery.exercise_id == exercise_id, InjectDelivery.inject_id == inject_id
            )
            while True:
                statuses = list(db.session.scalars(query))
                db.session.commit()
                if play.FAILED in statuses:
                    raise RuntimeError(f"the inject {inject_id} failed for a team")
                if len(statuses) == self.team_count and set(statuses) == {play.DONE}:
                    took = time.perf_counter() - began
                    break
                time.sleep(POLL)
            db.session.remove()
        return took

    def check(self, exercise_id: int, task_id: str) -> float:
        """One check of the first team by the member of the task's role: the round trip."""
        from lms.auth.models import User
        from lms.exercises import play
        from lms.exercises.models import Team

        with self.request():
            team = db.session.scalar(
                select(Team).where(Team.exercise_id == exercise_id).order_by(Team.id)
            )
            role = self.spec.task(task_id).role
            member = next(m for m in team.members if role in (None, m.role))
            user = db.session.get(User, member.user_id)
            began = time.perf_counter()
            play.check_task(team, user, task_id)  # passed or not: the round trip counts
            took = time.perf_counter() - began
            db.session.remove()
        return took

    def end(self, exercise_id: int) -> None:
        from lms.exercises import lifecycle
        from lms.exercises.models import Exercise
        from lms.labs.workers import wait_drained

        with self.request():
            lifecycle.end_exercise(db.session.get(Exercise, exercise_id))
            db.session.remove()
        wait_drained(self.app, 300)

    def close(self) -> None:
        """Finish the jobs in hand, claim no more, remove whatever the prefix names."""
        from lms.labs.workers import stop_inline

        try:
            stop_inline(self.app)
        finally:
            with self.app.app_context():
                self.runtime().remove_orphans(set(), key_prefix=PLATFORM_PREFIX)
                db.session.remove()
                db.engine.dispose()


# -- the same containers by hand --------------------------------------------------------------


class BareTeams:
    """The lab's containers with the docker CLI: one internal network per team."""

    def __init__(self, platform: ExercisePlatform):
        self.spec = platform.spec
        self.images = platform.images
        runtime = platform.runtime()
        with platform.app.app_context():
            self.commands = runtime._commands(self.spec)  # the runtime's keep-alive choice
            self.limits = runtime._clamp(self.spec.limits)  # the platform's clamped limits
        self.workers = int(platform.app.config["LMS_START_LAB_WORKERS"])
        self.stopping = threading.Event()
        self._numbers = iter(range(10**6))

    def start(self, teams: int) -> tuple[list[str], StartTimes]:
        names = [f"{BARE_PREFIX}{next(self._numbers)}" for _ in range(teams)]
        began = time.perf_counter()

        def one(team: str) -> float:
            self.start_team(team)
            return time.perf_counter() - began

        pool = ThreadPoolExecutor(min(teams, self.workers))
        try:
            return names, StartTimes(list(pool.map(one, names)))
        except BaseException:
            self.stopping.set()  # Ctrl-C or a failure: the teams in hand stop early
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def start_team(self, team: str) -> None:
        docker("network", "create", "--internal", team)
        for name, container in self.spec.containers.items():
            if self.stopping.is_set():
                raise KeyboardInterrupt
            options = [
                "--name", f"{team}-{name}",
                "--hostname", name,
                "--network", team,
                "--network-alias", name,
                "--cap-drop", "ALL",
                *[o for cap in container.capabilities for o in ("--cap-add", cap)],
                *([] if container.setuid else ["--security-opt", "no-new-privileges"]),
                "--memory", str(self.limits.memory_bytes),
                "--memory-swap", str(self.limits.memory_bytes),
                "--cpus", str(self.limits.cpus),
                "--pids-limit", str(self.limits.pids),
                "--init",
                "--restart", "no",
                "--log-opt", "max-size=1m", "--log-opt", "max-file=1",
            ]  # fmt: skip
            docker("run", "-d", *options, self.images[name], *(self.commands[name] or []))

    def write_file(self, teams: list[str], inject_id: str) -> float:
        """The inject's file written into each team's container at once: ``docker exec -i``
        as the file's owner (root without capabilities may not write into a home)."""
        file = self.spec.inject(inject_id).file
        owner = self.spec.containers[file.container].user or "0"
        path = shlex.quote(file.path)
        script = f"cat > {path} && chmod {file.mode:o} {path}"

        def write(team: str) -> None:
            target = f"{team}-{file.container}"
            docker("exec", "-i", "-u", owner, target, "sh", "-c", script, stdin=file.content)

        began = time.perf_counter()
        with ThreadPoolExecutor(min(len(teams), self.workers)) as pool:
            list(pool.map(write, teams))
        return time.perf_counter() - began

    def check(self, teams: list[str], task_id: str) -> float:
        task = self.spec.task(task_id)
        user = self.spec.check_user(task) or "0"
        argv = ["timeout", "-k", "2", str(task.timeout_seconds), "sh", "-c", task.run or "false"]
        container = f"{teams[0]}-{self.spec.task_container(task)}"
        began = time.perf_counter()
        subprocess.run(
            ["docker", "exec", "-u", user, "-w", "/", container, *argv], capture_output=True
        )
        return time.perf_counter() - began

    def remove(self) -> None:
        """Every bare container and network of this run (by name prefix)."""
        for kind in ("container", "network"):
            listed = subprocess.run(
                ["docker", kind, "ls", "-aq" if kind == "container" else "-q",
                 "--filter", f"name={BARE_PREFIX}"],
                capture_output=True, text=True,
            ).stdout.split()  # fmt: skip
            if listed:
                remove = ["rm", "-f"] if kind == "container" else ["rm"]
                subprocess.run(["docker", kind, *remove, *listed], capture_output=True)


# -- the rounds -------------------------------------------------------------------------------


@dataclass
class Figures:
    starts: dict[str, list[StartTimes]]
    injects: dict[str, list[float]]
    checks: dict[str, list[float]]


def run_rounds(platform: ExercisePlatform, bare: BareTeams, args) -> Figures:
    figures = Figures({PLATFORM: [], BARE: []}, {PLATFORM: [], BARE: []}, {PLATFORM: [], BARE: []})

    def platform_round() -> None:
        exercise_id, times = platform.start()
        try:
            figures.starts[PLATFORM].append(times)
            figures.injects[PLATFORM].append(platform.fire_inject(exercise_id, args.inject))
            figures.checks[PLATFORM].append(platform.check(exercise_id, args.task))
        finally:
            platform.end(exercise_id)
        say(PLATFORM, times)

    def bare_round() -> None:
        try:
            teams, times = bare.start(args.teams)
            figures.starts[BARE].append(times)
            figures.injects[BARE].append(bare.write_file(teams, args.inject))
            figures.checks[BARE].append(bare.check(teams, args.task))
        finally:
            bare.remove()
        say(BARE, times)

    order: list[Callable[[], None]] = [platform_round, bare_round]
    for number in range(args.rounds):
        for measure in order if number % 2 == 0 else reversed(order):
            measure()
        print(f"   round {number + 1}/{args.rounds} done ({load()})", file=sys.stderr, flush=True)
    return figures


def say(label: str, times: StartTimes) -> None:
    print(
        f"   {label}: first {times.first:.2f} s, last {times.last:.2f} s",
        file=sys.stderr,
        flush=True,
    )


def print_figures(figures: Figures, args, containers: int) -> None:
    def med(values: list[float]) -> float:
        return statistics.median(values)

    rows = {
        label: (
            med([t.first for t in runs]),
            med([t.last for t in runs]),
            med([t.median for t in runs]),
        )
        for label, runs in figures.starts.items()
    }
    print(
        f"\n1. Start: {args.teams} teams of '{args.lab}' ({containers} containers each), "
        f"until every team's lab runs; medians of {args.rounds} rounds"
    )
    print(f"   {'':28}{'first team':>12}{'last team':>12}{'median team':>13}")
    for label, (first, last, median) in rows.items():
        print(f"   {label:28}{first:11.2f}s{last:11.2f}s{median:12.2f}s")
    first, last, median = (p / b for p, b in zip(rows[PLATFORM], rows[BARE], strict=True))
    print(f"   {'ratio platform / bare':28}{first:11.2f}x{last:11.2f}x{median:12.2f}x")
    engine = med([med(t.engine) for t in figures.starts[PLATFORM]])
    print(
        f"   platform's median team: {engine:.2f} s in runtime.start (engine calls), "
        f"{rows[PLATFORM][2] - engine:.2f} s its own (request, job, database)"
    )
    inject_p, inject_b = med(figures.injects[PLATFORM]), med(figures.injects[BARE])
    print(
        f"\n2. Inject '{args.inject}' fired by hand to {args.teams} teams, until every "
        f"delivery is done (median of {args.rounds})"
    )
    print(f"   {'platform (fire_inject, jobs)':28}{inject_p * 1000:9.0f} ms")
    print(f"   {'bare docker exec, in parallel':28}{inject_b * 1000:9.0f} ms")
    print(f"   {'ratio platform / bare':28}{inject_p / inject_b:10.2f}x")
    check_p, check_b = med(figures.checks[PLATFORM]), med(figures.checks[BARE])
    print(f"\n3. Check task '{args.task}', one round trip (median of {args.rounds})")
    print(f"   {'platform (check_task, job)':28}{check_p * 1000:9.0f} ms")
    print(f"   {'bare docker exec':28}{check_b * 1000:9.0f} ms")
    print(f"   {'ratio platform / bare':28}{check_p / check_b:10.2f}x")


def load() -> str:
    with open("/proc/loadavg") as loadavg:
        return "load " + " ".join(loadavg.read().split()[:3])


def leftovers() -> list[str]:
    found = []
    for prefix in (PLATFORM_PREFIX, BARE_PREFIX):
        for kind in ("container", "network"):
            listing = ["docker", kind, "ls", "--format", "{{.Names}}" if kind == "container"
                       else "{{.Name}}", "--filter", f"name={prefix}"]  # fmt: skip
            if kind == "container":
                listing.insert(3, "-a")
            found += subprocess.run(listing, capture_output=True, text=True).stdout.split()
    return found


def interrupt_on_signals() -> None:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt, so the clean-up runs (also when started
    in the background, where a shell leaves SIGINT ignored)."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=4, help="default %(default)s")
    parser.add_argument("--rounds", type=int, default=3, help="default %(default)s")
    parser.add_argument("--lab", default="web-breach", help="a team lab (default %(default)s)")
    parser.add_argument("--inject", default="status-request", help="an inject with a file")
    parser.add_argument("--task", default="attacker-ip", help="a check task")
    args = parser.parse_args()
    if args.teams < 1 or args.rounds < 1:
        parser.error("--teams and --rounds must be at least 1")
    logging.basicConfig(level=logging.WARNING)
    interrupt_on_signals()
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    print(f"{cores} cores, {load()} at the start", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        platform = bare = None
        try:
            platform = ExercisePlatform(Path(tmp), args.lab, args.teams)
            inject = platform.spec.inject(args.inject)
            if inject is None or inject.file is None:
                raise SystemExit(f"labs/{args.lab} has no inject '{args.inject}' with a file")
            task = platform.spec.task(args.task)
            if task is None or task.type != "check":
                raise SystemExit(f"labs/{args.lab} has no check task '{args.task}'")
            bare = BareTeams(platform)
            print(
                f"exercise on '{args.lab}': {args.teams} teams, {args.rounds} rounds, "
                f"{bare.workers} start workers (LMS_START_LAB_WORKERS); SQLite, inline worker",
                flush=True,
            )
            figures = run_rounds(platform, bare, args)
            print_figures(figures, args, len(platform.spec.containers))
        finally:
            if bare is not None:
                bare.stopping.set()
                bare.remove()
            if platform is not None:
                platform.close()
            left = leftovers()
            print(
                f"\n{load()} at the end; "
                + (f"LEFT BEHIND: {left}" if left else "every bench container and network removed")
            )


if __name__ == "__main__":
    main()
