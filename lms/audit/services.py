"""Writing to the audit log (``record``) and reading it back (``events_query``)."""

from __future__ import annotations

import getpass
import json
import logging
import os
from datetime import date, datetime, time, timedelta

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import Select, column, select, table

from lms.audit.models import AuditEvent
from lms.extensions import db

# Audit sits below every domain (accounts included: they call record), so it names the
# tables it reads instead of importing their models.
USERS = table("users", column("id"), column("email"))
CENTRES = table("centres", column("id"), column("name"))

log = logging.getLogger("lms.audit")

MAX_DETAIL = 4000  # characters of ``details`` kept


def record(
    action: str,
    target=None,
    details: str | dict | None = None,
    centre_id: int | None = None,
    *,
    subject=None,
    lab_session=None,
    actor=None,
    commit: bool = True,
) -> AuditEvent:
    """Write one audit event and return it. See the package docstring."""
    actor = actor if actor is not None else _signed_in_user()
    if subject is None and _is_user(target):
        subject = target
    if subject is None and lab_session is not None:
        subject = lab_session.user
    if centre_id is None:
        centre_id = _centre_of(target, subject)
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_email=(actor.email if actor is not None else _outside_requests())[:254],
        action=action[:80],
        target=_label(target)[:255],
        subject_user_id=subject.id if subject is not None else None,
        session_id=lab_session.id if lab_session is not None else None,
        centre_id=centre_id,
        detail=_detail_text(details)[:MAX_DETAIL],
        remote_addr=_client_address()[:64],
    )
    db.session.add(event)
    if commit:
        db.session.commit()
    log.info(
        "%s by %s on %s (centre %s) from %s %s",
        action,
        event.actor_email or "-",
        event.target or "-",
        centre_id,
        event.remote_addr or "-",
        event.detail,
    )
    return event


def _is_user(thing) -> bool:
    return getattr(thing, "__tablename__", None) == "users"


def _signed_in_user():
    if has_request_context() and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def _outside_requests() -> str:
    """Who acted when no one is signed in: outside a request, the system account that
    ran the command (``lms ...`` on the server)."""
    if has_request_context():
        return ""
    try:
        return f"{getpass.getuser()} (command line)"
    except (KeyError, OSError):  # no name for this uid (a container's)
        return f"uid {os.getuid()} (command line)"


def _client_address() -> str:
    # The app wraps itself in ProxyFix when LMS_TRUSTED_PROXIES > 0 (lms._trust_proxies):
    # remote_addr is then the client's, never a header the client chose.
    if has_request_context():
        return request.remote_addr or ""
    return ""


def _label(target) -> str:
    """A readable name for what was acted on, kept as text (it may be deleted later)."""
    if target is None:
        return ""
    if isinstance(target, str):
        return target
    if _is_user(target):
        return f"user {target.email}"
    kind = type(target).__name__.lower()
    name = getattr(target, "slug", None) or getattr(target, "name", None) or ""
    ident = getattr(target, "id", None)
    return f"{kind} {name or ident}".strip() if name or ident is not None else kind


def _centre_of(target, subject) -> int | None:
    if getattr(target, "__tablename__", None) == "centres":
        return target.id
    for thing in (target, subject):
        centre_id = getattr(thing, "centre_id", None)
        if isinstance(centre_id, int):
            return centre_id
    return None


def _detail_text(details) -> str:
    if details is None:
        return ""
    if isinstance(details, dict):
        return json.dumps(details, sort_keys=True, default=str, ensure_ascii=False)
    return str(details)


# Reading ------------------------------------------------------------------------------


def events_query(
    centre_ids: set[int] | None,
    action: str = "",
    person: str = "",
    since: date | None = None,
    until: date | None = None,
) -> Select:
    """Events newest first, narrowed to ``centre_ids`` (None: all) and the filters given.

    ``action`` matches the action or its prefix (``user`` matches ``user.role``);
    ``person`` matches the actor's or the subject's e-mail (part of it, any case).
    """
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if centre_ids is not None:
        query = query.where(AuditEvent.centre_id.in_(centre_ids or {-1}))
    if action:
        query = query.where(
            (AuditEvent.action == action)
            | AuditEvent.action.startswith(action + ".", autoescape=True)
        )
    if person:
        pattern = person.strip().casefold()
        subjects = select(USERS.c.id).where(USERS.c.email.contains(pattern, autoescape=True))
        query = query.where(
            AuditEvent.actor_email.contains(pattern, autoescape=True)
            | AuditEvent.subject_user_id.in_(subjects)
        )
    if since is not None:
        query = query.where(AuditEvent.at >= datetime.combine(since, time.min))
    if until is not None:
        query = query.where(AuditEvent.at < datetime.combine(until + timedelta(days=1), time.min))
    return query


def centre_names() -> dict[int, str]:
    # Centres are few (tens): one query beats a join on every row of every page.
    return {centre_id: name for centre_id, name in db.session.execute(select(CENTRES))}


def known_actions(centre_ids: set[int] | None) -> list[str]:
    query = select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    if centre_ids is not None:
        query = query.where(AuditEvent.centre_id.in_(centre_ids or {-1}))
    return list(db.session.scalars(query))
