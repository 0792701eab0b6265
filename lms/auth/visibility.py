"""Whose work (progress, lab sessions, recordings, flag shares) a person may see.

The rule (``lms.centres.access.visible_trainee_ids``) needs cohorts and centres, and
lms.centres sits above the labs and the terminal (its reports read their tables). So
centres registers the rule on the app (``register_rule``, from its ``init_app``) and the
labs and terminal domains ask through this module. Without a rule, people see only
their own work (a platform admin everyone's).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.sql import Select

from lms.auth.models import User
from lms.extensions import db

RULE_KEY = "trainee_visibility_rule"


def register_rule(app: Flask, rule: Callable[[User], Select]) -> None:
    app.extensions[RULE_KEY] = rule


def visible_trainee_ids(viewer: User) -> Select:
    """A SELECT of the ids of the people whose work ``viewer`` may see (runs no query)."""
    rule = current_app.extensions.get(RULE_KEY)
    if rule is not None:
        return rule(viewer)
    if viewer.is_platform_admin:
        return select(User.id)
    return select(User.id).where(User.id == viewer.id)


def can_view_trainee(viewer: User, trainee_id: int) -> bool:
    """Whether ``viewer`` may see the work of the person ``trainee_id`` (one query at most)."""
    if not viewer.is_authenticated:
        return False
    if viewer.id == trainee_id or viewer.is_platform_admin:
        return True
    if not viewer.is_staff:
        return False
    found = db.session.scalar(
        select(User.id).where(User.id == trainee_id, User.id.in_(visible_trainee_ids(viewer)))
    )
    return found is not None
