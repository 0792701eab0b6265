"""The tool's side of LTI 1.3 for pylti1p3: its RSA key pair, the registrations read from
the database on each request (so every worker sees a new platform at once), and the
store pylti1p3 keeps nonces and launches in (the database, a nonce usable once).

The key pair is made once, on first use, in ``LMS_LTI_KEY_FILE`` (default
``instance/lti_key.pem``), never in the repository or the database; platforms read its
public half at ``/lti/jwks.json``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import current_app
from pylti1p3.deployment import Deployment
from pylti1p3.launch_data_storage.cache import CacheDataStorage
from pylti1p3.registration import Registration
from pylti1p3.tool_config import ToolConfAbstract
from sqlalchemy import delete, select

from lms.auth.models import utcnow
from lms.extensions import db
from lms.lti.models import LtiLaunchValue, LtiPlatform

DEFAULT_KEY_FILE = "lti_key.pem"
HTTP_TIMEOUT_SECONDS = 5
LAUNCH_VALUE_SECONDS = 3600


# -- the tool's key pair -----------------------------------------------------------------


def key_path() -> Path:
    configured = current_app.config.get("LMS_LTI_KEY_FILE")
    return Path(configured) if configured else Path(current_app.instance_path) / DEFAULT_KEY_FILE


def private_key_pem() -> str:
    """The tool's RSA private key (PEM), made on first use with mode 0600."""
    path = key_path()
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: of two workers making it at once, one wins and the other reads its key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
    return path.read_text()


def public_key_pem() -> str:
    key = serialization.load_pem_private_key(private_key_pem().encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def jwks() -> dict:
    return {"keys": [Registration.get_jwk(public_key_pem())]}


# -- registrations from the database -------------------------------------------------------


def registration_for(platform: LtiPlatform) -> Registration:
    return (
        Registration()
        .set_issuer(platform.issuer)
        .set_client_id(platform.client_id)
        .set_auth_login_url(platform.auth_login_url)
        .set_auth_token_url(platform.auth_token_url)
        .set_key_set_url(platform.key_set_url)
        .set_key_set(None)
        .set_tool_private_key(private_key_pem())
        .set_tool_public_key(public_key_pem())
    )


class DatabaseToolConf(ToolConfAbstract):
    """pylti1p3's tool configuration, read from ``lti_platforms``. An issuer may have
    several client ids (two registrations in one Moodle)."""

    def __init__(self):
        super().__init__()

    def check_iss_has_one_client(self, iss):
        return False

    def check_iss_has_many_clients(self, iss):
        return True

    def _platform(self, iss, client_id=None) -> LtiPlatform | None:
        query = select(LtiPlatform).where(LtiPlatform.issuer == iss)
        if client_id:
            query = query.where(LtiPlatform.client_id == client_id)
        return db.session.scalars(query.order_by(LtiPlatform.id)).first()

    def find_registration_by_issuer(self, iss, *args, **kwargs):
        platform = self._platform(iss)
        return registration_for(platform) if platform else None

    def find_registration_by_params(self, iss, client_id, *args, **kwargs):
        platform = self._platform(iss, client_id)
        return registration_for(platform) if platform else None

    def find_deployment(self, iss, deployment_id):
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(self, iss, deployment_id, client_id, *args, **kwargs):
        platform = self._platform(iss, client_id)
        if platform is None or deployment_id not in platform.deployment_list:
            return None
        return Deployment().set_deployment_id(deployment_id)


def find_platform(iss: str, client_id: str | None) -> LtiPlatform | None:
    return DatabaseToolConf()._platform(iss, client_id)


# -- nonces, state and launches ------------------------------------------------------------


class DatabaseCache:
    """The ``get``/``set`` cache pylti1p3's CacheDataStorage expects, on ``lti_launch_values``."""

    def get(self, key):
        row = db.session.get(LtiLaunchValue, key)
        if row is None or row.expires_at < utcnow():
            return None
        return row.value

    def set(self, key, value, exp=None):
        expires = utcnow() + timedelta(seconds=exp or LAUNCH_VALUE_SECONDS)
        row = db.session.get(LtiLaunchValue, key)
        if row is None:
            db.session.add(LtiLaunchValue(key=key, value=value, expires_at=expires))
        else:
            row.value, row.expires_at = value, expires
        db.session.execute(delete(LtiLaunchValue).where(LtiLaunchValue.expires_at < utcnow()))
        db.session.commit()

    def take(self, key) -> bool:
        """Delete the key; True if it was there (and not expired). One caller wins."""
        removed = db.session.execute(
            delete(LtiLaunchValue).where(
                LtiLaunchValue.key == key, LtiLaunchValue.expires_at >= utcnow()
            )
        ).rowcount
        db.session.commit()
        return removed == 1


class LaunchStorage(CacheDataStorage):
    """pylti1p3's launch data storage on the database. A nonce is taken when checked: the
    same id_token posted again finds no nonce and is refused."""

    def __init__(self):
        self._cache = DatabaseCache()
        super().__init__(self._cache)

    def check_value(self, key):
        prepared = self._prepare_key(key)
        if "nonce-" in key:
            return self._cache.take(prepared)
        return self._cache.get(prepared) is not None


class TimeoutSession(requests.Session):
    """A requests session whose calls give up after HTTP_TIMEOUT_SECONDS (the platform's
    key set, token and score endpoints)."""

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", HTTP_TIMEOUT_SECONDS)
        return super().request(*args, **kwargs)
