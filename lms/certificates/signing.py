"""The platform's Ed25519 signing key: made once, kept in a file outside the repository
(``LMS_CERTIFICATE_KEY_FILE``, default ``instance/certificate_key.pem``), never in the
database; its public half is published as a JWKS (``/.well-known/jwks.json``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from flask import current_app
from jwcrypto import jwk, jws

ALGORITHM = "EdDSA"  # Ed25519 signatures (RFC 8037)
DEFAULT_KEY_FILE = "certificate_key.pem"


class SigningKeyError(RuntimeError):
    """The key file cannot be read or made; the message says which file and why."""


def key_file() -> Path:
    configured = current_app.config.get("LMS_CERTIFICATE_KEY_FILE")
    return Path(configured) if configured else Path(current_app.instance_path) / DEFAULT_KEY_FILE


def signing_key() -> jwk.JWK:
    """The private key, made on first use. Two processes making it at once agree: the file
    is created exclusively, and the loser reads the winner's."""
    path = key_file()
    if not path.exists():
        _create_key_file(path)
    try:
        return jwk.JWK.from_pem(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise SigningKeyError(f"cannot read the certificate signing key {path}: {exc}") from exc


def _create_key_file(path: Path) -> None:
    key = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    pem = key.export_to_pem(private_key=True, password=None)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise SigningKeyError(f"cannot create the certificate signing key {path}: {exc}") from exc
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)


def key_id(key: jwk.JWK) -> str:
    """The key's RFC 7638 thumbprint: stable, so a verifier finds it in the JWKS."""
    return key.thumbprint()


def public_jwks() -> dict:
    """The JSON Web Key Set verifiers check credentials against."""
    key = signing_key()
    public = key.export_public(as_dict=True)
    public.update(kid=key_id(key), use="sig", alg=ALGORITHM)
    return {"keys": [public]}


def sign(claims: dict) -> str:
    """``claims`` as a compact JWS (a VC-JWT), signed with the platform key."""
    key = signing_key()
    header = {"alg": ALGORITHM, "typ": "JWT", "kid": key_id(key)}
    token = jws.JWS(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    token.add_signature(key, None, json.dumps(header))
    return token.serialize(compact=True)
