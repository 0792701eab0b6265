"""Each role's home page ("/"). The trainee's home is lms.progress's; a domain higher up
(lms.centres, for staff) registers the page of another role here, so the home route needs
no import of the layers above it.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app

REGISTRY_KEY = "lms_role_homes"


def register_role_home(app: Flask, role: str, page: Callable[[], object]) -> None:
    """``page()`` renders the home of people with ``role`` (a Role value)."""
    app.extensions.setdefault(REGISTRY_KEY, {})[role] = page


def role_home(user) -> object | None:
    """The home page response for ``user``'s role, or None where the default home applies."""
    page = current_app.extensions.get(REGISTRY_KEY, {}).get(getattr(user, "role", None))
    return page() if page else None
