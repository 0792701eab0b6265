"""The Docker lab runtime on a real engine: hardening, isolation, lifecycle, shells,
and every shipped lab solved the intended way.

Nothing here touches the internet: the egress probes aim at a listener this
test opens on an address of this machine.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import socket
import subprocess
import threading
import time

import pytest

from lms.labs.runtime import (
    LABEL_CONTAINER,
    LABEL_LAB,
    LABEL_OWNER,
    LABEL_PLATFORM,
    LABEL_SESSION,
    PLATFORM_NAME,
    EngineUnavailable,
    ImageMissing,
    LabError,
    LabNotFound,
    ShellClosed,
    ShellGone,
    StartFailed,
    get_image_builder,
    get_runtime,
)
from lms.labs.runtime.docker import SUBNET_POOL, container_name, network_name

from .conftest import RUN_PREFIX, flag_secrets, new_key, task_container

pytestmark = pytest.mark.docker

FLAG = "FLAG{integration-test}"


# -- helpers -------------------------------------------------------------------


def inspect(docker_client, handle, name):
    return docker_client.api.inspect_container(container_name(handle.session_key, name))


def check(runtime, key, spec, task_id):
    task = spec.task(task_id)
    return runtime.run_check(
        key, task.container, task.run, task.timeout_seconds, user=spec.check_user(task)
    )


class HostListener:
    """A TCP listener on 0.0.0.0 of this machine that counts the connections it accepts."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", 0))  # noqa: S104 - the point: reachable on every address
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def host_addresses() -> list[str]:
    """This machine's IPv4 addresses, main one first, without the lab bridges' gateways
    (those of other running labs: all alike, and guarded like the one probed here)."""
    out = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    labs = ipaddress.ip_network(SUBNET_POOL)
    return [a for a in out if ":" not in a and ipaddress.ip_address(a) not in labs]


def probe_script(targets: list[tuple[str, int]]) -> str:
    """Probe several address:port pairs in parallel; prints `addr:port=exit code` lines."""
    parts = [f"(nc -z -w 2 {a} {p} >/dev/null 2>&1; echo {a}:{p}=$?) &" for a, p in targets]
    return " ".join(parts) + " wait"


def probe_results(output: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(r"^(\S+)=(\d+)$", output, re.M)}


def probe(runtime, key: str, targets: list[tuple[str, int]], extra: str = ""):
    """Probe from the session's `main`: ({"address:port": nc exit code}, CheckResult)."""
    result = runtime.run_check(key, "main", probe_script(targets) + extra, 30)
    seen = probe_results(result.output)
    assert len(seen) == len(targets), result
    return seen, result


def wait_listening(runtime, key: str, target: str, port: int, timeout: float = 30) -> None:
    """Positive control: `target:port` answers from inside the session."""
    deadline = time.monotonic() + timeout
    while probe(runtime, key, [(target, port)])[0][f"{target}:{port}"] != 0:
        assert time.monotonic() < deadline, f"{target}:{port} never answered in {key}"
        time.sleep(0.3)


def shell_run(shell, command: str, timeout: float = 10) -> str:
    """Type a command into an open shell and return what it printed before the marker."""
    shell.send(f"{command}; printf '%s\\n' __LMS_DONE__$?\n".encode())
    buffer, deadline = b"", time.monotonic() + timeout
    while not re.search(rb"__LMS_DONE__\d+\r?\n", buffer):  # the echoed input shows `$?`
        assert time.monotonic() < deadline, buffer.decode(errors="replace")
        buffer += shell.recv(0.2)
    return buffer.decode("utf-8", "replace")


# -- engine and images ------------------------------------------------------------


def test_unreachable_engine_raises_engine_unavailable(probe_lab):
    runtime = get_runtime("unix:///nonexistent/docker.sock")
    with pytest.raises(EngineUnavailable):
        runtime.ping()
    with pytest.raises(EngineUnavailable):
        runtime.start(new_key(), probe_lab, "nobody", [])


def test_build_is_skipped_when_the_content_tag_exists(docker_runtime, probe_lab, docker_client):
    lines: list[str] = []
    tags = get_image_builder().build(probe_lab, progress=lines.append)
    assert tags == get_image_builder().image_tags(probe_lab)
    assert all(re.fullmatch(r"lms-lab/runtime-probe-\w+:[0-9a-f]{12}", t) for t in tags.values())
    assert len(lines) == 2 and all("up to date" in line for line in lines)
    image = docker_client.api.inspect_image(tags["main"])
    assert image["Config"]["Labels"][LABEL_PLATFORM] == PLATFORM_NAME


