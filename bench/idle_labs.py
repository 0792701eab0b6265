"""Benchmark: what idle labs cost the host, per lab (not a test).

Starts labs through the platform's runtime (the Docker engine, each lab with its own
isolated network, as a trainee's or a warm pool's lab), first --counts[0] of them, then
up to --counts[1], and leaves them idle (nobody connected). For each count, against
the idle baseline measured in the same run before any lab started:

- the host's memory in use (MemTotal - MemAvailable, /proc/meminfo), per lab;
- what the labs themselves hold: their containers' memory (cgroups, without the page
  cache, as `docker stats` counts it) plus the engine's processes (dockerd, containerd
  and the labs' own containerd-shims; proportional set size), per lab; unlike the host figure it does not
  move with whatever else runs on a shared machine;
- CPU over --seconds (30): the whole host's busy cores (/proc/stat), and the labs'
  containers and the engine's processes alone, per hundred labs.

Every container and network it started is removed at the end (also on Ctrl-C).

    .venv/bin/python bench/idle_labs.py [--counts 100 300] [--seconds 30] [--lab SLUG]

Without --lab it uses a minimal lab on the local busybox base image (the smallest a lab
can be: what the platform and the engine add); --lab shell-basics measures a shipped one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lms import create_app  # noqa: E402
from lms.config import TestingConfig  # noqa: E402

MINIMAL_LAB = {
    "lab.yaml": "title: Idle\nlimits: {memory: 64m, pids: 64}\n",
    "Dockerfile": "FROM lms-base/busybox:latest\n",
}
ENGINE_PROCESSES = ("dockerd", "containerd")  # and containerd-shim-runc-v2, one per container
CGROUP_MEMORY = Path("/sys/fs/cgroup/memory/docker")  # cgroup v1, cgroupfs driver
CGROUP_CPU = Path("/sys/fs/cgroup/cpuacct/docker")
TICK = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024


# -- the host's figures -------------------------------------------------------------------------


def host_memory_used() -> int:
    fields = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) * 1024
    return fields["MemTotal"] - fields["MemAvailable"]


def host_cpu_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of every core since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


def engine_processes(container_ids: list[str]) -> list[int]:
    """dockerd, containerd and the shims of ``container_ids`` (not those of containers
    that other users of the engine start and stop meanwhile)."""
    ours = set(container_ids)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if comm.startswith("containerd-shim"):
            if "-id" in (a.decode() for a in arguments):
                shim_of = arguments[arguments.index(b"-id") + 1].decode()
                if shim_of in ours:
                    found.append(int(entry.name))
        elif comm in ENGINE_PROCESSES:
            found.append(int(entry.name))
    return found


def process_memory(pid: int) -> int:
    """The process's proportional share of memory (PSS): pages it shares with others (the
    shims' one binary) count once in all, not once per process as in RSS."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def process_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def container_memory(container_ids: list[str]) -> int | None:
    """The containers' memory without the page cache (docker stats' figure); None when
    the engine's cgroups are not where cgroup v1 with the cgroupfs driver puts them."""
    if not CGROUP_MEMORY.is_dir():
        return None
    total = 0
    for cid in container_ids:
        folder = CGROUP_MEMORY / cid
        usage = int((folder / "memory.usage_in_bytes").read_text())
        stat = dict(line.split() for line in (folder / "memory.stat").read_text().splitlines())
        total += usage - int(stat.get("total_inactive_file", 0))
    return total


def container_cpu_seconds(container_ids: list[str]) -> float:
    if not CGROUP_CPU.is_dir():
        return 0.0
    return sum(int((CGROUP_CPU / cid / "cpuacct.usage").read_text()) for cid in container_ids) / 1e9


def labs_memory(container_ids: list[str]) -> int | None:
    """What the labs and the engine hold: containers' memory plus the engine's processes."""
    containers = container_memory(container_ids)
    if containers is None:
        return None
    return containers + sum(process_memory(pid) for pid in engine_processes(container_ids))


def measure_cpu(container_ids: list[str], seconds: float) -> tuple[float, float]:
    """(host's busy cores, labs' and engine's busy cores) averaged over ``seconds``."""
    engine = engine_processes(container_ids)
    busy, total = host_cpu_ticks()
    own = container_cpu_seconds(container_ids) + sum(map(process_cpu_seconds, engine))
    began = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - began
    busy_after, total_after = host_cpu_ticks()
    own_after = container_cpu_seconds(container_ids) + sum(map(process_cpu_seconds, engine))
    cores = os.cpu_count() or 1
    host_cores = (busy_after - busy) / max(1, total_after - total) * cores
    return host_cores, (own_after - own) / elapsed


# -- labs ---------------------------------------------------------------------------------------


