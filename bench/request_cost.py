"""CPU time per request in one process, no server: a bare Flask app serving the module
page's bytes, the platform's empty signed-in page (the floor every signed-in page pays)
and the module page. The same set-up as bench/module_page.py; the numbers to compare
are the platform's minus bare Flask's.

    .venv/bin/python bench/request_cost.py [--requests 2000]

Each figure is the best of five batches of CPU time (time.process_time), which a shared
machine disturbs less than wall-clock time.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import module_page  # noqa: E402  (the bench's database and trainee)

BATCHES = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lms-bench-") as tmp:
        env = module_page._environment(Path(tmp))
        module_url = module_page._prepare_database(env)
        os.environ.update({k: v for k, v in env.items() if k.startswith("LMS_")})
        run(module_url, args.requests)


def run(module_url: str, requests: int) -> None:
    from flask import Flask, Response
    from flask_login import login_required
    from werkzeug.test import EnvironBuilder

    from lms import create_app

    app = create_app({"LMS_REAPER_INTERVAL": 0})

    @app.get(module_page.FLOOR_URL)
    @login_required
    def floor() -> str:
        return "ok"

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    form = {"email": module_page.EMAIL, "password": module_page.PASSWORD}
    response = client.post("/login", data={**form, "csrf_token": token.group(1)})
    assert response.status_code == 302, response.status_code
    cookie = "; ".join(f"{c.key}={c.value}" for c in client._cookies.values())

    def environ(path: str) -> dict:
        headers = {"Cookie": cookie}
        built = EnvironBuilder(path=path, headers=headers, environ_base=client.environ_base)
        return built.get_environ()

    def call(wsgi, built: dict) -> bytes:
        statuses = []
        # A copy: a GET reads no body, and a request may add keys to its environ.
        body = b"".join(wsgi(dict(built), lambda s, h, e=None: statuses.append(s)))
        assert statuses[0].startswith("200"), statuses
        return body

    body = call(app.wsgi_app, environ(module_url))
    bare = Flask("bare")
    bare.add_url_rule("/<path:_path>", "page", lambda _path: Response(body, mimetype="text/html"))

    targets = {
        "bare Flask": (bare.wsgi_app, environ(module_url)),
        "floor": (app.wsgi_app, environ(module_page.FLOOR_URL)),
        "module page": (app.wsgi_app, environ(module_url)),
    }
    print(f"one process, CPU time per request, best of {BATCHES} batches of {requests // BATCHES}")
    for label, (wsgi, built) in targets.items():
        for _ in range(50):
            call(wsgi, built)
        best = float("inf")
        for _ in range(BATCHES):
            start = time.process_time()
            for _ in range(requests // BATCHES):
                call(wsgi, built)
            best = min(best, (time.process_time() - start) / (requests // BATCHES))
        print(f"{label:12} {best * 1000:6.2f} ms")


if __name__ == "__main__":
    main()
