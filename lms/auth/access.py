"""Who may see what: decorators shared by every domain's views."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user

from lms.auth.models import Role
from lms.extensions import login_manager


def role_required(*roles: Role):
    """Only signed-in users with one of ``roles`` (platform admins always) may pass."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not (current_user.is_platform_admin or current_user.has_role(*roles)):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
