"""The statements waiting for the learning record store, and what became of them."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lms.auth.models import utcnow
from lms.extensions import db

QUEUED, SENT, REJECTED = "queued", "sent", "rejected"


class XapiStatement(db.Model):
    """One xAPI statement, queued in the transaction of the event it tells of.

    ``queued`` until the LRS stored it (``sent``) or refused it for good (``rejected``, a
    4xx for this statement alone). A queued row is due at ``next_attempt_at``: a sender
    that takes a batch moves that time forward (its claim), and sets it again from the
    backoff when the LRS could not be reached."""

    __tablename__ = "xapi_statements"
    __table_args__ = (Index("ix_xapi_statements_due", "status", "next_attempt_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[str] = mapped_column(String(36), unique=True)  # the statement's UUID
    statement_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    @property
    def statement(self) -> dict:
        return json.loads(self.statement_json)
