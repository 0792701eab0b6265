"""A cohort's points leaderboard: its trainees ranked by their points in the cohort's
assigned courses (``lms.progress.points``).

Off by default. The cohort's instructors and the admins of its centre switch it on or
off; while it is on, the cohort's trainees see it. Nobody else does: a trainee of
another cohort, or of another centre, gets a 404 as if it did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from lms.audit.services import record
from lms.auth.access import role_required
from lms.auth.models import User
from lms.centres import forms
from lms.centres.access import STAFF, can_view_cohort, cohort_or_abort
from lms.centres.blueprint import bp
from lms.centres.models import Cohort, CohortMember
from lms.extensions import db
from lms.progress.points import leaderboard_totals


@dataclass
class Standing:
    rank: int
    user: User
    points: int

    @property
    def ordinal(self) -> str:
        """1st, 2nd, 3rd, 4th, 11th, 21st..."""
        teens = self.rank % 100 in (11, 12, 13)
        suffix = "th" if teens else {1: "st", 2: "nd", 3: "rd"}.get(self.rank % 10, "th")
        return f"{self.rank}{suffix}"


def ranked_courses(cohort: Cohort) -> list:
    return [a.course for a in cohort.courses if a.course.is_published]


def standings(cohort: Cohort) -> list[Standing]:
    """Every trainee of the cohort, most points first; equal points share a rank."""
    members = list(
        db.session.scalars(
            select(User)
            .join(CohortMember, CohortMember.user_id == User.id)
            .where(CohortMember.cohort_id == cohort.id)
        )
    )
    totals = leaderboard_totals([u.id for u in members], ranked_courses(cohort))
    members.sort(key=lambda u: (-totals[u.id], u.display_name.casefold()))
    result, rank = [], 0
    for position, user in enumerate(members, 1):
        if not result or totals[user.id] != result[-1].points:
            rank = position
        result.append(Standing(rank, user, totals[user.id]))
    return result


def is_member(user: User, cohort: Cohort) -> bool:
    return bool(
        db.session.scalar(
            select(CohortMember.id).where(
                CohortMember.cohort_id == cohort.id, CohortMember.user_id == user.id
            )
        )
    )


def can_see(user: User, cohort: Cohort) -> bool:
    """Staff who may view the cohort always (to see what trainees would); its trainees
    while the leaderboard is on."""
    if can_view_cohort(user, cohort):
        return True
    return cohort.leaderboard and is_member(user, cohort)


def my_leaderboards(user: User) -> list[tuple[Cohort, Standing | None, int]]:
    """The trainee's cohorts whose leaderboard is on: (cohort, their standing, size)."""
    if not user.is_authenticated or user.is_staff:
        return []
    cohorts = db.session.scalars(
        select(Cohort)
        .join(CohortMember, CohortMember.cohort_id == Cohort.id)
        .where(CohortMember.user_id == user.id, Cohort.leaderboard)
        .order_by(Cohort.name)
    )
    boards = []
    for cohort in cohorts:
        board = standings(cohort)
        mine = next((s for s in board if s.user.id == user.id), None)
        boards.append((cohort, mine, len(board)))
    return boards


@bp.get("/cohorts/<int:cohort_id>/leaderboard")
@login_required
def leaderboard(cohort_id: int):
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None or not can_see(current_user, cohort):
        abort(404, description="There is no leaderboard at this address.")
    return render_template(
        "centres/leaderboard.html",
        cohort=cohort,
        board=standings(cohort),
        courses=ranked_courses(cohort),
        staff_view=can_view_cohort(current_user, cohort),
    )


@bp.post("/cohorts/<int:cohort_id>/leaderboard")
@role_required(*STAFF)
def switch_leaderboard(cohort_id: int):
    """On or off, by the cohort's instructors and its centre's admins."""
    cohort = cohort_or_abort(cohort_id, current_user)
    forms.action_or_400()
    cohort.leaderboard = request.form.get("value") == "on"
    db.session.commit()
    record("cohort.leaderboard", cohort, {"leaderboard": "on" if cohort.leaderboard else "off"})
    state = "on: the cohort's trainees see it" if cohort.leaderboard else "off"
    flash(
        _("The leaderboard of %(cohort_name)s is %(state)s.", cohort_name=cohort.name, state=state),
        "success",
    )
    return redirect(url_for("centres.cohort", cohort_id=cohort.id) + "#leaderboard")
