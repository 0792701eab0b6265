"""Checking a certificate's credential offline: no database, no Flask, no network.

What "offline" means here: the signature is checked against a copy of the platform's
published key set (``/.well-known/jwks.json``), so a verifier that fetched it once needs
nothing else to tell a genuine credential from a forged or altered one. Revocation cannot
be known that way: pass the revocation list (``/certificates/revocations.json``, fetched
when the answer must be current) to learn whether the issuer has since revoked it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from jwcrypto import jwk, jws
from jwcrypto.common import JWException

VALID, REVOKED, TAMPERED, INVALID = "valid", "revoked", "tampered", "invalid"
CREDENTIAL_TYPES = {"VerifiableCredential", "OpenBadgeCredential"}


@dataclass
class Verification:
    """``status``: valid, revoked (genuine but withdrawn), tampered (the signature does not
    match its content: altered, or signed by another key) or invalid (not a credential of
    this issuer at all); ``reason`` says why in words; ``credential`` is the signed
    content when the signature holds."""

    status: str
    reason: str
    credential: dict = field(default_factory=dict)
    revocation_reason: str = ""

    @property
    def is_valid(self) -> bool:
        return self.status == VALID


def verify_credential(
    token: str, jwks: dict, revocations: dict | None = None, now: datetime | None = None
) -> Verification:
    """Verify a VC-JWT against the key set ``jwks`` and, when given, the revocation list."""
    token = "".join((token or "").split())
    parsed = jws.JWS()
    try:
        parsed.deserialize(token)
        header = parsed.jose_header
    except (JWException, ValueError, TypeError):
        return Verification(INVALID, "This is not a signed credential (a JWT) at all.")
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        return Verification(INVALID, "The credential is not signed the way this issuer signs.")
    key = _key_for(jwks, header.get("kid"))
    if key is None:
        return Verification(TAMPERED, "The credential names a key this issuer never published.")
    try:
        parsed.verify(key, alg="EdDSA")
    except JWException:
        return Verification(
            TAMPERED, "The signature does not match the content: the credential was altered."
        )
    try:
        credential = json.loads(parsed.payload)
    except ValueError:
        return Verification(INVALID, "The signed content is not a credential.")
    problem = _shape_problem(credential, now or datetime.now(UTC))
    if problem:
        return Verification(INVALID, problem, credential)
    withdrawn = _revocation(credential, revocations)
    if withdrawn is not None:
        return Verification(
            REVOKED, "The issuer has revoked this certificate.", credential, withdrawn
        )
    return Verification(VALID, "Signed by the issuer and unchanged since.", credential)


def _key_for(jwks: dict, kid) -> jwk.JWK | None:
    for entry in (jwks or {}).get("keys", []):
        if entry.get("kid") == kid and entry.get("kty") == "OKP":
            try:
                return jwk.JWK(**entry)
            except (JWException, ValueError, TypeError):
                return None
    return None


def _shape_problem(credential, now: datetime) -> str | None:
    if not isinstance(credential, dict):
        return "The signed content is not a credential."
    types = credential.get("type")
    if not isinstance(types, list) or not CREDENTIAL_TYPES.issubset(map(str, types)):
        return "The signed content is not an Open Badges credential."
    valid_from = credential.get("validFrom")
    try:
        starts = datetime.fromisoformat(str(valid_from).replace("Z", "+00:00"))
    except ValueError:
        return "The credential has no valid start date."
    if starts.tzinfo is None or starts > now:
        return "The credential is not valid yet."
    return None


def _revocation(credential: dict, revocations: dict | None) -> str | None:
    """The reason the list gives for revoking this credential, or None."""
    for entry in (revocations or {}).get("revokedCredentials", []):
        if entry.get("id") == credential.get("id"):
            return entry.get("revocationReason") or "revoked"
    return None
