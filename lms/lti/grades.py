"""Assignment and Grade Services: a module launched from an LMS with a line item, once
completed, scores 1.0 there (activityProgress Completed, gradingProgress FullyGraded).

The score is queued first (``lti_scores``, in its own commit after the completion's),
then sent at once in the same request with a short timeout (``tool.HTTP_TIMEOUT_SECONDS``
per call: the token, then the score). A platform that is down or refuses costs the
trainee at most those seconds and loses nothing: the failure is recorded on the row and
``lms lti send-scores`` sends what is left.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import requests
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException
from pylti1p3.grade import Grade
from pylti1p3.service_connector import ServiceConnector
from sqlalchemy import select

from lms.auth.models import User, utcnow
from lms.catalog.models import Module
from lms.extensions import db
from lms.lti import tool
from lms.lti.models import LtiGradeLink, LtiScore

log = logging.getLogger(__name__)
ERROR_KEPT = 500  # characters of a platform's answer kept with a score


class TokenPerCallConnector(ServiceConnector):
    """pylti1p3's connector, asking for a token each time: tokens are not kept in
    process memory (the Flask adapter keeps them in a class attribute)."""

    def _get_cached_access_token(self, scope_key):
        return None

    def _cache_access_token(self, scope_key, access_token, expires_in):
        pass


def queue_for_completion(user: User, module: Module) -> list[LtiScore]:
    """Queue a full score on each line item the trainee launched the module from."""
    links = db.session.scalars(
        select(LtiGradeLink).where(
            LtiGradeLink.user_id == user.id, LtiGradeLink.module_id == module.id
        )
    ).all()
    scores = [LtiScore(grade_link=link, score=1.0) for link in links]
    db.session.add_all(scores)
    db.session.commit()
    return scores


def send(score: LtiScore) -> bool:
    """POST the score to its line item; record the outcome. True when the platform took it."""
    link = score.grade_link
    score.attempts += 1
    try:
        connector = TokenPerCallConnector(
            tool.registration_for(link.platform), tool.TimeoutSession()
        )
        service = AssignmentsGradesService(
            connector, {"scope": link.scopes, "lineitem": link.lineitem_url}
        )
        grade = (
            Grade()
            .set_score_given(score.score)
            .set_score_maximum(1.0)
            .set_timestamp(datetime.now(UTC).isoformat())
            .set_activity_progress("Completed")
            .set_grading_progress("FullyGraded")
            .set_user_id(link.sub)
        )
        service.put_grade(grade)
    except (LtiException, requests.RequestException, KeyError, ValueError) as exc:
        return _failed(score, _reason(exc))
    except Exception as exc:  # noqa: BLE001  the trainee's completion must not fail on it
        log.exception("LTI score %s: unexpected error", score.id)
        return _failed(score, f"unexpected error: {exc}")
    score.sent_at = utcnow()
    score.last_error = ""
    db.session.commit()
    return True


def _failed(score: LtiScore, reason: str) -> bool:
    score.last_error = reason[:ERROR_KEPT]
    db.session.commit()
    log.warning("LTI score %s not sent: %s", score.id, score.last_error)
    return False


def _reason(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if response is not None:
        return f"{exc} (HTTP {response.status_code}: {response.text})"
    return str(exc) or type(exc).__name__


def on_module_completed(user: User, module: Module) -> None:
    """Receiver of ``lms.progress.signals.module_completed``."""
    for score in queue_for_completion(user, module):
        send(score)


def send_pending() -> tuple[int, int]:
    """Send every score not yet taken; (sent, failed)."""
    pending = db.session.scalars(
        select(LtiScore).where(LtiScore.sent_at.is_(None)).order_by(LtiScore.id)
    ).all()
    sent = sum(1 for score in pending if send(score))
    return sent, len(pending) - sent
