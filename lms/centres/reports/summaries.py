"""Summaries of many cohorts at once: the centre pages' cohort lists and the
programme view that puts every centre side by side. A fixed number of
queries for any number of cohorts and centres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select

from lms.auth.models import utcnow
from lms.catalog.models import Module
from lms.centres.models import (
    Centre,
    Cohort,
    CohortCourse,
    CohortMember,
    centre_partners,
    cohort_instructors,
)
from lms.centres.reports.lab_time import session_minutes
from lms.extensions import db
from lms.labs.models import LabSession
from lms.progress.models import DONE, ModuleProgress

ACTIVE_DAYS = 7  # "active": some progress in this many days


@dataclass
class CohortSummary:
    cohort_id: int
    trainees: int = 0
    modules: int = 0
    done: int = 0
    score_total: float = 0.0
    scored: int = 0
    active: int = 0  # trainees with progress in the last ACTIVE_DAYS days

    @property
    def completion(self) -> int:
        expected = self.trainees * self.modules
        return round(100 * self.done / expected) if expected else 0

    @property
    def average_score(self) -> float | None:
        return self.score_total / self.scored if self.scored else None


def cohort_summaries(
    cohort_ids: list[int], now: datetime | None = None
) -> dict[int, CohortSummary]:
    """Trainees, completion and average score of each cohort: 4 queries for any number."""
    now = now or utcnow()
    summaries = {cid: CohortSummary(cid) for cid in cohort_ids}
    if not cohort_ids:
        return summaries
    for cid, n in db.session.execute(
        select(CohortMember.cohort_id, func.count())
        .where(CohortMember.cohort_id.in_(cohort_ids))
        .group_by(CohortMember.cohort_id)
    ):
        summaries[cid].trainees = n
    for cid, n in db.session.execute(
        select(CohortCourse.cohort_id, func.count(Module.id))
        .join(Module, and_(Module.course_id == CohortCourse.course_id, Module.retired.is_(False)))
        .where(CohortCourse.cohort_id.in_(cohort_ids))
        .group_by(CohortCourse.cohort_id)
    ):
        summaries[cid].modules = n
    progress = (
        select(
            CohortMember.cohort_id,
            func.sum(case((ModuleProgress.status == DONE, 1), else_=0)),
            func.sum(func.coalesce(ModuleProgress.quiz_score, 0)),
            func.count(ModuleProgress.quiz_score),
        )
        .join(ModuleProgress, ModuleProgress.user_id == CohortMember.user_id)
        .join(Module, and_(Module.id == ModuleProgress.module_id, Module.retired.is_(False)))
        .join(
            CohortCourse,
            and_(
                CohortCourse.cohort_id == CohortMember.cohort_id,
                CohortCourse.course_id == Module.course_id,
            ),
        )
        .where(CohortMember.cohort_id.in_(cohort_ids))
        .group_by(CohortMember.cohort_id)
    )
    for cid, done, score_total, scored in db.session.execute(progress):
        s = summaries[cid]
        s.done, s.score_total, s.scored = int(done or 0), float(score_total or 0), int(scored or 0)
    for cid, n in db.session.execute(
        select(CohortMember.cohort_id, func.count(func.distinct(ModuleProgress.user_id)))
        .join(ModuleProgress, ModuleProgress.user_id == CohortMember.user_id)
        .where(
            CohortMember.cohort_id.in_(cohort_ids),
            ModuleProgress.updated_at >= now - timedelta(days=ACTIVE_DAYS),
        )
        .group_by(CohortMember.cohort_id)
    ):
        summaries[cid].active = n
    return summaries


@dataclass
class CentreSummary:
    centre: Centre
    cohorts: int = 0
    trainees: int = 0
    instructors: int = 0
    courses: int = 0
    partners: list[str] = field(default_factory=list)
    expected: int = 0
    done: int = 0
    score_total: float = 0.0
    scored: int = 0
    active: int = 0
    lab_minutes: int = 0

    @property
    def completion(self) -> int:
        return round(100 * self.done / self.expected) if self.expected else 0

    @property
    def average_score(self) -> float | None:
        return self.score_total / self.scored if self.scored else None


def programme_overview(now: datetime | None = None) -> list[CentreSummary]:
    """Every centre side by side, in aggregate (a fixed number of queries)."""
    now = now or utcnow()
    centres = list(db.session.scalars(select(Centre).order_by(Centre.name)))
    by_id = {c.id: CentreSummary(c) for c in centres}
    cohort_centre = dict(db.session.execute(select(Cohort.id, Cohort.centre_id)).all())
    for cid, s in cohort_summaries(list(cohort_centre), now).items():
        centre = by_id[cohort_centre[cid]]
        centre.cohorts += 1
        centre.expected += s.trainees * s.modules
        centre.done += s.done
        centre.score_total += s.score_total
        centre.scored += s.scored
    people_and_courses = {
        "trainees": (CohortMember.user_id, CohortMember.cohort_id),
        "instructors": (cohort_instructors.c.user_id, cohort_instructors.c.cohort_id),
        "courses": (CohortCourse.course_id, CohortCourse.cohort_id),
    }
    for attribute, (counted, cohort_id) in people_and_courses.items():
        for centre_id, n in _distinct_per_centre(counted, cohort_id):
            setattr(by_id[centre_id], attribute, n)
    for centre_id, n in db.session.execute(
        select(Cohort.centre_id, func.count(func.distinct(ModuleProgress.user_id)))
        .join(CohortMember, CohortMember.cohort_id == Cohort.id)
        .join(ModuleProgress, ModuleProgress.user_id == CohortMember.user_id)
        .where(ModuleProgress.updated_at >= now - timedelta(days=ACTIVE_DAYS))
        .group_by(Cohort.centre_id)
    ):
        by_id[centre_id].active = n
    for centre_id, started_at, ended_at, expires_at in db.session.execute(
        select(Cohort.centre_id, LabSession.started_at, LabSession.ended_at, LabSession.expires_at)
        .join(CohortMember, CohortMember.cohort_id == Cohort.id)
        .join(LabSession, LabSession.user_id == CohortMember.user_id)
        .where(LabSession.started_at.isnot(None))
    ):
        by_id[centre_id].lab_minutes += session_minutes(started_at, ended_at, expires_at, now)
    names = {c.id: c.name for c in centres}
    for centre_id, partner_id in db.session.execute(
        select(centre_partners.c.centre_id, centre_partners.c.partner_id)
    ):
        by_id[centre_id].partners.append(names[partner_id])
    return list(by_id.values())


def _distinct_per_centre(counted, cohort_id):
    """(centre id, number of distinct ``counted`` values over its cohorts), one query;
    ``cohort_id`` is the column of ``counted``'s table that names the cohort."""
    return db.session.execute(
        select(Cohort.centre_id, func.count(func.distinct(counted)))
        .join(cohort_id.table, cohort_id == Cohort.id)
        .group_by(Cohort.centre_id)
    ).all()
