"""A trainee's due dates as an iCalendar feed, at a secret address per user.

The address carries the user id and a token: an HMAC (the platform's secret key) of the
user id and a per-user secret (``CalendarFeed``; empty until the first reset). So the
database alone does not give the address away, and resetting the secret makes every
older address answer 404. The feed is read by calendar programs, which sign in to
nothing: the token is the only key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app, url_for
from icalendar import Calendar, Event

from lms.auth.models import User, utcnow
from lms.centres.models import CalendarFeed
from lms.centres.trainee_home import Assignment, assignments_of
from lms.extensions import db

PRODUCT_ID = "-//Cyber Range LMS//due dates//EN"


def _secret_of(user_id: int) -> str:
    feed = db.session.get(CalendarFeed, user_id)
    return feed.secret if feed else ""


def feed_token(user_id: int, secret: str | None = None) -> str:
    secret = _secret_of(user_id) if secret is None else secret
    key = str(current_app.config["SECRET_KEY"]).encode()
    message = f"calendar-feed:{user_id}:{secret}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:40]


def feed_url(user: User) -> str:
    return url_for(
        "centres.calendar_feed_ics", user_id=user.id, token=feed_token(user.id), _external=True
    )


def user_for_token(user_id: int, token: str) -> User | None:
    """The active user whose feed this is, or None (wrong or reset token)."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    if not hmac.compare_digest(feed_token(user_id).encode(), token.encode()):
        return None
    return user


def reset_feed(user: User) -> None:
    """A new secret: the old address stops working at once."""
    feed = db.session.get(CalendarFeed, user.id) or CalendarFeed(user_id=user.id)
    feed.secret = secrets.token_hex(16)
    feed.reset_at = utcnow()
    db.session.add(feed)
    db.session.commit()


def calendar_for(user: User) -> bytes:
    """The user's due dates: one all-day event per assigned course with a due date."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Cyber Range LMS: due dates")
    # How often subscribed calendars should fetch it again (RFC 7986; Outlook's own name).
    calendar.add("refresh-interval", timedelta(hours=6), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT6H")
    stamp = utcnow()
    for assignment in assignments_of(user):
        if assignment.due_on:
            calendar.add_component(_event(assignment, user, stamp))
    return calendar.to_ical()


def _event(assignment: Assignment, user: User, stamp) -> Event:
    course, progress = assignment.course, assignment.progress
    event = Event()
    # Stable per user and course: a calendar updates the event when the date moves.
    event.add("uid", f"due-{user.id}-{course.id}@cyber-range-lms")
    event.add("dtstamp", stamp)
    event.add("dtstart", assignment.due_on)
    event.add("dtend", assignment.due_on + timedelta(days=1))
    done = " (completed)" if assignment.done else ""
    event.add("summary", f"Due: {course.title}{done}")
    event.add(
        "description",
        f"Cohort: {', '.join(assignment.cohorts)}. "
        f"Progress: {progress.done} of {progress.total} modules done.",
    )
    event.add("url", url_for("catalog.course", slug=course.slug, _external=True))
    event.add("transp", "TRANSPARENT")
    return event
