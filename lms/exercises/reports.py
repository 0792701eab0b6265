"""What the white cell's page and the after-action report show of each team: its members,
its tasks (done by whom, when on the exercise clock), the injects it received, the hints
it used, its score and rank; and the report's CSV rows.

People appear as the viewer may see them (``timeline.People``): a partner centre's
trainees by name and centre, their e-mail and commands only for their own staff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from lms.auth.models import User
from lms.exercises.models import (
    Exercise,
    ExerciseEvent,
    InjectDelivery,
    Team,
    TeamTaskCompletion,
)
from lms.exercises.scoring import TeamScore, team_scores
from lms.exercises.timeline import (
    COMMAND,
    ExerciseClock,
    People,
    Row,
    format_clock,
    timeline,
)
from lms.extensions import db
from lms.labs.models import RUNNING
from lms.terminal import services as terminal_services

REPORT_ROWS = 5000  # timeline rows per report (a 2-hour exercise of 8 teams stays far below)


@dataclass
class MemberView:
    user_id: int
    name: str
    centre: str
    role: str
    email: str | None  # None: the viewer may not see it
    visible: bool  # the viewer may see this person's commands and terminal
    live_terminals: int = 0


@dataclass
class TaskView:
    id: str
    title: str
    role: str
    points: int
    done: bool = False
    by: str = ""
    at: datetime | None = None
    clock_seconds: int | None = None
    hint_used: bool = False
    penalty: int = 0

    @property
    def clock(self) -> str:
        return format_clock(self.clock_seconds) if self.clock_seconds is not None else ""


@dataclass
class Finding:
    """A task done: when on the exercise clock, and how long after the inject before it."""

    task: str
    by: str
    clock_seconds: int
    points: int
    inject: str = ""  # the latest inject the team had received before it
    since_inject_seconds: int | None = None

    @property
    def clock(self) -> str:
        return format_clock(self.clock_seconds)

    @property
    def since_inject(self) -> str:
        if self.since_inject_seconds is None:
            return ""
        return format_clock(self.since_inject_seconds)


@dataclass
class HintUsed:
    task: str
    by: str
    clock_seconds: int
    penalty: int

    @property
    def clock(self) -> str:
        return format_clock(self.clock_seconds)


@dataclass
class TeamView:
    team: Team
    rank: int
    score: TeamScore
    members: list[MemberView]
    tasks: list[TaskView]
    findings: list[Finding] = field(default_factory=list)
    hints: list[HintUsed] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)  # its timeline (reports only)


@dataclass
class InjectView:
    id: str
    title: str
    at_minute: int | None
    delivered: dict[int, InjectDelivery]  # team id -> delivery


def _members(team: Team, people: People, count_terminals: bool) -> list[MemberView]:
    live: dict[int, int] = {}
    lab = team.lab_session
    # a stopped lab's shells are gone even when their recordings were not closed yet
    if count_terminals and lab is not None and lab.status == RUNNING:
        for recording in terminal_services.live_recordings(team.lab_session_id):
            live[recording.user_id] = live.get(recording.user_id, 0) + 1
    views = []
    for member in team.members:
        person = member.user
        visible = people.may_see(person)
        views.append(
            MemberView(
                user_id=person.id,
                name=people.name(person),
                centre=people.centre(person),
                role=people.role_title(person.id),
                email=person.email if visible else None,
                visible=visible,
                live_terminals=live.get(person.id, 0),
            )
        )
    return views


def _events(exercise: Exercise, kinds: tuple[str, ...]) -> list[ExerciseEvent]:
    return list(
        db.session.scalars(
            select(ExerciseEvent)
            .where(ExerciseEvent.exercise_id == exercise.id, ExerciseEvent.kind.in_(kinds))
            .order_by(ExerciseEvent.at, ExerciseEvent.id)
        )
    )


def _person_label(user_id: int | None, people: People) -> str:
    person = people.user(user_id) if user_id is not None else None
    return people.label(person) if person is not None else ""


def team_views(
    exercise: Exercise,
    viewer: User,
    team_ids: set[int] | None = None,
    count_terminals: bool = False,
) -> list[TeamView]:
    """Every team (or those of ``team_ids``) in scoreboard order, with its members, tasks,
    findings and hints as ``viewer`` may see them."""
    people = People(exercise, viewer)
    spec = people.spec
    clock = ExerciseClock(exercise)
    completions: dict[int, dict[str, TeamTaskCompletion]] = {}
    for completion in db.session.scalars(
        select(TeamTaskCompletion).where(
            TeamTaskCompletion.team_id.in_([t.id for t in exercise.teams])
        )
    ):
        completions.setdefault(completion.team_id, {})[completion.task_id] = completion
    events = _events(exercise, ("task", "hint", "inject"))
    task_clock = {(e.team_id, e.task_id): e.clock_seconds for e in events if e.kind == "task"}
    views = []
    for rank, score in enumerate(team_scores(exercise), start=1):
        team = score.team
        if team_ids is not None and team.id not in team_ids:
            continue
        done = completions.get(team.id, {})
        team_events = [e for e in events if e.team_id == team.id]
        hints = {e.task_id: e for e in team_events if e.kind == "hint"}
        tasks = []
        for task in spec.tasks if spec else ():
            completion = done.get(task.id)
            role = spec.role(task.role) if task.role else None
            view = TaskView(
                id=task.id,
                title=task.title,
                role=role.title if role else "",
                points=task.points,
                hint_used=task.id in hints,
                penalty=abs(hints[task.id].points) if task.id in hints else 0,
            )
            if completion is not None:
                view.done = True
                view.by = _person_label(completion.user_id, people)
                view.at = completion.completed_at
                view.clock_seconds = task_clock.get(
                    (team.id, task.id), clock.seconds_at(completion.completed_at)
                )
            tasks.append(view)
        views.append(
            TeamView(
                team=team,
                rank=rank,
                score=score,
                members=_members(team, people, count_terminals),
                tasks=tasks,
                findings=_findings(tasks, team_events, people),
                hints=[
                    HintUsed(
                        task=people.task_title(e.task_id),
                        by=_person_label(e.user_id, people),
                        clock_seconds=e.clock_seconds,
                        penalty=abs(e.points),
                    )
                    for e in hints.values()
                ],
            )
        )
    return views


def _findings(tasks: list[TaskView], team_events: list[ExerciseEvent], people) -> list[Finding]:
    """Tasks done in the order they were done; each with the inject the team had received
    last before it (what most likely set it off) and the time since."""
    injects = [e for e in team_events if e.kind == "inject"]
    findings = []
    for task in sorted((t for t in tasks if t.done), key=lambda t: t.clock_seconds or 0):
        finding = Finding(
            task=task.title, by=task.by, clock_seconds=task.clock_seconds or 0, points=task.points
        )
        before = [e for e in injects if e.clock_seconds <= finding.clock_seconds]
        if before:
            inject = before[-1]
            finding.inject = people.inject_title(inject.inject_id)
            finding.since_inject_seconds = finding.clock_seconds - inject.clock_seconds
        findings.append(finding)
    return findings


def inject_views(exercise: Exercise) -> list[InjectView]:
    """The lab's injects in timeline order (timed first), with the teams that received each."""
    from lms.content.lab_library import get_spec

    spec = get_spec(exercise.lab_slug)
    delivered: dict[str, dict[int, InjectDelivery]] = {}
    for delivery in db.session.scalars(
        select(InjectDelivery).where(InjectDelivery.exercise_id == exercise.id)
    ):
        delivered.setdefault(delivery.inject_id, {})[delivery.team_id] = delivery
    injects = [
        InjectView(i.id, i.title, i.at_minute, delivered.get(i.id, {}))
        for i in (spec.injects if spec else ())
    ]
    return sorted(injects, key=lambda i: (i.at_minute is None, i.at_minute or 0))


