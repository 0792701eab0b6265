"""What the centre and cohort pages change, one committed transaction each.

Each function here is a service of ``lms.centres.services`` that also commits;
on a ``CentreError`` (a message for the person) the session is rolled back, so
a refused change leaves nothing half-written. Views call these and never commit
themselves; the demo data, the generator and the roster import call the services
directly and commit once for many changes.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from datetime import date
from typing import ParamSpec, TypeVar

from lms.audit.services import record
from lms.auth.models import User
from lms.centres import invitations, services
from lms.centres.models import Centre, Cohort
from lms.centres.services import CentreError
from lms.extensions import db

P = ParamSpec("P")
R = TypeVar("R")


def committed(change: Callable[P, R], audit: str) -> Callable[P, R]:
    """``change`` in its own transaction: committed, or rolled back on a CentreError.
    A change made is recorded in the audit log as ``audit``, in the same transaction."""
    signature = inspect.signature(change)

    @functools.wraps(change)
    def action(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = change(*args, **kwargs)
        except CentreError:
            db.session.rollback()
            raise
        _record(audit, signature.bind(*args, **kwargs).arguments, result)
        db.session.commit()
        return result

    return action


def _record(audit: str, arguments: dict, result) -> None:
    """The centre or cohort changed is the target (a new one: the result); the other
    arguments are the details, people by e-mail and cohorts by name."""
    values = list(arguments.items())
    target = values[0][1]
    if isinstance(result, Centre | Cohort):
        target = result  # made by the change: its arguments are all details
    else:
        values = values[1:]
    details = {key: _readable(key, value) for key, value in values}
    if isinstance(target, Cohort):
        details.setdefault("cohort", target.name)
    record(audit, target, details, commit=False)


def _readable(key: str, value):
    if isinstance(value, User):
        return value.email
    if isinstance(value, Centre | Cohort):
        return value.name
    if key == "user_id" and isinstance(value, int):
        user = db.session.get(User, value)
        return user.email if user else value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | int | bool | str) or value is None:
        return value
    return str(value)


create_centre = committed(services.create_centre, "centre.create")
update_centre = committed(services.update_centre, "centre.edit")
add_centre_admin = committed(services.add_centre_admin, "centre.admin_add")
remove_centre_admin = committed(services.remove_centre_admin, "centre.admin_remove")
offer_course = committed(services.offer_course, "centre.course_offer")
withdraw_course = committed(services.withdraw_course, "centre.course_withdraw")
set_course_shared = committed(services.set_course_shared, "centre.course_share")
create_cohort = committed(services.create_cohort, "cohort.create")
update_cohort = committed(services.update_cohort, "cohort.edit")
assign_course = committed(services.assign_course, "cohort.course_assign")
unassign_course = committed(services.unassign_course, "cohort.course_unassign")
move_trainee = committed(services.move_trainee, "cohort.trainee_move")
remove_member = committed(services.remove_member, "cohort.trainee_remove")
add_instructor = committed(invitations.add_instructor, "cohort.instructor_add")
remove_instructor = committed(services.remove_instructor, "cohort.instructor_remove")
renew_invitation = committed(invitations.renew_invitation, "cohort.invitation_renew")
cancel_invitation = committed(invitations.cancel_invitation, "cohort.invitation_cancel")
