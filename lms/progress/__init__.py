"""Enrolment, module progress, quizzes; the trainee's home page; the catalogue, course
and module pages (``course_pages``, on the catalog blueprint)."""

from flask import Flask

from lms.progress import course_pages, views  # noqa: E402,F401  (routes attach to bp)
from lms.progress.blueprint import bp  # noqa: E402,F401  (registered by lms.create_app)


def init_app(app: Flask) -> None:
    from flask import url_for
    from flask_login import current_user

    from lms.web import fixed_url

    @app.context_processor
    def _navigation():
        def main_nav():
            """The top menu for the signed-in user; domains add entries when present."""
            items = [
                ("progress.home", "Home", "progress.", {}),
                ("catalog.catalogue", "Catalogue", "catalog.", {}),
            ]
            if current_user.is_authenticated and not current_user.is_staff:
                items.append(
                    (
                        "centres.trainee",
                        "My report",
                        "centres.trainee",
                        {"user_id": current_user.id},
                    )
                )
            if current_user.is_authenticated and current_user.is_staff:
                items += [
                    ("centres.index", "Centres", "centres.", {}),
                    ("authoring.index", "Authoring", "authoring.", {}),
                    ("labs.admin_sessions", "Labs", "labs.admin", {}),
                    ("terminal.recordings_index", "Recordings", "terminal.", {}),
                ]
            if current_user.is_authenticated and current_user.is_platform_admin:
                items.append(("auth.admin_users", "Users", "auth.admin", {}))
            return [
                {
                    "url": url_for(endpoint, **args) if args else fixed_url(endpoint),
                    "label": label,
                    "prefix": prefix,
                }
                for endpoint, label, prefix, args in items
                if endpoint in app.view_functions
            ]

        return {"main_nav": main_nav}
