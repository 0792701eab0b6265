"""The web access proxy's rewriting (pure functions) and its forwarding to a local upstream.

No Docker: a small HTTP server on 127.0.0.1 plays the lab's web application.
The whole path through the platform on a real lab is in test_terminal.py.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lms.terminal.proxy import (
    LAB_CSP,
    ProxyRequest,
    Upstream,
    UpstreamError,
    forward,
    lab_cookie_header,
    response_headers,
    rewrite_links,
    rewrite_location,
    rewrite_set_cookie,
    upstream_headers,
)

PREFIX = "/labs/sessions/7/web/8080"
ORIGIN = "http://lms.example:5000"
UPSTREAM = Upstream(address="10.213.0.5", port=8080, container="target")


def proxy_request(**fields) -> ProxyRequest:
    values = dict(
        method="GET",
        path="/",
        query="",
        headers=[],
        body=None,
        prefix=PREFIX,
        platform_origin=ORIGIN,
    )
    values.update(fields)
    return ProxyRequest(**values)


# -- cookies -------------------------------------------------------------------------------------


def test_platform_cookies_never_reach_the_lab():
    header = "session=PLATFORM; remember_token=R; lab_session=LAB; lab_theme=dark; other=x"
    assert lab_cookie_header(header) == "session=LAB; theme=dark"
    assert lab_cookie_header("session=PLATFORM; remember_token=R") is None


def test_set_cookie_is_renamed_and_confined_to_the_prefix():
    assert (
        rewrite_set_cookie("session=abc; HttpOnly; SameSite=Lax", PREFIX)
        == f"lab_session=abc; HttpOnly; SameSite=Lax; Path={PREFIX}/"
    )
    assert (
        rewrite_set_cookie("id=1; Path=/; Domain=lms.example; Secure", PREFIX)
        == f"lab_id=1; Secure; Path={PREFIX}/"
    )
    assert (
        rewrite_set_cookie("cart=2; path=/shop; Max-Age=60", PREFIX)
        == f"lab_cart=2; Max-Age=60; Path={PREFIX}/shop"
    )
    assert rewrite_set_cookie("garbage", PREFIX) is None


# -- redirects and links ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "location, expected",
    [
        ("admin", "admin"),  # relative: resolved in the prefix
        ("./", "./"),
        ("/login?next=/admin", f"{PREFIX}/login?next=/admin"),  # absolute path of the lab app
        (f"{PREFIX}/x", f"{PREFIX}/x"),  # already inside
        ("http://target:8080/admin", f"{ORIGIN}{PREFIX}/admin"),  # the app's own absolute URL
        ("http://10.213.0.5:8080", f"{ORIGIN}{PREFIX}/"),
        ("http://localhost:8080/a?b=1", f"{ORIGIN}{PREFIX}/a?b=1"),
        ("https://example.org/elsewhere", "https://example.org/elsewhere"),  # leave others alone
        ("//example.org/x", "//example.org/x"),
        ("mailto:a@b.c", "mailto:a@b.c"),
    ],
)
def test_location_stays_in_the_prefix(location, expected):
    assert rewrite_location(location, PREFIX, UPSTREAM, ORIGIN) == expected


def test_absolute_path_links_move_into_the_prefix():
    html = (
        b'<a href="/admin">a</a> <a href="admin">b</a> <img src=\'/logo.png\'>'
        b'<form action="/login" method=post></form> <a href="//cdn.example/x">c</a>'
        b'<link href=/static/s.css> <a href="' + PREFIX.encode() + b'/ok">d</a>'
        b'<div style="background: url(/bg.png)"></div> <a HREF="/Upper">e</a>'
    )
    out = rewrite_links(html, PREFIX)
    p = PREFIX.encode()
    assert b'href="' + p + b'/admin"' in out
    assert b'href="admin"' in out
    assert b"src='" + p + b"/logo.png'" in out
    assert b'action="' + p + b'/login"' in out
    assert b'href="//cdn.example/x"' in out
    assert b"href=" + p + b"/static/s.css" in out
    assert out.count(p + b"/ok") == 1 and p + p not in out
    assert b"url(" + p + b"/bg.png)" in out
    assert b'HREF="' + p + b'/Upper"' in out
    assert (
        rewrite_links(b"a { background: url('/i.png') }", PREFIX, css_only=True)
        == b"a { background: url('" + p + b"/i.png') }"
    )


# -- headers ---------------------------------------------------------------------------------------


def test_request_headers_for_the_lab():
    request = proxy_request(
        headers=[
            ("Host", "lms.example:5000"),
            ("Cookie", "session=P; lab_sid=L"),
            ("Accept", "text/html"),
            ("Origin", ORIGIN),
            ("Referer", f"{ORIGIN}{PREFIX}/login?x=1"),
            ("Connection", "close"),
            ("Authorization", "Bearer lms_secret"),
            ("X-CSRFToken", "platform-token"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ]
    )
    headers = dict(upstream_headers(request, UPSTREAM))
    assert headers["Host"] == "target:8080"
    assert headers["Cookie"] == "sid=L"
    assert headers["Origin"] == "http://target:8080"
    assert headers["Referer"] == "http://target:8080/login?x=1"
    assert headers["Accept"] == "text/html"
    assert headers["X-Forwarded-Prefix"] == PREFIX
    for dropped in ("Connection", "Authorization", "X-CSRFToken"):
        assert dropped not in headers
    basic = upstream_headers(proxy_request(headers=[("Authorization", "Basic YTpi")]), UPSTREAM)
    assert ("Authorization", "Basic YTpi") in basic  # a lab teaching HTTP auth keeps it


def test_response_headers_cannot_act_on_the_platform():
    headers = response_headers(
        [
            ("Content-Type", "text/html"),
            ("Set-Cookie", "session=x; Path=/"),
            ("Set-Cookie", "b=2"),
            ("Location", "/next"),
            ("Strict-Transport-Security", "max-age=1"),
            ("Clear-Site-Data", '"cookies"'),
            ("Service-Worker-Allowed", "/"),
            ("Content-Security-Policy", "default-src *"),
            ("Transfer-Encoding", "chunked"),
            ("Content-Length", "12"),
            ("X-App", "kept"),
        ],
        proxy_request(),
        UPSTREAM,
    )
    names = [name.lower() for name, _ in headers]
    assert [v for n, v in headers if n == "Set-Cookie"] == [
        f"lab_session=x; Path={PREFIX}/",
        f"lab_b=2; Path={PREFIX}/",
    ]
    assert ("Location", f"{PREFIX}/next") in headers
    for dropped in (
        "strict-transport-security",
        "clear-site-data",
        "service-worker-allowed",
        "transfer-encoding",
        "content-length",
    ):
        assert dropped not in names
    assert [v for n, v in headers if n == "Content-Security-Policy"] == [LAB_CSP]
    assert ("X-App", "kept") in headers


# -- forwarding to a real HTTP server ----------------------------------------------------------------


class LabApp(BaseHTTPRequestHandler):
    """Echoes what it received; a few paths behave like a web app would."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/page"):
            self.reply(200, b'<a href="/x">x</a><a href="y">y</a>', "text/html; charset=utf-8")
        elif self.path == "/go":
            self.send_response(302)
            self.send_header("Location", "http://target:8080/landed")
            self.send_header("Set-Cookie", "sid=42; Path=/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(64):
                chunk = b"z" * 4096
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/slow":
            time.sleep(3)
            self.reply(200, b"late", "text/plain")
        else:
            self.echo()

    def do_POST(self):
        self.echo()

    def echo(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        seen = {
            "method": self.command,
            "path": self.path,
            "body": body,
            "headers": {k: v for k, v in self.headers.items()},
        }
        self.reply(200, json.dumps(seen).encode(), "application/json")

    def reply(self, status, body, kind):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def lab_app():
    server = ThreadingHTTPServer(("127.0.0.1", 0), LabApp)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Upstream(address="127.0.0.1", port=server.server_port, container="target")
    server.shutdown()


def body_of(answer) -> bytes:
    return answer.body if isinstance(answer.body, bytes) else b"".join(answer.body)


def test_forward_a_form_post(lab_app):
    answer = forward(
        proxy_request(
            method="POST",
            path="/login%20page",
            query="next=%2Fadmin&x=1",
            body=b"user=a&pw=b",
            headers=[
                ("Cookie", "session=PLATFORM; lab_sid=L"),
                ("Origin", ORIGIN),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Content-Length", "11"),
            ],
        ),
        lab_app,
        timeout=5,
    )
    seen = json.loads(body_of(answer))
    assert seen["method"] == "POST" and seen["path"] == "/login%20page?next=%2Fadmin&x=1"
    assert seen["body"] == "user=a&pw=b"
    assert seen["headers"]["Cookie"] == "sid=L"
    assert "session=PLATFORM" not in json.dumps(seen)
    assert seen["headers"]["Host"] == f"target:{lab_app.port}"


def test_forward_rewrites_html_redirects_and_cookies(lab_app):
    page = forward(proxy_request(path="/page"), lab_app, timeout=5)
    assert body_of(page) == f'<a href="{PREFIX}/x">x</a><a href="y">y</a>'.encode()
    upstream = Upstream(address="127.0.0.1", port=lab_app.port, container="target")
    moved = forward(proxy_request(path="/go"), upstream, timeout=5)
    assert moved.status == 302
    # the app names itself target:8080 but listens on another port here: left as is
    assert dict(moved.headers)["Location"] == "http://target:8080/landed"
    assert dict(moved.headers)["Set-Cookie"] == f"lab_sid=42; Path={PREFIX}/"


def test_forward_streams_large_bodies(lab_app):
    answer = forward(proxy_request(path="/big"), lab_app, timeout=5)
    assert not isinstance(answer.body, bytes)
    assert len(body_of(answer)) == 64 * 4096


def test_forward_fails_clearly_when_the_service_is_down(lab_app):
    with pytest.raises(UpstreamError):
        forward(proxy_request(), Upstream("127.0.0.1", 9, "target"), timeout=5)  # refused
    with pytest.raises(UpstreamError):
        forward(proxy_request(path="/slow"), lab_app, timeout=0.5)  # too slow
