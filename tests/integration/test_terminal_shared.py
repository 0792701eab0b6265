"""A lab session shared by a team (lms.labs.sharing), on a real engine and a live server.

One running two-container lab (web-injection: the `workstation`, user trainee, and the
`target`, user app). A SharingRule registered here (and removed after) makes `member`
a member of the owner's session on the `target` container, and lets `whitecell` (staff
following nobody) watch the member's terminal, not the owner's. What a user notices:
each person's shell runs on their own container, as its user; others are refused; a
held shell comes back on its container; watching is by person and audit-logged.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest

from lms import create_app
from lms.extensions import db
from lms.labs import sharing
from tests.conftest import PASSWORD, reset_schema, test_config
from tests.lab_support import handshake_status
from tests.terminal_support import (
    Shell,
    add_running_session,
    cookie_header,
    serving,
    sweep_session_labs,
)
from tests.terminal_support import sign_in as sign_in_as

pytestmark = pytest.mark.docker

KEY_PREFIX = "tshared-"
PEOPLE = {
    "owner": "trainee",
    "member": "trainee",
    "stranger": "trainee",
    "whitecell": "instructor",  # follows nobody: the sharing rule lets them watch the member
    "outsider": "instructor",  # follows nobody, and no rule lets them
}


@pytest.fixture(scope="module")
def team(tmp_path_factory, docker_runtime, docker_client, shipped_labs):
    """A live server, the people's ids and a running web-injection session of `owner`
    shared with `member` (on `target`): (base URL, app, people, session id, key)."""
    sweep_session_labs(docker_client, KEY_PREFIX)
    tmp = tmp_path_factory.mktemp("shared")
    app = create_app(
        test_config(
            tmp, LMS_TERMINAL_REATTACH_SECONDS=30, LMS_RECORDINGS_DIR=str(tmp / "recordings")
        )
    )
    app.extensions["lab_runtime"] = docker_runtime
    spec = shipped_labs["web-injection"]
    key = f"{KEY_PREFIX}{uuid.uuid4().hex[:10]}"
    with app.app_context():
        reset_schema()
        from lms.auth.services import create_user

        people = {
            name: create_user(f"{name}@shared.example.org", PASSWORD, role=role)
            for name, role in PEOPLE.items()
        }
        db.session.commit()
        people = {name: user.id for name, user in people.items()}
    rule = None
    try:
        docker_runtime.start(key, spec, str(people["owner"]), [])
        with app.app_context():
            session_id = add_running_session(key, people["owner"], spec.slug)
        rule = sharing.SharingRule(
            workstation_for=lambda user, s: (
                "target" if s.id == session_id and user.id == people["member"] else None
            ),
            may_watch=lambda viewer, s, watched: (
                s.id == session_id
                and viewer.id == people["whitecell"]
                and watched.id == people["member"]
            ),
        )
        sharing.register(rule)
        with serving(app) as base:
            yield base, app, people, session_id, key
    finally:
        if rule in sharing.rules:
            sharing.rules.remove(rule)
        docker_runtime.stop(key)
        sweep_session_labs(docker_client, KEY_PREFIX)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def sign_in(base: str, who: str):
    return sign_in_as(base, f"{who}@shared.example.org")


def whoami(shell: Shell, tag: str) -> tuple[str, str]:
    shell.send(f"echo {tag}=$(id -un):$PWD\r")
    return shell.read_until(rf"{tag}=(\w+):(\S+)").groups()


def recording(app, terminal: str):
    from lms.terminal.models import TerminalRecording

    with app.app_context():
        db.session.expire_all()
        row = db.session.scalar(db.select(TerminalRecording).filter_by(terminal_key=terminal))
        db.session.expunge(row)
        return row


def test_each_member_gets_a_terminal_on_their_own_workstation(team):
    base, app, people, session_id, _ = team
    owner = Shell(base, sign_in(base, "owner"), session_id, terminal="ownershell1")
    member = Shell(base, sign_in(base, "member"), session_id, terminal="membershell1")
    try:
        assert whoami(owner, "me") == ("trainee", "/home/trainee")  # the lab's workstation
        assert whoami(member, "me") == ("app", "/srv/app")  # the member's: the target
    finally:
        for shell in (owner, member):
            shell.control({"t": "close"})
            shell.close()
    assert recording(app, "ownershell1").container == "workstation"
    assert recording(app, "membershell1").container == "target"

    # anyone else is refused before the upgrade, as for another trainee's lab
    path = f"/labs/sessions/{session_id}/terminal/ws?terminal=strangershell"
    stranger = sign_in(base, "stranger")
    assert handshake_status(base, path, {"Origin": base, "Cookie": cookie_header(stranger)}) == 403
    check = stranger.get(f"{base}/labs/sessions/{session_id}/terminal/check?terminal=abcdefgh12")
    assert check.json()["reason"] == "This lab session is not yours."

    # the panel's state for this session: for its members, saying where their terminal opens
    state_url = f"{base}/labs/sessions/{session_id}/terminal/state"
    mine = sign_in(base, "member").get(state_url).json()
    assert mine["lab"] == "web-injection" and mine["session"]["workstation"] == "target"
    assert mine["session"]["socket"].endswith(f"/labs/sessions/{session_id}/terminal/ws")
    assert sign_in(base, "owner").get(state_url).json()["session"]["workstation"] == "workstation"
    assert stranger.get(state_url).status_code == 403
    assert stranger.get(f"{base}/labs/sessions/999999/terminal/state").status_code == 404

    # the lab's web service: the members' as much as the owner's
    web = f"{base}/labs/sessions/{session_id}/web/8080/"
    member_browser = sign_in(base, "member")
    assert _eventually(lambda: member_browser.get(web).status_code == 200)
    assert "TinyShop" in member_browser.get(web).text
    assert stranger.get(web).status_code == 403


def test_a_members_held_shell_comes_back_on_their_workstation(team, lab_exec):
    base, app, people, session_id, key = team
    from lms.auth.models import utcnow
    from lms.terminal import services
    from lms.terminal.bridge import TerminalKey, hub
    from lms.terminal.models import TerminalRecording

    browser = sign_in(base, "member")
    first = Shell(base, browser, session_id, terminal="memberblip1")
    first.send("MARK=kept; echo pid=$$\r")
    pid = first.read_until(r"pid=(\d+)").group(1)
    # The web process lets the terminal go (a restart): the next attach, from the
    # database, must find the held shell on the member's container, not the workstation.
    hub.get(TerminalKey(session_id, people["member"], "memberblip1")).release()
    first.close()
    second = Shell(base, browser, session_id, terminal="memberblip1")
    try:
        assert second.message("hello")["reattached"] is True
        second.send("echo again=$$:$MARK:$(id -un)\r")
        assert second.read_until(r"again=(\d+):(\w*):(\w+)").groups() == (pid, "kept", "app")
        hub.get(TerminalKey(session_id, people["member"], "memberblip1")).release()
    finally:
        second.close()
    assert shell_running(lab_exec, key, pid)

    # nobody serves it now and its heartbeat gets old: the reaper ends it on the target
    with app.app_context():
        db.session.execute(
            db.update(TerminalRecording)
            .where(TerminalRecording.id == recording(app, "memberblip1").id)
            .values(heartbeat_at=utcnow() - timedelta(hours=1))
        )
        db.session.commit()
        assert services.end_abandoned_terminals() == 1
    assert _eventually(lambda: not shell_running(lab_exec, key, pid))


def shell_running(lab_exec, key: str, pid: str) -> bool:
    _, output = lab_exec(key, "target", "ps -eo pid=", user="0")
    return pid in output.split()


def test_watching_a_members_terminal_goes_by_the_sharing_rule_and_is_audited(team):
    base, app, people, session_id, _ = team
    from lms.audit.models import AuditEvent

    owner = Shell(base, sign_in(base, "owner"), session_id, terminal="ownerwatch1")
    member = Shell(base, sign_in(base, "member"), session_id, terminal="memberwatch1")
    try:
        owner.send("echo owner-typed-$((2*3))\r")
        owner.read_until("owner-typed-6")
        member.send("echo member-typed-$((6*7))\r")
        member.read_until("member-typed-42")
        member_recording = recording(app, "memberwatch1").id
        owner_recording = recording(app, "ownerwatch1").id

        # the white cell's watch page lists the member's terminal (whose, which
        # container), not the owner's, which the rule does not let them watch
        whitecell = sign_in(base, "whitecell")
        page = whitecell.get(f"{base}/labs/sessions/{session_id}/watch")
        assert page.status_code == 200
        assert f'data-recording="{member_recording}"' in page.text
        assert 'data-container="target"' in page.text
        assert _display_name(app, "member") in page.text
        assert f'data-recording="{owner_recording}"' not in page.text

        watcher = Shell(base, whitecell, session_id, watch=member_recording)
        try:
            watcher.read_until("member-typed-42")  # what happened before
            member.send("echo live-$((5*5))\r")
            watcher.read_until("live-25")  # and what happens now
        finally:
            watcher.close()
        socket = f"/labs/sessions/{session_id}/terminal/ws?watch="
        cookie = {"Origin": base, "Cookie": cookie_header(whitecell)}
        assert handshake_status(base, socket + str(owner_recording), cookie) == 403

        outsider = sign_in(base, "outsider")
        refused = {"Origin": base, "Cookie": cookie_header(outsider)}
        assert handshake_status(base, socket + str(member_recording), refused) == 403
        assert outsider.get(f"{base}/labs/sessions/{session_id}/watch").status_code == 403
    finally:
        for shell in (owner, member):
            shell.control({"t": "close"})
            shell.close()

    with app.app_context():
        watches = db.session.scalars(
            db.select(AuditEvent).filter_by(action="terminal.watch", session_id=session_id)
        ).all()
        assert [(w.actor_id, w.subject_user_id) for w in watches] == [
            (people["whitecell"], people["member"])
        ]

    # the replay too: the member's terminal and commands, not the owner's
    review = whitecell.get(f"{base}/labs/sessions/{session_id}/review")
    assert review.status_code == 200
    assert "member-typed" in review.text and "owner-typed" not in review.text
    cast = f"{base}/labs/sessions/{session_id}/recordings/"
    assert whitecell.get(f"{cast}{member_recording}.cast").status_code == 200
    assert whitecell.get(f"{cast}{owner_recording}.cast").status_code == 403
    assert outsider.get(f"{base}/labs/sessions/{session_id}/review").status_code == 403
    # a member replays their own terminals, not their teammates'
    own = sign_in(base, "member").get(f"{base}/labs/sessions/{session_id}/review")
    assert own.status_code == 200
    assert "member-typed" in own.text and "owner-typed" not in own.text


def _display_name(app, who: str) -> str:
    from lms.auth.models import User

    with app.app_context():
        return db.session.scalar(
            db.select(User).filter_by(email=f"{who}@shared.example.org")
        ).display_name


def _eventually(check, timeout: float = 15.0, every: float = 0.3):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def test_the_terminal_panel_mounts_on_a_given_session(team):
    """The partial another page (the team exercise page) includes, as its docstring says."""
    base, app, people, session_id, _ = team
    from flask import render_template_string

    from lms.labs.models import LabSession

    page = (
        "{% with terminal_session=lab_session %}"
        '{% include "terminal/_terminal.html" %}{% endwith %}'
    )
    with app.test_request_context("/"):
        html = render_template_string(page, lab_session=db.session.get(LabSession, session_id))
        idle = render_template_string(page, lab_session=None)
    assert f'data-state-url="/labs/sessions/{session_id}/terminal/state"' in html
    assert 'data-web-port="8080"' in html  # the lab's web service's button
    assert 'data-state-url=""' in idle and "data-terminal-open" in idle
