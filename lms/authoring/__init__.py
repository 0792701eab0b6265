"""The course editor: instructors edit course files in the browser, preview, validate, publish."""

from lms.authoring import views  # noqa: E402,F401  (routes attach to bp)
from lms.authoring.blueprint import bp  # noqa: E402,F401  (registered by lms.create_app)