@dataclass
class Report:
    exercise: Exercise
    teams: list[TeamView]
    injects: list[InjectView]
    generated_at: datetime


def exercise_report(exercise: Exercise, viewer: User, team_ids: set[int] | None = None) -> Report:
    """The after-action report: each team with its timeline (tasks, injects, hints,
    commands the viewer may read)."""
    from lms.auth.models import utcnow

    teams = team_views(exercise, viewer, team_ids)
    rows = timeline(exercise, viewer, limit=REPORT_ROWS).rows
    for view in teams:
        view.rows = [row for row in rows if row.team_id == view.team.id]
    return Report(exercise, teams, inject_views(exercise), utcnow())


CSV_HEADER = [
    "exercise",
    "team",
    "clock",
    "at (UTC, ISO 8601)",
    "kind",
    "who",
    "centre",
    "task",
    "inject",
    "points",
    "detail",
]


def csv_rows(report: Report) -> list[list]:
    """One row per event of the report's teams; a command only where the viewer may read
    it (another centre's trainee's commands are left out, not shown blank)."""
    rows = []
    for view in report.teams:
        for row in view.rows:
            if row.kind == COMMAND and row.text_hidden:
                continue
            rows.append(
                [
                    report.exercise.title,
                    view.team.name,
                    row.clock,
                    row.at.isoformat(),
                    row.kind,
                    row.name,
                    row.centre,
                    row.task_id or "",
                    row.inject_id or "",
                    row.points,
                    row.text if row.kind == COMMAND else (row.detail or row.text),
                ]
            )
    return rows
