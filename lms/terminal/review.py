"""A lab session's review: its tasks, and under each the commands typed and the pages
opened through the lab's web proxy while the trainee was working on it.

Attribution is by time. Tasks are ordered by when they were completed in this session;
whatever happened after the previous task's completion and up to this one's belongs to
this one. What happened after the last completion belongs to the task the trainee was
then working on: the first task of the lab, in its order, not completed yet (or, once
every task is done, to "after the last task").
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from lms.content import lab_library
from lms.content.lab_model import LabSpec, TaskSpec
from lms.extensions import db
from lms.labs.models import HINT, LabSession, TaskAttempt, TaskCompletion
from lms.terminal.models import LabWebRequest, TerminalCommand, TerminalRecording


@dataclass
class TimelineEntry:
    """A command typed in a terminal, or a request made to the lab's web service."""

    at: datetime
    command: TerminalCommand | None = None
    web_request: LabWebRequest | None = None


@dataclass
class TaskReview:
    """A task of the lab, what the trainee tried, and what they did for it."""

    id: str
    title: str
    type: str
    attempts: list[TaskAttempt] = field(default_factory=list)
    completed_at: datetime | None = None
    entries: list[TimelineEntry] = field(default_factory=list)

    @property
    def commands(self) -> list[TerminalCommand]:
        return [e.command for e in self.entries if e.command is not None]

    @property
    def web_requests(self) -> list[LabWebRequest]:
        return [e.web_request for e in self.entries if e.web_request is not None]

    @property
    def hints(self) -> int:
        return sum(1 for a in self.attempts if a.kind == HINT)

    @property
    def tries(self) -> int:
        return sum(1 for a in self.attempts if a.kind != HINT)


@dataclass
class SessionReview:
    lab_session: LabSession
    spec: LabSpec | None
    tasks: list[TaskReview]
    working_on: TaskReview | None  # the task in progress at the end (not completed)
    unattributed: list[TimelineEntry]  # after the last task, once every task is done
    recordings: list[TerminalRecording]


def review_session(lab_session: LabSession, user_ids: set[int] | None = None) -> SessionReview:
    """The session's tasks with the commands and web requests attributed to each.

    ``user_ids``: only the terminals (recordings and commands typed) of these people (a
    shared session: those the reader may see); None: everyone's."""
    recordings = [
        r
        for r in _rows(TerminalRecording, TerminalRecording.started_at, lab_session.id)
        if user_ids is None or r.user_id in user_ids
    ]
    shown = {r.id for r in recordings}
    spec = lab_library.get_spec(lab_session.lab_slug)
    specs: tuple[TaskSpec, ...] = spec.tasks if spec else ()
    tasks = {t.id: TaskReview(t.id, t.title, t.type) for t in specs}
    for attempt in _rows(TaskAttempt, TaskAttempt.created_at, lab_session.id):
        review = tasks.setdefault(
            attempt.task_id, TaskReview(attempt.task_id, attempt.task_id, attempt.kind)
        )
        review.attempts.append(attempt)
        if attempt.success and attempt.kind != HINT and review.completed_at is None:
            review.completed_at = attempt.created_at
    for completion in _rows(TaskCompletion, TaskCompletion.completed_at, lab_session.id):
        review = tasks.get(completion.task_id)
        if review and (
            review.completed_at is None or completion.completed_at < review.completed_at
        ):
            review.completed_at = completion.completed_at

    timeline = sorted(
        [
            TimelineEntry(c.at, command=c)
            for c in _rows(TerminalCommand, TerminalCommand.at, lab_session.id)
            if c.recording_id in shown
        ]
        + [
            TimelineEntry(r.at, web_request=r)
            for r in _rows(LabWebRequest, LabWebRequest.at, lab_session.id)
        ],
        key=lambda e: e.at,
    )
    done = sorted((t for t in tasks.values() if t.completed_at), key=lambda t: t.completed_at)
    working_on = next((t for t in tasks.values() if t.completed_at is None), None)
    unattributed = _attribute(timeline, done, working_on)
    return SessionReview(
        lab_session, spec, list(tasks.values()), working_on, unattributed, recordings
    )


def _attribute(timeline, done: list[TaskReview], working_on: TaskReview | None) -> list:
    """Give each entry to the task completed next after it; later ones to ``working_on``.
    Returns what nothing takes (after the last task, when every task is done)."""
    completions = [t.completed_at for t in done]
    left = []
    for entry in timeline:
        index = bisect_left(completions, entry.at)  # the first completion at or after it
        if index < len(done):
            done[index].entries.append(entry)
        elif working_on is not None:
            working_on.entries.append(entry)
        else:
            left.append(entry)
    return left


def _rows(model, time_column, session_id: int):
    return db.session.scalars(
        select(model).where(model.session_id == session_id).order_by(time_column, model.id)
    )
