"""Lab sessions several people work in (a team exercise's environment).

A lab session has one owner, whose terminal opens on the lab's workstation. A domain
above labs (``lms.exercises``) registers a ``SharingRule`` to let other people in: the
rule answers which container a person's terminal opens on, and whether a member of
staff may watch another person's terminal in that session. Labs and the terminal ask
here and never import that domain (the same pattern as ``lms.auth.visibility``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lms.auth.models import User
from lms.content.lab_library import get_spec
from lms.labs.models import LabSession


@dataclass(frozen=True)
class SharingRule:
    # (user, lab_session) -> the container their terminal opens on, None: not a member
    workstation_for: Callable[[User, LabSession], str | None]
    # (viewer, lab_session, terminal's user) -> may the viewer watch that terminal?
    may_watch: Callable[[User, LabSession, User], bool]


rules: list[SharingRule] = []


def register(rule: SharingRule) -> None:
    if rule not in rules:
        rules.append(rule)


def workstation_for(user: User, lab_session: LabSession) -> str | None:
    """The container ``user``'s terminal opens on in this session: the lab's workstation
    for its owner, the one a registered rule names for a member, None for anyone else."""
    if not user.is_authenticated:
        return None
    for rule in rules:
        container = rule.workstation_for(user, lab_session)
        if container is not None:
            return container
    if user.id == lab_session.user_id:
        spec = get_spec(lab_session.lab_slug)
        return spec.workstation if spec is not None else None
    return None


def may_watch(viewer: User, lab_session: LabSession, terminal_user: User) -> bool | None:
    """Whether a registered rule lets ``viewer`` watch ``terminal_user``'s terminal in this
    session; None when no rule speaks about it (the caller's own rule applies)."""
    if not rules:
        return None
    return any(rule.may_watch(viewer, lab_session, terminal_user) for rule in rules) or None
