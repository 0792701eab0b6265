"""Write the evidence of the files-and-text lab: a web server's access log in the
combined format, and a folder of files whose names lie about their type.

Deterministic (fixed seed). In the log, one address scans the site (many 404s)
and another hammers the login form; a few requests end in server errors.
Usage: make_files.py ACCESS_LOG EVIDENCE_DIR
"""

import random
import sys
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

VISITORS = [
    "198.51.100.7",
    "198.51.100.61",
    "192.0.2.33",
    "192.0.2.80",
    "203.0.113.9",
    "203.0.113.77",
    "10.20.0.11",
]
SCANNER = "192.0.2.201"
GUESSER = "203.0.113.150"
PAGES = [
    "/",
    "/products",
    "/products/42",
    "/products/7",
    "/about",
    "/contact",
    "/static/site.css",
    "/static/app.js",
    "/login",
]
PROBES = [
    "/wp-login.php",
    "/.env",
    "/.git/config",
    "/phpmyadmin/",
    "/admin.php",
    "/backup.zip",
    "/config.php.bak",
    "/server-status",
    "/cgi-bin/test.cgi",
    "/vendor/phpunit/",
]
AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
]


def line(ip: str, moment: datetime, request: str, status: int, size: int, agent: str) -> str:
    return (
        f'{ip} - - [{moment:%d/%b/%Y:%H:%M:%S} +0000] "{request}" {status} {size} "-" "{agent}"\n'
    )


def access_log(rng: random.Random) -> str:
    lines = []
    moment = datetime(2024, 5, 14, 6, 0, tzinfo=UTC)
    while moment < datetime(2024, 5, 14, 18, 0, tzinfo=UTC):
        moment += timedelta(seconds=rng.randint(5, 60))
        path = rng.choice(PAGES)
        status = 500 if rng.random() < 0.01 else (304 if path.startswith("/static") else 200)
        size = 0 if status == 304 else rng.randint(600, 15000)
        lines.append(
            (
                moment,
                line(
                    rng.choice(VISITORS),
                    moment,
                    f"GET {path} HTTP/1.1",
                    status,
                    size,
                    rng.choice(AGENTS),
                ),
            )
        )
    start = datetime(2024, 5, 14, 11, 3, tzinfo=UTC)
    for index in range(160):  # a scanner: fast, mostly 404s
        path = PROBES[index % len(PROBES)] + ("" if index < 10 else f"?v={index}")
        lines.append(
            (
                start + timedelta(seconds=index),
                line(
                    SCANNER,
                    start + timedelta(seconds=index),
                    f"GET {path} HTTP/1.1",
                    404,
                    196,
                    "Mozilla/5.0 zgrab/0.x",
                ),
            )
        )
    start = datetime(2024, 5, 14, 14, 20, tzinfo=UTC)
    for index in range(140):  # password guessing against the login form
        when = start + timedelta(seconds=2 * index)
        lines.append(
            (when, line(GUESSER, when, "POST /login HTTP/1.1", 401, 512, "python-requests/2.31.0"))
        )
    return "".join(text for _, text in sorted(lines))


def evidence(folder: Path) -> None:
    """Four files; one named like a picture is really a PDF."""
    folder.mkdir(parents=True, exist_ok=True)
    png = (
        b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(13) + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    (folder / "logo.png").write_bytes(png)
    (folder / "notes.txt").write_text("call the hosting provider about the backup window\n")
    stream = zlib.compress(b"BT /F1 12 Tf 72 720 Td (Quarterly figures) Tj ET")
    pdf = (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"3 0 obj << /Length "
        + str(len(stream)).encode()
        + b" /Filter /FlateDecode >>\nstream\n"
        + stream
        + b"\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    (folder / "holiday-photo.jpg").write_bytes(pdf)
    (folder / "report.docx").write_bytes(b"PK\x03\x04" + bytes(26) + b"word/document.xml")


def main(log_path: str, evidence_dir: str) -> None:
    Path(log_path).write_text(access_log(random.Random(202405)))
    evidence(Path(evidence_dir))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