# -- hardening (on both backends) --------------------------------------------------


@dataclasses.dataclass
class Started:
    """A running probe lab on one backend, and how to inspect its containers."""

    backend: str
    runtime: object
    handle: object
    docker_client: object

    def inspect(self, name: str) -> dict:
        return task_container(self.docker_client, self.handle.session_key, name)


@pytest.fixture(scope="module", params=["docker", "swarm"])
def started(request, docker_client) -> Started:
    """The shared probe lab, on the Docker backend and on the swarm backend."""
    if request.param == "docker":
        runtime, handle = request.getfixturevalue("docker_runtime"), "probe_session"
    else:
        runtime, handle = request.getfixturevalue("swarm_runtime"), "swarm_probe_session"
    return Started(request.param, runtime, request.getfixturevalue(handle), docker_client)


def test_containers_are_hardened_and_labelled(started):
    key = started.handle.session_key
    for name in ("main", "peer"):
        info = started.inspect(name)
        host = info["HostConfig"]
        assert host["Privileged"] is False
        assert host["CapDrop"] == ["ALL"]
        assert (host["CapAdd"] or []) == (["NET_RAW"] if name == "main" else [])
        assert host["Memory"] == 64 * 1024**2
        assert host["NanoCpus"] == 250_000_000
        assert host["PidsLimit"] == 64
        assert host["Init"] is True
        assert host["ReadonlyRootfs"] is False
        assert host["RestartPolicy"]["Name"] in ("no", "")
        assert not host.get("Binds") and not info["Mounts"]
        assert "docker.sock" not in str(info)
        assert list(info["NetworkSettings"]["Networks"]) == [network_name(key)]
        assert info["Config"]["Hostname"] == name
        labels = info["Config"]["Labels"]
        assert labels[LABEL_PLATFORM] == PLATFORM_NAME
        assert labels[LABEL_SESSION] == key
        assert labels[LABEL_OWNER] == "trainee-probe"
        assert labels[LABEL_LAB] == "runtime-probe"
        assert labels[LABEL_CONTAINER] == name
        if started.backend == "docker":
            assert host["SecurityOpt"] == ["no-new-privileges"]
            assert host["MemorySwap"] == 64 * 1024**2
            assert host["NetworkMode"] == network_name(key)
        else:  # Swarm on Engine 20.10 sets neither (README): no setuid programs instead
            find = "find / -xdev -type f -perm /6000 2>/dev/null"
            assert started.runtime.run_check(key, name, find, 30).output == ""


def test_lab_network_is_internal_and_labelled(docker_client, started):
    network = docker_client.api.inspect_network(network_name(started.handle.session_key))
    assert network["Internal"] is True
    assert network["Labels"][LABEL_SESSION] == started.handle.session_key
    if started.backend == "docker":
        assert network["Options"]["com.docker.network.bridge.name"].startswith("lmsbr-")
    else:
        assert network["Driver"] == "overlay" and network["Attachable"] is True


def test_setuid_lab_allows_new_privileges(docker_client, lab_session, shipped_labs):
    handle = lab_session(shipped_labs["suid-hunt"], FLAG)
    host = inspect(docker_client, handle, "main")["HostConfig"]
    assert "no-new-privileges" not in (host["SecurityOpt"] or [])
    assert host["CapDrop"] == ["ALL"] and host["Privileged"] is False


def test_flag_file_is_written_before_start_and_not_in_env(started, lab_exec):
    runtime, key = started.runtime, started.handle.session_key
    code, out = lab_exec(
        key,
        "main",
        "cat /opt/secret/deep/flag.txt; stat -c '%a %u %g' "
        "/opt/secret/deep/flag.txt /opt/secret/deep",
        user="tester",
    )
    assert code == 0, out
    assert out.split("\n")[0] == "FLAG{probe}"
    assert "440 1000 1000" in out
    # Missing folders: the trainee's on Docker; root's on a swarm (the engine mounts it).
    assert ("755 1000 1000" if started.backend == "docker" else "755 0 0") in out
    # Checks run as root without capabilities: root cannot read the trainee's 0440 file.
    assert not runtime.run_check(key, "main", "cat /opt/secret/deep/flag.txt", 5).passed
    info = started.inspect("main")
    assert "FLAG{probe}" not in str(info["Config"]["Env"])
    assert "FLAG{probe}" not in str(info["Config"]["Cmd"])
    env = runtime.run_check(key, "main", "cat /proc/1/environ; env", 10)
    assert "FLAG{probe}" not in env.output


