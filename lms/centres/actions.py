"""What the centre and cohort pages change, one committed transaction each.

Each function here is a service of ``lms.centres.services`` that also commits;
on a ``CentreError`` (a message for the person) the session is rolled back, so
a refused change leaves nothing half-written. Views call these and never commit
themselves; the demo data, the generator and the roster import call the services
directly and commit once for many changes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from lms.centres import invitations, services
from lms.centres.services import CentreError
from lms.extensions import db

P = ParamSpec("P")
R = TypeVar("R")


def committed(change: Callable[P, R]) -> Callable[P, R]:
    """``change`` in its own transaction: committed, or rolled back on a CentreError."""

    @functools.wraps(change)
    def action(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = change(*args, **kwargs)
        except CentreError:
            db.session.rollback()
            raise
        db.session.commit()
        return result

    return action


create_centre = committed(services.create_centre)
update_centre = committed(services.update_centre)
add_centre_admin = committed(services.add_centre_admin)
remove_centre_admin = committed(services.remove_centre_admin)
offer_course = committed(services.offer_course)
withdraw_course = committed(services.withdraw_course)
set_course_shared = committed(services.set_course_shared)
create_cohort = committed(services.create_cohort)
update_cohort = committed(services.update_cohort)
assign_course = committed(services.assign_course)
unassign_course = committed(services.unassign_course)
move_trainee = committed(services.move_trainee)
remove_member = committed(services.remove_member)
add_instructor = committed(invitations.add_instructor)
remove_instructor = committed(services.remove_instructor)
renew_invitation = committed(invitations.renew_invitation)
cancel_invitation = committed(invitations.cancel_invitation)
