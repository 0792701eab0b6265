"""The lab in the browser: terminal, flag, web access, replay, live watch, cleanup.

One trainee works in the shell-basics lab through the terminal beside the
module; another opens the web-injection lab's web application through the
platform. Each is refused the other's lab. Staff replay and watch. The labs
run on the real engine under this module's own session-key prefix and are
swept by label afterwards, even when a test fails.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from lms.extensions import db
from lms.labs import app_runtime
from lms.labs.models import LabSession
from lms.labs.runtime import LABEL_CONTAINER, LABEL_SESSION
from tests.browser.conftest import CHROMIUM_ARGS  # noqa: F401  (same browser settings)
from tests.lab_support import handshake_status, own_lab_prefix

pytestmark = pytest.mark.docker

SHELL_MODULE = "/courses/linux-fundamentals/the-shell"
WEB_MODULE = "/courses/web-security-owasp/injection"
FLAG = re.compile(r"FLAG\{[0-9a-f]{32}\}")


@pytest.fixture(scope="module")
def lab_app(live_app, docker_client, tmp_path_factory):
    """The live app with its own session-key prefix; its labs are swept afterwards."""
    live_app.config["LMS_RECORDINGS_DIR"] = str(tmp_path_factory.mktemp("recordings"))
    with own_lab_prefix(live_app):
        with live_app.app_context():
            from lms.content.lab_library import get_spec

            for slug in ("shell-basics", "web-injection"):
                app_runtime.lab_image_builder().build(get_spec(slug))
        yield live_app


@pytest.fixture
def new_page(browser, live_server):
    """new_page() -> a page in a fresh browser context (another person)."""
    contexts = []

    def make():
        context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        return page

    yield make
    for context in contexts:
        context.close()


def start_lab(page, module_url: str) -> None:
    page.goto(module_url)
    panel = page.locator("#lab-panel")
    panel.get_by_role("button", name="Start the lab").click()
    expect(panel.locator("#lab-status")).to_have_text(re.compile("Running|Failed"), timeout=60_000)
    status = panel.locator("#lab-status").inner_text()
    assert status == "Running", panel.locator("#lab-message").inner_text()


def screen(page, tab: int = 0) -> str:
    return page.evaluate("i => window.lmsTerminals[i] ? window.lmsTerminals[i].text() : ''", tab)


def wait_screen(page, pattern: str, tab: int = 0, timeout: int = 30_000) -> re.Match:
    page.wait_for_function(
        "([i, p]) => window.lmsTerminals[i] && new RegExp(p).test(window.lmsTerminals[i].text())",
        arg=[tab, pattern],
        timeout=timeout,
    )
    return re.search(pattern, screen(page, tab))


def type_command(page, command: str) -> None:
    page.locator(".term-pane:not([hidden]) .xterm-helper-textarea").focus()
    page.keyboard.type(command)
    page.keyboard.press("Enter")


def session_of(app, lab_slug: str) -> LabSession:
    with app.app_context():
        return db.session.scalars(
            db.select(LabSession).filter_by(lab_slug=lab_slug).order_by(LabSession.id.desc())
        ).first()


def handshake_status_with_cookies(base: str, path: str, cookies: list[dict]) -> int:
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
    return handshake_status(base, path, {"Origin": base, "Cookie": cookie})


def shell_processes(docker_client, session_key: str) -> str:
    labels = [f"{LABEL_SESSION}={session_key}", f"{LABEL_CONTAINER}=main"]
    [container] = docker_client.containers.list(filters={"label": labels})
    return (
        container.exec_run(["ps", "-u", "trainee", "-o", "pid=,args="], user="0")
        .output.decode()
        .strip()
    )


def test_trainee_works_in_the_lab_terminal(
    page, new_page, sign_in, lab_app, live_server, docker_client
):
    sign_in(page)
    start_lab(page, SHELL_MODULE)

    # The terminal opens by itself beside the module text, as the lab's user.
    dock = page.locator(".term-dock")
    expect(dock).to_be_visible()
    wait_screen(page, r"trainee@main:~\$")
    module_box = page.locator(".module-body").bounding_box()
    dock_box = dock.bounding_box()
    assert module_box["x"] + module_box["width"] <= dock_box["x"] + 1  # side by side

    type_command(page, "cat ~/.secret/.flag")
    flag = wait_screen(page, FLAG.pattern).group(0)

    task = page.locator("#lab-task-find-flag")
    task.get_by_label("Flag").fill(flag)
    task.get_by_role("button", name="Submit flag").click()
    expect(task.locator(".lab-task-state")).to_have_text("Done")
    expect(page.locator("#lab-tasks-done")).to_have_text("1 of 3 done")

    # The splitter resizes the terminal, full screen takes the window, both refit it.
    columns = page.evaluate("window.lmsTerminals[0].term.cols")
    page.locator(".term-splitter").focus()
    for _ in range(4):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function("c => window.lmsTerminals[0].term.cols > c", arg=columns, timeout=30_000)
    page.get_by_role("button", name="Full screen").click()
    assert dock.bounding_box()["width"] >= 1270
    page.get_by_role("button", name="Exit full screen").click()

    # A second tab is another shell; a network blip keeps the shell.
    type_command(page, "echo pid=$$")
    pid = wait_screen(page, r"pid=(\d+)").group(1)
    page.get_by_role("button", name="New terminal").click()
    wait_screen(page, r"trainee@main:~\$", tab=1)
    type_command(page, "echo second=$$")
    assert wait_screen(page, r"second=(\d+)", tab=1).group(1) != pid
    page.get_by_role("tab", name="Terminal 1").click()
    page.evaluate("window.lmsTerminals[0].socket.close()")  # the connection drops
    page.wait_for_function(
        "() => window.lmsTerminals[0].socket && window.lmsTerminals[0].socket.readyState === 1",
        timeout=30_000,
    )
    type_command(page, "echo again=$$")
    assert wait_screen(page, r"again=(\d+)").group(1) == pid

    lab = session_of(lab_app, "shell-basics")

    # Another trainee's browser cannot open a terminal in this lab.
    other = new_page()
    sign_in(other)
    other.goto("/")
    outcome = other.evaluate(
        """url => new Promise(done => {
        const ws = new WebSocket(url);
        ws.onopen = () => done("open");
        ws.onclose = event => done("closed " + event.code);
    })""",
        f"ws{live_server[4:]}/labs/sessions/{lab.id}/terminal/ws?terminal=intruder01",
    )
    assert outcome == "closed 1006"
    assert (
        handshake_status_with_cookies(
            live_server,
            f"/labs/sessions/{lab.id}/terminal/ws?terminal=x1234567",
            other.context.cookies(),
        )
        == 403
    )

    # Staff watch it live (read only), then replay it with the commands beside the task.
    staff = new_page()
    sign_in(staff, role="platform_admin")
    staff.goto(f"/labs/sessions/{lab.id}/watch")
    watched = staff.locator(".term-watch").first
    expect(watched).to_contain_text("cat ~/.secret/.flag", timeout=20_000)
    type_command(page, "echo watched-$((40+2))")
    expect(watched).to_contain_text("watched-42", timeout=20_000)

    # Closing the tabs ends the shells: nothing of the trainee's is left in the container.
    type_command(page, "sleep 901 &")
    wait_screen(page, r"\[1\] \d+")
    assert "sleep 901" in shell_processes(docker_client, lab.key)
    page.locator(".term-tab-close").first.click()  # the mouse's ×
    page.get_by_role("tab").first.press("Delete")  # the keyboard's way
    expect(dock).to_be_hidden()
    deadline_ok = False
    for _ in range(50):
        if not shell_processes(docker_client, lab.key):
            deadline_ok = True
            break
        page.wait_for_timeout(200)
    assert deadline_ok, shell_processes(docker_client, lab.key)

    staff.goto(f"/labs/sessions/{lab.id}/review")
    task_card = staff.locator('[data-task="find-flag"]')
    expect(task_card).to_contain_text("Done")
    expect(task_card.locator(".term-command")).to_contain_text(["$ cat ~/.secret/.flag"])
    expect(staff.locator(".replay-player .ap-player").first).to_be_visible()
    task_card.locator(".term-command").first.click()  # replays from that command
    expect(staff.locator(".replay-player").first).to_contain_text(
        "cat ~/.secret/.flag", timeout=15_000
    )
    assert not staff.errors and not other.errors


def test_lab_web_service_opens_for_its_owner_only(page, new_page, sign_in, lab_app):
    sign_in(page)
    start_lab(page, WEB_MODULE)
    button = page.get_by_role("button", name="Open target:8080")
    expect(button).not_to_have_attribute("aria-disabled", "true")
    with page.context.expect_page() as opened:
        button.click()
    shop = opened.value
    shop.wait_for_load_state()
    expect(shop).to_have_title(re.compile("TinyShop"))
    assert shop.evaluate("getComputedStyle(document.querySelector('header')).display") != ""

    shop.get_by_role("link", name="Admin").click()  # redirected to the login form
    shop.get_by_label("Username").fill("admin' --")
    shop.get_by_label("Password").fill("anything")
    shop.get_by_role("button", name=re.compile("Sign in", re.I)).click()
    expect(shop.locator("body")).to_contain_text(FLAG)
    lab_url = shop.url
    assert "/labs/sessions/" in lab_url and "/web/8080/" in lab_url

    other = new_page()
    sign_in(other)
    answer = other.goto(lab_url)
    assert answer.status == 403
    expect(other.locator("body")).to_contain_text("Only the trainee running this lab")
