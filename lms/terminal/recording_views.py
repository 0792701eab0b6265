"""Recordings of terminals: the review of a session, replay, and the live watch.

In a shared lab session (a team exercise's) each terminal is its person's: a reader
sees the recordings and commands of the people they may (``access.may_see_recording``),
and watches the live terminals of those they may watch (``access.may_watch``)."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    render_template,
    send_file,
)
from flask_login import current_user, login_required

from lms.auth.models import User
from lms.auth.visibility import visible_trainee_ids
from lms.content import lab_library
from lms.extensions import db
from lms.labs.models import RUNNING
from lms.terminal import services
from lms.terminal.access import (
    audit,
    can_follow,
    can_review,
    lab_session_or_404,
    may_see_recording,
    may_watch,
    works_in,
)
from lms.terminal.blueprint import bp
from lms.terminal.models import TerminalRecording
from lms.terminal.review import review_session
from lms.web import CONTENT_SECURITY_POLICY

# -- recordings: review, replay, live watch -------------------------------------------------------

# The replay player runs its terminal emulator as WebAssembly.
PLAYER_CSP = CONTENT_SECURITY_POLICY.replace(
    "script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'"
)


@bp.get("/labs/recordings")
@login_required
def recordings_index():
    """Recent lab sessions with recordings, of the trainees this member of staff follows."""
    if not current_user.is_staff:
        abort(403, description="Only instructors and admins review lab sessions.")
    sessions = services.recent_sessions(visible_trainee_ids(current_user))
    return render_template("terminal/index.html", sessions=sessions)


@bp.get("/labs/trainees/<int:user_id>/sessions")
@login_required
def trainee_history(user_id: int):
    """A trainee's lab sessions, for their instructors (and themselves)."""
    trainee = db.session.get(User, user_id)
    if trainee is None:
        abort(404, description="There is no such person.")
    if current_user.id != trainee.id and not can_follow(current_user, trainee):
        abort(403, description="This person is not in a cohort of yours.")
    return render_template(
        "terminal/history.html", trainee=trainee, sessions=services.trainee_sessions(trainee.id)
    )


@bp.get("/labs/sessions/<int:session_id>/review")
@login_required
def session_review(session_id: int):
    """Replays of the session's terminals, and beside each task the commands typed and the
    lab web pages opened while the trainee worked on it."""
    lab_session = lab_session_or_404(session_id)
    people = services.session_people(lab_session)
    shown = {p.id for p in people if may_see_recording(current_user, lab_session, p)}
    participant = works_in(current_user, lab_session)
    if not (shown or participant or can_review(current_user, lab_session)):
        abort(403, description="This lab session is not one you may review.")
    if not participant:
        audit("recording.review", lab_session)
    review = review_session(lab_session, shown)
    can_watch = lab_session.status == RUNNING and any(
        may_watch(current_user, lab_session, p) for p in people
    )
    response = Response(
        render_template(
            "terminal/review.html",
            review=review,
            lab_session=lab_session,
            can_watch=can_watch,
            follows_owner=can_review(current_user, lab_session),
        )
    )
    response.headers["Content-Security-Policy"] = PLAYER_CSP
    return response


@bp.get("/labs/sessions/<int:session_id>/recordings/<int:recording_id>.cast")
@login_required
def recording_cast(session_id: int, recording_id: int):
    """The asciicast file of one terminal (for the replay player)."""
    lab_session = lab_session_or_404(session_id)
    recording = db.session.get(TerminalRecording, recording_id)
    if recording is None or recording.session_id != lab_session.id:
        if not can_review(current_user, lab_session):
            abort(403, description="This lab session is not one you may review.")
        abort(404, description="There is no such recording.")
    if not may_see_recording(current_user, lab_session, recording.user):
        abort(403, description="This lab session is not one you may review.")
    path = services.recording_file(recording)
    if not path.exists():
        abort(404, description="The recording file is missing.")
    return send_file(
        path,
        mimetype="application/x-asciicast",
        max_age=0,
        download_name=f"lab-{session_id}-terminal-{recording_id}.cast",
    )


@bp.get("/labs/sessions/<int:session_id>/watch")
@login_required
def watch(session_id: int):
    """Watch a trainee's running terminals, read-only: in a shared session (a team's),
    those of the members this viewer may watch, with whose each is and where it runs."""
    lab_session = lab_session_or_404(session_id)
    if not any(
        may_watch(current_user, lab_session, p) for p in services.session_people(lab_session)
    ):
        abort(403, description="Only the trainee's instructors and admins may watch.")
    live = services.live_recordings(lab_session.id) if lab_session.status == RUNNING else []
    spec = lab_library.get_spec(lab_session.lab_slug)
    terminals = [
        (r, services.shell_container(spec, r))
        for r in live
        if may_watch(current_user, lab_session, r.user)
    ]
    return render_template(
        "terminal/watch.html",
        lab_session=lab_session,
        terminals=terminals,
        follows_owner=can_follow(current_user, lab_session.user),
    )
