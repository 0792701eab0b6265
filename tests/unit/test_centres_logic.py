"""Pure pieces of the centres domain: stuck rules, lab time, slugs."""

from datetime import date, datetime, timedelta

from lms.centres.reports import (
    Cell,
    CourseAssignment,
    ModuleColumn,
    TraineeRow,
    session_minutes,
)
from lms.centres.reports.dashboard import _stuck_reasons
from lms.centres.services import slugify

NOW = datetime(2030, 5, 20, 12, 0)


def _module(i, lab=None):
    return ModuleColumn(i, f"m{i}", f"Module {i}", i, 1, "course", "Course", lab, True)


def _trainee(statuses, joined_days_ago=30, last_days_ago=None):
    row = TraineeRow(
        1,
        "Ana",
        "ana@example.org",
        NOW - timedelta(days=joined_days_ago),
        [Cell(status=s) for s in statuses],
    )
    row.done = statuses.count("done")
    row.last_activity = None if last_days_ago is None else NOW - timedelta(days=last_days_ago)
    return row


def test_lab_minutes_count_open_sessions_up_to_now_or_expiry():
    start = NOW - timedelta(minutes=90)
    assert session_minutes(start, start + timedelta(minutes=30), None, NOW) == 30
    assert session_minutes(start, None, NOW + timedelta(hours=1), NOW) == 90
    assert session_minutes(start, None, start + timedelta(minutes=60), NOW) == 60
    assert session_minutes(None, None, None, NOW) == 0


def test_idle_trainees_are_stuck_but_finished_ones_are_not():
    modules = [_module(1), _module(2)]
    idle = _trainee(["done", "in_progress"], last_days_ago=10)
    assert _stuck_reasons(idle, [], modules, 7, NOW, [], []) == ["no progress for 10 days"]
    assert _stuck_reasons(idle, [], modules, 14, NOW, [], []) == []
    finished = _trainee(["done", "done"], last_days_ago=40)
    assert _stuck_reasons(finished, [], modules, 7, NOW, [], []) == []
    never = _trainee(["not_started", "not_started"], joined_days_ago=9)
    assert _stuck_reasons(never, [], modules, 7, NOW, [], []) == [
        "has not started (joined 9 days ago)"
    ]


def test_failures_and_overdue_courses_are_reasons():
    modules = [_module(1, lab="suid-hunt"), _module(2)]
    course = CourseAssignment(1, "course", "Course", date(2030, 5, 1), [1, 2])
    row = _trainee(["done", "in_progress"], last_days_ago=0)
    reasons = _stuck_reasons(
        row, [course], modules, 7, NOW, [("Module 2", 4)], [("suid-hunt", "read-flag", 5)]
    )
    assert reasons == [
        "5 failed attempts at lab task suid-hunt › read-flag",
        "4 failed quiz attempts in “Module 2”",
        "overdue: Course was due 2030-05-01 (1 of 2 modules done)",
    ]
    not_due = CourseAssignment(1, "course", "Course", date(2030, 6, 1), [1, 2])
    assert _stuck_reasons(row, [not_due], modules, 7, NOW, [], []) == []


def test_slugs_are_ascii_and_readable():
    assert slugify("Joint Education Centre Singapore") == "joint-education-centre-singapore"
    assert slugify("Centre Ñandú  d'Écoute") == "centre-nandu-d-ecoute"
    assert slugify("中心") == "centre"
