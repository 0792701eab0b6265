"""What a trainee's browser asked of the lab's web services through the platform's proxy,
kept for the session replay's timeline (lms.terminal.review).

Pages, form posts and API calls are kept; the images, scripts and styles a page pulls
in are not (they say nothing about what the trainee did, and would flood the list).
"""

from __future__ import annotations

from sqlalchemy import func, select

from lms.extensions import db
from lms.terminal.models import LabWebRequest

MAX_REQUESTS_PER_SESSION = 5000  # against a flood (a script in a loop)
MAX_PATH = 500
# Content types of answers that are something the trainee looked at or sent.
LISTED_TYPES = ("text/html", "application/xhtml+xml", "application/json", "text/plain", "xml")
QUIET_METHODS = {"HEAD", "OPTIONS"}


def worth_listing(method: str, status: int | None, content_type: str) -> bool:
    """Whether a proxied request belongs in the replay's timeline."""
    if method in QUIET_METHODS:
        return False
    if method != "GET" or status is None or status >= 400:
        return True  # form posts and API changes, and every failure
    kind = content_type.split(";")[0].strip().lower()
    return any(listed in kind for listed in LISTED_TYPES)


def record_web_request(
    session_id: int, port: int, method: str, path: str, status: int | None, content_type: str
) -> None:
    """Keep one proxied request, if it is worth listing; commits."""
    if not worth_listing(method, status, content_type):
        return
    count = db.session.scalar(
        select(func.count())
        .select_from(LabWebRequest)
        .where(LabWebRequest.session_id == session_id)
    )
    if (count or 0) >= MAX_REQUESTS_PER_SESSION:
        return
    db.session.add(
        LabWebRequest(
            session_id=session_id,
            port=port,
            method=method[:10],
            path=path[:MAX_PATH],
            status=status,
        )
    )
    db.session.commit()
