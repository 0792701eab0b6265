"""A deliberately vulnerable link-preview service for the SSRF lab. DO NOT reuse this code.

Public, on 0.0.0.0:8080: GET /preview?url=... fetches the URL from the server
and shows the start of the answer. Its only defence is a string blocklist
(VULNERABLE ON PURPOSE): URLs naming "localhost" or "127.0.0.1" are refused.
Internal, on 127.0.0.1:9000 only: a stand-in for a cloud metadata service,
with the credentials of the instance's role (the per-trainee flag, from
/srv/flag.txt) and a maintenance switch that writes /var/lib/shop/maintenance.
"""

import html
import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FLAG_FILE = Path("/srv/flag.txt")
MAINTENANCE = Path("/var/lib/shop/maintenance")
BLOCKED = ("localhost", "127.0.0.1")
ROLE = "shop-preview-role"


def page(title: str, body: str) -> str:
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)} · LinkPeek</title></head>
<body><h1>{html.escape(title)}</h1>{body}</body></html>"""


FORM = """<form method="get" action="preview">
<label>Web page to preview <input name="url" size="60" placeholder="http://..."></label>
<button type="submit">Preview</button></form>"""


class Preview(BaseHTTPRequestHandler):
    server_version = "LinkPeek/1.0"

    def send(self, status: int, text: str, kind: str = "text/html; charset=utf-8") -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path in ("/", ""):
            self.send(200, page("LinkPeek", FORM))
        elif parts.path == "/preview":
            self.preview(parse_qs(parts.query).get("url", [""])[0].strip())
        else:
            self.send(404, page("Not found", FORM))

    def preview(self, url: str) -> None:
        # VULNERABLE ON PURPOSE: a string blocklist instead of checking the address.
        if any(word in url.lower() for word in BLOCKED):
            self.send(403, page("Refused", f"<p>Internal addresses are not allowed.</p>{FORM}"))
            return
        if not url.lower().startswith(("http://", "https://")):
            self.send(400, page("Refused", f"<p>Give an http:// or https:// address.</p>{FORM}"))
            return
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310
                text = answer.read(2000).decode("utf-8", "replace")
                status = answer.status
        except urllib.error.HTTPError as exc:
            text, status = exc.read(2000).decode("utf-8", "replace"), exc.code
        except (urllib.error.URLError, OSError, ValueError) as exc:
            self.send(502, page("Preview failed", f"<p>{html.escape(str(exc))}</p>{FORM}"))
            return
        body = f"<p>{html.escape(url)} answered {status}:</p><pre>{html.escape(text)}</pre>{FORM}"
        self.send(200, page("Preview", body))


class Metadata(BaseHTTPRequestHandler):
    server_version = "metadata/1.0"

    def send(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        base = "/latest/meta-data/iam/security-credentials/"
        if parts.path == "/latest/meta-data/":
            self.send(200, "hostname\niam/\ninstance-id\n")
        elif parts.path == base:
            self.send(200, ROLE + "\n")
        elif parts.path == base + ROLE:
            try:
                key_text = FLAG_FILE.read_text().strip()
            except OSError:
                key_text = "(no flag on this server)"
            keys = {"AccessKeyId": "ASIAEXAMPLE4PREVIEW", "SecretAccessKey": key_text}
            self.send(200, json.dumps(keys, indent=2) + "\n")
        elif parts.path == "/admin/maintenance":
            mode = parse_qs(parts.query).get("mode", [""])[0]
            if mode in ("on", "off"):
                MAINTENANCE.write_text(mode + "\n")
                self.send(200, f"maintenance {mode}\n")
            else:
                self.send(400, "use ?mode=on or ?mode=off\n")
        else:
            self.send(404, "not found\n")


if __name__ == "__main__":
    internal = ThreadingHTTPServer(("127.0.0.1", 9000), Metadata)
    threading.Thread(target=internal.serve_forever, daemon=True).start()
    ThreadingHTTPServer(("0.0.0.0", 8080), Preview).serve_forever()  # noqa: S104