# -- isolation -------------------------------------------------------------------


def test_no_route_to_host_listeners(docker_runtime, docker_client, probe_session):
    key = probe_session.session_key
    networks = inspect(docker_client, probe_session, "main")["NetworkSettings"]["Networks"]
    gateway = networks[network_name(key)]["Gateway"]
    assert gateway
    listener = HostListener()
    try:
        hosts = host_addresses()
        assert hosts, "hostname -I gave no IPv4 address"
        with socket.create_connection((hosts[0], listener.port), timeout=2):
            pass  # the listener answers on the host address
        time.sleep(0.3)
        assert listener.accepted == 1
        wait_listening(docker_runtime, key, "peer", 8000)  # positive control: probes work
        addresses = sorted({*hosts, gateway})
        seen, result = probe(docker_runtime, key, [(a, listener.port) for a in addresses])
    finally:
        listener.close()
    for address in addresses:
        assert seen[f"{address}:{listener.port}"] != 0, f"{address} reachable: {result.output}"
    assert listener.accepted == 1


def test_host_reaches_lab_services_for_the_web_proxy(docker_runtime, probe_session):
    """Replies from a lab to a connection the host opened pass the host guard."""
    address = docker_runtime.web_endpoint(probe_session.session_key, "peer", 80).host
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection((address, 8000), timeout=3) as conn:
                conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
                assert conn.recv(64).startswith(b"HTTP/1.0 200")
            return
        except ConnectionRefusedError:  # http.server still starting
            assert time.monotonic() < deadline
            time.sleep(0.2)


def test_two_sessions_cannot_reach_each_other(
    docker_runtime, probe_lab, probe_session, lab_session
):
    other = lab_session(probe_lab, "FLAG{other}")
    mine = probe_session.session_key
    my_peer = docker_runtime.web_endpoint(mine, "peer", 80).host
    their_peer = docker_runtime.web_endpoint(other.session_key, "peer", 80).host
    assert my_peer != their_peer
    wait_listening(docker_runtime, mine, my_peer, 8000)  # positive controls, from inside
    wait_listening(docker_runtime, other.session_key, their_peer, 8000)
    seen, result = probe(docker_runtime, mine, [(their_peer, 8000)], "; getent hosts peer")
    assert seen[f"{their_peer}:8000"] != 0, result.output
    assert result.output.strip().endswith("peer") and my_peer in result.output
    back, result = probe(docker_runtime, other.session_key, [(my_peer, 8000)])
    assert back[f"{my_peer}:8000"] != 0, result.output


# -- checks -------------------------------------------------------------------------


def test_run_check_pass_fail_and_timeout(docker_runtime, probe_session):
    key = probe_session.session_key
    ok = docker_runtime.run_check(key, "main", "id -u", 10)
    assert ok.passed and ok.exit_code == 0 and ok.output.strip() == "0"
    failed = docker_runtime.run_check(key, "main", "echo not yet >&2; exit 3", 10)
    assert not failed.passed and failed.exit_code == 3 and not failed.timed_out
    assert "not yet" in failed.output
    began = time.monotonic()
    slow = docker_runtime.run_check(key, "main", "sleep 30 & sleep 30", 1)
    assert slow.timed_out and not slow.passed
    assert time.monotonic() - began < 6
    big = docker_runtime.run_check(key, "peer", "yes x | head -c 100000; echo END", 10)
    assert len(big.output.encode()) <= 4096 and big.output.endswith("END\n")
    with pytest.raises(LabNotFound):
        docker_runtime.run_check(key, "nosuch", "true", 5)


# -- lifecycle ------------------------------------------------------------------------


def leftovers(docker_client, key):
    labels = {"label": [f"{LABEL_SESSION}={key}"]}
    return docker_client.containers.list(all=True, filters=labels) + docker_client.networks.list(
        filters=labels
    )


def test_missing_image_fails_cleanly(docker_runtime, docker_client, probe_lab):
    spec = dataclasses.replace(probe_lab, content_hash="0" * 64)
    key = new_key()
    with pytest.raises(ImageMissing, match="lms labs build runtime-probe"):
        docker_runtime.start(key, spec, "nobody", [])
    assert leftovers(docker_client, key) == []


