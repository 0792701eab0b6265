"""The cohort dashboard: a matrix of trainees × modules, module statistics, who is
stuck and why, possible flag sharing, and activity over the last weeks.

``cohort_progress`` builds it with a fixed number of SQL queries however many
trainees the cohort has (each in ``dashboard_queries``); the rest is Python.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from lms.auth.models import utcnow
from lms.centres.models import Cohort
from lms.centres.reports import dashboard_queries as queries
from lms.centres.reports.dashboard_queries import FAILED_ATTEMPTS
from lms.centres.reports.lab_time import session_minutes
from lms.content import lab_library
from lms.labs.flags import shares_involving
from lms.progress.models import DONE, IN_PROGRESS, NOT_STARTED

DEFAULT_STUCK_DAYS = 7
ACTIVITY_DAYS = 30  # the activity chart's window


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


def cohort_modules(cohort: Cohort, course_slug: str | None = None):
    """The cohort's assigned courses and their live modules, in order (2 queries)."""
    assignments = queries.assigned_courses(cohort)
    if course_slug:
        assignments = [a for a in assignments if a.slug == course_slug]
    courses = {
        a.course_id: CourseAssignment(a.course_id, a.slug, a.title, a.due_on, [])
        for a in assignments
    }
    if not courses:
        return [], []
    modules: list[ModuleColumn] = []
    order = {cid: i for i, cid in enumerate(courses)}
    rows = queries.live_modules(list(courses))
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
    totals = lab_library.task_totals({m.lab_slug for m in modules if m.lab_slug})
    for m in modules:
        m.lab_tasks = totals.get(m.lab_slug, 0) if m.lab_slug else 0
    return list(courses.values()), modules


class _Activity:
    """When each trainee was last active, and module completions per day (for the chart)."""

    def __init__(self, today: date):
        self.today = today
        self.last_seen: dict[int, datetime] = {}
        self.completions_per_day: Counter[date] = Counter()

    def seen(self, user_id: int, when: datetime | None) -> None:
        if when and (user_id not in self.last_seen or when > self.last_seen[user_id]):
            self.last_seen[user_id] = when

    def completed(self, when: datetime | None) -> None:
        if when and (self.today - when.date()).days < ACTIVITY_DAYS:
            self.completions_per_day[when.date()] += 1

    def per_day(self) -> list[tuple[date, int]]:
        days = [self.today - timedelta(days=d) for d in range(ACTIVITY_DAYS - 1, -1, -1)]
        return [(day, self.completions_per_day[day]) for day in days]


def cohort_progress(
    cohort: Cohort,
    stuck_days: int = DEFAULT_STUCK_DAYS,
    course_slug: str | None = None,
    now: datetime | None = None,
) -> CohortProgress:
    """Everything the cohort dashboard shows, in a fixed number of queries."""
    now = now or utcnow()
    courses, modules = cohort_modules(cohort, course_slug)
    members = queries.members_of(cohort.id)
    trainees = [
        TraineeRow(p.id, p.name, p.email, p.joined_at, [Cell() for _ in modules])
        for p in queries.people(cohort.id)
    ]
    by_id = {t.id: t for t in trainees}
    activity = _Activity(now.date())
    failed_quizzes = _fill_module_cells(by_id, modules, members, activity)
    failed_tasks = _fill_lab_work(by_id, modules, members, activity, now)
    flag_shares = flag_share_rows(members, set(by_id))
    titles = {m.id: m.title for m in modules}
    for t in trainees:
        _summarise(t, modules)
        t.last_activity = activity.last_seen.get(t.id)
        t.stuck = _stuck_reasons(
            t,
            courses,
            modules,
            stuck_days,
            now,
            [(titles[mid], n) for mid, n in failed_quizzes.get(t.id, [])],
            failed_tasks.get(t.id, []),
        )
    return CohortProgress(
        cohort,
        courses,
        modules,
        trainees,
        _module_stats(trainees, modules),
        flag_shares,
        stuck_days,
        now,
        activity.per_day(),
    )


