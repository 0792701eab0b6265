"""The exercise's timeline as a viewer may read it: its events merged with the commands
typed in the teams' terminals, in time order.

Commands are the terminal's own ``TerminalCommand`` rows of each team's lab session, not
copied into the exercise: whose they are is the recording's user, their role comes from
the team. A person's e-mail and the commands they typed are shown only to a viewer who
may see that person (``access.can_see_person``); to others a command is "a command by
<name> (<centre>)", without its text.

Polling pages pass back the ``cursor`` of their last answer and get only newer rows. It
holds the last id read of each source (events and commands): ids only grow, so nothing is
read twice, and a page that was cut at ``limit`` carries on where it stopped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from lms.auth.models import User, utcnow
from lms.centres.models import Centre
from lms.content.lab_library import get_spec
from lms.exercises.models import Exercise, ExerciseEvent, Team, TeamMember
from lms.extensions import db
from lms.terminal.models import TerminalCommand, TerminalRecording

DEFAULT_LIMIT = 300
MAX_LIMIT = 2000
LATE_ROWS = timedelta(seconds=20)  # rows of this age are sent again to a polling page
CURSOR_RE = re.compile(r"^e(\d{1,18})-c(\d{1,18})$")
COMMAND = "command"  # the kind of a timeline row that is a command typed


@dataclass(frozen=True)
class Cursor:
    event_id: int = 0
    command_id: int = 0

    def __str__(self) -> str:
        return f"e{self.event_id}-c{self.command_id}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """The cursor a page sent back; None for none or anything malformed (read from
        the start, never an error page)."""
        match = CURSOR_RE.match((text or "").strip())
        return cls(int(match[1]), int(match[2])) if match else None


@dataclass
class Row:
    key: str  # "e12" (an event) or "c40" (a command): unique on the page
    at: datetime
    clock_seconds: int
    team_id: int | None
    team: str  # the team's name, "" for the whole exercise
    kind: str  # an ExerciseEvent kind, or "command"
    kind_label: str
    text: str
    who: str = ""  # "Name (Centre)", "" for nobody in particular
    name: str = ""
    centre: str = ""
    email: str | None = None  # only when the viewer may see the person
    role: str = ""
    user_id: int | None = None
    task_id: str | None = None
    task: str = ""  # the task's title
    inject_id: str | None = None
    inject: str = ""  # the inject's title
    points: int = 0
    detail: str = ""
    text_hidden: bool = False  # a command whose text the viewer may not see

    @property
    def clock(self) -> str:
        return format_clock(self.clock_seconds)

    def to_json(self) -> dict:
        return {
            "key": self.key,
            "at": self.at.isoformat(),
            "clock": self.clock,
            "clock_seconds": self.clock_seconds,
            "team_id": self.team_id,
            "team": self.team,
            "kind": self.kind,
            "kind_label": self.kind_label,
            "text": self.text,
            "who": self.who,
            "email": self.email,
            "role": self.role,
            "task_id": self.task_id,
            "inject_id": self.inject_id,
            "points": self.points,
        }


@dataclass
class Timeline:
    rows: list[Row]
    cursor: Cursor
    truncated: bool = False  # more rows than ``limit``: the oldest were left out
    teams: dict[int, Team] = field(default_factory=dict)


def format_clock(seconds: int) -> str:
    """mm:ss on the exercise clock (minutes go past 59: 95:10)."""
    seconds = max(0, int(seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


# -- the exercise clock at any past moment ---------------------------------------------------


class ExerciseClock:
    """Seconds on the exercise clock at a past wall-clock moment: the time since the start
    less the pauses before it (read from the timeline's paused/resumed events)."""

    def __init__(self, exercise: Exercise):
        self.started_at = exercise.started_at
        self.pauses: list[tuple[datetime, datetime | None]] = []
        events = db.session.execute(
            select(ExerciseEvent.kind, ExerciseEvent.at)
            .where(
                ExerciseEvent.exercise_id == exercise.id,
                ExerciseEvent.kind.in_(("paused", "resumed", "ended")),
            )
            .order_by(ExerciseEvent.at, ExerciseEvent.id)
        ).all()
        paused_at = None
        for kind, at in events:  # several teams' copies of one pause count once
            if kind == "paused" and paused_at is None:
                paused_at = at
            elif kind in ("resumed", "ended") and paused_at is not None:
                self.pauses.append((paused_at, at))
                paused_at = None
        if paused_at is not None or exercise.paused_at is not None:
            self.pauses.append((paused_at or exercise.paused_at, None))
        self.ended_at = exercise.ended_at

    def seconds_at(self, at: datetime) -> int:
        if self.started_at is None or at <= self.started_at:
            return 0
        if self.ended_at is not None:
            at = min(at, self.ended_at)
        paused = timedelta(0)
        for start, end in self.pauses:
            stop = min(at, end) if end is not None else at
            if stop > start:
                paused += stop - max(start, self.started_at)
        return max(0, int((at - self.started_at - paused).total_seconds()))


# -- people as a viewer may see them -----------------------------------------------------------


class People:
    """Names, centres and roles of the people on a timeline, and what the viewer may see."""

    def __init__(self, exercise: Exercise, viewer: User):
        from lms.exercises import access

        self._can_see = access.can_see_person
        self.viewer = viewer
        self.spec = get_spec(exercise.lab_slug)
        self.members: dict[int, TeamMember] = {
            m.user_id: m
            for m in db.session.scalars(
                select(TeamMember).where(TeamMember.exercise_id == exercise.id)
            )
        }
        self._centres: dict[int, str] = {}
        self._visible: dict[int, bool] = {}
        self._users: dict[int, User] = {m.user_id: m.user for m in self.members.values()}

    def user(self, user_id: int) -> User | None:
        if user_id not in self._users:
            self._users[user_id] = db.session.get(User, user_id)
        return self._users[user_id]

    def may_see(self, person: User) -> bool:
        if person.id not in self._visible:
            self._visible[person.id] = bool(self._can_see(self.viewer, person))
        return self._visible[person.id]

    def centre(self, person: User) -> str:
        if person.centre_id is None:
            return ""
        if person.centre_id not in self._centres:
            centre = db.session.get(Centre, person.centre_id)
            self._centres[person.centre_id] = centre.name if centre else ""
        return self._centres[person.centre_id]

    def name(self, person: User) -> str:
        """The display name; never the e-mail address to someone who may not see it."""
        if person.name:
            return person.name
        return person.email if self.may_see(person) else _("Person %(id)s", id=person.id)

    def label(self, person: User) -> str:
        centre = self.centre(person)
        return f"{self.name(person)} ({centre})" if centre else self.name(person)

    def role_title(self, user_id: int) -> str:
        member = self.members.get(user_id)
        if member is None:
            return ""
        role = self.spec.role(member.role) if self.spec else None
        return role.title if role is not None else member.role

    def task_title(self, task_id: str | None) -> str:
        if not task_id:
            return ""
        task = self.spec.task(task_id) if self.spec else None
        return task.title if task is not None else task_id

    def inject_title(self, inject_id: str | None) -> str:
        if not inject_id:
            return ""
        inject = self.spec.inject(inject_id) if self.spec else None
        return inject.title if inject is not None else inject_id


# -- reading -------------------------------------------------------------------------------------


def kind_label(kind: str) -> str:
    labels = {
        "started": _("Started"),
        "paused": _("Paused"),
        "resumed": _("Resumed"),
        "extended": _("Extended"),
        "ended": _("Ended"),
        "inject": _("Inject"),
        "inject-failed": _("Inject failed"),
        "task": _("Task done"),
        "check-failed": _("Check failed"),
        "flag-wrong": _("Wrong flag"),
        "hint": _("Hint"),
        "notes": _("Notes"),
        "lab-failed": _("Lab failed"),
        COMMAND: _("Command"),
    }
    return labels.get(kind, kind)


def _event_text(event: ExerciseEvent, people: People) -> str:
    task = people.task_title(event.task_id)
    inject = people.inject_title(event.inject_id)
    kind = event.kind
    if kind == "task":
        return _("%(task)s (+%(points)s points)", task=task, points=event.points)
    if kind == "hint":
        if not event.points:  # a free hint: "−0 points" read like a mistake
            return _("Hint for %(task)s", task=task)
        return _("Hint for %(task)s (−%(points)s points)", task=task, points=abs(event.points))
    if kind == "check-failed":
        return _("Check of %(task)s did not pass", task=task)
    if kind == "flag-wrong":
        return _("Wrong flag for %(task)s", task=task)
    if kind == "inject":
        if event.detail == "by hand":
            return _("%(inject)s (fired by hand)", inject=inject)
        return _("%(inject)s (on schedule)", inject=inject)
    if kind == "inject-failed":
        return _("%(inject)s could not be delivered: %(why)s", inject=inject, why=event.detail)
    if kind == "extended":
        return _("Extended by %(minutes)s minutes", minutes=event.detail)
    if kind == "notes":
        return _("Notes saved")
    if kind == "lab-failed":
        return _("The team's lab did not start: %(why)s", why=event.detail)
    if kind == "started":
        if event.team_id is not None:
            return _("The team's environment is starting")
        return _("The exercise started")
    if kind == "paused":
        return _("The exercise is paused")
    if kind == "resumed":
        return _("The exercise runs again")
    if kind == "ended":
        if event.detail == "time up":
            return _("The exercise ended: time is up")
        return _("The exercise ended")
    return event.detail


def _event_row(event: ExerciseEvent, teams: dict[int, Team], people: People) -> Row:
    team = teams.get(event.team_id) if event.team_id else None
    row = Row(
        key=f"e{event.id}",
        at=event.at,
        clock_seconds=event.clock_seconds,
        team_id=event.team_id,
        team=team.name if team else "",
        kind=event.kind,
        kind_label=kind_label(event.kind),
        text=_event_text(event, people),
        task_id=event.task_id,
        task=people.task_title(event.task_id),
        inject_id=event.inject_id,
        inject=people.inject_title(event.inject_id),
        points=event.points,
        detail=event.detail,
    )
    if event.user_id is not None and (person := people.user(event.user_id)) is not None:
        _add_person(row, person, people)
    return row


def _add_person(row: Row, person: User, people: People) -> None:
    row.user_id = person.id
    row.name = people.name(person)
    row.centre = people.centre(person)
    row.who = people.label(person)
    row.role = people.role_title(person.id)
    row.email = person.email if people.may_see(person) else None


def _command_row(
    command: TerminalCommand,
    user_id: int,
    team: Team | None,
    people: People,
    clock: ExerciseClock,
) -> Row:
    person = people.user(user_id)
    row = Row(
        key=f"c{command.id}",
        at=command.at,
        clock_seconds=clock.seconds_at(command.at),
        team_id=team.id if team else None,
        team=team.name if team else "",
        kind=COMMAND,
        kind_label=kind_label(COMMAND),
        text=command.text,
    )
    if person is not None:
        _add_person(row, person, people)
        if not people.may_see(person):
            row.text = _(
                "a command by %(name)s (%(centre)s)",
                name=row.name,
                centre=row.centre or _("no centre"),
            )
            row.text_hidden = True
    return row


def timeline(
    exercise: Exercise,
    viewer: User,
    after: Cursor | str | None = None,
    team_id: int | None = None,
    limit: int = DEFAULT_LIMIT,
    commands: bool = True,
) -> Timeline:
    """The exercise's events and its teams' commands as ``viewer`` may read them, oldest
    first. Without ``after``: the latest ``limit`` rows; with it: the rows after it (at
    most ``limit`` of each source; the cursor then points where to carry on).

    ``team_id`` keeps one team's rows (and the whole exercise's: start, pauses, end).
    """
    if isinstance(after, str):
        after = Cursor.parse(after)
    limit = max(1, min(int(limit), MAX_LIMIT))
    teams = {team.id: team for team in exercise.teams}
    people = People(exercise, viewer)

    events_query = select(ExerciseEvent).where(ExerciseEvent.exercise_id == exercise.id)
    if team_id is not None:
        events_query = events_query.where(
            (ExerciseEvent.team_id == team_id) | ExerciseEvent.team_id.is_(None)
        )
    sessions = {
        team.lab_session_id: team
        for team in teams.values()
        if team.lab_session_id is not None and (team_id is None or team.id == team_id)
    }
    commands_query = (
        select(TerminalCommand, TerminalRecording.user_id)
        .join(TerminalRecording, TerminalRecording.id == TerminalCommand.recording_id)
        .where(TerminalCommand.session_id.in_(list(sessions)))
    )
    if exercise.started_at is not None:
        commands_query = commands_query.where(TerminalCommand.at >= exercise.started_at)

    if after is None:  # the latest rows, read newest first
        events = list(
            db.session.scalars(events_query.order_by(ExerciseEvent.id.desc()).limit(limit + 1))
        )
        found = (
            db.session.execute(
                commands_query.order_by(TerminalCommand.id.desc()).limit(limit + 1)
            ).all()
            if commands and sessions
            else []
        )
        event_cursor = max((e.id for e in events), default=0)
        command_cursor = max((c.id for c, _user in found), default=0)
    else:
        # Ids are handed out before commit: a row committed late can carry an id below the
        # cursor. The last LATE_ROWS of rows are sent again (pages skip rows they hold).
        recent = utcnow() - LATE_ROWS
        events = list(
            db.session.scalars(
                events_query.where(
                    (ExerciseEvent.id > after.event_id) | (ExerciseEvent.at >= recent)
                )
                .order_by(ExerciseEvent.id)
                .limit(limit)
            )
        )
        found = (
            db.session.execute(
                commands_query.where(
                    (TerminalCommand.id > after.command_id) | (TerminalCommand.at >= recent)
                )
                .order_by(TerminalCommand.id)
                .limit(limit)
            ).all()
            if commands and sessions
            else []
        )
        event_cursor = max([after.event_id, *(e.id for e in events)])
        command_cursor = max([after.command_id, *(c.id for c, _user in found)])

    clock = ExerciseClock(exercise)
    rows = [_event_row(event, teams, people) for event in events]
    rows += [
        _command_row(command, user_id, sessions.get(command.session_id), people, clock)
        for command, user_id in found
    ]
    rows.sort(key=lambda row: (row.at, row.key))
    truncated = False
    if after is None and len(rows) > limit:
        rows, truncated = rows[-limit:], True
    return Timeline(
        rows=rows,
        cursor=Cursor(event_cursor, command_cursor),
        truncated=truncated,
        teams=teams,
    )
