"""The Harbour Freight web server (python3's standard library only), as the attacker left it.

- Static pages from /srv/www/html; CGI scripts from /srv/www/cgi-bin (like Apache's
  ScriptAlias), run as this server's user. lookup.cgi pastes its `host` parameter into a
  shell command: the hole the attacker used.
- The visitor's address is the first X-Forwarded-For entry (the company's reverse proxy
  adds it), else the peer's. Addresses or networks in /srv/www/state/deny.txt get 403.
- Every request is written to /var/log/web/access.log (Apache combined format, local
  time UTC+01:00) and shipped to the central log host (http://logs:8080). Requests from
  127.0.0.1 (the monitoring's) are neither logged nor shipped.
- /admin/: the operations console, behind HTTP basic authentication (user `admin`, the
  password in /srv/app/admin.passwd): the deny list, file listings, quarantine,
  processes.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import ipaddress
import os
import queue
import shutil
import signal
import stat
import subprocess
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

LOCAL = timezone(timedelta(hours=1))
HTML = Path("/srv/www/html")
CGI = Path("/srv/www/cgi-bin")
DENY = Path("/srv/www/state/deny.txt")
QUARANTINE = Path("/srv/quarantine")
ACCESS_LOG = Path("/var/log/web/access.log")
ADMIN_PASSWORD = Path("/srv/app/admin.passwd")
SHIP_URL = "http://logs:8080/cgi-bin/ingest?token=7f3c9a1e5d"
QUARANTINE_FROM = (Path("/srv/www"), Path("/tmp"))  # noqa: S108 (where attackers drop files)
TYPES = {".html": "text/html", ".css": "text/css", ".svg": "image/svg+xml", ".txt": "text/plain"}
ADMIN_HELP = """\
Harbour Freight web operations console. Endpoints (HTTP basic authentication):

  GET  /admin/deny                          the deny list (addresses or networks, one a line)
  POST /admin/deny        ip=ADDRESS[/BITS] refuse a visitor (403 on every page)
  POST /admin/deny        remove=ENTRY      take an entry off the deny list
  GET  /admin/files?dir=/srv/www/cgi-bin    a folder's files: mode, owner, size, time, sha256
  POST /admin/quarantine  path=FILE         move a file under /srv/www or /tmp to /srv/quarantine
                                            (kept as evidence, read-only, no longer served)
  GET  /admin/processes                     the server's processes (ps)
  POST /admin/kill        pid=PID           stop a process of the web server's user

