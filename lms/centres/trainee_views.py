"""The trainee's home page (registered with lms.web.home for the trainee role) and their
calendar feed of due dates."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from lms.audit.services import record
from lms.centres import calendar_feed
from lms.centres.blueprint import bp
from lms.centres.trainee_home import trainee_home
from lms.web import form_page


def trainee_home_page():
    return render_template(
        "centres/home_trainee.html",
        home=trainee_home(current_user),
        calendar_url=calendar_feed.feed_url(current_user),
    )


@bp.get("/calendar/<int:user_id>/<token>.ics")
def calendar_feed_ics(user_id: int, token: str):
    user = calendar_feed.user_for_token(user_id, token)
    if user is None:
        abort(404, description="There is no calendar at this address. It may have been reset.")
    return Response(
        calendar_feed.calendar_for(user),
        mimetype="text/calendar",
        headers={
            "Content-Disposition": 'inline; filename="due-dates.ics"',
            "Cache-Control": "no-store",
        },
    )


@bp.post("/calendar/reset")
@form_page("progress.home")
@login_required
def reset_calendar_feed():
    calendar_feed.reset_feed(current_user)
    record("calendar-feed.reset", current_user)
    flash(
        "Your calendar address is new: the old one no longer works. "
        "Add the new one to your calendar.",
        "success",
    )
    return redirect(url_for("progress.home") + "#calendar")
