"""An HTTP puzzle for the "how the web works" lab: each step needs one more
piece of HTTP (a method, a redirect, a cookie, a header) to reach the vault,
which shows the per-trainee flag from /srv/flag.txt.

The session cookie it sets lacks HttpOnly on purpose: the lab asks which
attribute is missing.
"""

import secrets
from http import cookies
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

FLAG_FILE = Path("/srv/flag.txt")
KNOCK = "three-short-one-long"
VISITORS: set[str] = set()


class Puzzle(BaseHTTPRequestHandler):
    server_version = "Puzzle/1.0"

    def send(self, status: int, text: str, extra: dict | None = None) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def visitor(self) -> str | None:
        jar = cookies.SimpleCookie(self.headers.get("Cookie", ""))
        token = jar["visitor"].value if "visitor" in jar else None
        return token if token in VISITORS else None

    def do_GET(self) -> None:
        route = urlsplit(self.path).path
        if route == "/":
            self.send(200, "Welcome. The door is at /door. Doors are not opened with GET.\n")
        elif route == "/door":
            self.send(
                405, "Knocking with GET does nothing. Try another method.\n", {"Allow": "POST"}
            )
        elif route == "/hall":
            if self.visitor() is None:
                self.send(403, "Who are you? Come back with the cookie the door gave you.\n")
            else:
                self.send(
                    200,
                    f"Welcome back. The vault is at /vault; knock with the header X-Knock: {KNOCK}\n",
                )
        elif route == "/vault":
            if self.visitor() is None:
                self.send(403, "No cookie, no vault.\n")
            elif self.headers.get("X-Knock") != KNOCK:
                self.send(401, "Wrong knock. The hall told you which header to send.\n")
            else:
                try:
                    flag = FLAG_FILE.read_text().strip()
                except OSError:
                    flag = "(no flag on this server)"
                self.send(200, f"The vault opens: {flag}\n")
        else:
            self.send(404, "Nothing here.\n")

    do_HEAD = do_GET

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/door":
            self.send(405, "Only the door takes a POST.\n")
            return
        token = secrets.token_urlsafe(16)
        VISITORS.add(token)
        # The attribute a session cookie should carry is missing ON PURPOSE.
        cookie = f"visitor={token}; Path=/; SameSite=Lax"
        self.send(
            303, "The door opens onto the hall.\n", {"Location": "/hall", "Set-Cookie": cookie}
        )


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", 8080), Puzzle).serve_forever()  # noqa: S104
