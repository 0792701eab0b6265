"""Enrolment, module progress, quizzes; the trainee's home page; the catalogue, course
and module pages (``course_pages``, on the catalog blueprint)."""

from flask import Flask
from flask_babel import lazy_gettext as _l

from lms.progress import course_pages, views  # noqa: E402,F401  (routes attach to bp)
from lms.progress.blueprint import bp  # noqa: E402,F401  (registered by lms.create_app)

# The menu of each staff role: only pages the role may open, named for what they show
# (endpoint, label, the endpoint prefix that marks it active).
STAFF_MENUS = {
    "instructor": (
        ("centres.index", _l("Cohorts"), "centres.", {}),
        ("authoring.index", _l("Authoring"), "authoring.", {}),
        ("terminal.recordings_index", _l("Lab recordings"), "terminal.", {}),
        ("labs.flag_shares", _l("Flag sharing"), "labs.flag_shares", {}),
    ),
    "centre_admin": (
        ("centres.index", _l("Centres"), "centres.", {}),
        ("terminal.recordings_index", _l("Lab recordings"), "terminal.", {}),
        ("labs.flag_shares", _l("Flag sharing"), "labs.flag_shares", {}),
        ("audit.audit_log", _l("Audit log"), "audit.", {}),
    ),
    "platform_admin": (
        ("centres.index", _l("Centres"), "centres.", {}),
        ("authoring.index", _l("Authoring"), "authoring.", {}),
        ("labs.admin_sessions", _l("Running labs"), "labs.admin", {}),
        ("terminal.recordings_index", _l("Lab recordings"), "terminal.", {}),
        ("auth.admin_users", _l("Users"), "auth.admin", {}),
        ("lti.platforms", _l("LTI"), "lti.", {}),
        ("audit.audit_log", _l("Audit log"), "audit.", {}),
    ),
}


def init_app(app: Flask) -> None:
    from flask import url_for
    from flask_login import current_user

    from lms.catalog import editing
    from lms.web import fixed_url

    @app.context_processor
    def _navigation():
        def main_nav():
            """The top menu for the signed-in user; domains add entries when present."""
            role = current_user.role if current_user.is_authenticated else None
            items = [
                ("progress.home", _l("Home"), "progress.home", {}),
                ("catalog.catalogue", _l("Catalogue"), "catalog.", {}),
                *STAFF_MENUS.get(role, ()),
            ]
            if role is not None:  # team exercises: staff run them, trainees take part
                items.append(("exercises.index", _l("Exercises"), "exercises.", {}))
            if role == "trainee":
                items.append(("progress.my_points", _l("My points"), "progress.my_points", {}))
                report = ("centres.trainee", _l("My report"), "centres.trainee")
                items.append((*report, {"user_id": current_user.id}))
            if role == "instructor" and not editing.may_author(current_user):
                # No course of their centres (nor shared with them) to edit.
                items = [item for item in items if item[0] != "authoring.index"]
            return [
                {
                    "url": url_for(endpoint, **args) if args else fixed_url(endpoint),
                    "label": str(label),
                    "prefix": prefix,
                }
                for endpoint, label, prefix, args in items
                if endpoint in app.view_functions
            ]

        return {"main_nav": main_nav}
