"""Courses: loading and validating Markdown folders, rendering, the catalogue pages."""

from lms.catalog import views  # noqa: F401  (routes attach to bp)
from lms.catalog.blueprint import bp  # noqa: F401  (registered by lms.create_app)
