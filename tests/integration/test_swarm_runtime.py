"""What is the swarm backend's own, on the test engine's single-node swarm: services,
secrets and the web gateway made and removed with a session, execs and held shells in a
task's container, per-node capacity, and images a node lacks. (The hardening of every lab
container is tested on both backends in test_lab_runtime.py.)"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import time

import docker
import pytest

from lms.labs.runtime import (
    LABEL_PLATFORM,
    LABEL_SESSION,
    PLATFORM_NAME,
    ImageMissing,
    LabNotFound,
    NodesFull,
    SecretFile,
    StartFailed,
    get_runtime,
)

from .conftest import RUN_PREFIX, flag_secrets, new_key
from .test_lab_runtime import HostListener, host_addresses, probe, shell_run, wait_listening

pytestmark = pytest.mark.docker


def session_objects(client, key: str) -> dict[str, list]:
    """Every engine object of a session: services, secrets, networks, containers."""
    labels = {"label": [f"{LABEL_SESSION}={key}"]}
    return {
        "services": client.api.services(filters=labels),
        "secrets": client.api.secrets(filters=labels),
        "networks": client.api.networks(filters=labels),
        "containers": client.api.containers(all=True, filters=labels),
    }


def nothing_left(client, key: str) -> bool:
    return not any(session_objects(client, key).values())


def http_get(endpoint, timeout: float = 30) -> bytes:
    """GET / through a web endpoint, waiting for the lab's server (and the overlay's
    name) to be ready."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((endpoint.host, endpoint.port), timeout=3) as conn:
                conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
                answer = conn.recv(64)
            if answer:
                return answer
        except OSError:
            pass
        assert time.monotonic() < deadline, f"{endpoint} never answered"
        time.sleep(0.3)


