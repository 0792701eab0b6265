"""Cohort dashboards, trainee timelines and the programme view.

``cohort_progress`` builds a whole cohort dashboard with a fixed number of SQL
queries, however many trainees the cohort has: every query selects plain
columns for all members at once (through a sub-select of the membership
table), and the rest is done in Python. Keep it that way: no per-trainee
query, no lazy relationship loaded in a loop or a template.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml
from flask import current_app
from sqlalchemy import and_, case, func, select

from lms.auth.models import User, utcnow
from lms.catalog.models import Course, Module
from lms.centres.models import Centre, Cohort, CohortCourse, CohortMember, centre_partners
from lms.extensions import db
from lms.labs.models import FlagShare, LabSession, TaskAttempt, TaskCompletion
from lms.progress.models import (
    DONE,
    IN_PROGRESS,
    NOT_STARTED,
    Enrolment,
    ModuleProgress,
    QuizAttempt,
)

DEFAULT_STUCK_DAYS = 7
FAILED_ATTEMPTS = 3  # this many failed flags/checks on one task (or quiz attempts) is "stuck"
ACTIVITY_DAYS = 30  # the activity chart's window


# -- lab task totals (from lab.yaml, not the database) ---------------------------

_lab_task_cache: dict[Path, tuple[float, int]] = {}


def lab_task_totals(slugs: set[str]) -> dict[str, int]:
    """Number of tasks of each lab, read from its lab.yaml (cached until the file changes)."""
    labs_dir = Path(current_app.config["LMS_LABS_DIR"])
    totals = {}
    for slug in slugs:
        path = labs_dir / slug / "lab.yaml"
        try:
            mtime = path.stat().st_mtime
        except OSError:
            totals[slug] = 0
            continue
        cached = _lab_task_cache.get(path)
        if cached is None or cached[0] != mtime:
            try:
                tasks = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("tasks") or []
            except (OSError, yaml.YAMLError, AttributeError):
                tasks = []
            cached = (mtime, len(tasks) if isinstance(tasks, list) else 0)
            _lab_task_cache[path] = cached
        totals[slug] = cached[1]
    return totals


# -- the cohort dashboard ------------------------------------------------------------


@dataclass
class ModuleColumn:
    id: int
    slug: str
    title: str
    position: int
    course_id: int
    course_slug: str
    course_title: str
    lab_slug: str | None
    has_quiz: bool
    lab_tasks: int = 0

    @property
    def key(self) -> str:
        return f"{self.course_slug}/{self.slug}"


@dataclass
class CourseAssignment:
    course_id: int
    slug: str
    title: str
    due_on: date | None
    module_ids: list[int]


@dataclass
class Cell:
    status: str = NOT_STARTED
    quiz_score: float | None = None
    tasks_done: int = 0
    updated_at: datetime | None = None


@dataclass
class TraineeRow:
    id: int
    name: str
    email: str
    joined_at: datetime
    cells: list[Cell]
    done: int = 0
    percent: int = 0
    average_score: float | None = None
    tasks_done: int = 0
    lab_minutes: int = 0
    last_activity: datetime | None = None
    stuck: list[str] = field(default_factory=list)

    @property
    def display_name(self) -> str:
        return self.name or self.email


@dataclass
class ModuleStat:
    module: ModuleColumn
    done: int
    in_progress: int
    not_started: int
    completion: int  # percent of trainees done
    average_score: float | None
    tasks_done: int


@dataclass
class FlagShareRow:
    at: datetime
    lab_slug: str
    submitter_id: int
    submitter: str
    owner_id: int
    owner: str
    owner_in_cohort: bool
    submitter_in_cohort: bool


@dataclass
class CohortProgress:
    cohort: Cohort
    courses: list[CourseAssignment]
    modules: list[ModuleColumn]
    trainees: list[TraineeRow]
    module_stats: list[ModuleStat]
    flag_shares: list[FlagShareRow]
    stuck_days: int
    generated_at: datetime
    activity: list[tuple[date, int]]

    @property
    def stuck(self) -> list[TraineeRow]:
        return [t for t in self.trainees if t.stuck]

    @property
    def lab_minutes(self) -> int:
        return sum(t.lab_minutes for t in self.trainees)

    @property
    def completion(self) -> int:
        cells = len(self.trainees) * len(self.modules)
        return round(100 * sum(t.done for t in self.trainees) / cells) if cells else 0

    def chart_data(self) -> dict:
        """What the dashboard's charts draw (embedded as JSON, read by centres/charts.js)."""
        buckets = [0] * 11  # 0-9 %, 10-19 %, ..., 100 %
        for t in self.trainees:
            buckets[min(t.percent // 10, 10)] += 1
        return {
            "modules": {
                "labels": [m.title for m in self.modules],
                "done": [s.done for s in self.module_stats],
                "in_progress": [s.in_progress for s in self.module_stats],
                "not_started": [s.not_started for s in self.module_stats],
                "average_score": [
                    None if s.average_score is None else round(100 * s.average_score)
                    for s in self.module_stats
                ],
            },
            "distribution": {
                "labels": [f"{10 * i}–{10 * i + 9} %" for i in range(10)] + ["100 %"],
                "trainees": buckets,
            },
            "activity": {
                "labels": [d.isoformat() for d, _ in self.activity],
                "completions": [n for _, n in self.activity],
            },
        }


def cohort_modules(cohort: Cohort, course_slug: str | None = None):
    """The cohort's assigned courses and their live modules, in order (2 queries)."""
    assignments = db.session.execute(
        select(CohortCourse.course_id, CohortCourse.due_on, Course.slug, Course.title)
        .join(Course, Course.id == CohortCourse.course_id)
        .where(CohortCourse.cohort_id == cohort.id)
        .order_by(CohortCourse.assigned_at, Course.title)
    ).all()
    if course_slug:
        assignments = [a for a in assignments if a.slug == course_slug]
    courses = {
        a.course_id: CourseAssignment(a.course_id, a.slug, a.title, a.due_on, [])
        for a in assignments
    }
    modules: list[ModuleColumn] = []
    if courses:
        rows = db.session.execute(
            select(
                Module.id,
                Module.slug,
                Module.title,
                Module.position,
                Module.course_id,
                Module.lab_slug,
                Module.quiz,
            ).where(Module.course_id.in_(list(courses)), Module.retired.is_(False))
        ).all()
        order = {cid: i for i, cid in enumerate(courses)}
        for r in sorted(rows, key=lambda r: (order[r.course_id], r.position)):
            course = courses[r.course_id]
            course.module_ids.append(r.id)
            modules.append(
                ModuleColumn(
                    r.id,
                    r.slug,
                    r.title,
                    r.position,
                    r.course_id,
                    course.slug,
                    course.title,
                    r.lab_slug,
                    bool(r.quiz),
                )
            )
        totals = lab_task_totals({m.lab_slug for m in modules if m.lab_slug})
        for m in modules:
            m.lab_tasks = totals.get(m.lab_slug, 0) if m.lab_slug else 0
    return list(courses.values()), modules


def _members_of(cohort_id: int):
    return select(CohortMember.user_id).where(CohortMember.cohort_id == cohort_id).scalar_subquery()


def session_minutes(started_at, ended_at, expires_at, now: datetime) -> int:
    if started_at is None:
        return 0
    end = ended_at or min(now, expires_at or now)
    return max(0, int((end - started_at).total_seconds() // 60))


def cohort_progress(
    cohort: Cohort,
    stuck_days: int = DEFAULT_STUCK_DAYS,
    course_slug: str | None = None,
    now: datetime | None = None,
) -> CohortProgress:
    """Everything the cohort dashboard shows, in a fixed number of queries."""
    now = now or utcnow()
    today = now.date()
    courses, modules = cohort_modules(cohort, course_slug)
    module_ids = [m.id for m in modules]
    column = {m.id: i for i, m in enumerate(modules)}
    members = _members_of(cohort.id)

    people = db.session.execute(
        select(User.id, User.name, User.email, CohortMember.joined_at)
        .join(CohortMember, CohortMember.user_id == User.id)
        .where(CohortMember.cohort_id == cohort.id)
        .order_by(User.name, User.email)
    ).all()
    trainees = [
        TraineeRow(p.id, p.name, p.email, p.joined_at, [Cell() for _ in modules]) for p in people
    ]
    by_id = {t.id: t for t in trainees}
    last_seen: dict[int, datetime] = {}

    def seen(user_id: int, when: datetime | None) -> None:
        if when and (user_id not in last_seen or when > last_seen[user_id]):
            last_seen[user_id] = when

    completions_per_day: Counter[date] = Counter()
    if module_ids:
        for user_id, module_id, status, score, updated_at, completed_at in db.session.execute(
            select(
                ModuleProgress.user_id,
                ModuleProgress.module_id,
                ModuleProgress.status,
                ModuleProgress.quiz_score,
                ModuleProgress.updated_at,
                ModuleProgress.completed_at,
            ).where(ModuleProgress.module_id.in_(module_ids), ModuleProgress.user_id.in_(members))
        ):
            trainee = by_id.get(user_id)
            if trainee is None:
                continue
            cell = trainee.cells[column[module_id]]
            cell.status, cell.quiz_score, cell.updated_at = status, score, updated_at
            seen(user_id, updated_at)
            if completed_at and (today - completed_at.date()).days < ACTIVITY_DAYS:
                completions_per_day[completed_at.date()] += 1

        # Quiz attempts: failed ones per module, and the latest activity.
        failed_quizzes: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for user_id, module_id, failed, latest in db.session.execute(
            select(
                QuizAttempt.user_id,
                QuizAttempt.module_id,
                func.sum(case((QuizAttempt.passed.is_(False), 1), else_=0)),
                func.max(QuizAttempt.created_at),
            )
            .where(QuizAttempt.module_id.in_(module_ids), QuizAttempt.user_id.in_(members))
            .group_by(QuizAttempt.user_id, QuizAttempt.module_id)
        ):
            seen(user_id, latest)
            if (failed or 0) >= FAILED_ATTEMPTS:
                failed_quizzes[user_id].append((module_id, int(failed)))
    else:
        failed_quizzes = {}

    lab_slugs = sorted({m.lab_slug for m in modules if m.lab_slug})
    failed_tasks: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    if lab_slugs:
        tasks_done: dict[tuple[int, str], int] = {
            (user_id, lab): n
            for user_id, lab, n in db.session.execute(
                select(TaskCompletion.user_id, TaskCompletion.lab_slug, func.count())
                .where(TaskCompletion.lab_slug.in_(lab_slugs), TaskCompletion.user_id.in_(members))
                .group_by(TaskCompletion.user_id, TaskCompletion.lab_slug)
            )
        }
        for t in trainees:
            for i, m in enumerate(modules):
                if m.lab_slug:
                    t.cells[i].tasks_done = tasks_done.get((t.id, m.lab_slug), 0)
        # Failed flags and checks on tasks still not done.
        for user_id, lab, task, failed in db.session.execute(
            select(TaskAttempt.user_id, TaskAttempt.lab_slug, TaskAttempt.task_id, func.count())
            .outerjoin(
                TaskCompletion,
                and_(
                    TaskCompletion.user_id == TaskAttempt.user_id,
                    TaskCompletion.lab_slug == TaskAttempt.lab_slug,
                    TaskCompletion.task_id == TaskAttempt.task_id,
                ),
            )
            .where(
                TaskAttempt.user_id.in_(members),
                TaskAttempt.lab_slug.in_(lab_slugs),
                TaskAttempt.kind.in_(("flag", "check")),
                TaskAttempt.success.is_(False),
                TaskCompletion.id.is_(None),
            )
            .group_by(TaskAttempt.user_id, TaskAttempt.lab_slug, TaskAttempt.task_id)
            .having(func.count() >= FAILED_ATTEMPTS)
        ):
            failed_tasks[user_id].append((lab, task, failed))

    # Any lab work counts as activity; lab time is every session of the trainee.
    for user_id, latest in db.session.execute(
        select(TaskAttempt.user_id, func.max(TaskAttempt.created_at))
        .where(TaskAttempt.user_id.in_(members))
        .group_by(TaskAttempt.user_id)
    ):
        seen(user_id, latest)
    for user_id, started_at, ended_at, expires_at in db.session.execute(
        select(
            LabSession.user_id, LabSession.started_at, LabSession.ended_at, LabSession.expires_at
        ).where(LabSession.user_id.in_(members), LabSession.started_at.isnot(None))
    ):
        if user_id in by_id:
            by_id[user_id].lab_minutes += session_minutes(started_at, ended_at, expires_at, now)
            seen(user_id, started_at)

    flag_shares = _flag_shares(cohort, set(by_id))
    titles = {m.id: m.title for m in modules}
    for t in trainees:
        _summarise(t, modules)
        t.last_activity = last_seen.get(t.id)
        t.stuck = _stuck_reasons(
            t,
            courses,
            modules,
            stuck_days,
            now,
            [(titles[mid], n) for mid, n in failed_quizzes.get(t.id, [])],
            failed_tasks.get(t.id, []),
        )

    stats = []
    for i, m in enumerate(modules):
        statuses = Counter(t.cells[i].status for t in trainees)
        scores = [t.cells[i].quiz_score for t in trainees if t.cells[i].quiz_score is not None]
        count = len(trainees)
        stats.append(
            ModuleStat(
                m,
                statuses[DONE],
                statuses[IN_PROGRESS],
                count - statuses[DONE] - statuses[IN_PROGRESS],
                round(100 * statuses[DONE] / count) if count else 0,
                sum(scores) / len(scores) if scores else None,
                sum(t.cells[i].tasks_done for t in trainees),
            )
        )
    activity = [
        (today - timedelta(days=d), completions_per_day[today - timedelta(days=d)])
        for d in range(ACTIVITY_DAYS - 1, -1, -1)
    ]
    return CohortProgress(
        cohort, courses, modules, trainees, stats, flag_shares, stuck_days, now, activity
    )


def _summarise(t: TraineeRow, modules: list[ModuleColumn]) -> None:
    t.done = sum(1 for c in t.cells if c.status == DONE)
    t.percent = round(100 * t.done / len(modules)) if modules else 0
    scores = [c.quiz_score for c in t.cells if c.quiz_score is not None]
    t.average_score = sum(scores) / len(scores) if scores else None
    t.tasks_done = sum(c.tasks_done for c in t.cells)


def _stuck_reasons(t, courses, modules, stuck_days, now, failed_quizzes, failed_tasks) -> list[str]:
    reasons = []
    finished = bool(modules) and t.done == len(modules)
    if not finished:
        if t.last_activity is None:
            idle = (now - t.joined_at).days
            if idle >= stuck_days:
                reasons.append(f"has not started (joined {idle} days ago)")
        else:
            idle = (now - t.last_activity).days
            if idle >= stuck_days:
                reasons.append(f"no progress for {idle} days")
    for lab, task, failed in failed_tasks:
        reasons.append(f"{failed} failed attempts at lab task {lab} › {task}")
    for title, failed in failed_quizzes:
        reasons.append(f"{failed} failed quiz attempts in “{title}”")
    status = {m.id: t.cells[i].status for i, m in enumerate(modules)}
    for course in courses:
        if course.due_on and course.due_on < now.date():
            done = sum(1 for mid in course.module_ids if status.get(mid) == DONE)
            if done < len(course.module_ids):
                reasons.append(
                    f"overdue: {course.title} was due {course.due_on.isoformat()} "
                    f"({done} of {len(course.module_ids)} modules done)"
                )
    return reasons


def _flag_shares(cohort: Cohort, member_ids: set[int]) -> list[FlagShareRow]:
    """Flags submitted by one trainee that belong to another, where either is in the cohort."""
    from sqlalchemy.orm import aliased

    submitter, owner = aliased(User), aliased(User)
    members = _members_of(cohort.id)
    rows = db.session.execute(
        select(
            FlagShare.created_at,
            FlagShare.lab_slug,
            submitter.id,
            submitter.name,
            submitter.email,
            owner.id,
            owner.name,
            owner.email,
        )
        .join(submitter, submitter.id == FlagShare.submitter_id)
        .join(owner, owner.id == FlagShare.owner_id)
        .where(FlagShare.submitter_id.in_(members) | FlagShare.owner_id.in_(members))
        .order_by(FlagShare.created_at.desc())
    ).all()
    return [
        FlagShareRow(
            at,
            lab,
            sid,
            sname or semail,
            oid,
            oname or oemail,
            oid in member_ids,
            sid in member_ids,
        )
        for at, lab, sid, sname, semail, oid, oname, oemail in rows
    ]


# -- summaries of many cohorts (centre pages, the programme view) ------------------------


@dataclass
class CohortSummary:
    cohort_id: int
    trainees: int = 0
    modules: int = 0
    done: int = 0
    score_total: float = 0.0
    scored: int = 0
    active: int = 0  # trainees with progress in the last 7 days

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
            ModuleProgress.updated_at >= now - timedelta(days=7),
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
    from lms.centres.models import cohort_instructors

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
    for centre_id, n in db.session.execute(
        select(Cohort.centre_id, func.count(func.distinct(CohortMember.user_id)))
        .join(CohortMember, CohortMember.cohort_id == Cohort.id)
        .group_by(Cohort.centre_id)
    ):
        by_id[centre_id].trainees = n
    for centre_id, n in db.session.execute(
        select(Cohort.centre_id, func.count(func.distinct(cohort_instructors.c.user_id)))
        .join(cohort_instructors, cohort_instructors.c.cohort_id == Cohort.id)
        .group_by(Cohort.centre_id)
    ):
        by_id[centre_id].instructors = n
    for centre_id, n in db.session.execute(
        select(Cohort.centre_id, func.count(func.distinct(CohortCourse.course_id)))
        .join(CohortCourse, CohortCourse.cohort_id == Cohort.id)
        .group_by(Cohort.centre_id)
    ):
        by_id[centre_id].courses = n
    for centre_id, n in db.session.execute(
        select(Cohort.centre_id, func.count(func.distinct(ModuleProgress.user_id)))
        .join(CohortMember, CohortMember.cohort_id == Cohort.id)
        .join(ModuleProgress, ModuleProgress.user_id == CohortMember.user_id)
        .where(ModuleProgress.updated_at >= now - timedelta(days=7))
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


# -- a trainee's timeline ------------------------------------------------------------------


@dataclass
class TimelineEvent:
    at: datetime
    kind: str  # cohort, course, module, quiz, lab, task, flag-share
    text: str
    outcome: str = ""  # success, failure or ""


@dataclass
class CourseLine:
    course_id: int
    slug: str
    title: str
    done: int
    total: int
    average_score: float | None
    due_on: date | None

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


@dataclass
class TraineeReport:
    trainee: User
    cohorts: list[Cohort]
    courses: list[CourseLine]
    events: list[TimelineEvent]
    lab_minutes: int
    truncated: bool


MAX_EVENTS = 2000


def trainee_report(
    trainee: User, cohorts: list[Cohort], now: datetime | None = None
) -> TraineeReport:
    """A trainee's courses and a timeline of everything they did, newest first."""
    now = now or utcnow()
    events: list[TimelineEvent] = []
    for m in db.session.scalars(select(CohortMember).where(CohortMember.user_id == trainee.id)):
        if m.cohort in cohorts:
            events.append(
                TimelineEvent(m.joined_at, "cohort", f"Joined the cohort {m.cohort.name}")
            )

    titles = {
        mid: (mtitle, ctitle)
        for mid, mtitle, ctitle in db.session.execute(
            select(Module.id, Module.title, Course.title)
            .join(Course, Course.id == Module.course_id)
            .where(
                Module.id.in_(
                    select(ModuleProgress.module_id)
                    .where(ModuleProgress.user_id == trainee.id)
                    .union(select(QuizAttempt.module_id).where(QuizAttempt.user_id == trainee.id))
                )
            )
        )
    }

    def where(module_id: int) -> str:
        module, course = titles.get(module_id, ("a removed module", ""))
        return f"“{module}” ({course})" if course else module

    for started_at, completed_at, title in db.session.execute(
        select(Enrolment.started_at, Enrolment.completed_at, Course.title)
        .join(Course, Course.id == Enrolment.course_id)
        .where(Enrolment.user_id == trainee.id)
    ):
        events.append(TimelineEvent(started_at, "course", f"Started the course {title}"))
        if completed_at:
            events.append(
                TimelineEvent(completed_at, "course", f"Completed the course {title}", "success")
            )
    for record in db.session.scalars(
        select(ModuleProgress).where(ModuleProgress.user_id == trainee.id)
    ):
        events.append(
            TimelineEvent(record.first_seen_at, "module", f"Opened {where(record.module_id)}")
        )
        if record.completed_at:
            events.append(
                TimelineEvent(
                    record.completed_at, "module", f"Completed {where(record.module_id)}", "success"
                )
            )
    for attempt in db.session.scalars(select(QuizAttempt).where(QuizAttempt.user_id == trainee.id)):
        events.append(
            TimelineEvent(
                attempt.created_at,
                "quiz",
                f"Quiz in {where(attempt.module_id)}: {round(100 * attempt.score)} %",
                "success" if attempt.passed else "failure",
            )
        )
    lab_minutes = 0
    for session in db.session.scalars(select(LabSession).where(LabSession.user_id == trainee.id)):
        minutes = session_minutes(session.started_at, session.ended_at, session.expires_at, now)
        lab_minutes += minutes
        events.append(
            TimelineEvent(session.created_at, "lab", f"Started the lab {session.lab_slug}")
        )
        if session.ended_at:
            why = f" ({session.end_reason})" if session.end_reason else ""
            events.append(
                TimelineEvent(
                    session.ended_at,
                    "lab",
                    f"Lab {session.lab_slug} ended{why} after {minutes} min",
                    "failure" if session.status == "failed" else "",
                )
            )
    verbs = {
        "flag": "Submitted a flag for",
        "check": "Asked for a check of",
        "hint": "Revealed the hint of",
    }
    for attempt in db.session.scalars(select(TaskAttempt).where(TaskAttempt.user_id == trainee.id)):
        outcome = "" if attempt.kind == "hint" else ("success" if attempt.success else "failure")
        text = f"{verbs.get(attempt.kind, attempt.kind)} {attempt.lab_slug} › {attempt.task_id}"
        if attempt.kind != "hint":
            words = ("right", "wrong") if attempt.kind == "flag" else ("passed", "failed")
            text += ": " + words[0 if attempt.success else 1]
        events.append(TimelineEvent(attempt.created_at, "task", text, outcome))
    for share in db.session.scalars(
        select(FlagShare).where(
            (FlagShare.submitter_id == trainee.id) | (FlagShare.owner_id == trainee.id)
        )
    ):
        if share.submitter_id == trainee.id:
            text = f"Submitted the {share.lab_slug} flag of {share.owner.display_name} (possible sharing)"
        else:
            text = f"Their {share.lab_slug} flag was submitted by {share.submitter.display_name}"
        events.append(TimelineEvent(share.created_at, "flag-share", text, "failure"))

    events.sort(key=lambda e: e.at, reverse=True)
    return TraineeReport(
        trainee,
        cohorts,
        _course_lines(trainee, cohorts),
        events[:MAX_EVENTS],
        lab_minutes,
        len(events) > MAX_EVENTS,
    )


def _course_lines(trainee: User, cohorts: list[Cohort]) -> list[CourseLine]:
    """Progress in the courses of the given cohorts (earliest due date wins)."""
    due: dict[int, date | None] = {}
    for cohort in cohorts:
        for a in cohort.courses:
            if a.course_id not in due or (
                a.due_on and (due[a.course_id] is None or a.due_on < due[a.course_id])
            ):
                due[a.course_id] = a.due_on
    if not due:
        return []
    modules = db.session.execute(
        select(Module.id, Module.course_id).where(
            Module.course_id.in_(list(due)), Module.retired.is_(False)
        )
    ).all()
    progress = {
        mid: (status, score)
        for mid, status, score in db.session.execute(
            select(
                ModuleProgress.module_id, ModuleProgress.status, ModuleProgress.quiz_score
            ).where(
                ModuleProgress.user_id == trainee.id,
                ModuleProgress.module_id.in_([m.id for m in modules]),
            )
        )
    }
    courses = {c.id: c for c in db.session.scalars(select(Course).where(Course.id.in_(list(due))))}
    lines = []
    for course_id, due_on in due.items():
        ids = [m.id for m in modules if m.course_id == course_id]
        scores = [progress[i][1] for i in ids if i in progress and progress[i][1] is not None]
        lines.append(
            CourseLine(
                course_id,
                courses[course_id].slug,
                courses[course_id].title,
                sum(1 for i in ids if progress.get(i, ("",))[0] == DONE),
                len(ids),
                sum(scores) / len(scores) if scores else None,
                due_on,
            )
        )
    return sorted(lines, key=lambda c: c.title)
