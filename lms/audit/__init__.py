"""The platform-wide audit log: every privileged action, with who, what, when and from where.

Other domains call ``record`` right after (or with) the change they audit::

    from lms.audit.services import record   # lms.audit.record is the same function

(Domains import it from ``lms.audit.services``, which sits below every domain in
.importlinter's layers; the package itself also holds the pages, which sit on top.)

    record(
        action: str,                      # dotted, domain first: "user.role", "terminal.watch"
        target=None,                      # what was acted on: a model (User, Centre, Course...)
                                          #   or a short text; kept as text ("user a@b.org")
        details: str | dict | None = None,  # what changed; a dict is stored as JSON
        centre_id: int | None = None,     # the centre it is about (its centre admins see it);
                                          #   default: the target's / subject's centre_id
        *,
        subject: User | None = None,      # the person acted on (default: target if a User)
        lab_session=None,                 # the lab session acted on (LabSession)
        actor: User | None = None,        # default: the signed-in user (None: the system)
        commit: bool = True,              # False: added to db.session; the caller commits
    ) -> AuditEvent

Who is the signed-in user (their e-mail is kept too, should the account go); when is now
(UTC); from where is the client's address as the app sees it (``request.remote_addr``,
which honours LMS_TRUSTED_PROXIES). Outside a request (the CLI), actor and address are
empty unless given. Each event is also logged to the ``lms.audit`` logger.

Platform admins browse every event at /admin/audit, centre admins the events about
their centres; both filter by action, person and date and export CSV.
"""

from __future__ import annotations

from lms.audit import views  # noqa: F401, I001  (routes attach to bp)
from lms.audit.blueprint import bp  # noqa: F401  (registered by lms.create_app)
from lms.audit.models import AuditEvent
from lms.audit.services import record

__all__ = ["AuditEvent", "bp", "record"]
