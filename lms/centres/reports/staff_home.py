"""What the staff home pages show: an instructor's cohorts, stuck trainees and running
labs; a centre admin's centres, cohorts and coming due dates; the platform's lab engine,
capacity, warm pools and recent failures for a platform admin.

Everything is scoped by lms.centres.access: an instructor sees the cohorts they teach,
a centre admin the centres they run.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from lms.auth.models import Role, User
from lms.catalog.models import Course
from lms.centres.access import visible_trainee_ids
from lms.centres.models import Centre, Cohort, CohortCourse
from lms.centres.reports.dashboard import TraineeRow
from lms.centres.reports.dashboard_page import cohort_dashboard
from lms.centres.reports.summaries import CohortSummary, cohort_summaries
from lms.extensions import db
from lms.labs.health import engine_health
from lms.labs.models import FAILED, LIVE_STATUSES, LabSession
from lms.labs.services import lab_places

STUCK_COHORTS = 6  # cohorts whose stuck trainees the instructor's home works out
STUCK_SHOWN = 8  # stuck trainees listed per cohort (the dashboard has them all)
DUE_WINDOW_DAYS = 30  # due dates "coming up"
OVERDUE_WINDOW_DAYS = 14  # due dates just passed, still worth a look
RECENT_FAILURES = 10


@dataclass
class CohortCard:
    cohort: Cohort
    summary: CohortSummary
    stuck: list[TraineeRow] = field(default_factory=list)
    stuck_total: int = 0


def current_first(cohorts: list[Cohort], today: date) -> list[Cohort]:
    """Running cohorts first, then those to come, then the finished ones."""

    def rank(c: Cohort) -> tuple:
        finished = c.ends_on is not None and c.ends_on < today
        upcoming = c.starts_on is not None and c.starts_on > today
        return (finished, upcoming, c.centre.name, c.name)

    return sorted(cohorts, key=rank)


def cohort_cards(cohorts: list[Cohort], with_stuck: bool, today: date) -> list[CohortCard]:
    cohorts = current_first(cohorts, today)
    summaries = cohort_summaries([c.id for c in cohorts])
    cards = [CohortCard(c, summaries[c.id]) for c in cohorts]
    if with_stuck:
        for card in cards[:STUCK_COHORTS]:
            # the dashboard's figures without its matrix: one row of it, not thousands
            stuck = cohort_dashboard(card.cohort, per_page=1).stuck
            card.stuck, card.stuck_total = stuck[:STUCK_SHOWN], len(stuck)
    return cards


def running_labs(viewer: User, limit: int = 50) -> list[LabSession]:
    """Live lab sessions of the trainees ``viewer`` follows (never their own)."""
    return list(
        db.session.scalars(
            select(LabSession)
            .where(
                LabSession.status.in_(LIVE_STATUSES),
                LabSession.user_id.in_(visible_trainee_ids(viewer)),
                LabSession.user_id != viewer.id,
            )
            .options(joinedload(LabSession.user))  # names in the list: one query, not fifty
            .order_by(LabSession.created_at.desc())
            .limit(limit)
        )
    )


@dataclass
class DueDate:
    cohort: Cohort
    course: Course
    due_on: date
    days_left: int  # negative: overdue


def due_dates(cohort_ids: list[int], today: date) -> list[DueDate]:
    """Courses due in the next DUE_WINDOW_DAYS days (or just overdue), soonest first."""
    if not cohort_ids:
        return []
    rows = db.session.execute(
        select(CohortCourse, Cohort, Course)
        .join(Cohort, Cohort.id == CohortCourse.cohort_id)
        .join(Course, Course.id == CohortCourse.course_id)
        .where(
            CohortCourse.cohort_id.in_(cohort_ids),
            CohortCourse.due_on >= today - timedelta(days=OVERDUE_WINDOW_DAYS),
            CohortCourse.due_on <= today + timedelta(days=DUE_WINDOW_DAYS),
        )
        .order_by(CohortCourse.due_on, Cohort.name)
    ).all()
    return [
        DueDate(cohort, course, a.due_on, (a.due_on - today).days) for a, cohort, course in rows
    ]


@dataclass
class EngineState:
    up: bool
    not_answering: bool


@dataclass
class PlatformState:
    engine: EngineState
    labs_live: int
    labs_capacity: int
    labs_starting: int
    pools: list | None  # None: warm pools are not part of this installation
    failures: list[LabSession]
    users_by_role: dict[str, int]
    centres: int
    cohorts: int

    @property
    def capacity_percent(self) -> int:
        return (
            min(100, round(100 * self.labs_live / self.labs_capacity)) if self.labs_capacity else 0
        )


def engine_state() -> EngineState:
    health = engine_health()
    up = health.is_up(wait=1.0)  # a hung engine costs this page a second, not a worker
    return EngineState(up, not up and health.not_answering)


def warm_pools() -> list | None:
    """The warm pools' state when lms.labs.pools is installed (None otherwise).

    Looked up by name: pools are optional, and this page must not fail without them.
    """
    try:
        pools = importlib.import_module("lms.labs.pools")
    except ImportError:
        return None
    overview = getattr(pools, "overview", None)  # -> [PoolOverview], see lms.labs.pools
    if overview is None:
        return None
    try:
        return list(overview())
    except Exception:  # a broken pool report must not take the admin's home down
        current_app.logger.exception("warm pool overview failed")
        return None


def recent_failures(limit: int = RECENT_FAILURES) -> list[LabSession]:
    """The latest lab starts that failed, with the error the trainee saw."""
    return list(
        db.session.scalars(
            select(LabSession)
            .where(LabSession.status == FAILED)
            .options(joinedload(LabSession.user))
            .order_by(LabSession.created_at.desc())
            .limit(limit)
        )
    )


def platform_state() -> PlatformState:
    live = dict(
        db.session.execute(
            select(LabSession.status, func.count())
            .where(LabSession.status.in_(LIVE_STATUSES))
            .group_by(LabSession.status)
        ).all()
    )
    by_role = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
    return PlatformState(
        engine=engine_state(),
        labs_live=sum(live.values()),
        labs_capacity=lab_places(),  # fewer than LMS_MAX_LABS_TOTAL when the nodes hold less
        labs_starting=live.get("starting", 0),
        pools=warm_pools(),
        failures=recent_failures(),
        users_by_role={role.value: by_role.get(role.value, 0) for role in Role},
        centres=db.session.scalar(select(func.count()).select_from(Centre)) or 0,
        cohorts=db.session.scalar(select(func.count()).select_from(Cohort)) or 0,
    )
