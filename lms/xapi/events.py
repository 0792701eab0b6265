"""The learning events the platform tells its learning record store about.

Each function is called where the event is recorded, before that transaction commits: the
statement is a row of ``xapi_statements`` committed with the event (or not at all), and a
sender (``lms.xapi.sender``) delivers it later, off the request. With ``LMS_XAPI_ENDPOINT``
unset they do nothing. A statement that cannot be made (the platform's address is not
configured) is logged and skipped: it never costs the trainee the page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from flask import current_app

from lms.auth.models import User, utcnow
from lms.catalog.models import Module
from lms.content import lab_library
from lms.extensions import db
from lms.xapi import statements as xs
from lms.xapi.models import XapiStatement

log = logging.getLogger(__name__)

# Other domains add the activities that group a trainee's statements (centres: their
# cohorts and centres), each a function of the user id giving activities (xs.activity).
GroupingRule = Callable[[int], list[dict]]
grouping_rules: list[GroupingRule] = []
_WARNED_KEY = "xapi_not_configured_warned"


def enabled() -> bool:
    """Whether statements are recorded: an LRS is configured."""
    return bool(current_app.config.get("LMS_XAPI_ENDPOINT"))


def module_experienced(user: User, module) -> None:
    """The trainee opened a module (``module``: a Module or its snapshot)."""
    _queue(
        lambda: xs.statement(
            xs.actor_of(user),
            xs.EXPERIENCED,
            xs.module_activity(module),
            utcnow(),
            parents=[xs.course_activity(module.course)],
            grouping=_grouping(user.id),
        )
    )


def quiz_answered(user: User, module, result) -> None:
    """A graded quiz attempt (``result``: lms.progress.quizzes.QuizResult)."""
    asked = len(result.questions)
    outcome = {"success": bool(result.passed), "completion": True}
    if asked:
        outcome["score"] = xs.score(result.right, asked)
    _queue(
        lambda: xs.statement(
            xs.actor_of(user),
            xs.ANSWERED,
            xs.quiz_activity(module),
            utcnow(),
            result=outcome,
            parents=[xs.module_activity(module)],
            grouping=[xs.course_activity(module.course), *_grouping(user.id)],
        )
    )


def module_completed(user: User, module) -> None:
    """The trainee completed a module."""
    _queue(
        lambda: xs.statement(
            xs.actor_of(user),
            xs.COMPLETED,
            xs.module_activity(module),
            utcnow(),
            result={"completion": True},
            parents=[xs.course_activity(module.course)],
            grouping=_grouping(user.id),
        )
    )


def course_completed(user: User, course) -> None:
    """The trainee completed every live module of a course."""
    _queue(
        lambda: xs.statement(
            xs.actor_of(user),
            xs.COMPLETED,
            xs.course_activity(course),
            utcnow(),
            result={"completion": True},
            grouping=_grouping(user.id),
        )
    )


def lab_launched(user: User, lab_slug: str, module_id: int | None = None) -> None:
    """The trainee asked for a lab to start (a fresh session, or a warm pool's)."""
    _queue(
        lambda: xs.statement(
            xs.actor_of(user),
            xs.LAUNCHED,
            xs.lab_activity(_spec(lab_slug)),
            utcnow(),
            **_lab_context(user.id, module_id),
        )
    )


def task_completed(user_id: int, lab_slug: str, task, module_id: int | None = None) -> None:
    """A lab task done for the first time (a right flag, a passed check)."""

    def build() -> dict:
        spec = _spec(lab_slug)
        context = _lab_context(user_id, module_id)
        context["parents"] = [xs.lab_activity(spec)]
        outcome = {"success": True, "completion": True}
        if task.points:
            outcome["score"] = xs.score(task.points, task.points)
        return xs.statement(
            xs.actor_of(db.session.get(User, user_id)),
            xs.COMPLETED,
            xs.task_activity(spec, task),
            utcnow(),
            result=outcome,
            **context,
        )

    _queue(build)


def hint_revealed(user: User, lab_slug: str, task, module_id: int | None = None) -> None:
    """The trainee revealed a lab task's hint (the first time: later views are reads)."""

    def build() -> dict:
        spec = _spec(lab_slug)
        context = _lab_context(user.id, module_id)
        context["parents"] = [xs.task_activity(spec, task)]
        return xs.statement(
            xs.actor_of(user), xs.ASKED, xs.hint_activity(spec, task), utcnow(), **context
        )

    _queue(build)


# -- making and queueing ----------------------------------------------------------------------


def _queue(build: Callable[[], dict]) -> None:
    """Add the statement ``build`` makes to the session: the caller's commit queues it."""
    if not enabled():
        return
    try:
        made = build()
    except xs.NotConfigured as exc:
        _warn_once(str(exc))
        return
    except Exception:
        log.exception("an xAPI statement could not be made (the event itself is recorded)")
        return
    db.session.add(
        XapiStatement(
            statement_id=made["id"],
            statement_json=json.dumps(made, separators=(",", ":")),
            next_attempt_at=utcnow(),
        )
    )


def _warn_once(message: str) -> None:
    if not current_app.extensions.get(_WARNED_KEY):
        current_app.extensions[_WARNED_KEY] = True
        log.error("xAPI statements are not recorded: %s", message)


def _grouping(user_id: int) -> list[dict]:
    return [found for rule in grouping_rules for found in rule(user_id)]


def _spec(lab_slug: str):
    spec = lab_library.get_spec(lab_slug)
    if spec is None:  # removed since: the statement still names it
        raise LookupError(f"no lab {lab_slug!r}")
    return spec


def _lab_context(user_id: int, module_id: int | None) -> dict:
    """A lab's statement sits in its module (when started from one) and that course."""
    module = db.session.get(Module, module_id) if module_id is not None else None
    grouping = _grouping(user_id)
    if module is None:
        return {"grouping": grouping}
    return {
        "parents": [xs.module_activity(module)],
        "grouping": [xs.course_activity(module.course), *grouping],
    }
