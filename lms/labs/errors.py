"""Errors a trainee's lab action can end in, each with its HTTP status and a message they can act on.

Views and the API turn them into a flash message or a JSON error; services raise them.
"""

from __future__ import annotations

UNAVAILABLE_MESSAGE = (
    "The lab service is unavailable right now; your progress is safe — try again in a few minutes."
)
NOT_ANSWERING_MESSAGE = (
    "The lab engine is not answering right now, so labs cannot start; your progress is "
    "safe — try again in a few minutes."
)
IMAGE_MISSING_MESSAGE = (
    "This lab is not ready on the platform yet (its image has not been built). "
    "The administrators have been told; try again later."
)
# The platform's places are all taken: LMS_MAX_LABS_TOTAL, or every lab node at its maximum.
PLATFORM_FULL_MESSAGE = (
    "All lab places of the platform are in use right now. "
    "Try again in a few minutes; your progress is safe."
)
START_FAILED_MESSAGE = (
    "The lab could not start. Try again; if it fails again, tell your instructor."
)


class LabActionError(Exception):
    """A trainee's or an admin's lab action was refused (unknown lab, capacity, not
    running, ...): an HTTP ``status``, an ``error`` code for the API and a message for the
    person. Failures of the engine itself are ``lms.labs.runtime.LabError``."""

    status = 400
    error = "lab_error"

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra


class BadLabRequest(LabActionError):
    status, error = 400, "bad_request"


class LabUnknown(LabActionError):
    status, error = 404, "unknown_lab"


class SessionNotFound(LabActionError):
    status, error = 404, "not_found"


class TaskUnknown(LabActionError):
    status, error = 400, "unknown_task"


class PenaltyNotAccepted(LabActionError):
    """A hint that costs points, asked for without accepting the cost."""

    status, error = 409, "penalty_not_accepted"


class CapacityReached(LabActionError):
    status, error = 409, "capacity"


class NotRunning(LabActionError):
    status, error = 409, "not_running"


class ExtendLimit(LabActionError):
    status, error = 409, "extend_limit"


class TooManyAttempts(LabActionError):
    status, error = 429, "rate_limited"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class ServiceUnavailable(LabActionError):
    status, error = 503, "lab_service_unavailable"

    def __init__(self, message: str = UNAVAILABLE_MESSAGE, **extra):
        super().__init__(message, **extra)


class TeamLabOnly(LabActionError):
    status, error = 409, "team_lab"


def refuse_team_lab(spec) -> None:
    """A team lab (lab.yaml ``mode: team``) is started, graded, extended and stopped by its
    exercise (lms.exercises), never through a trainee's own lab actions."""
    if spec is not None and spec.is_team:
        raise TeamLabOnly(
            f"“{spec.title}” is a team exercise: it runs from the Exercises page, where "
            "your team works it and the white cell starts and stops it."
        )
