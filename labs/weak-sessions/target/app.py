"""A deliberately vulnerable staff portal for the authentication and sessions lab.
DO NOT reuse this code.

Two flaws on purpose:
- sign-in has no rate limit or lockout, and bob's password is a common one;
- the session cookie is base64-encoded JSON naming the user, with no
  signature: whoever edits it becomes someone else.
"""

import base64
import binascii
import html
import json
import secrets
from http import cookies
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FLAG_FILE = Path("/srv/flag.txt")
PASSWORDS = {
    "admin": secrets.token_urlsafe(18),
    "alice": "wonderland",
    "bob": "Autumn2023!",  # VULNERABLE ON PURPOSE: in every list of common passwords
}
ROLES = {"admin": "admin", "alice": "staff", "bob": "staff"}


def make_cookie(user: str) -> str:
    # VULNERABLE ON PURPOSE: readable, editable, unsigned.
    data = json.dumps({"user": user, "role": ROLES[user]}).encode()
    return base64.b64encode(data).decode()


def read_cookie(value: str) -> dict | None:
    try:
        data = json.loads(base64.b64decode(value, validate=False))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("user") in ROLES else None


def page(title: str, body: str, user: str | None = None) -> str:
    who = f"signed in as <b>{html.escape(user)}</b>" if user else '<a href="login">sign in</a>'
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)} · Staff portal</title></head>
<body><header>Staff portal · {who}</header><main><h1>{html.escape(title)}</h1>{body}</main>
</body></html>"""


LOGIN_FORM = """<form method="post" action="login">
<label>Username <input name="username"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button></form>"""


class Portal(BaseHTTPRequestHandler):
    server_version = "Portal/1.0"

    def send(self, status: int, text: str, extra: dict | None = None) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def session(self) -> dict | None:
        jar = cookies.SimpleCookie(self.headers.get("Cookie", ""))
        return read_cookie(jar["session"].value) if "session" in jar else None

    def do_GET(self) -> None:
        route = urlsplit(self.path).path.rstrip("/") or "/"
        session = self.session()
        user = session["user"] if session else None
        if route == "/login":
            self.send(200, page("Sign in", LOGIN_FORM, user))
        elif session is None:
            self.send(303, "", {"Location": "login"})
        elif route == "/":
            body = "<p>Nothing new today.</p><p><a href='admin'>Administration</a></p>"
            self.send(200, page("Welcome", body, user))
        elif route == "/admin":
            if session.get("role") != "admin":
                self.send(403, page("Administration", "<p>Administrators only.</p>", user))
                return
            try:
                flag = FLAG_FILE.read_text().strip()
            except OSError:
                flag = "(no flag on this server)"
            body = f"<p>Deployment key:</p><p><code>{html.escape(flag)}</code></p>"
            self.send(200, page("Administration", body, user))
        else:
            self.send(404, page("Not found", "<p>No such page.</p>", user))

    def do_POST(self) -> None:
        if (urlsplit(self.path).path.rstrip("/") or "/") != "/login":
            self.send(404, page("Not found", "<p>No such page.</p>"))
            return
        length = min(int(self.headers.get("Content-Length") or 0), 65536)
        fields = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        name = fields.get("username", [""])[0]
        password = fields.get("password", [""])[0]
        expected = PASSWORDS.get(name)
        # VULNERABLE ON PURPOSE: no rate limit, no lockout, no delay.
        if expected is None or not secrets.compare_digest(expected.encode(), password.encode()):
            self.send(401, page("Sign in", "<p>Wrong username or password.</p>" + LOGIN_FORM))
            return
        cookie = f"session={make_cookie(name)}; HttpOnly; SameSite=Lax"
        self.send(303, "", {"Location": "./", "Set-Cookie": cookie})


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", 8080), Portal).serve_forever()  # noqa: S104