@pytest.mark.parametrize("breakage", ["bad-capability", "bad-secret-path", "unknown-container"])
def test_failed_start_leaves_nothing_behind(docker_runtime, docker_client, probe_lab, breakage):
    spec, secrets = probe_lab, flag_secrets(probe_lab, "FLAG{x}")
    if breakage == "bad-capability":  # the engine refuses the second container
        peer = dataclasses.replace(spec.containers["peer"], capabilities=("NOT_A_CAP",))
        spec = dataclasses.replace(spec, containers={**spec.containers, "peer": peer})
    elif breakage == "bad-secret-path":  # put_archive below a regular file
        secrets = [dataclasses.replace(secrets[0], path="/etc/passwd/flag.txt")]
    else:
        secrets = [dataclasses.replace(secrets[0], container="ghost")]
    key = new_key()
    with pytest.raises(StartFailed):
        docker_runtime.start(key, spec, "nobody", secrets)
    assert leftovers(docker_client, key) == []
    assert not docker_runtime.is_running(key)


def test_double_start_keeps_the_first_lab(docker_runtime, probe_lab, lab_session):
    handle = lab_session(probe_lab)
    with pytest.raises(StartFailed, match="already running"):
        docker_runtime.start(handle.session_key, probe_lab, "trainee-1", [])
    assert docker_runtime.is_running(handle.session_key)


def test_stop_is_idempotent(docker_runtime, docker_client, probe_lab, lab_session):
    handle = lab_session(probe_lab)
    key = handle.session_key
    assert docker_runtime.is_running(key)
    running = {lab.session_key: lab for lab in docker_runtime.list_running()}
    assert running[key].lab_slug == "runtime-probe"
    assert running[key].container_names == ("main", "peer")
    assert running[key].owner == "trainee-1" and running[key].created_at is not None
    docker_runtime.stop(key)
    docker_runtime.stop(key)
    docker_runtime.stop(new_key("never-"))
    assert not docker_runtime.is_running(key)
    assert leftovers(docker_client, key) == []
    with pytest.raises(LabNotFound):
        docker_runtime.web_endpoint(key, "peer", 80)


def test_remove_orphans_removes_only_dead_sessions(
    docker_runtime, docker_client, probe_lab, lab_session
):
    prefix = f"{RUN_PREFIX}orph-{time.time_ns() % 10**6}-"
    live = lab_session(probe_lab, key=prefix + "live")
    dead = lab_session(probe_lab, key=prefix + "dead")
    removed = docker_runtime.remove_orphans({live.session_key}, key_prefix=prefix)
    assert removed == [dead.session_key]
    assert leftovers(docker_client, dead.session_key) == []
    assert docker_runtime.is_running(live.session_key)


# -- shells -------------------------------------------------------------------------


def test_open_shell_echoes_and_close_kills_the_whole_session(docker_runtime, probe_session):
    key = probe_session.session_key
    shell = docker_runtime.open_shell(key, "main", "tester", "/home/tester", 100, 30)
    try:
        out = shell_run(shell, "echo hi-$((40+2)); id -un; pwd; stty size")
        assert "hi-42" in out and "tester" in out and "/home/tester" in out
        assert "30 100" in out
        shell.resize(120, 40)
        assert "40 120" in shell_run(shell, "stty size")
        shell_run(shell, "sleep 777 & nohup sleep 778 >/dev/null 2>&1 & true")
        shell.send(b"sleep 779\n")  # a foreground job in its own process group
        time.sleep(0.3)
        assert shell.pid is not None
    finally:
        shell.close()
    shell.close()  # idempotent
    with pytest.raises(ShellClosed):
        shell.recv(0.1)
    ps = docker_runtime.run_check(key, "main", "ps -eo pid,sid,user,args", 10).output
    assert "sleep 77" not in ps, ps
    assert not re.search(rf"^\s*\d+\s+{shell.pid}\s", ps, re.M), ps


def test_open_shell_for_an_unknown_user_fails_cleanly(docker_runtime, probe_session):
    with pytest.raises(LabError, match="did not start"):
        docker_runtime.open_shell(probe_session.session_key, "main", "ghost", None, 80, 24)


