"""The cohort dashboard page at any size: figures over the whole cohort (headline,
charts, per-module table, who is stuck) from SQL aggregates, and the trainees × modules
matrix for one window of trainees (a page, sorted by name, progress or last activity,
optionally only the stuck ones).

``cohort_progress`` (lms.centres.reports.dashboard) builds every cell of the matrix and
serves the exports and the API; this page never needs them all at once. A fixed number
of queries, like every report here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from lms.auth.models import utcnow
from lms.centres.models import Cohort
from lms.centres.reports import dashboard_queries as queries
from lms.centres.reports.dashboard import (
    ACTIVITY_DAYS,
    DEFAULT_STUCK_DAYS,
    Cell,
    CourseAssignment,
    FlagShareRow,
    ModuleColumn,
    ModuleStat,
    TraineeRow,
    cohort_modules,
    flag_share_rows,
    stuck_reasons,
)
from lms.centres.reports.lab_time import session_minutes
from lms.progress.models import DONE, IN_PROGRESS

PER_PAGE = 50
SORTS = ("name", "progress", "activity")
STUCK_LISTED = 25  # stuck trainees listed with their reasons; the matrix filter shows all


@dataclass
class MatrixWindow:
    """One page of the matrix: which trainees, in which order, out of how many."""

    rows: list[TraineeRow]
    total: int  # trainees that match the filter
    page: int
    pages: int
    per_page: int
    sort: str
    descending: bool
    stuck_only: bool

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.page * self.per_page, self.total)


@dataclass
class DashboardPage:
    cohort: Cohort
    courses: list[CourseAssignment]
    modules: list[ModuleColumn]
    trainees: list[TraineeRow]  # every trainee, figures only (no cells)
    module_stats: list[ModuleStat]
    flag_shares: list[FlagShareRow]
    stuck_days: int
    generated_at: datetime
    activity: list[tuple[date, int]]
    window: MatrixWindow

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
        """What the charts draw (JSON in the page, read by centres/charts.js): counts of
        trainees are whole numbers; daily completions are plain per-day counts."""
        buckets = [0] * 11  # 0-9 %, 10-19 %, ..., 100 %
        for t in self.trainees:
            buckets[min(t.percent // 10, 10)] += 1
        return {
            "modules": {
                "labels": [m.title for m in self.modules],
                "courses": [m.course_title for m in self.modules],
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


def cohort_dashboard(
    cohort: Cohort,
    stuck_days: int = DEFAULT_STUCK_DAYS,
    course_slug: str | None = None,
    sort: str = "name",
    descending: bool = False,
    stuck_only: bool = False,
    page: int = 1,
    per_page: int = PER_PAGE,
    now: datetime | None = None,
) -> DashboardPage:
    now = now or utcnow()
    courses, modules = cohort_modules(cohort, course_slug)
    members = queries.members_of(cohort.id)
    trainees = [
        TraineeRow(p.id, p.name, p.email, p.joined_at, []) for p in queries.people(cohort.id)
    ]
    by_id = {t.id: t for t in trainees}
    module_ids = [m.id for m in modules]
    lab_slugs = sorted({m.lab_slug for m in modules if m.lab_slug})
    done_tasks = queries.tasks_done(lab_slugs, members) if lab_slugs else {}
    done_by_course = _trainee_figures(by_id, modules, module_ids, done_tasks, members, now)
    titles = {m.id: m.title for m in modules}
    failed_quizzes: dict[int, list] = defaultdict(list)
    failed_tasks: dict[int, list] = defaultdict(list)
    if module_ids:
        for user_id, module_id, failed in queries.failed_quizzes(module_ids, members):
            failed_quizzes[user_id].append((titles[module_id], int(failed)))
    if lab_slugs:
        for user_id, lab, task, failed in queries.failed_tasks(lab_slugs, members):
            failed_tasks[user_id].append((lab, task, failed))
    for t in trainees:
        t.stuck = stuck_reasons(
            t,
            len(modules),
            courses,
            done_by_course.get(t.id, {}),
            stuck_days,
            now,
            failed_quizzes.get(t.id, []),
            failed_tasks.get(t.id, []),
        )
    window = _window(trainees, modules, done_tasks, sort, descending, stuck_only, page, per_page)
    return DashboardPage(
        cohort,
        courses,
        modules,
        trainees,
        _module_stats(modules, module_ids, done_tasks, members, len(trainees)),
        flag_share_rows(members, set(by_id)),
        stuck_days,
        now,
        _activity(module_ids, members, now.date()),
        window,
    )


def _trainee_figures(by_id, modules, module_ids, done_tasks, members, now) -> dict:
    """Done, percent, average score, lab time, tasks done and last activity of every
    trainee; returns the modules each one has done per course."""
    done_by_course: dict[int, dict[int, int]] = defaultdict(dict)
    scores: dict[int, list[float]] = defaultdict(lambda: [0.0, 0])
    last_seen: dict[int, datetime] = {}

    def seen(user_id: int, when: datetime | None) -> None:
        if when and (user_id not in last_seen or when > last_seen[user_id]):
            last_seen[user_id] = when

    if module_ids:
        for user_id, course_id, done, total, scored, latest in queries.progress_per_course(
            module_ids, members
        ):
            done_by_course[user_id][course_id] = int(done or 0)
            scores[user_id][0] += float(total or 0)
            scores[user_id][1] += scored
            seen(user_id, latest)
        for user_id, latest in queries.quiz_activity(module_ids, members):
            seen(user_id, latest)
    for user_id, latest in queries.latest_task_attempts(members):
        seen(user_id, latest)
    for user_id, started_at, ended_at, expires_at in queries.lab_sessions(members):
        if user_id in by_id:
            by_id[user_id].lab_minutes += session_minutes(started_at, ended_at, expires_at, now)
            seen(user_id, started_at)
    lab_modules = [m for m in modules if m.lab_slug]
    for t in by_id.values():
        t.done = sum(done_by_course.get(t.id, {}).values())
        t.percent = round(100 * t.done / len(modules)) if modules else 0
        total, scored = scores.get(t.id, (0.0, 0))
        t.average_score = total / scored if scored else None
        t.tasks_done = sum(done_tasks.get((t.id, m.lab_slug), 0) for m in lab_modules)
        t.last_activity = last_seen.get(t.id)
    return done_by_course


def _module_stats(modules, module_ids, done_tasks, members, trainees: int) -> list[ModuleStat]:
    if not modules:
        return []
    statuses: dict[int, Counter] = defaultdict(Counter)
    scores: dict[int, list[float]] = defaultdict(lambda: [0.0, 0])
    for module_id, status, count, total, scored in queries.status_per_module(module_ids, members):
        statuses[module_id][status] += count
        scores[module_id][0] += float(total or 0)
        scores[module_id][1] += scored
    tasks_per_lab: Counter[str] = Counter()
    for (_user_id, lab), done in done_tasks.items():
        tasks_per_lab[lab] += done
    stats = []
    for m in modules:
        done, in_progress = statuses[m.id][DONE], statuses[m.id][IN_PROGRESS]
        total, scored = scores.get(m.id, (0.0, 0))
        stats.append(
            ModuleStat(
                m,
                done,
                in_progress,
                trainees - done - in_progress,
                round(100 * done / trainees) if trainees else 0,
                total / scored if scored else None,
                tasks_per_lab[m.lab_slug] if m.lab_slug else 0,
            )
        )
    return stats


def _activity(module_ids, members, today: date) -> list[tuple[date, int]]:
    """Modules completed per day over the last ACTIVITY_DAYS days (oldest first)."""
    first = today - timedelta(days=ACTIVITY_DAYS - 1)
    per_day: Counter[date] = Counter()
    if module_ids:
        since = datetime.combine(first, datetime.min.time())
        for day, count in queries.completions_per_day(module_ids, members, since):
            per_day[day if isinstance(day, date) else date.fromisoformat(str(day)[:10])] += count
    return [
        (first + timedelta(days=d), per_day[first + timedelta(days=d)])
        for d in range(ACTIVITY_DAYS)
    ]


def _sort_key(sort: str):
    if sort == "progress":
        return lambda t: (t.percent, t.done)
    if sort == "activity":
        return lambda t: t.last_activity or datetime.min
    return None  # by name: the order people() returns


def _window(trainees, modules, done_tasks, sort, descending, stuck_only, page, per_page):
    chosen = [t for t in trainees if t.stuck] if stuck_only else list(trainees)
    key = _sort_key(sort)
    if key is not None:
        chosen.sort(key=key, reverse=descending)
    elif descending:
        chosen.reverse()
    pages = max(1, -(-len(chosen) // per_page))
    page = min(max(page, 1), pages)
    rows = chosen[(page - 1) * per_page : page * per_page]
    _fill_cells(rows, modules, done_tasks)
    return MatrixWindow(rows, len(chosen), page, pages, per_page, sort, descending, stuck_only)


def _fill_cells(rows: list[TraineeRow], modules: list[ModuleColumn], done_tasks) -> None:
    """The matrix cells of the window's trainees only."""
    for t in rows:
        t.cells = [Cell() for _ in modules]
        for i, m in enumerate(modules):
            if m.lab_slug:
                t.cells[i].tasks_done = done_tasks.get((t.id, m.lab_slug), 0)
    if not rows or not modules:
        return
    by_id = {t.id: t for t in rows}
    column = {m.id: i for i, m in enumerate(modules)}
    for user_id, module_id, status, score, updated_at, _ in queries.module_progress(
        list(column), list(by_id)
    ):
        cell = by_id[user_id].cells[column[module_id]]
        cell.status, cell.quiz_score, cell.updated_at = status, score, updated_at
