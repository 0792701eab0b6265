"""Client secrets at rest: encrypted with Fernet (AES with an HMAC), under a key derived
from the app's secret key, so a copy of the database alone does not give them away.

A secret encrypted under an earlier secret key (LMS_SECRET_KEY changed) no longer
decrypts: ``reveal`` raises ``SecretUnreadable`` and the admin types the secret again."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_PURPOSE = b"lms.sso client secrets"


class SecretUnreadable(Exception):
    """The stored secret does not decrypt under this secret key."""


def _fernet() -> Fernet:
    secret_key = current_app.config["SECRET_KEY"]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
        secret_key.encode() if isinstance(secret_key, str) else secret_key
    )
    return Fernet(base64.urlsafe_b64encode(key))


def conceal(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def reveal(stored: str) -> str:
    if not stored:
        return ""
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "The client secret was saved under another secret key: type it again."
        ) from exc


def hint(stored: str) -> str:
    """What the settings page shows of a saved secret: its last four characters."""
    try:
        plain = reveal(stored)
    except SecretUnreadable:
        return "unreadable: type it again"
    return f"…{plain[-4:]}" if len(plain) > 8 else "saved"