class IdleLabs:
    """Labs started through the platform's runtime under a session-key prefix of their own."""

    def __init__(self, tmp: Path, lab: str | None):
        self.prefix = f"bench-idle-{uuid.uuid4().hex[:6]}-"
        labs_dir = ROOT / "labs"
        if lab is None:
            labs_dir = tmp / "labs"
            for name, text in MINIMAL_LAB.items():
                (labs_dir / "idle").mkdir(parents=True, exist_ok=True)
                (labs_dir / "idle" / name).write_text(text)
            lab = "idle"
        config = {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()}
        config.update(
            LMS_DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite'}",
            LMS_LABS_DIR=str(labs_dir),
            LMS_LAB_SESSION_PREFIX=self.prefix,
            LMS_REAPER_INTERVAL=0,
        )
        self.app = create_app(config)
        self.keys: list[str] = []
        with self.app.app_context():
            from lms.content.lab_library import get_spec
            from lms.labs import app_runtime

            self.spec = get_spec(lab)
            self.runtime = app_runtime.lab_runtime()
            app_runtime.lab_image_builder().build(self.spec)

    def start(self, count: int, parallel: int) -> float:
        """Start labs until ``count`` run; seconds it took."""
        new = [f"{self.prefix}{n}" for n in range(len(self.keys), count)]
        began = time.monotonic()
        with ThreadPoolExecutor(parallel) as pool:
            list(pool.map(lambda key: self.runtime.start(key, self.spec, "bench", []), new))
        self.keys.extend(new)
        return time.monotonic() - began

    def container_ids(self) -> list[str]:
        """Ids of this run's containers. The engine's plain listing, filtered there: the
        SDK's would inspect every container of the engine, and others come and go."""
        import docker

        client = docker.from_env()
        try:
            listed = client.api.containers(all=True, filters={"name": self.prefix})
        finally:
            client.close()
        # Names are lms-<session key>-<container>; the engine's name filter is a search.
        return [c["Id"] for c in listed if any(self.prefix in name for name in c["Names"])]

    def stop_all(self) -> None:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(self.runtime.stop, self.keys))
        self.runtime.remove_orphans(set(), key_prefix=self.prefix)


# -- the run ------------------------------------------------------------------------------------


def snapshot(labs: IdleLabs, seconds: float) -> dict:
    ids = labs.container_ids()
    host_cores, own_cores = measure_cpu(ids, seconds)
    return {
        "labs": len(ids),
        "host": host_memory_used(),
        "own": labs_memory(ids),
        "host_cores": host_cores,
        "own_cores": own_cores,
    }


def report(count: int, took: float, now: dict, base: dict) -> None:
    per_host = (now["host"] - base["host"]) / count
    print(f"\n{count} idle labs ({now['labs']} containers; started in {took:.0f} s):")
    print(
        f"  host memory in use      {now['host'] / MIB:8.0f} MiB "
        f"(+{(now['host'] - base['host']) / MIB:.0f}): {per_host / MIB:5.1f} MiB per lab"
    )
    if now["own"] is not None and base["own"] is not None:
        per_own = (now["own"] - base["own"]) / count
        print(
            f"  labs + engine memory    {now['own'] / MIB:8.0f} MiB "
            f"(+{(now['own'] - base['own']) / MIB:.0f}): {per_own / MIB:5.1f} MiB per lab"
        )
    print(
        f"  host CPU, busy cores    {now['host_cores']:8.2f} (idle baseline "
        f"{base['host_cores']:.2f}): {(now['host_cores'] - base['host_cores']) / count * 100:+.3f}"
        " cores per 100 labs"
    )
    print(
        f"  labs + engine CPU       {now['own_cores']:8.3f} cores (baseline "
        f"{base['own_cores']:.3f}): {(now['own_cores'] - base['own_cores']) / count * 100:+.3f}"
        " cores per 100 labs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--seconds", type=float, default=30.0, help="CPU measuring window")
    parser.add_argument("--settle", type=float, default=10.0, help="wait after starting")
    parser.add_argument("--parallel", type=int, default=6, help="starts at once")
    parser.add_argument("--lab", help="a shipped lab's slug (default: a minimal busybox lab)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        labs = IdleLabs(Path(tmp), args.lab)
        try:
            print(f"lab: {args.lab or 'minimal busybox'}; CPU over {args.seconds:.0f} s each")
            base = snapshot(labs, args.seconds)
            print(
                f"idle baseline: host memory {base['host'] / MIB:.0f} MiB, "
                f"host CPU {base['host_cores']:.2f} busy cores, engine "
                f"{(base['own'] or 0) / MIB:.0f} MiB"
            )
            for count in sorted(args.counts):
                took = labs.start(count, args.parallel)
                time.sleep(args.settle)
                report(count, took, snapshot(labs, args.seconds), base)
        finally:
            labs.stop_all()
            left = labs.container_ids()
            print(f"\ncleaned up: {len(labs.keys)} labs stopped, {len(left)} containers left")


if __name__ == "__main__":
    main()
