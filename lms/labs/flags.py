"""Per-trainee flags: derived, written into the lab at start, checked in constant time.

A flag is ``FLAG{<32 hex>}``, the start of HMAC-SHA256(server secret,
"<user id>:<lab slug>"): it never needs storing, differs per trainee and lab,
and a flag copied from another trainee is recognised as theirs.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from lms.auth.models import utcnow
from lms.content.lab_model import LabSpec
from lms.extensions import db
from lms.labs.errors import BadLabRequest, TaskUnknown, TooManyAttempts, refuse_team_lab
from lms.labs.grading import complete_task, record_attempt
from lms.labs.models import FLAG, FlagShare, LabSession, TaskAttempt
from lms.labs.runtime import SecretFile

WRONG_FLAGS_PER_MINUTE = 10
WINDOW = timedelta(minutes=1)
MAX_FLAG_LENGTH = 200


def flag_for(user_id: int, lab_slug: str, secret: str | None = None) -> str:
    key = (secret or current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, f"{user_id}:{lab_slug}".encode(), hashlib.sha256).hexdigest()
    return f"FLAG{{{digest[:32]}}}"


def flag_secrets(spec: LabSpec, user_id: int) -> list[SecretFile]:
    """The flag file the runtime writes into the lab before it starts (never its environment)."""
    if spec.flag is None:
        return []
    f = spec.flag
    content = flag_for(user_id, spec.slug).encode() + b"\n"
    owner = spec.containers[f.container].user if f.container in spec.containers else None
    return [
        SecretFile(f.container, f.path, content, mode=f.mode, uid=f.uid, gid=f.gid, owner=owner)
    ]


@dataclass
class FlagOutcome:
    correct: bool
    message: str
    shared: bool = False


def submit_flag(session: LabSession, spec: LabSpec, task_id: str, submitted: str) -> FlagOutcome:
    """Grade a flag for the session's trainee; record the attempt and any possible share.

    Raises TaskUnknown, BadLabRequest, or TooManyAttempts after
    ``WRONG_FLAGS_PER_MINUTE`` wrong flags in a minute for this trainee and lab.
    """
    refuse_team_lab(spec)  # graded per team by lms.exercises
    task = spec.task(task_id or "")
    if task is None or task.type != "flag":
        raise TaskUnknown(f"This lab has no flag task “{task_id}”.")
    submitted = (submitted or "").strip()
    if not submitted:
        raise BadLabRequest("Paste the flag you found, like FLAG{...}.")
    if len(submitted) > MAX_FLAG_LENGTH:
        raise BadLabRequest("That is far too long to be a flag.")
    _check_rate(session.user_id, spec.slug)

    expected = flag_for(session.user_id, spec.slug)
    correct = hmac.compare_digest(expected.encode(), submitted.encode())
    owner_id = None if correct else _owner_of(submitted, spec.slug, session.user_id)
    note = "correct" if correct else ("flag of another trainee" if owner_id else "wrong")
    record_attempt(session, spec, task, kind=FLAG, success=correct, output=note)
    if owner_id is not None:
        db.session.add(
            FlagShare(
                submitter_id=session.user_id,
                owner_id=owner_id,
                lab_slug=spec.slug,
                task_id=task.id,
                session_id=session.id,
            )
        )
        current_app.logger.warning(
            "possible flag share: user %s submitted the %s flag of user %s",
            session.user_id,
            spec.slug,
            owner_id,
        )
    if correct:
        complete_task(session.user_id, spec.slug, task, session.id)
    db.session.commit()
    if correct:
        return FlagOutcome(True, "Correct: task done.")
    if owner_id is not None:
        return FlagOutcome(
            False,
            "That flag belongs to another trainee. Each trainee has their "
            "own flag; this submission has been recorded.",
            shared=True,
        )
    return FlagOutcome(False, "That is not the flag. Check for typos and try again.")


def _check_rate(user_id: int, lab_slug: str) -> None:
    since = utcnow() - WINDOW
    count, oldest = db.session.execute(
        select(func.count(TaskAttempt.id), func.min(TaskAttempt.created_at)).where(
            TaskAttempt.user_id == user_id,
            TaskAttempt.lab_slug == lab_slug,
            TaskAttempt.kind == FLAG,
            TaskAttempt.success.is_(False),
            TaskAttempt.created_at > since,
        )
    ).one()
    if count >= WRONG_FLAGS_PER_MINUTE:
        wait = max(1, int((oldest + WINDOW - utcnow()).total_seconds()) + 1)
        raise TooManyAttempts(
            f"Too many wrong flags in a minute. Wait {wait} seconds, then try again.", wait
        )


def _owner_of(submitted: str, lab_slug: str, submitter_id: int) -> int | None:
    """The trainee whose flag this is, among those who ever started this lab."""
    if not submitted.startswith("FLAG{"):
        return None
    others = db.session.scalars(
        select(LabSession.user_id)
        .where(LabSession.lab_slug == lab_slug, LabSession.user_id != submitter_id)
        .distinct()
    )
    for user_id in others:
        if hmac.compare_digest(flag_for(user_id, lab_slug).encode(), submitted.encode()):
            return user_id
    return None


def shares_involving(
    user_ids, lab_slug: str | None = None, limit: int | None = None
) -> list[FlagShare]:
    """Possible shares where the submitter or the owner is one of ``user_ids`` (a SELECT,
    e.g. a cohort's members or ``lms.centres.access.visible_trainee_ids``), newest
    first, with both people loaded by the same query."""
    query = (
        select(FlagShare)
        .options(joinedload(FlagShare.submitter), joinedload(FlagShare.owner))
        .where(FlagShare.submitter_id.in_(user_ids) | FlagShare.owner_id.in_(user_ids))
        .order_by(FlagShare.created_at.desc(), FlagShare.id.desc())
    )
    if lab_slug:
        query = query.where(FlagShare.lab_slug == lab_slug)
    return list(db.session.scalars(query.limit(limit)))
