"""Courses: loading and validating Markdown folders, rendering, course images (the
catalogue, course and module pages are lms.progress.course_pages, on this blueprint)."""

from lms.catalog import views  # noqa: F401  (routes attach to bp)
from lms.catalog.blueprint import bp  # noqa: F401  (registered by lms.create_app)
