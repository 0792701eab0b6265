"""The cohort page's warm lab pools: its instructors and centre admins keep labs ready for
a class ("lab Y, N ready from T1 to T2"). The partial labs/_cohort_pools.html is included
in the cohort page; the rules are ``lms.labs.pools``'s."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.audit.services import record
from lms.auth.access import role_required
from lms.centres.access import STAFF, can_view_cohort, cohort_or_abort
from lms.centres.blueprint import bp
from lms.centres.cohort_views import _render_cohort
from lms.centres.forms import action_or_400
from lms.centres.lab_pool_forms import PoolScheduleForm
from lms.centres.models import Cohort
from lms.content import lab_library
from lms.extensions import db
from lms.labs import pools
from lms.labs.pool_models import PoolSchedule


def may_schedule_pools(user, cohort: Cohort) -> bool:
    """Staff who manage the cohort's centre, and the cohort's own instructors."""
    return user.is_authenticated and user.is_staff and can_view_cohort(user, cohort)


def schedule_form(blank: bool = False) -> PoolScheduleForm:
    """The schedule form, bound to the request's data unless ``blank``."""
    form = (
        PoolScheduleForm(formdata=None, prefix="pool") if blank else PoolScheduleForm(prefix="pool")
    )
    specs = pools.all_specs()
    form.lab.choices = [("", "Choose a lab")] + [
        (slug, spec.title) for slug, spec in sorted(specs.items(), key=lambda i: i[1].title)
    ]
    return form


@bp.app_context_processor
def _pool_helpers():
    def cohort_pools(cohort: Cohort) -> dict:
        """What the cohort page's pool partial shows."""
        return {
            "schedules": pools.cohort_schedules(cohort.id),
            "may_schedule": may_schedule_pools(current_user, cohort),
            "spec_of": lab_library.get_spec,
        }

    return {
        "cohort_pools": cohort_pools,
        "new_pool_schedule_form": lambda: schedule_form(blank=True),
    }


def _cohort_to_schedule(cohort_id: int) -> Cohort:
    cohort = cohort_or_abort(cohort_id, current_user)
    if not may_schedule_pools(current_user, cohort):
        abort(403, description="Only the cohort's instructors and centre admins set its labs.")
    return cohort


@bp.post("/cohorts/<int:cohort_id>/lab-pools")
@role_required(*STAFF)
def add_pool_schedule(cohort_id: int):
    cohort = _cohort_to_schedule(cohort_id)
    form = schedule_form()
    if not form.validate_on_submit():
        # The cohort page again, with the form as typed and what is wrong with it.
        return _render_cohort(cohort, status=400, pool_form=form)
    schedule = pools.add_schedule(
        cohort.id,
        form.lab.data,
        form.size.data,
        form.starts_at.data,
        form.ends_at.data,
        by=current_user,
    )
    record(
        "pool.schedule",
        cohort,
        {
            "lab": schedule.lab_slug,
            "size": schedule.size,
            "from": schedule.starts_at.isoformat(),
            "to": schedule.ends_at.isoformat(),
        },
    )
    spec = lab_library.get_spec(schedule.lab_slug)
    flash(
        f"{schedule.size} “{spec.title}” labs will be ready from "
        f"{schedule.starts_at:%Y-%m-%d %H:%M} to {schedule.ends_at:%Y-%m-%d %H:%M} UTC.",
        "success",
    )
    return redirect(url_for("centres.cohort", cohort_id=cohort.id, _anchor="lab-pools"))


@bp.post("/cohorts/<int:cohort_id>/lab-pools/<int:schedule_id>/cancel")
@role_required(*STAFF)
def cancel_pool_schedule(cohort_id: int, schedule_id: int):
    cohort = _cohort_to_schedule(cohort_id)
    action_or_400()
    schedule = db.session.get(PoolSchedule, schedule_id)
    if schedule is None or schedule.cohort_id != cohort.id:
        abort(404, description="There is no such schedule for this cohort.")
    what = {"lab": schedule.lab_slug, "size": schedule.size}  # before the row goes
    pools.cancel_schedule(schedule)
    record("pool.cancel", cohort, what)
    flash(_("The schedule was removed; its extra ready labs are being stopped."), "success")
    return redirect(url_for("centres.cohort", cohort_id=cohort.id, _anchor="lab-pools"))
