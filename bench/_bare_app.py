"""The baseline of bench/module_page.py: a bare Flask app that answers every GET with the
bytes of a page saved to the file named by ``BENCH_PAGE_FILE``."""

import os
from pathlib import Path

from flask import Flask, Response

app = Flask(__name__)
PAGE = Path(os.environ["BENCH_PAGE_FILE"]).read_bytes()


@app.get("/<path:_path>")
def page(_path: str) -> Response:
    return Response(PAGE, mimetype="text/html")
