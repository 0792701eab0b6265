"""Who may reach a lab's terminal, its web services and its recordings; the audit trail.

Checked on every WebSocket and every proxied request, before anything is
opened: a signed-in user, the Origin of the page that opened it, and the lab
session's owner. Staff (instructors and admins of a cohort the trainee is in)
may watch a terminal read-only and review recordings; every such access by
someone other than the trainee is written to the audit log (``lms.audit``).

A lab session may be shared (a team exercise's environment, ``lms.labs.sharing``):
its members each open their own terminal on their role's workstation, and the
registered rule may let more staff watch a member's terminal. Watching and reviewing
go by the person whose terminal it is, not by the session's owner.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Request, abort, request

from lms.audit.services import record
from lms.auth.models import User
from lms.auth.visibility import can_view_trainee
from lms.extensions import db
from lms.labs import sharing
from lms.labs.models import LabSession

log = logging.getLogger(__name__)


def same_origin(req: Request | None = None) -> bool:
    """True when the request's Origin header names this host (scheme http or https)."""
    req = req or request
    origin = req.headers.get("Origin", "")
    if not origin or origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == req.host.lower()


def proxy_request_allowed(req: Request | None = None) -> bool:
    """A proxied request must come from the platform's own pages or the address bar.

    Browsers say where a request comes from (``Sec-Fetch-Site``); another site
    must not make a trainee's browser load (and run) the lab's pages under the
    platform's origin. Without that header, an Origin that is present must match.
    """
    req = req or request
    if req.headers.get("Sec-Fetch-Site", "") in ("cross-site", "same-site"):
        return False
    if "Origin" in req.headers:
        return same_origin(req)
    return True


def platform_origin(req: Request | None = None) -> str:
    req = req or request
    return f"{req.scheme}://{req.host}"


def lab_session_or_404(session_id: int) -> LabSession:
    lab_session = db.session.get(LabSession, session_id)
    if lab_session is None:
        abort(404, description="There is no lab session at this address.")
    return lab_session


def is_owner(user, lab_session: LabSession) -> bool:
    return bool(user.is_authenticated and user.id == lab_session.user_id)


def can_follow(user, trainee: User) -> bool:
    """Staff who may see this trainee's labs (the one rule of
    ``lms.auth.visibility``)."""
    return bool(user.is_authenticated and user.is_staff and can_view_trainee(user, trainee.id))


def can_review(user, lab_session: LabSession) -> bool:
    """The trainee themselves, or staff who follow them."""
    return is_owner(user, lab_session) or can_follow(user, lab_session.user)


def works_in(user, lab_session: LabSession) -> bool:
    """The session's owner, or a member the sharing rule lets in (a team exercise)."""
    return is_owner(user, lab_session) or sharing.workstation_for(user, lab_session) is not None


def may_watch(viewer, lab_session: LabSession, terminal_user: User) -> bool:
    """May ``viewer`` watch (or replay) ``terminal_user``'s terminals in this session:
    staff who follow that person, or whom the session's sharing rule allows."""
    if not viewer.is_authenticated:
        return False
    return can_follow(viewer, terminal_user) or (
        sharing.may_watch(viewer, lab_session, terminal_user) is True
    )


def may_see_recording(viewer, lab_session: LabSession, terminal_user: User) -> bool:
    """A recording (replay, commands) of ``terminal_user``'s: theirs, or a watcher's."""
    return bool(viewer.is_authenticated and viewer.id == terminal_user.id) or may_watch(
        viewer, lab_session, terminal_user
    )


def audit(
    action: str,
    lab_session: LabSession | None = None,
    subject: User | None = None,
    detail: str = "",
) -> None:
    """Record what a member of staff did to a trainee's lab in the platform's audit log
    (committed at once), about the trainee's centre."""
    subject = subject or (lab_session.user if lab_session else None)
    target = f"lab session {lab_session.id}" if lab_session else subject
    record(action, target, detail, subject=subject, lab_session=lab_session)
