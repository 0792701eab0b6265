"""Reports: the cohort dashboard and its CSV exports, trainee pages, the programme view."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import select

from lms.auth.access import role_required
from lms.auth.models import Role, utcnow
from lms.centres.access import can_view_cohort, cohort_or_abort, trainee_or_abort
from lms.centres.blueprint import bp
from lms.centres.csv_files import csv_response
from lms.centres.models import Cohort, CohortMember
from lms.centres.reports import (
    DEFAULT_STUCK_DAYS,
    FAILED_ATTEMPTS,
    CohortProgress,
    ModuleColumn,
    TraineeRow,
    cohort_progress,
    programme_overview,
    trainee_report,
)
from lms.centres.reports.dashboard_page import SORTS, STUCK_LISTED, cohort_dashboard
from lms.extensions import db

STATUS_LABELS = {"done": "done", "in_progress": "in progress", "not_started": "not started"}


def _stuck_days() -> int:
    try:
        days = int(request.args.get("days", DEFAULT_STUCK_DAYS))
    except ValueError:
        days = DEFAULT_STUCK_DAYS
    return min(max(days, 1), 365)


def _progress(cohort_id: int) -> CohortProgress:
    cohort = cohort_or_abort(cohort_id, current_user)
    course = request.args.get("course") or None
    return cohort_progress(cohort, stuck_days=_stuck_days(), course_slug=course)


MARKS = {"done": "✓", "in_progress": "…", "not_started": "·"}


def matrix_html(modules: list[ModuleColumn], trainees: list[TraineeRow]) -> list[Markup]:
    """The module cells of each trainee's matrix row (one page of trainees), as HTML.

    Built here rather than in Jinja: a page of 50 trainees × 30 modules is still 1,500
    cells, cheaper as strings than through the template engine one by one. A cell's
    module is given by its column header (``th[data-module]``), its state by its
    class (done, in_progress, not_started), to keep the page small.
    """
    columns = [(bool(m.lab_slug), f"/{m.lab_tasks}" if m.lab_tasks else "") for m in modules]
    rows = []
    for t in trainees:
        cells = []
        for (has_lab, total), c in zip(columns, t.cells, strict=True):
            extra = ""
            if c.quiz_score is not None:
                extra += f'<span class="score">{round(100 * c.quiz_score)}%</span>'
            if has_lab and (c.tasks_done or total):
                extra += f'<span class="tasks">{c.tasks_done}{total}</span>'
            cells.append(f'<td class="m {escape(c.status)}">{MARKS.get(c.status, "?")}{extra}</td>')
        rows.append(Markup("".join(cells)))  # noqa: S704 - every dynamic part is escaped above
    return rows


@bp.get("/cohorts/<int:cohort_id>/dashboard")
@role_required(Role.INSTRUCTOR, Role.CENTRE_ADMIN)
def dashboard(cohort_id: int):
    cohort = cohort_or_abort(cohort_id, current_user)
    sort = request.args.get("sort", "name")
    page = cohort_dashboard(
        cohort,
        stuck_days=_stuck_days(),
        course_slug=request.args.get("course") or None,
        sort=sort if sort in SORTS else "name",
        descending=request.args.get("order") == "desc",
        stuck_only=request.args.get("filter") == "stuck",
        page=request.args.get("page", 1, type=int),
    )
    return render_template(
        "centres/dashboard.html",
        p=page,
        cohort=cohort,
        course_filter=request.args.get("course") or "",
        chart_data=page.chart_data(),
        failed_attempts=FAILED_ATTEMPTS,
        matrix=matrix_html(page.modules, page.window.rows),
        stuck_listed=STUCK_LISTED,
    )


def _percent(value: float | None):
    return "" if value is None else round(100 * value)


def _minutes(value: int) -> str:
    return f"{value // 60}:{value % 60:02d}"


def _matrix_table(p: CohortProgress):
    """The matrix export: a header and one row per trainee."""
    header = ["name", "email", "modules done", "percent done"]
    for m in p.modules:
        header.append(f"{m.title} [{m.key}] status")
        if m.has_quiz:
            header.append(f"{m.title} [{m.key}] quiz %")
        if m.lab_slug:
            header.append(f"{m.title} [{m.key}] lab tasks done")
    rows = []
    for t in p.trainees:
        row = [t.name, t.email, t.done, t.percent]
        for m, cell in zip(p.modules, t.cells, strict=True):
            row.append(STATUS_LABELS.get(cell.status, cell.status))
            if m.has_quiz:
                row.append(_percent(cell.quiz_score))
            if m.lab_slug:
                row.append(cell.tasks_done)
        rows.append(row)
    return header, rows


def _export_table(p: CohortProgress, table: str):
    if table == "matrix":
        return _matrix_table(p)
    if table == "modules":
        return (
            [
                "course",
                "module",
                "trainees done",
                "in progress",
                "not started",
                "completion %",
                "average quiz %",
                "lab tasks done",
            ],
            [
                (
                    s.module.course_title,
                    s.module.title,
                    s.done,
                    s.in_progress,
                    s.not_started,
                    s.completion,
                    _percent(s.average_score),
                    s.tasks_done,
                )
                for s in p.module_stats
            ],
        )
    if table == "trainees":
        return (
            [
                "name",
                "email",
                "joined",
                "modules done",
                "percent done",
                "average quiz %",
                "lab tasks done",
                "lab time (h:mm)",
                "last activity (UTC)",
                "stuck because",
            ],
            [
                (
                    t.name,
                    t.email,
                    t.joined_at.strftime("%Y-%m-%d"),
                    t.done,
                    t.percent,
                    _percent(t.average_score),
                    t.tasks_done,
                    _minutes(t.lab_minutes),
                    t.last_activity.strftime("%Y-%m-%d %H:%M") if t.last_activity else "",
                    "; ".join(t.stuck),
                )
                for t in p.trainees
            ],
        )
    if table == "stuck":
        return (
            ["name", "email", "reason", "last activity (UTC)"],
            [
                (
                    t.name,
                    t.email,
                    reason,
                    t.last_activity.strftime("%Y-%m-%d %H:%M") if t.last_activity else "",
                )
                for t in p.stuck
                for reason in t.stuck
            ],
        )
    if table == "flag-shares":
        return (
            ["when (UTC)", "lab", "submitted by", "flag of"],
            [
                (s.at.strftime("%Y-%m-%d %H:%M"), s.lab_slug, s.submitter, s.owner)
                for s in p.flag_shares
            ],
        )
    abort(404, description=f"There is no table called “{table}” to export.")


EXPORTS = ("matrix", "modules", "trainees", "stuck", "flag-shares")


@bp.get("/cohorts/<int:cohort_id>/export/<table>.csv")
@role_required(Role.INSTRUCTOR, Role.CENTRE_ADMIN)
def export(cohort_id: int, table: str):
    if table not in EXPORTS:
        abort(404, description=f"There is no table called “{table}” to export.")
    p = _progress(cohort_id)
    header, rows = _export_table(p, table)
    name = f"{p.cohort.centre.slug}-{p.cohort.name}-{table}-{p.generated_at:%Y%m%d}.csv"
    return csv_response(name, header, rows, about=p.cohort)


def _someone_else(person):
    """A trainee downloading their own report is no privileged export; staff doing it is."""
    return None if person.id == current_user.id else person


def _cohorts_seen_by(viewer, trainee) -> list[Cohort]:
    cohorts = db.session.scalars(
        select(Cohort)
        .join(CohortMember, CohortMember.cohort_id == Cohort.id)
        .where(CohortMember.user_id == trainee.id)
        .order_by(Cohort.name)
    ).all()
    if viewer.id == trainee.id:
        return list(cohorts)
    return [c for c in cohorts if can_view_cohort(viewer, c)]


@bp.get("/trainees/<int:user_id>")
@login_required
def trainee(user_id: int):
    person = trainee_or_abort(user_id, current_user)
    report = trainee_report(person, _cohorts_seen_by(current_user, person))
    back = request.args.get("cohort", type=int)
    back_cohort = next((c for c in report.cohorts if c.id == back), None)
    return render_template(
        "centres/trainee.html",
        report=report,
        person=person,
        back_cohort=back_cohort,
        today=utcnow().date(),
    )


@bp.get("/trainees/<int:user_id>/timeline.csv")
@login_required
def trainee_timeline_csv(user_id: int):
    person = trainee_or_abort(user_id, current_user)
    report = trainee_report(person, _cohorts_seen_by(current_user, person))
    return csv_response(
        f"timeline-{person.email.split('@')[0]}.csv",
        ["when (UTC)", "kind", "what", "outcome"],
        [(e.at.strftime("%Y-%m-%d %H:%M:%S"), e.kind, e.text, e.outcome) for e in report.events],
        about=_someone_else(person),
    )


@bp.get("/trainees/<int:user_id>/courses.csv")
@login_required
def trainee_courses_csv(user_id: int):
    person = trainee_or_abort(user_id, current_user)
    report = trainee_report(person, _cohorts_seen_by(current_user, person))
    return csv_response(
        f"courses-{person.email.split('@')[0]}.csv",
        ["course", "modules done", "modules", "percent", "average quiz %", "due on"],
        [
            (
                c.title,
                c.done,
                c.total,
                c.percent,
                _percent(c.average_score),
                c.due_on.isoformat() if c.due_on else "",
            )
            for c in report.courses
        ],
        about=_someone_else(person),
    )


@bp.get("/programme")
@role_required(Role.PLATFORM_ADMIN)
def programme():
    centres = programme_overview()
    chart = {
        "labels": [c.centre.name for c in centres],
        "completion": [c.completion for c in centres],
        "average_score": [
            None if c.average_score is None else round(100 * c.average_score) for c in centres
        ],
        "trainees": [c.trainees for c in centres],
    }
    return render_template("centres/programme.html", centres=centres, chart_data=chart)


@bp.get("/programme.csv")
@role_required(Role.PLATFORM_ADMIN)
def programme_csv():
    centres = programme_overview()
    return csv_response(
        "programme.csv",
        [
            "centre",
            "country",
            "partners",
            "cohorts",
            "trainees",
            "instructors",
            "courses",
            "completion %",
            "average quiz %",
            "active last 7 days",
            "lab time (h:mm)",
        ],
        [
            (
                c.centre.name,
                c.centre.country,
                "; ".join(c.partners),
                c.cohorts,
                c.trainees,
                c.instructors,
                c.courses,
                c.completion,
                _percent(c.average_score),
                c.active,
                _minutes(c.lab_minutes),
            )
            for c in centres
        ],
        about="the programme (every centre)",
    )
