"""Certificates: issued when a trainee completes a course (or a cohort's programme), as a
printable page, a PDF and an Open Badges 3.0 credential signed with the platform's key,
checked on a public verification page; admins revoke them."""

from flask import Flask

from lms.certificates import models, views  # noqa: F401  (tables; routes attach to bp)
from lms.certificates.blueprint import bp  # noqa: F401  (registered by lms.create_app)


def init_app(app: Flask) -> None:
    from lms.certificates import services
    from lms.certificates.cli import certificates_cli

    app.cli.add_command(certificates_cli)
    from lms.progress.signals import course_completed

    # Progress announces a completed course; the certificates follow from it.
    course_completed.connect(services.issue_for_completion)
    # The trainee's home and report pages (lms.centres, lms.progress) list certificates
    # through this, without importing this domain.
    app.context_processor(lambda: {"certificates_of": services.certificates_of})
