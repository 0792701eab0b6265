"""Pool schedules without the engine: who may set them on the cohort page, what the form
refuses and says, and `lms labs pool` (the schedules start tomorrow: nothing is filled)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lms.auth.models import utcnow
from lms.extensions import db
from lms.labs.pool_models import PoolSchedule
from tests.conftest import PASSWORD


@pytest.fixture
def cohort(app, make_user):
    from lms.auth.services import find_user_by_email
    from lms.centres import services

    make_user("teacher@example.org", role="instructor")
    make_user("stranger@example.org", role="instructor")
    with app.app_context():
        centre = services.create_centre("Pool Centre", "Lyon", slug="pool-centre")
        cohort = services.create_cohort(centre, "Tuesday class")
        cohort.instructors.append(find_user_by_email("teacher@example.org"))
        db.session.commit()
        return cohort.id


def sign_in(client, email: str) -> None:
    client.post("/login", data={"email": email, "password": PASSWORD})


def form(start, end, size="5", lab="shell-basics") -> dict:
    return {
        "pool-lab": lab,
        "pool-size": size,
        "pool-starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "pool-ends_at": end.strftime("%Y-%m-%dT%H:%M"),
    }


def test_only_the_cohorts_staff_set_schedules_and_mistakes_are_explained(app, client, cohort):
    tomorrow = utcnow().replace(second=0, microsecond=0) + timedelta(days=1)
    url = f"/cohorts/{cohort}/lab-pools"

    sign_in(client, "stranger@example.org")  # teaches no cohort of this centre
    assert client.post(url, data=form(tomorrow, tomorrow + timedelta(hours=3))).status_code == 403

    client = app.test_client()
    sign_in(client, "teacher@example.org")
    cases = [
        (form(tomorrow, tomorrow - timedelta(hours=1)), "The end must be after the start."),
        (form(tomorrow - timedelta(days=3), tomorrow - timedelta(days=2)), "already over"),
        (form(tomorrow, tomorrow + timedelta(hours=3), size="0"), "Ask for 1 to 40 ready labs"),
        (form(tomorrow, tomorrow + timedelta(hours=3), size="x"), "Ready labs"),
        (form(tomorrow, tomorrow + timedelta(hours=3), lab="nope"), "Not a valid choice"),
        (form(tomorrow, tomorrow + timedelta(days=20)), "14 days at most"),
    ]
    for data, message in cases:
        answer = client.post(url, data=data)
        assert answer.status_code == 400 and message in answer.get_data(as_text=True), message
    with app.app_context():
        assert db.session.query(PoolSchedule).count() == 0  # nothing half-saved

    answer = client.post(url, data=form(tomorrow, tomorrow + timedelta(hours=3)))
    assert answer.status_code == 302
    page = client.get(f"/cohorts/{cohort}").get_data(as_text=True)
    assert "will be ready from" in page and 'id="pool-schedules"' in page
    with app.app_context():
        (schedule,) = db.session.query(PoolSchedule).all()
        assert (schedule.lab_slug, schedule.size, schedule.starts_at) == (
            "shell-basics",
            5,
            tomorrow,
        )


def test_schedules_from_the_command_line(app, runner, cohort):
    tomorrow = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%d")
    args = ["labs", "pool", "schedule", str(cohort), "shell-basics", "8"]
    made = runner.invoke(
        args=[*args, "--from", f"{tomorrow} 09:00", "--until", f"{tomorrow} 12:00"]
    )
    assert made.exit_code == 0, made.output
    assert "8 ready sessions of shell-basics" in made.output

    refused = runner.invoke(
        args=[*args, "--from", f"{tomorrow} 12:00", "--until", f"{tomorrow} 09:00"]
    )
    assert refused.exit_code != 0 and "The end must be after the start." in refused.output
    assert (
        runner.invoke(
            args=[
                "labs",
                "pool",
                "schedule",
                "999",
                "shell-basics",
                "8",
                "--from",
                f"{tomorrow} 09:00",
                "--until",
                f"{tomorrow} 12:00",
            ]
        ).exit_code
        != 0
    )

    listing = runner.invoke(args=["labs", "pool", "ls"])
    assert listing.exit_code == 0
    assert "shell-basics" in listing.output and f"8 ready {tomorrow} 09:00" in listing.output

    assert runner.invoke(args=["labs", "pool", "fill"]).exit_code == 0  # not due yet: no fill

    with app.app_context():
        schedule_id = db.session.query(PoolSchedule).one().id
    assert runner.invoke(args=["labs", "pool", "cancel", str(schedule_id)]).exit_code == 0
    with app.app_context():
        assert db.session.query(PoolSchedule).count() == 0
