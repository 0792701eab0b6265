"""Which courses a person may edit in the browser.

The rule needs centres (which centre offers a course, whom it shares it with, who
teaches where), and lms.centres sits beside lms.authoring, not below it. So centres
registers the rule on the app (``register_rule``, from its ``init_app``) and authoring
and the menu ask through this module. Without a rule only platform admins edit.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app

from lms.auth.models import Role, User

RULE_KEY = "course_editing_rule"
AUTHORS = (Role.INSTRUCTOR, Role.PLATFORM_ADMIN)


def register_rule(app: Flask, rule: Callable[[User], set[str]]) -> None:
    """``rule(instructor)``: the slugs of the courses that instructor may edit."""
    app.extensions[RULE_KEY] = rule


def editable_course_slugs(user: User) -> set[str] | None:
    """Slugs of the courses ``user`` may edit; None means every course folder (platform
    admins). Centre admins and trainees edit none."""
    if not user.is_authenticated:
        return set()
    if user.is_platform_admin:
        return None
    if user.role != Role.INSTRUCTOR.value:
        return set()
    rule = current_app.extensions.get(RULE_KEY)
    return rule(user) if rule is not None else set()


def may_edit(user: User, slug: str) -> bool:
    slugs = editable_course_slugs(user)
    return slugs is None or slug in slugs


def may_author(user: User) -> bool:
    """Whether the Authoring pages have anything for ``user`` (the menu asks)."""
    slugs = editable_course_slugs(user)
    return slugs is None or bool(slugs)
