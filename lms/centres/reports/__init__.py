"""Reports on cohorts, centres and trainees, one module per report:

- ``dashboard``: a cohort's dashboard (matrix, module statistics, stuck trainees,
  flag shares, activity), its queries in ``dashboard_queries``;
- ``summaries``: many cohorts at once (centre pages) and the programme view;
- ``timeline``: a trainee's courses and the timeline of what they did.

Every report costs a fixed number of queries, whatever the number of trainees.
The names below are the ones the views, the API and the exports use.
"""

from lms.centres.reports.dashboard import (
    ACTIVITY_DAYS,
    DEFAULT_STUCK_DAYS,
    Cell,
    CohortProgress,
    CourseAssignment,
    FlagShareRow,
    ModuleColumn,
    ModuleStat,
    TraineeRow,
    cohort_modules,
    cohort_progress,
)
from lms.centres.reports.dashboard_queries import FAILED_ATTEMPTS
from lms.centres.reports.lab_time import session_minutes
from lms.centres.reports.summaries import (
    CentreSummary,
    CohortSummary,
    cohort_summaries,
    programme_overview,
)
from lms.centres.reports.timeline import (
    MAX_EVENTS,
    CourseLine,
    TimelineEvent,
    TraineeReport,
    trainee_report,
)

__all__ = [
    "ACTIVITY_DAYS",
    "DEFAULT_STUCK_DAYS",
    "FAILED_ATTEMPTS",
    "MAX_EVENTS",
    "Cell",
    "CentreSummary",
    "CohortProgress",
    "CohortSummary",
    "CourseAssignment",
    "CourseLine",
    "FlagShareRow",
    "ModuleColumn",
    "ModuleStat",
    "TimelineEvent",
    "TraineeReport",
    "TraineeRow",
    "cohort_modules",
    "cohort_progress",
    "cohort_summaries",
    "programme_overview",
    "session_minutes",
    "trainee_report",
]
