"""A deliberately vulnerable invoicing app for the broken access control lab.
DO NOT reuse this code.

Three flaws on purpose, all of them missing authorisation on the server:
- GET /api/invoices/<id> returns any invoice to any signed-in user (IDOR);
- GET /api/admin/users answers every signed-in user (a missing function-level
  check: only the menu link is hidden);
- POST /api/profile copies every JSON field it gets into the user's row, role
  included (mass assignment).
The state lives in an SQLite file, /var/lib/invoices/app.db, which the lab's
check reads.
"""

import html
import json
import secrets
import sqlite3
import threading
from http import cookies
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

DB_FILE = Path("/var/lib/invoices/app.db")
FLAG_FILE = Path("/srv/flag.txt")
SESSIONS: dict[str, int] = {}
LOCK = threading.Lock()
USERS = [  # id, username, password, e-mail, role
    (1, "admin", secrets.token_hex(16), "it@invoices.example", "admin"),
    (2, "alice", "wonderland", "alice@example.org", "customer"),
    (3, "bob", secrets.token_hex(16), "bob@example.org", "customer"),
    (4, "carol", secrets.token_hex(16), "carol@example.org", "customer"),
]
INVOICES = [  # id, owner, amount, note
    (1038, 3, 120.00, "Consulting, March"),
    (1040, 4, 75.50, "Hosting"),
    (1041, 3, 980.00, "Laptop"),
    (1042, 2, 49.90, "Training voucher"),
    (1044, 4, 12.00, "Domain renewal"),
    (1047, 1, 0.00, "Internal: {flag}"),
    (1049, 2, 15.00, "Cables"),
]


def make_database() -> sqlite3.Connection:
    DB_FILE.unlink(missing_ok=True)
    db = sqlite3.connect(DB_FILE, check_same_thread=False)
    db.executescript("""
        CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT UNIQUE, password TEXT,
                            email TEXT, role TEXT);
        CREATE TABLE invoices (id INTEGER PRIMARY KEY, owner INTEGER, amount REAL, note TEXT);
    """)
    try:
        flag = FLAG_FILE.read_text().strip()
    except OSError:
        flag = "(no flag on this server)"
    db.executemany("INSERT INTO users VALUES (?, ?, ?, ?, ?)", USERS)
    db.executemany(
        "INSERT INTO invoices VALUES (?, ?, ?, ?)",
        [(i, o, a, n.format(flag=flag)) for i, o, a, n in INVOICES],
    )
    db.commit()
    return db


DB = make_database()


def query(sql: str, args: tuple = ()) -> list[tuple]:
    with LOCK:
        rows = DB.execute(sql, args).fetchall()
        DB.commit()
    return rows


USER_FIELDS = ("id", "username", "email", "role")
INVOICE_FIELDS = ("id", "owner", "amount", "note")


def record(fields: tuple, row: tuple) -> dict:
    return dict(zip(fields, row, strict=True))


def page(title: str, body: str, user: str | None = None) -> str:
    who = f"signed in as <b>{html.escape(user)}</b>" if user else '<a href="login">sign in</a>'
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)} · Invoices</title></head>
<body><header><a href="./">Invoices</a> · {who}</header>
<main><h1>{html.escape(title)}</h1>{body}</main></body></html>"""


class Invoices(BaseHTTPRequestHandler):
    server_version = "Invoices/1.0"

    def route(self) -> str:
        return urlsplit(self.path).path.rstrip("/") or "/"

    def body(self) -> bytes:
        return self.rfile.read(min(int(self.headers.get("Content-Length") or 0), 65536))

    def user(self) -> tuple | None:
        jar = cookies.SimpleCookie(self.headers.get("Cookie", ""))
        user_id = SESSIONS.get(jar["session"].value if "session" in jar else "")
        rows = query("SELECT id, username, email, role FROM users WHERE id = ?", (user_id,))
        return rows[0] if rows else None

    def send(self, status: int, data: bytes, kind: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, status: int, value) -> None:
        self.send(status, json.dumps(value).encode(), "application/json")

    def send_page(self, status: int, content: str) -> None:
        self.send(status, content.encode(), "text/html; charset=utf-8")

    def do_GET(self) -> None:
        route, user = self.route(), self.user()
        if route == "/login":
            self.send_page(200, page("Sign in", LOGIN_FORM))
        elif user is None:
            self.send(303, b"", "text/plain", {"Location": "login"})
        elif route == "/":
            self.home(user)
        elif route.startswith("/api/invoices/"):
            self.invoice(route.rsplit("/", 1)[1])
        elif route == "/api/admin/users":
            # VULNERABLE ON PURPOSE: no role check, only the menu link is hidden.
            rows = query("SELECT id, username, email, role FROM users ORDER BY id")
            self.send_json(200, [record(USER_FIELDS, r) for r in rows])
        elif route == "/api/profile":
            self.send_json(200, record(USER_FIELDS, user))
        else:
            self.send_json(404, {"error": "not found"})

    def do_POST(self) -> None:
        route = self.route()
        if route == "/login":
            self.login()
        elif route == "/api/profile" and self.user() is not None:
            self.profile(self.user())
        else:
            self.send_json(404, {"error": "not found"})

    def home(self, user: tuple) -> None:
        rows = query("SELECT id, amount FROM invoices WHERE owner = ? ORDER BY id", (user[0],))
        items = "".join(
            f'<li><a href="api/invoices/{i}">Invoice {i}</a>: {a:.2f} €</li>' for i, a in rows
        )
        admin = '<p><a href="api/admin/users">Users</a></p>' if user[3] == "admin" else ""
        self.send_page(200, page("Your invoices", f"<ul>{items}</ul>{admin}", user[1]))

    def invoice(self, invoice_id: str) -> None:
        # VULNERABLE ON PURPOSE: the owner is never compared with the caller.
        rows = query("SELECT id, owner, amount, note FROM invoices WHERE id = ?", (invoice_id,))
        if not rows:
            self.send_json(404, {"error": "no such invoice"})
            return
        self.send_json(200, record(INVOICE_FIELDS, rows[0]))

    def profile(self, user: tuple) -> None:
        try:
            changes = json.loads(self.body() or b"{}")
        except ValueError:
            self.send_json(400, {"error": 'send JSON, like {"email": "me@example.org"}'})
            return
        if not isinstance(changes, dict):
            self.send_json(400, {"error": "send a JSON object"})
            return
        # VULNERABLE ON PURPOSE: every known column is accepted, role included.
        for column in ("email", "role"):
            if isinstance(changes.get(column), str):
                query(f"UPDATE users SET {column} = ? WHERE id = ?", (changes[column], user[0]))  # noqa: S608
        self.send_json(200, record(USER_FIELDS, self.user()))

    def login(self) -> None:
        fields = parse_qs(self.body().decode("utf-8", "replace"))
        name = fields.get("username", [""])[0]
        password = fields.get("password", [""])[0]
        rows = query("SELECT id, password FROM users WHERE username = ?", (name,))
        if not rows or not secrets.compare_digest(rows[0][1], password):
            self.send_page(401, page("Sign in", "<p>Wrong username or password.</p>" + LOGIN_FORM))
            return
        token = secrets.token_urlsafe(24)
        SESSIONS[token] = rows[0][0]
        self.send(
            303,
            b"",
            "text/plain",
            {"Location": "./", "Set-Cookie": f"session={token}; HttpOnly; SameSite=Lax"},
        )


LOGIN_FORM = """<form method="post" action="login">
<label>Username <input name="username"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button></form>"""


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", 8080), Invoices).serve_forever()  # noqa: S104
