"""A second baseline of bench/module_page.py: the platform itself (same configuration,
hooks, session and sign-in check) with one extra page that renders nothing. What it
costs is the floor under every signed-in page."""

from flask_login import login_required

from lms import create_app

app = create_app()


@app.get("/bench/floor")
@login_required
def floor() -> str:
    return "ok"