Example: curl -u admin:PASSWORD -d ip=192.0.2.1 http://web:8080/admin/deny
"""

shipping: queue.Queue[str] = queue.Queue(maxsize=10000)


def ship_forever() -> None:
    """Send log lines to the central log host in small batches; keep them while it is down."""
    pending: list[str] = []
    while True:
        pending.append(shipping.get())
        while not shipping.empty() and len(pending) < 200:
            pending.append(shipping.get_nowait())
        try:
            body = "".join(pending).encode()
            urllib.request.urlopen(urllib.request.Request(SHIP_URL, data=body), timeout=5).read()
            pending = []
        except OSError:
            time.sleep(2)


def denied_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        lines = DENY.read_text().split()
    except OSError:
        return []
    return [ipaddress.ip_network(entry, strict=False) for entry in lines if valid_network(entry)]


def valid_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


class Handler(BaseHTTPRequestHandler):
    server_version = "Apache/2.4.57 (Debian)"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    # -- the request's frame -------------------------------------------------

    def client_ip(self) -> str:
        forwarded = self.headers.get("X-Forwarded-For", "")
        first = forwarded.split(",")[0].strip()
        return first if valid_network(first) and "/" not in first else self.client_address[0]

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.handle_request()

    def do_POST(self) -> None:  # noqa: N802
        self.handle_request()

    def do_HEAD(self) -> None:  # noqa: N802
        self.handle_request()

    def handle_request(self) -> None:
        url = urlsplit(self.path)
        self.body = b""
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= 65536:
            self.body = self.rfile.read(length)
        client = ipaddress.ip_address(self.client_ip())
        if any(client in network for network in denied_networks()):
            return self.reply(403, "Forbidden\n")
        if url.path == "/admin" or url.path.startswith("/admin/"):
            return self.admin(url)
        if url.path.startswith("/cgi-bin/"):
            return self.cgi(url)
        return self.static(url.path)

    def reply(
        self,
        status: int,
        text: str | bytes,
        content_type: str = "text/plain",
        headers: dict[str, str] | None = None,
    ) -> None:
        data = text.encode() if isinstance(text, str) else text
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.write_log(status, len(data) if self.command != "HEAD" else 0)

    def log_request(self, code="-", size="-") -> None:
        pass  # reply() writes the access log once it knows the size sent

    def write_log(self, status: int, size: int) -> None:
        if self.client_address[0] == "127.0.0.1":
            return  # the monitoring's own requests
        stamp = datetime.now(LOCAL).strftime("%d/%b/%Y:%H:%M:%S %z")
        sent = size or "-"
        referer = self.headers.get("Referer", "-")
        agent = self.headers.get("User-Agent", "-")
        line = (
            f'{self.client_ip()} - - [{stamp}] "{self.requestline}" {status} {sent} '
            f'"{referer}" "{agent}"\n'
        )
        with ACCESS_LOG.open("a") as log:
            log.write(line)
        with contextlib.suppress(queue.Full):  # the log host is down for long: drop
            shipping.put_nowait(line)

    def log_message(self, format, *args) -> None:  # noqa: A002 (http.server's naming)
        pass  # write_log writes the access log

    # -- the site ------------------------------------------------------------

    def static(self, path: str) -> None:
        target = (HTML / path.lstrip("/")).resolve()
        if HTML.resolve() not in (target, *target.parents):
            return self.reply(404, "Not Found\n")
        if target.is_dir():
            if not (target / "index.html").is_file():
                return self.reply(403, "Forbidden\n")
            target = target / "index.html"
        if not target.is_file():
            return self.reply(404, "Not Found\n")
        self.reply(200, target.read_bytes(), TYPES.get(target.suffix, "application/octet-stream"))

    def cgi(self, url) -> None:
        name = url.path[len("/cgi-bin/") :]
        script = CGI / name
        if not name or "/" in name:
            return self.reply(403, "Forbidden\n")
        if not script.is_file() or not os.access(script, os.X_OK):
            return self.reply(404, "Not Found\n")
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "REQUEST_METHOD": self.command,
            "QUERY_STRING": url.query,
            "SCRIPT_NAME": url.path,
            "REMOTE_ADDR": self.client_ip(),
            "SERVER_NAME": "www.harbourfreight.example",
            "HTTP_USER_AGENT": self.headers.get("User-Agent", ""),
        }
        try:
            done = subprocess.run(
                [str(script)],
                env=env,
                input=self.body,
                capture_output=True,
                timeout=15,
                cwd=str(CGI),
            )
        except (OSError, subprocess.TimeoutExpired):
            return self.reply(500, "Internal Server Error\n")
        head, _, body = done.stdout.partition(b"\n\n")
        content_type = "text/plain"
        for header in head.decode("latin-1").splitlines():
            if header.lower().startswith("content-type:"):
                content_type = header.split(":", 1)[1].strip()
        self.reply(200, body, content_type)

    # -- the operations console ----------------------------------------------

    def admin(self, url) -> None:
        if not self.authorised():
            return self.reply(
                401,
                "Authentication required\n",
                headers={"WWW-Authenticate": 'Basic realm="web operations"'},
            )
        form = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if self.command == "POST":
            form.update(
                {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8", "replace")).items()}
            )
        action = url.path.rstrip("/")
        routes = {
            ("GET", "/admin"): lambda: (200, ADMIN_HELP),
            ("GET", "/admin/deny"): self.deny_list,
            ("POST", "/admin/deny"): lambda: self.change_deny(form),
            ("GET", "/admin/files"): lambda: self.files(form.get("dir", "/srv/www/cgi-bin")),
            ("POST", "/admin/quarantine"): lambda: self.quarantine(form.get("path", "")),
            ("GET", "/admin/processes"): self.processes,
            ("POST", "/admin/kill"): lambda: self.kill(form.get("pid", "")),
        }
        route = routes.get(("GET" if self.command == "HEAD" else self.command, action))
        if route is None:
            return self.reply(404, "No such console page: GET /admin/ lists them.\n")
        status, text = route()
        self.reply(status, text)

    def authorised(self) -> bool:
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False
        expected = ADMIN_PASSWORD.read_text().strip()
        return user == "admin" and hmac.compare_digest(password, expected)

    def deny_list(self) -> tuple[int, str]:
        entries = DENY.read_text() if DENY.exists() else ""
        return 200, entries or "(the deny list is empty)\n"

    def change_deny(self, form: dict[str, str]) -> tuple[int, str]:
        entries = DENY.read_text().split() if DENY.exists() else []
        if "remove" in form:
            if form["remove"] not in entries:
                return 404, f"{form['remove']} is not on the deny list\n"
            entries.remove(form["remove"])
            message = f"removed {form['remove']}\n"
        else:
            entry = form.get("ip", "").strip()
            if not valid_network(entry):
                return (
                    400,
                    f"not an address or network: {entry!r} (like 192.0.2.1 or 192.0.2.0/24)\n",
                )
            network = ipaddress.ip_network(entry, strict=False)
            if network.prefixlen < 8:
                return 400, f"refused: {entry} would lock out a large part of the internet\n"
            if entry not in entries:
                entries.append(entry)
            message = f"denied {entry}: its requests now get 403\n"
        DENY.write_text("".join(f"{e}\n" for e in entries))
        return 200, message

    def files(self, folder: str) -> tuple[int, str]:
        path = Path(folder)
        if not path.is_absolute() or not path.is_dir():
            return 404, f"no such folder: {folder}\n"
        rows = []
        for entry in sorted(path.iterdir()):
            info = entry.lstat()
            digest = "-"
            if stat.S_ISREG(info.st_mode) and os.access(entry, os.R_OK):
                digest = hashlib.sha256(entry.read_bytes()).hexdigest()
            changed = datetime.fromtimestamp(info.st_mtime, LOCAL).strftime("%Y-%m-%d %H:%M:%S %z")
            owner = {0: "root", 33: "www-data"}.get(info.st_uid, str(info.st_uid))
            rows.append(
                f"{stat.filemode(info.st_mode)} {owner:8} {info.st_size:7} {changed} "
                f"{digest} {entry.name}"
            )
        return 200, "\n".join(rows) + "\n" if rows else "(empty)\n"

    def quarantine(self, given: str) -> tuple[int, str]:
        path = Path(given)
        if not path.is_absolute() or not path.is_file() or path.is_symlink():
            return 404, f"no such file: {given!r} (give its absolute path)\n"
        if not any(root in path.resolve().parents for root in QUARANTINE_FROM):
            return 403, "only files under /srv/www or /tmp may be quarantined\n"
        target = QUARANTINE / path.name
        if target.exists():
            target = QUARANTINE / f"{path.name}.{int(time.time())}"
        shutil.move(str(path), target)
        target.chmod(0o444)
        return 200, f"moved {path} to {target} (read-only, kept as evidence)\n"

    def processes(self) -> tuple[int, str]:
        done = subprocess.run(["ps", "-eo", "pid,user,lstart,args"], capture_output=True, text=True)
        return 200, done.stdout

    def kill(self, pid_text: str) -> tuple[int, str]:
        if not pid_text.isdigit() or int(pid_text) <= 1:
            return 400, f"not a process id: {pid_text!r}\n"
        if int(pid_text) == os.getpid():
            return 400, "refused: that is the web server itself\n"
        try:
            os.kill(int(pid_text), signal.SIGTERM)
        except ProcessLookupError:
            return 404, f"no process {pid_text}\n"
        except PermissionError:
            return 403, f"process {pid_text} is not the web server user's\n"
        return 200, f"sent SIGTERM to {pid_text}\n"


def main() -> None:
    threading.Thread(target=ship_forever, daemon=True).start()
    server = ThreadingHTTPServer(("0.0.0.0", 8080), Handler)  # noqa: S104 (the lab network)
    server.serve_forever()


if __name__ == "__main__":
    main()
