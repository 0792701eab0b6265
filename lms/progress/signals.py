"""What the progress domain announces, so that domains above it (certificates) can act on
a trainee's progress without progress importing them."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Sent with the User as sender and ``course=`` the Course, once, after the commit that
# marked the trainee's enrolment completed (every live module done). Receivers run in
# their own transaction: a failing receiver never undoes the completion.
course_completed = _signals.signal("course-completed")

# Sent with the User as sender and ``module=`` the Module, once, after the commit that
# marked the module done for the trainee (lms.lti sends its score to an LMS).
module_completed = _signals.signal("module-completed")