def test_busybox_lab_without_network(docker_runtime, docker_client, busybox_lab, lab_session):
    handle = lab_session(busybox_lab)
    assert not docker_client.api.networks(names=[network_name(handle.session_key)])
    info = inspect(docker_client, handle, "main")
    assert info["HostConfig"]["NetworkMode"] == "none"
    assert info["Config"]["Cmd"] == ["sleep", "infinity"]  # the image's CMD is a bare shell
    assert docker_runtime.is_running(handle.session_key)
    result = docker_runtime.run_check(handle.session_key, "main", "ls /sys/class/net", 10)
    assert result.output.split() == ["lo"]  # only the loopback interface
    shell = docker_runtime.open_shell(handle.session_key, "main", None, None, 80, 24)
    try:
        shell_run(shell, "sleep 555 & sleep 556 & true")
    finally:
        shell.close()
    ps = docker_runtime.run_check(handle.session_key, "main", "ps", 10).output
    assert "sleep 55" not in ps, ps


def test_a_held_shell_outlives_its_exec_and_moves_between_attachments(
    docker_runtime, busybox_lab, lab_session
):
    """busybox on scratch has no C library: the holder is static and copied in."""
    key = lab_session(busybox_lab).session_key
    first = docker_runtime.open_shell(key, "main", None, None, 80, 24, name="tab-one")
    assert first.held and not first.reattached
    shell_run(first, "WORD=kept; sleep 557 & true")
    first.close()  # detached: the shell runs on
    ps = docker_runtime.run_check(key, "main", "ps", 10).output
    assert "sleep 557" in ps and "dtach" in ps, ps
    folder = docker_runtime.run_check(key, "main", "ls -la /tmp/.lms-terminals-0", 10).output
    assert re.search(r"^drwx------ .* \.$", folder, re.M) and "srw-------" in folder, folder

    second = docker_runtime.open_shell(
        key, "main", None, None, 80, 24, name="tab-one", pid=first.pid
    )
    third = docker_runtime.open_shell(
        key, "main", None, None, 80, 24, name="tab-one", pid=first.pid
    )
    assert third.reattached and third.pid == first.pid
    with pytest.raises(ShellClosed):  # taken over by the third
        while True:
            second.recv(5)
    assert f"word=kept pid={first.pid}" in shell_run(third, "echo word=$WORD pid=$$")
    third.end()
    ps = docker_runtime.run_check(key, "main", "ps", 10).output
    assert "sleep 557" not in ps and "dtach" not in ps, ps
    with pytest.raises(ShellGone):
        docker_runtime.open_shell(key, "main", None, None, 80, 24, name="tab-one", pid=first.pid)
    second.close()


# -- the shipped labs, solved ------------------------------------------------------------


def test_shipped_labs_are_built(docker_client, docker_runtime, shipped_labs):
    assert set(shipped_labs) >= {"shell-basics", "suid-hunt", "web-injection", "log-triage"}
    for spec in shipped_labs.values():
        for tag in get_image_builder().image_tags(spec).values():
            docker_client.images.get(tag)


def test_shell_basics_solved_in_the_terminal(docker_runtime, lab_session, shipped_labs):
    spec = shipped_labs["shell-basics"]
    key = lab_session(spec, FLAG).session_key
    for task in ("count-errors", "private-dir"):
        assert not check(docker_runtime, key, spec, task).passed
    main = spec.containers["main"]
    shell = docker_runtime.open_shell(key, "main", main.user, main.workdir, 120, 40)
    try:
        assert ".secret" not in shell_run(shell, "ls")
        assert FLAG in shell_run(shell, "ls -a; cat .secret/.flag")
        shell_run(shell, "grep -ci error logs/app.log > answer.txt")  # the careless answer
        assert not check(docker_runtime, key, spec, "count-errors").passed
        shell_run(shell, "grep -c ERROR logs/app.log > answer.txt")
        shell_run(shell, "mkdir reports && chmod 755 reports")
        assert not check(docker_runtime, key, spec, "private-dir").passed
        shell_run(shell, "chmod 700 ~/reports")
    finally:
        shell.close()
    for task in ("count-errors", "private-dir"):
        result = check(docker_runtime, key, spec, task)
        assert result.passed, (task, result)


def test_suid_hunt_solved(docker_runtime, lab_session, lab_exec, shipped_labs):
    spec = shipped_labs["suid-hunt"]
    key = lab_session(spec, FLAG).session_key
    assert not check(docker_runtime, key, spec, "fix-perms").passed
    code, out = lab_exec(key, "main", "cat /root/flag.txt")
    assert code != 0 and FLAG not in out
    code, out = lab_exec(key, "main", "find / -xdev -perm -4000 -type f 2>/dev/null")
    assert "/usr/local/bin/logview" in out
    code, out = lab_exec(key, "main", "/usr/local/bin/logview /root/flag.txt")
    assert code == 0 and FLAG in out
    lab_exec(key, "main", "chmod 600 /srv/app/config")
    assert check(docker_runtime, key, spec, "fix-perms").passed


