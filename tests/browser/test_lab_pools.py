"""An instructor keeps labs ready for their cohort's class from the cohort page.

The form refuses an end before the start (saying so, keeping what was typed), then
records the schedule; the instructor removes it again. The times are tomorrow's, so no
lab is started by this test.
"""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from lms.auth.models import utcnow
from lms.extensions import db


def test_an_instructor_schedules_warm_labs_for_their_cohort(
    page, live_app, sign_in, create_live_user
):
    from lms.auth.services import find_user_by_email
    from lms.centres import services
    from lms.labs.pool_models import PoolSchedule

    instructor = create_live_user("instructor", name="Pool Instructor")
    with live_app.app_context():
        centre = services.create_centre("Pool Centre", "Lyon", slug="pool-centre")
        cohort = services.create_cohort(centre, "Tuesday class")
        cohort.instructors.append(find_user_by_email(instructor))
        db.session.commit()
        cohort_id = cohort.id
    tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()

    sign_in(page, email=instructor)
    page.goto(f"/cohorts/{cohort_id}")
    pools = page.locator("#lab-pools")
    expect(pools).to_contain_text("No lab is kept ready for this cohort.")
    pools.get_by_label("Lab", exact=True).select_option("shell-basics")
    pools.get_by_label("Ready labs").fill("12")
    pools.get_by_label("From (UTC)").fill(f"{tomorrow}T12:00")
    pools.get_by_label("Until (UTC)").fill(f"{tomorrow}T09:00")
    pools.get_by_role("button", name="Keep labs ready").click()

    pools = page.locator("#lab-pools")
    expect(pools).to_contain_text("The end must be after the start.")
    expect(pools.get_by_label("Ready labs")).to_have_value("12")  # nothing typed is lost
    pools.get_by_label("From (UTC)").fill(f"{tomorrow}T09:00")
    pools.get_by_label("Until (UTC)").fill(f"{tomorrow}T12:00")
    pools.get_by_role("button", name="Keep labs ready").click()

    expect(page.get_by_role("status").or_(page.locator(".alert-success"))).to_contain_text(
        "12 “Finding your way in the shell” labs will be ready"
    )
    schedules = page.locator("#pool-schedules")
    expect(schedules).to_contain_text(f"{tomorrow} 09:00 → {tomorrow} 12:00 UTC")
    with live_app.app_context():
        (schedule,) = db.session.query(PoolSchedule).filter_by(cohort_id=cohort_id).all()
        assert (schedule.lab_slug, schedule.size) == ("shell-basics", 12)

    schedules.get_by_role(
        "button", name="Remove the schedule of 12 Finding your way in the shell"
    ).click()
    expect(page.locator("#pool-schedules-empty")).to_be_visible()
