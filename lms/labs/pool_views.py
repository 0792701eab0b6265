"""The warm pools of the admin labs page (the partial labs/_admin_pools.html); the cohort
page's schedules are lms.centres.lab_pool_views'."""

from __future__ import annotations

from lms.labs import pools
from lms.labs.blueprint import bp


@bp.app_context_processor
def _pool_overview():
    return {"lab_pools_overview": pools.overview}
