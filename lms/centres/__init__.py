"""Centres, cohorts and reports."""
from lms.centres import models  # noqa: F401,E402  (tables known to Alembic)
