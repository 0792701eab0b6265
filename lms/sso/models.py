"""A centre's OpenID Connect issuer: its people sign in with the centre's own accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import Role, utcnow
from lms.centres.models import Centre
from lms.extensions import db


class SsoIssuer(db.Model):
    """One issuer per centre. The client secret is kept encrypted (lms.sso.client_secrets)
    and never shown back; the role mapping is text, one ``claim value = role`` a line."""

    __tablename__ = "sso_issuers"

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(
        ForeignKey("centres.id", ondelete="CASCADE"), unique=True, index=True
    )
    discovery_url: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    client_secret_encrypted: Mapped[str] = mapped_column(Text, default="")
    # The ID token's (or userinfo's) claim that carries roles or groups, e.g. "groups".
    role_claim: Mapped[str] = mapped_column(String(100), default="", server_default="")
    role_mapping: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The role of an account created when no value of the claim is mapped.
    default_role: Mapped[str] = mapped_column(
        String(20), default=Role.TRAINEE.value, server_default=Role.TRAINEE.value
    )
    enabled: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    centre: Mapped[Centre] = relationship()

    @property
    def label(self) -> str:
        return f"Sign in with {self.centre.name}"
