"""A deliberately vulnerable web shop for the injection lab. DO NOT reuse this code.

Two flaws on purpose: the login query is built by pasting user input into SQL
(SQL injection), and the network check pastes user input into a shell command
(command injection). Everything else behaves like a small, ordinary web app:
forms, redirects, a session cookie, relative links and a style sheet, so it
works unchanged behind the platform's proxy.
"""

import html
import secrets
import sqlite3
import subprocess
import threading
from http import cookies
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

HERE = Path(__file__).parent
FLAG_FILE = Path("/srv/flag.txt")
SESSIONS: dict[str, tuple[str, str]] = {}
DB_LOCK = threading.Lock()


def make_database() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.executescript("""
        CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT, password TEXT, role TEXT);
        CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, price REAL);
        INSERT INTO products (name, price) VALUES
            ('USB rubber duck', 49.0), ('Lock pick set', 35.5), ('Faraday pouch', 12.9);
    """)
    users = [
        ("admin", secrets.token_hex(16), "admin"),
        ("guest", "guest", "customer"),
        ("alice", secrets.token_hex(16), "customer"),
    ]
    db.executemany("INSERT INTO users (username, password, role) VALUES (?, ?, ?)", users)
    return db


DB = make_database()


def page(title: str, body: str, user: str | None = None) -> str:
    who = (
        f'signed in as <b>{html.escape(user)}</b> · <a href="logout">sign out</a>'
        if user
        else '<a href="login">sign in</a>'
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)} · TinyShop</title>
<link rel="stylesheet" href="static/style.css"></head>
<body><header><a href="./" class="brand">TinyShop</a>
<nav><a href="./">Products</a> <a href="admin">Admin</a> <a href="ping">Network check</a></nav>
<span class="who">{who}</span></header>
<main><h1>{html.escape(title)}</h1>{body}</main></body></html>"""


class Shop(BaseHTTPRequestHandler):
    server_version = "TinyShop/1.0"

    # -- plumbing ---------------------------------------------------------------

    def route(self) -> str:
        return urlsplit(self.path).path.rstrip("/") or "/"

    def form(self) -> dict[str, str]:
        length = min(int(self.headers.get("Content-Length") or 0), 65536)
        fields = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        return {key: values[0] for key, values in fields.items()}

    def current_user(self) -> tuple[str, str] | None:
        jar = cookies.SimpleCookie(self.headers.get("Cookie", ""))
        token = jar["session"].value if "session" in jar else ""
        return SESSIONS.get(token)

    def send_page(self, status: int, content: str, extra: dict | None = None) -> None:
        data = content.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.write_body(data)

    def write_body(self, data: bytes) -> None:
        if self.command != "HEAD":
            self.wfile.write(data)

    def redirect(self, location: str, cookie: str | None = None) -> None:
        self.send_response(303)
        self.send_header("Location", location)
        if cookie is not None:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", "0")
        self.end_headers()

    # -- pages --------------------------------------------------------------------

    def do_GET(self) -> None:
        user = self.current_user()
        name = user[0] if user else None
        pages = {
            "/": lambda: self.send_page(200, page("Products", self.products(), name)),
            "/login": lambda: self.send_page(200, page("Sign in", LOGIN_FORM, name)),
            "/admin": lambda: self.admin(user),
            "/ping": lambda: self.send_page(200, page("Network check", PING_FORM, name)),
            "/logout": lambda: self.redirect("./", "session=; Max-Age=0; HttpOnly"),
            "/static/style.css": self.style,
        }
        pages.get(self.route(), self.not_found)()

    do_HEAD = do_GET

    def do_POST(self) -> None:
        pages = {"/login": self.login, "/ping": self.ping}
        pages.get(self.route(), self.not_found)()

    def products(self) -> str:
        with DB_LOCK:
            rows = DB.execute("SELECT name, price FROM products").fetchall()
        items = "".join(f"<li>{html.escape(n)} <span>{p:.2f} €</span></li>" for n, p in rows)
        return f'<ul class="products">{items}</ul><p>Staff: <a href="login">sign in</a>.</p>'

    def login(self) -> None:
        fields = self.form()
        username, password = fields.get("username", ""), fields.get("password", "")
        # VULNERABLE ON PURPOSE: the input is pasted into the SQL text.
        where = f"username = '{username}' AND password = '{password}'"
        query = "SELECT username, role FROM users WHERE " + where  # noqa: S608
        try:
            with DB_LOCK:
                row = DB.execute(query).fetchone()
        except sqlite3.Error as exc:
            error = f"<p class=error>Database error: {html.escape(str(exc))}</p>"
            detail = f"<pre>{html.escape(query)}</pre>"
            self.send_page(500, page("Sign in", error + detail + LOGIN_FORM))
            return
        if row is None:
            wrong = "<p class=error>Wrong username or password.</p>"
            self.send_page(401, page("Sign in", wrong + LOGIN_FORM))
            return
        token = secrets.token_urlsafe(24)
        SESSIONS[token] = (row[0], row[1])
        self.redirect(
            "admin" if row[1] == "admin" else "./", f"session={token}; HttpOnly; SameSite=Lax"
        )

    def admin(self, user: tuple[str, str] | None) -> None:
        if user is None:
            self.redirect("login")
            return
        if user[1] != "admin":
            body = "<p class=error>Administrators only.</p>"
            self.send_page(403, page("Admin", body, user[0]))
            return
        try:
            flag = FLAG_FILE.read_text().strip()
        except OSError:
            flag = "(no flag on this server)"
        body = (
            f'<p>Welcome back. Your secret:</p><p class="flag"><code>{html.escape(flag)}</code></p>'
        )
        self.send_page(200, page("Admin", body, user[0]))

    def ping(self) -> None:
        host = self.form().get("host", "").strip()
        user = self.current_user()
        # VULNERABLE ON PURPOSE: the input is pasted into a shell command.
        command = "ping -c 1 -W 1 " + host
        try:
            options = {"capture_output": True, "text": True, "timeout": 10}
            done = subprocess.run(command, shell=True, **options)  # noqa: S602
            output = done.stdout + done.stderr
        except subprocess.TimeoutExpired:
            output = "timed out"
        result = f"<pre>$ {html.escape(command)}\n{html.escape(output)}</pre>"
        self.send_page(200, page("Network check", PING_FORM + result, user[0] if user else None))

    def style(self) -> None:
        data = (HERE / "static" / "style.css").read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "max-age=300")
        self.end_headers()
        self.write_body(data)

    def not_found(self) -> None:
        self.send_page(404, page("Not found", '<p>No such page. <a href="./">Home</a></p>'))


LOGIN_FORM = """<form method="post" action="login" class="card">
<label>Username <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button></form>
<p class="muted">Customers may use the demo account guest / guest.</p>"""

PING_FORM = """<form method="post" action="ping" class="card">
<label>Host to ping <input name="host" placeholder="workstation"></label>
<button type="submit">Check</button></form>"""


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", 8080), Shop).serve_forever()  # noqa: S104