def _fill_module_cells(by_id, modules, members, activity) -> dict[int, list[tuple[int, int]]]:
    """Fill the matrix from module progress; returns the failed quizzes of each trainee
    (module id, failed attempts) with FAILED_ATTEMPTS or more."""
    if not modules:
        return {}
    module_ids = [m.id for m in modules]
    column = {m.id: i for i, m in enumerate(modules)}
    for user_id, module_id, status, score, updated_at, completed_at in queries.module_progress(
        module_ids, members
    ):
        trainee = by_id.get(user_id)
        if trainee is None:
            continue
        cell = trainee.cells[column[module_id]]
        cell.status, cell.quiz_score, cell.updated_at = status, score, updated_at
        activity.seen(user_id, updated_at)
        activity.completed(completed_at)
    failed_quizzes: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for user_id, module_id, failed, latest in queries.quiz_attempts(module_ids, members):
        activity.seen(user_id, latest)
        if (failed or 0) >= FAILED_ATTEMPTS:
            failed_quizzes[user_id].append((module_id, int(failed)))
    return failed_quizzes


def _fill_lab_work(by_id, modules, members, activity, now) -> dict[int, list]:
    """Tasks done per lab module, lab time and lab activity; returns the tasks each
    trainee failed FAILED_ATTEMPTS or more times (lab, task, failures)."""
    lab_slugs = sorted({m.lab_slug for m in modules if m.lab_slug})
    failed_tasks: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    if lab_slugs:
        done = queries.tasks_done(lab_slugs, members)
        for t in by_id.values():
            for i, m in enumerate(modules):
                if m.lab_slug:
                    t.cells[i].tasks_done = done.get((t.id, m.lab_slug), 0)
        for user_id, lab, task, failed in queries.failed_tasks(lab_slugs, members):
            failed_tasks[user_id].append((lab, task, failed))
    # Any lab work counts as activity; lab time is every session of the trainee.
    for user_id, latest in queries.latest_task_attempts(members):
        activity.seen(user_id, latest)
    for user_id, started_at, ended_at, expires_at in queries.lab_sessions(members):
        if user_id in by_id:
            by_id[user_id].lab_minutes += session_minutes(started_at, ended_at, expires_at, now)
            activity.seen(user_id, started_at)
    return failed_tasks


def flag_share_rows(members, member_ids: set[int]) -> list[FlagShareRow]:
    """Flags submitted by one trainee that belong to another, where either is in the cohort."""
    return [
        FlagShareRow(
            share.created_at,
            share.lab_slug,
            share.submitter_id,
            share.submitter.display_name,
            share.owner_id,
            share.owner.display_name,
            share.owner_id in member_ids,
            share.submitter_id in member_ids,
        )
        for share in shares_involving(members)
    ]


def _module_stats(trainees: list[TraineeRow], modules: list[ModuleColumn]) -> list[ModuleStat]:
    stats = []
    count = len(trainees)
    for i, m in enumerate(modules):
        statuses = Counter(t.cells[i].status for t in trainees)
        scores = [t.cells[i].quiz_score for t in trainees if t.cells[i].quiz_score is not None]
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
    return stats


def _summarise(t: TraineeRow, modules: list[ModuleColumn]) -> None:
    t.done = sum(1 for c in t.cells if c.status == DONE)
    t.percent = round(100 * t.done / len(modules)) if modules else 0
    scores = [c.quiz_score for c in t.cells if c.quiz_score is not None]
    t.average_score = sum(scores) / len(scores) if scores else None
    t.tasks_done = sum(c.tasks_done for c in t.cells)


def _stuck_reasons(t, courses, modules, stuck_days, now, failed_quizzes, failed_tasks) -> list[str]:
    status = {m.id: t.cells[i].status for i, m in enumerate(modules)}
    done_by_course = {
        course.course_id: sum(1 for mid in course.module_ids if status.get(mid) == DONE)
        for course in courses
    }
    return stuck_reasons(
        t, len(modules), courses, done_by_course, stuck_days, now, failed_quizzes, failed_tasks
    )


def stuck_reasons(
    t, module_count, courses, done_by_course, stuck_days, now, failed_quizzes, failed_tasks
) -> list[str]:
    """Why trainee ``t`` is stuck (empty: not stuck), from their figures: ``t.done``,
    ``t.last_activity``, ``t.joined_at``; the modules done per course
    (``done_by_course``); failed quizzes [(module title, failures)] and lab tasks
    [(lab, task, failures)] with FAILED_ATTEMPTS or more."""
    reasons = []
    finished = bool(module_count) and t.done == module_count
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
    for course in courses:
        if course.due_on and course.due_on < now.date():
            done = done_by_course.get(course.course_id, 0)
            if done < len(course.module_ids):
                reasons.append(
                    f"overdue: {course.title} was due {course.due_on.isoformat()} "
                    f"({done} of {len(course.module_ids)} modules done)"
                )
    return reasons