def test_suid_exploit_fails_under_no_new_privileges(lab_session, lab_exec, shipped_labs):
    spec = shipped_labs["suid-hunt"]
    main = dataclasses.replace(spec.containers["main"], setuid=False)
    hardened = dataclasses.replace(spec, containers={"main": main})
    key = lab_session(hardened, FLAG).session_key
    code, out = lab_exec(key, "main", "/usr/local/bin/logview /root/flag.txt")
    assert FLAG not in out


def wait_for_web(lab_exec, key, url, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab_exec(key, "workstation", f"curl -sf -o /dev/null {url}")[0] == 0:
            return
        time.sleep(0.3)
    pytest.fail(f"{url} did not answer")


def test_web_injection_solved(docker_runtime, lab_session, lab_exec, shipped_labs):
    spec = shipped_labs["web-injection"]
    key = lab_session(spec, FLAG).session_key
    site = "http://target:8080"
    wait_for_web(lab_exec, key, site + "/")
    assert not check(docker_runtime, key, spec, "command-injection").passed
    _, home = lab_exec(key, "workstation", f"curl -s {site}/")
    assert 'href="static/style.css"' in home and 'href="login"' in home
    _, css = lab_exec(key, "workstation", f"curl -sI {site}/static/style.css")
    assert "text/css" in css
    login = f"curl -s -i --data-urlencode username={{}} --data-urlencode password=x {site}/login"
    _, denied = lab_exec(key, "workstation", login.format("admin"))
    assert " 401 " in denied.splitlines()[0] and FLAG not in denied
    _, broken = lab_exec(key, "workstation", login.format('"admin\'"'))
    assert "Database error" in broken
    _, headers = lab_exec(key, "workstation", login.format('"admin\' -- "'))
    assert " 303 " in headers.splitlines()[0]
    assert "Location: admin" in headers and "Set-Cookie: session=" in headers
    exploit = (
        'curl -s -c /tmp/jar -b /tmp/jar -L --data-urlencode "username=admin\' -- " '
        f"--data-urlencode password=x {site}/login"
    )
    code, page = lab_exec(key, "workstation", exploit)
    assert code == 0 and FLAG in page
    inject = f"curl -s --data-urlencode 'host=127.0.0.1; touch /tmp/pwned' {site}/ping"
    code, page = lab_exec(key, "workstation", inject)
    assert code == 0 and "ping statistics" in page
    result = check(docker_runtime, key, spec, "command-injection")
    assert result.passed, result
    assert docker_runtime.web_endpoint(key, "target", 80).host.count(".") == 3


def test_log_triage_solved(docker_runtime, lab_session, lab_exec, shipped_labs):
    spec = shipped_labs["log-triage"]
    key = lab_session(spec, FLAG).session_key
    for task in ("attacker-ip", "compromised-user"):
        assert not check(docker_runtime, key, spec, task).passed
    log = "/var/log/auth.log"
    top_ip = (
        f"grep 'Failed password' {log} | grep -o 'from [0-9.]*' | sort | uniq -c "
        "| sort -n | tail -1 | awk '{print $3}'"
    )
    lab_exec(
        key,
        "main",
        f"grep 'Failed password' {log} | grep -o 'from [0-9.]*' | sort "
        "| uniq -c | sort -n | head -1 | awk '{print $3}' > ~/answer-ip.txt",
    )
    assert not check(docker_runtime, key, spec, "attacker-ip").passed  # a scanner, not it
    lab_exec(key, "main", f"{top_ip} > ~/answer-ip.txt")
    lab_exec(
        key,
        "main",
        f'grep Accepted {log} | grep -w "$(cat ~/answer-ip.txt)" '
        "| awk '{print $9}' > ~/answer-user.txt",
    )
    for task in ("attacker-ip", "compromised-user"):
        result = check(docker_runtime, key, spec, task)
        assert result.passed, (task, result)
    code, out = lab_exec(key, "main", "ls -la /tmp")
    assert code == 0 and ".x" not in out  # found by following the log, not by looking in /tmp
    code, out = lab_exec(  # the sudo lines name where curl wrote
        key, "main", f"grep 'sudo: *deploy' {log} | grep -o -- '-o [^ ]*' | cut -c4- | xargs cat"
    )
    assert code == 0 and FLAG in out
