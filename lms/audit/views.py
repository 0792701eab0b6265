"""The audit log pages: browse (filter by action, person and date; paginated) and CSV."""

from __future__ import annotations

from datetime import date

from flask import render_template, request
from flask_login import current_user

from lms.audit import services
from lms.audit.blueprint import bp
from lms.audit.models import AuditEvent  # noqa: F401  (the table, known to Alembic)
from lms.auth.access import role_required
from lms.auth.models import Role
from lms.extensions import db

PER_PAGE = 50
CSV_LIMIT = 100_000  # rows in one export; narrow the filters for more
CSV_HEADER = ("when (UTC)", "who", "action", "target", "person", "centre", "from", "details")


def _visible_centre_ids() -> set[int] | None:
    from lms.centres.access import managed_centre_ids  # centres sits above audit

    return managed_centre_ids(current_user)


def _filters() -> dict:
    """The filters from the query string; anything unreadable is dropped, never an error."""
    args = request.args
    return {
        "action": args.get("action", "").strip()[:80],
        "person": args.get("person", "").strip()[:254],
        "since": _date(args.get("since", "")),
        "until": _date(args.get("until", "")),
    }


def _date(text: str) -> date | None:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None
    # A year the database and datetime arithmetic both handle (9999-12-31 + 1 day is not).
    return day if date(1970, 1, 1) <= day <= date(9000, 1, 1) else None


def _page() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 10_000))
    except ValueError:
        return 1


@bp.route("/admin/audit")
@role_required(Role.CENTRE_ADMIN)
def audit_log():
    centre_ids = _visible_centre_ids()
    filters = _filters()
    pagination = db.paginate(
        services.events_query(centre_ids, **filters),
        page=_page(),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "audit/log.html",
        pagination=pagination,
        filters=filters,
        actions=services.known_actions(centre_ids),
        all_centres=centre_ids is None,
        centre_names=services.centre_names(),
        query_args={k: v for k, v in request.args.items() if k != "page"},
    )


@bp.route("/admin/audit.csv")
@role_required(Role.CENTRE_ADMIN)
def audit_log_csv():
    from lms.centres.csv_files import csv_response

    centre_ids = _visible_centre_ids()
    events = db.session.scalars(services.events_query(centre_ids, **_filters()).limit(CSV_LIMIT))
    centre_names = services.centre_names()
    rows = (
        (
            event.at.isoformat(sep=" ", timespec="seconds"),
            event.who,
            event.action,
            event.target,
            event.subject.email if event.subject else "",
            centre_names.get(event.centre_id, ""),
            event.remote_addr,
            event.detail,
        )
        for event in events
    )
    response = csv_response("audit-log.csv", CSV_HEADER, list(rows))
    services.record("audit.export", "audit log", {"filters": request.args.to_dict()})
    return response
