"""Terminal recordings, the commands typed in them, and the lab web requests made.

Staff access (watching live, replaying) goes to the platform-wide audit log
(``lms.audit``); ``AuditEvent`` is imported here for older callers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.audit.models import AuditEvent  # noqa: F401  (moved to lms.audit)
from lms.auth.models import User, utcnow
from lms.extensions import db


class TerminalRecording(db.Model):
    """One terminal (browser tab) of a lab session, recorded as an asciicast v2 file.

    ``path`` is relative to the recordings folder (``LMS_RECORDINGS_DIR``). ``ended_at`` is None while the
    shell runs; ``truncated`` means the session's recording cap was reached.

    The row is also what any web process needs to re-attach to the terminal's
    held shell: its name and pid in the lab (``shell_name`` None: a plain shell,
    gone with its process), the attachment that owns it (``attach_token``, a
    new one at each attach: a process whose token was replaced lets go), when
    that process last vouched for it (``heartbeat_at``) and the last keystroke
    it saw (``last_input_at``, both written at most every HEARTBEAT_SECONDS).

    ``container`` is the lab container the shell runs in, chosen when it opened
    (``lms.labs.sharing.workstation_for``: the lab's workstation for its owner, a
    team member's role workstation); None (rows older than team exercises): the
    lab's workstation.
    """

    __tablename__ = "terminal_recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("lab_sessions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    terminal_key: Mapped[str] = mapped_column(String(32))  # the browser tab's terminal id
    container: Mapped[str | None] = mapped_column(String(30))  # None: the lab's workstation
    path: Mapped[str] = mapped_column(String(255))
    width: Mapped[int] = mapped_column(default=80)
    height: Mapped[int] = mapped_column(default=24)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(80))
    bytes: Mapped[int] = mapped_column(default=0)
    truncated: Mapped[bool] = mapped_column(default=False)
    shell_name: Mapped[str | None] = mapped_column(String(40))
    shell_pid: Mapped[int | None]
    attach_token: Mapped[str | None] = mapped_column(String(32))
    heartbeat_at: Mapped[datetime | None]
    last_input_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
    commands: Mapped[list[TerminalCommand]] = relationship(
        back_populates="recording", cascade="all, delete-orphan", order_by="TerminalCommand.at"
    )

    @property
    def is_live(self) -> bool:
        return self.ended_at is None


class TerminalCommand(db.Model):
    """A command line typed in a terminal, rebuilt from the keystrokes on Enter.

    ``edited`` means the line was changed with keys the platform cannot follow
    exactly (arrows, history, tab completion): the replay shows what ran.
    ``offset`` is the time in seconds from the start of the recording.
    """

    __tablename__ = "terminal_commands"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(
        ForeignKey("terminal_recordings.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int] = mapped_column(
        ForeignKey("lab_sessions.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    offset: Mapped[float] = mapped_column(default=0.0)
    text: Mapped[str] = mapped_column(Text, default="")
    edited: Mapped[bool] = mapped_column(default=False)

    recording: Mapped[TerminalRecording] = relationship(back_populates="commands")


class LabWebRequest(db.Model):
    """A request the trainee's browser made to the lab's web services through the
    platform's proxy (lms.terminal.web_views): listed in the session's replay timeline
    beside the commands typed. Pages and form posts, not their images and scripts."""

    __tablename__ = "lab_web_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("lab_sessions.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    method: Mapped[str] = mapped_column(String(10))
    port: Mapped[int]
    path: Mapped[str] = mapped_column(String(500))  # inside the lab app, with its query
    status: Mapped[int | None]  # None: the lab's service did not answer
