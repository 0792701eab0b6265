"""A deliberately misconfigured web server for the misconfiguration lab. DO NOT reuse this code.

What was left behind on purpose:
- /backup/ has directory listing on, and yesterday's database dump is in it
  (with the per-trainee flag, from /srv/flag.txt, as a deploy key);
- the site's .git folder is published: /.git/config shows a remote URL with
  a password in it;
- verbose errors: a failing page shows a traceback;
- the Server header names an old version, and no security header is sent.
"""

import html
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

FLAG_FILE = Path("/srv/flag.txt")
GIT_CONFIG = """[core]
\trepositoryformatversion = 0
\tfilemode = true
\tbare = false
[remote "origin"]
\turl = https://deploy:Gh0st-Token-77@git.shop.example/shop/site.git
\tfetch = +refs/heads/*:refs/remotes/origin/*
[branch "main"]
\tremote = origin
\tmerge = refs/heads/main
"""
BACKUP = "shop-2024-05-13.sql"


DUMP = """-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)
-- Host: localhost    Database: shop
CREATE TABLE `users` (`id` int NOT NULL, `email` varchar(255), `password_hash` varchar(255));
INSERT INTO `users` VALUES (1,'admin@shop.example','$2y$10$Q9x1c2Fh0aZ.gq8Jq3mWQe0z1p0Jt5VhQn7Ck5m2yB1m6a0dJk3gS'),
(2,'alice@example.org','$2y$10$kT7uY3n1pX0Wq9bC4eF6hO8rL2sD5gJ1mN3vB7xZ0cA9yU4iE6tRq');
CREATE TABLE `settings` (`name` varchar(64), `value` text);
INSERT INTO `settings` VALUES ('payment_provider','sandbox'),('deploy_key','{flag}');
-- Dump completed on 2024-05-13  2:00:04
"""


def dump() -> str:
    try:
        flag = FLAG_FILE.read_text().strip()
    except OSError:
        flag = "(no flag on this server)"
    return DUMP.replace("{flag}", flag)


def listing(path: str, names: list[str]) -> str:
    rows = "".join(f'<li><a href="{html.escape(n)}">{html.escape(n)}</a></li>' for n in names)
    return (
        f"<html><head><title>Index of {path}</title></head><body><h1>Index of {path}</h1>"
        f'<ul><li><a href="../">Parent Directory</a></li>{rows}</ul></body></html>'
    )


class Site(BaseHTTPRequestHandler):
    server_version = "Apache/2.4.49"
    sys_version = "(Debian)"

    def send(self, status: int, text: str, kind: str = "text/html; charset=utf-8") -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self) -> None:
        route = urlsplit(self.path).path
        pages = {
            "/": lambda: self.send(200, HOME),
            "/robots.txt": lambda: self.send(
                200, "User-agent: *\nDisallow: /backup/\n", "text/plain"
            ),
            "/backup/": lambda: self.send(200, listing("/backup", [BACKUP, "old/"])),
            "/backup/old/": lambda: self.send(200, listing("/backup/old", [])),
            f"/backup/{BACKUP}": lambda: self.send(200, dump(), "application/sql"),
            "/.git/": lambda: self.send(403, "<h1>Forbidden</h1>"),
            "/.git/HEAD": lambda: self.send(200, "ref: refs/heads/main\n", "text/plain"),
            "/.git/config": lambda: self.send(200, GIT_CONFIG, "text/plain"),
            "/search": self.search,
        }
        pages.get(route, lambda: self.send(404, "<h1>Not Found</h1>"))()

    do_HEAD = do_GET

    def search(self) -> None:
        # VERBOSE ERRORS ON PURPOSE: a debug setting left on in production.
        trace = (
            "Traceback (most recent call last):\n"
            '  File "/var/www/shop/app/views.py", line 88, in search\n'
            "    rows = db.execute(SEARCH_SQL % request.args['q'])\n"
            "KeyError: 'q'\n\nDEBUG = True  (settings_production.py)\n"
        )
        self.send(500, f"<h1>Internal Server Error</h1><pre>{html.escape(trace)}</pre>")


HOME = """<!doctype html><html><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>The shop</h1><p>Opening soon. <a href="search">Search</a></p></body></html>"""


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", 8080), Site).serve_forever()  # noqa: S104