def test_each_container_is_a_one_task_service_with_its_flag_as_a_secret(
    swarm_engine, swarm_runtime, swarm_probe_session
):
    key = swarm_probe_session.session_key
    node = swarm_engine.info()["Name"]
    assert swarm_probe_session.nodes == {"main": node, "peer": node}
    objects = session_objects(swarm_engine, key)
    assert sorted(s["Spec"]["Name"] for s in objects["services"]) == [
        f"lms-{key}-main",
        f"lms-{key}-peer",
    ]
    for service in objects["services"]:
        spec = service["Spec"]
        assert spec["Mode"] == {"Replicated": {"Replicas": 1}}
        assert spec["TaskTemplate"]["RestartPolicy"]["Condition"] == "none"
        assert spec["TaskTemplate"]["Resources"]["Limits"]["Pids"] == 64
        assert spec["Labels"][LABEL_PLATFORM] == PLATFORM_NAME
    [secret] = objects["secrets"]  # the flag, mounted at its path, owned by the trainee
    main = next(s for s in objects["services"] if s["Spec"]["Name"].endswith("-main"))
    [mounted] = main["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]
    assert mounted["SecretID"] == secret["ID"]
    assert mounted["File"] == {
        "Name": "/opt/secret/deep/flag.txt",
        "UID": "1000",
        "GID": "1000",
        "Mode": 0o440,
    }
    [lab] = [lab for lab in swarm_runtime.list_running() if lab.session_key == key]
    assert lab.nodes == (node,) and lab.container_names == ("main", "peer")
    assert lab.owner == "trainee-probe" and lab.created_at is not None
    assert swarm_runtime.is_running(key)
    usage = {row["name"]: row for row in swarm_runtime.node_usage()}
    assert usage[node]["running"] >= 1 and usage[node]["max"] is None


def test_checks_and_held_shells_exec_into_the_task_container(swarm_runtime, swarm_probe_session):
    key = swarm_probe_session.session_key
    assert swarm_runtime.run_check(key, "main", "id -u; hostname", 10).output.split() == [
        "0",
        "main",
    ]
    failed = swarm_runtime.run_check(key, "main", "exit 3", 10)
    assert failed.exit_code == 3 and not failed.passed
    with pytest.raises(LabNotFound):
        swarm_runtime.run_check(key, "nosuch", "true", 5)
    first = swarm_runtime.open_shell(key, "main", "tester", "/home/tester", 80, 24, name="tab")
    assert first.held
    shell_run(first, "WORD=kept; sleep 661 & true")
    first.close()  # detached: the shell runs on
    again = swarm_runtime.open_shell(key, "main", "tester", None, 80, 24, name="tab", pid=first.pid)
    assert again.reattached
    assert "word=kept user=tester" in shell_run(again, "echo word=$WORD user=$(id -un)")
    again.close()
    swarm_runtime.end_shell(key, "main", "tester", "tab", first.pid)
    assert "sleep 661" not in swarm_runtime.run_check(key, "main", "ps -eo args", 10).output


def test_write_files_reach_the_running_task_container(swarm_runtime, swarm_probe_session, lab_exec):
    key = swarm_probe_session.session_key
    claimed = SecretFile(
        "main", "/home/tester/claimed/flag.txt", b"FLAG{claimed}\n", 0o400, owner="tester"
    )
    swarm_runtime.write_files(key, [claimed])
    code, out = lab_exec(
        key, "main", "cat claimed/flag.txt; stat -c '%a %U' claimed/flag.txt", user="tester"
    )
    assert code == 0 and out.split("\n")[:2] == ["FLAG{claimed}", "400 tester"], out


def test_the_web_tier_reaches_a_lab_port_through_the_session_gateway(
    swarm_engine, swarm_runtime, swarm_probe_session
):
    key = swarm_probe_session.session_key
    endpoint = swarm_runtime.web_endpoint(key, "peer", 8000)
    assert endpoint.host == "127.0.0.1"
    assert http_get(endpoint).startswith(b"HTTP/1.0 200")
    assert swarm_runtime.web_endpoint(key, "peer", 8000) == endpoint  # one gateway, kept
    [gateway] = swarm_engine.api.containers(
        filters={"label": [f"{LABEL_SESSION}={key}", "lms.gateway"]}
    )
    assert [(p["IP"], p["PrivatePort"]) for p in gateway["Ports"]] == [("127.0.0.1", 8080)]
    with pytest.raises(LabNotFound):
        swarm_runtime.web_endpoint(key, "nosuch", 80)


def test_no_route_out_of_the_overlay_not_even_through_the_gateway(
    swarm_engine, swarm_runtime, swarm_probe_session
):
    key = swarm_probe_session.session_key
    swarm_runtime.web_endpoint(key, "peer", 8000)
    [gateway] = swarm_engine.api.containers(
        filters={"label": [f"{LABEL_SESSION}={key}", "lms.gateway"]}
    )
    bridge_side = gateway["NetworkSettings"]["Networks"]["lms-gateways"]
    listener = HostListener()
    try:
        wait_listening(swarm_runtime, key, "peer", 8000)  # positive control
        targets = sorted({*host_addresses(), bridge_side["Gateway"], bridge_side["IPAddress"]})
        seen, result = probe(swarm_runtime, key, [(a, listener.port) for a in targets])
        routes = swarm_runtime.run_check(key, "main", "ip route || cat /proc/net/route", 10)
    finally:
        listener.close()
    assert all(code != 0 for code in seen.values()), result.output
    assert listener.accepted == 0
    assert "default" not in routes.output


def test_stop_and_remove_orphans_remove_services_secrets_networks_and_gateways(
    swarm_engine, swarm_runtime, swarm_probe_lab
):
    prefix = f"{RUN_PREFIX}sworph-{time.time_ns() % 10**6}-"
    live, dead = prefix + "live", prefix + "dead"
    try:
        for key in (live, dead):
            swarm_runtime.start(
                key, swarm_probe_lab, "trainee-1", flag_secrets(swarm_probe_lab, "FLAG{x}")
            )
            swarm_runtime.web_endpoint(key, "peer", 8000)
        with pytest.raises(StartFailed, match="already running"):
            swarm_runtime.start(live, swarm_probe_lab, "trainee-1", [])
        assert swarm_runtime.session_keys(key_prefix=prefix) == {live, dead}
        assert swarm_runtime.remove_orphans({live}, key_prefix=prefix) == [dead]
        assert nothing_left(swarm_engine, dead), session_objects(swarm_engine, dead)
        assert swarm_runtime.is_running(live)
        swarm_runtime.stop(live)
        swarm_runtime.stop(live)  # idempotent
        assert nothing_left(swarm_engine, live), session_objects(swarm_engine, live)
        assert not swarm_runtime.is_running(live)
        with pytest.raises(LabNotFound):
            swarm_runtime.web_endpoint(live, "peer", 8000)
    finally:
        for key in (live, dead):
            swarm_runtime.stop(key)


def test_a_full_node_is_left_out_and_a_full_swarm_refused(swarm_engine, swarm_probe_lab):
    # A label of this test's own: the shared node's lms-labs-max is not touched.
    label = f"lms-labs-max-{RUN_PREFIX.strip('-')}"
    runtime = get_runtime(backend="swarm", capacity_label=label)
    node = swarm_engine.nodes.get(swarm_engine.info()["Swarm"]["NodeID"])
    running = {row["name"]: row for row in runtime.node_usage()}[
        node.attrs["Description"]["Hostname"]
    ]
    key = new_key("full-")
    spec = dict(node.attrs["Spec"])
    try:
        spec["Labels"] = {**spec.get("Labels", {}), label: str(running["running"])}
        node.update(spec)
        node.reload()
        assert {r["name"]: r["max"] for r in runtime.node_usage()}[running["name"]] == running[
            "running"
        ]
        with pytest.raises(NodesFull, match=label) as refused:
            runtime.start(key, swarm_probe_lab, "trainee-1", [])
        assert refused.value.nodes == (running["name"],)
        assert nothing_left(swarm_engine, key)
    finally:
        node.reload()
        spec = dict(node.attrs["Spec"])
        spec["Labels"] = {k: v for k, v in spec.get("Labels", {}).items() if k != label}
        node.update(spec)
        runtime.stop(key)


def test_a_missing_image_names_the_node_and_leaves_nothing(
    swarm_engine, swarm_runtime, swarm_probe_lab
):
    spec = dataclasses.replace(swarm_probe_lab, content_hash="0" * 64)
    key = new_key()
    with pytest.raises(ImageMissing, match=f"node {swarm_engine.info()['Name']}") as missing:
        swarm_runtime.start(key, spec, "nobody", [])
    assert "lms labs build runtime-probe" in str(missing.value)
    assert nothing_left(swarm_engine, key)


def test_a_foreign_image_that_may_gain_privileges_is_refused_unless_allowed(
    swarm_engine, swarm_runtime, swarm_probe_lab
):
    peer = dataclasses.replace(
        swarm_probe_lab.containers["peer"], build=None, image="lms-base/debian:bookworm"
    )
    spec = dataclasses.replace(
        swarm_probe_lab, containers={**swarm_probe_lab.containers, "peer": peer}
    )
    key = new_key()
    with pytest.raises(StartFailed, match="LMS_SWARM_ALLOW_NEW_PRIVILEGES=true"):
        swarm_runtime.start(key, spec, "nobody", [])
    assert nothing_left(swarm_engine, key)


@pytest.mark.parametrize("breakage", ["bad-secret-path", "unknown-container"])
def test_a_failed_start_leaves_nothing_behind(
    swarm_engine, swarm_runtime, swarm_probe_lab, breakage
):
    secrets = flag_secrets(swarm_probe_lab, "FLAG{x}")
    if breakage == "bad-secret-path":  # the node cannot mount a file below a file
        secrets = [dataclasses.replace(secrets[0], path="/etc/passwd/flag.txt")]
    else:
        secrets = [dataclasses.replace(secrets[0], container="ghost")]
    key = new_key()
    with pytest.raises(StartFailed):
        swarm_runtime.start(key, swarm_probe_lab, "nobody", secrets)
    assert nothing_left(swarm_engine, key), session_objects(swarm_engine, key)


def test_a_bare_shell_image_without_network_runs_alone(swarm_engine, swarm_runtime, busybox_lab):
    from lms.labs.runtime import get_image_builder

    get_image_builder(backend="swarm").build(busybox_lab)
    key = new_key("bb-")
    try:
        swarm_runtime.start(key, busybox_lab, "trainee-1", [])
        [service] = session_objects(swarm_engine, key)["services"]
        assert service["Spec"]["TaskTemplate"]["ContainerSpec"]["Command"] == [
            "sleep",
            "infinity",
        ]
        assert swarm_runtime.is_running(key)
        routes = swarm_runtime.run_check(key, "main", "ip route", 10)
        assert routes.passed and "default" not in routes.output
        with pytest.raises(LabNotFound, match="network: none"):
            swarm_runtime.web_endpoint(key, "main", 80)
    finally:
        swarm_runtime.stop(key)
    assert nothing_left(swarm_engine, key)


def test_a_setuid_lab_keeps_its_setuid_program_on_the_swarm(
    swarm_engine, swarm_runtime, shipped_labs, lab_exec
):
    """suid-hunt says `setuid: true`: its image keeps the bit the trainee must find."""
    from lms.labs.runtime import get_image_builder

    spec = shipped_labs["suid-hunt"]
    get_image_builder(backend="swarm").build(spec)
    key = new_key("suid-")
    try:
        swarm_runtime.start(key, spec, "trainee-1", flag_secrets(spec, "FLAG{suid}"))
        code, out = lab_exec(key, "main", "find / -xdev -perm -4000 -type f 2>/dev/null")
        assert "/usr/local/bin/logview" in out
        code, out = lab_exec(key, "main", "/usr/local/bin/logview /root/flag.txt")
        assert code == 0 and "FLAG{suid}" in out
    finally:
        swarm_runtime.stop(key)


def test_with_a_registry_the_build_tags_and_pushes_there(swarm_engine, swarm_probe_lab):
    """No registry image is at hand offline: one that refuses connections shows the
    images are tagged for it and pushed, and a failed push is a BuildFailed naming it."""
    from lms.labs.runtime import BuildFailed, get_image_builder

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))  # a port nothing listens on once closed
    registry = f"127.0.0.1:{listener.getsockname()[1]}/lms"
    listener.close()
    builder = get_image_builder(backend="swarm", registry=registry)
    tags = builder.image_tags(swarm_probe_lab)
    assert all(tag.startswith(f"{registry}/lms-lab/runtime-probe-") for tag in tags.values())
    try:
        with pytest.raises(BuildFailed, match=f"pushing {registry}/lms-lab/runtime-probe-"):
            builder.build(swarm_probe_lab)
        swarm_engine.images.get(tags["main"])  # tagged for the registry before the push
    finally:
        for tag in tags.values():
            with contextlib.suppress(docker.errors.ImageNotFound):
                swarm_engine.images.remove(tag)
