"""The home page ("/") of each staff role, registered with lms.web.role_homes:

- an instructor: the cohorts they teach (progress, who is stuck) and their trainees'
  running labs;
- a centre admin: the centres they run, their cohorts, due dates coming up;
- a platform admin: the lab engine, labs running against capacity, warm pools, recent
  failures, and the platform's size.
"""

from __future__ import annotations

from flask import Flask, render_template
from flask_login import current_user

from lms.auth.models import Role, utcnow
from lms.centres import services
from lms.centres.reports import staff_home


def instructor_home():
    today = utcnow().date()
    cohorts = services.cohorts_visible_to(current_user)
    return render_template(
        "centres/home_instructor.html",
        cards=staff_home.cohort_cards(cohorts, with_stuck=True, today=today),
        running=staff_home.running_labs(current_user),
        stuck_shown=staff_home.STUCK_SHOWN,
    )


def centre_admin_home():
    today = utcnow().date()
    centres = services.centres_for(current_user)
    cohorts = services.cohorts_visible_to(current_user)
    return render_template(
        "centres/home_centre_admin.html",
        centres=centres,
        cards=staff_home.cohort_cards(cohorts, with_stuck=False, today=today),
        due=staff_home.due_dates([c.id for c in cohorts], today),
        due_window=staff_home.DUE_WINDOW_DAYS,
        running=staff_home.running_labs(current_user),
    )


def platform_admin_home():
    return render_template("centres/home_platform_admin.html", state=staff_home.platform_state())


def register(app: Flask) -> None:
    from lms.web.role_homes import register_role_home

    register_role_home(app, Role.INSTRUCTOR.value, instructor_home)
    register_role_home(app, Role.CENTRE_ADMIN.value, centre_admin_home)
    register_role_home(app, Role.PLATFORM_ADMIN.value, platform_admin_home)
