"""Single sign-on with OpenID Connect: a centre's issuer, the Authlib client for it, and
the account a verified identity signs in to.

The flow is Authlib's Flask client (authorization code with PKCE, ``state`` and ``nonce``
kept in the signed session cookie). The client is built from the issuer's row on each
request rather than registered once in process memory: every gunicorn worker then sees
a configuration change at once.

Who may sign in: an identity whose e-mail the provider says is verified. It signs in to
the account with that address when the account belongs to the issuer's centre; otherwise
a new account is created in that centre, with the role mapped from the claim the admin
named. Accounts of other centres and platform admins are never signed in through a
centre's provider (a centre's provider must not vouch for people it does not manage).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

import joserfc.errors
import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import FlaskIntegration, FlaskOAuth2App
from flask import current_app
from sqlalchemy import select

from lms.auth import services as accounts
from lms.auth.models import Role, User, utcnow
from lms.centres.models import Centre
from lms.extensions import db
from lms.sso import client_secrets
from lms.sso.models import SsoIssuer

SCOPES = "openid email profile"
DISCOVERY_PATH = "/.well-known/openid-configuration"
HTTP_TIMEOUT_SECONDS = 10
# Roles a provider may give: never platform admin (a centre's provider, set up by a
# centre admin, must not make anyone an admin of every centre).
MAPPABLE_ROLES = (Role.TRAINEE, Role.INSTRUCTOR, Role.CENTRE_ADMIN)
_RANK = {role.value: rank for rank, role in enumerate(MAPPABLE_ROLES)}
# What can go wrong talking to the provider or checking what it sent.
PROVIDER_ERRORS = (
    OAuthError,
    joserfc.errors.JoseError,
    requests.RequestException,
    ValueError,
    KeyError,
    RuntimeError,
)


class SsoError(Exception):
    """A message for the person signing in or the admin configuring."""


class ConfigurationError(SsoError):
    pass


class SignInRefused(SsoError):
    pass


@dataclass(frozen=True)
class SignInOption:
    label: str
    url_slug: str


# -- configuration -----------------------------------------------------------------------


def parse_role_mapping(text: str) -> dict[str, str]:
    """``claim value = role`` lines (blank lines and ``#`` comments skipped) as a dict;
    raises ConfigurationError naming the line that is wrong."""
    mapping: dict[str, str] = {}
    allowed = {role.value for role in MAPPABLE_ROLES}
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        value, equals, role = (part.strip() for part in line.rpartition("="))
        if not equals or not value or role not in allowed:
            raise ConfigurationError(
                f"Line {number} ('{line}'): write 'claim value = role', with role one of "
                f"{', '.join(sorted(allowed))}."
            )
        mapping[value] = role
    return mapping


def check_discovery_url(url: str) -> str:
    """The URL, if it is one the platform may fetch: HTTPS (plain HTTP to this machine
    only with LMS_SSO_ALLOW_HTTP, for a development provider)."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _allows_http(parts.hostname):
        return url
    raise ConfigurationError(
        "The discovery URL must start with https:// (e.g. "
        "https://idp.example.org/.well-known/openid-configuration)."
    )


def _allows_http(host: str) -> bool:
    if not current_app.config.get("LMS_SSO_ALLOW_HTTP"):
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def read_discovery(url: str) -> dict:
    """The provider's discovery document; ConfigurationError says what is wrong with it."""
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS)
        response.raise_for_status()
        metadata = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ConfigurationError(f"The discovery document could not be read: {exc}") from exc
    missing = [
        key
        for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        if not isinstance(metadata, dict) or not metadata.get(key)
    ]
    if missing:
        raise ConfigurationError(
            "That is not an OpenID Connect discovery document: it has no "
            + ", ".join(missing)
            + "."
        )
    # OpenID Connect Discovery 1.0, 4.3: the issuer is the URL the document was found under.
    prefix = url.removesuffix(DISCOVERY_PATH)
    if prefix != url and metadata["issuer"].rstrip("/") != prefix.rstrip("/"):
        raise ConfigurationError(
            f"The discovery document names the issuer {metadata['issuer']}, not {prefix}."
        )
    return metadata


def issuer_for_centre(centre: Centre) -> SsoIssuer | None:
    return db.session.scalar(select(SsoIssuer).where(SsoIssuer.centre_id == centre.id))


def save_issuer(
    centre: Centre,
    *,
    discovery_url: str,
    client_id: str,
    client_secret: str,
    role_claim: str,
    role_mapping: str,
    default_role: str,
    enabled: bool,
) -> tuple[SsoIssuer, str, list[str]]:
    """Create or change the centre's issuer (committed). An empty ``client_secret`` keeps
    the saved one. Returns the issuer, the action done and the fields changed."""
    discovery_url = check_discovery_url(discovery_url)
    parse_role_mapping(role_mapping)
    if default_role not in _RANK:
        raise ConfigurationError(
            "Choose the role of new accounts: trainee, instructor or centre admin."
        )
    issuer = issuer_for_centre(centre)
    action = "changed"
    if issuer is None:
        if not client_secret:
            raise ConfigurationError("Give the client secret the provider issued.")
        issuer = SsoIssuer(centre_id=centre.id, centre=centre)
        db.session.add(issuer)
        action = "created"
    if enabled and (issuer.discovery_url != discovery_url or not issuer.enabled):
        read_discovery(discovery_url)  # an issuer is switched on only when it answers
    fields = {
        "discovery_url": discovery_url,
        "client_id": client_id.strip(),
        "role_claim": role_claim.strip(),
        "role_mapping": role_mapping.strip(),
        "default_role": default_role,
        "enabled": enabled,
    }
    changes = [name for name, value in fields.items() if getattr(issuer, name) != value]
    for name, value in fields.items():
        setattr(issuer, name, value)
    if client_secret:
        issuer.client_secret_encrypted = client_secrets.conceal(client_secret.strip())
        changes.append("client_secret")
    if action == "changed" and changes == ["enabled"]:
        action = "enabled" if enabled else "disabled"
    db.session.commit()
    return issuer, action, changes


def remove_issuer(issuer: SsoIssuer) -> None:
    db.session.delete(issuer)
    db.session.commit()


# -- signing in --------------------------------------------------------------------------


def sign_in_options() -> list[SignInOption]:
    """One button per enabled issuer, for the sign-in page."""
    rows = db.session.execute(
        select(Centre.name, Centre.slug)
        .join(SsoIssuer, SsoIssuer.centre_id == Centre.id)
        .where(SsoIssuer.enabled.is_(True))
        .order_by(Centre.name)
    ).all()
    return [SignInOption(f"Sign in with {name}", slug) for name, slug in rows]


def enabled_issuer(centre_slug: str) -> SsoIssuer:
    issuer = db.session.scalar(
        select(SsoIssuer)
        .join(Centre, SsoIssuer.centre_id == Centre.id)
        .where(Centre.slug == centre_slug)
    )
    if issuer is None or not issuer.enabled:
        raise SignInRefused("Single sign-on is not switched on for this centre.")
    return issuer


def oidc_client(issuer: SsoIssuer) -> FlaskOAuth2App:
    """Authlib's Flask client for the issuer (discovery, PKCE S256, nonce, state)."""
    name = f"sso_{issuer.id}"
    try:
        secret = client_secrets.reveal(issuer.client_secret_encrypted)
    except client_secrets.SecretUnreadable as exc:
        raise SignInRefused(
            "Single sign-on for this centre needs its administrator to enter the client "
            "secret again."
        ) from exc
    return FlaskOAuth2App(
        FlaskIntegration(name),
        name=name,
        client_id=issuer.client_id,
        client_secret=secret,
        server_metadata_url=issuer.discovery_url,
        client_kwargs={
            "scope": SCOPES,
            "code_challenge_method": "S256",
            "default_timeout": HTTP_TIMEOUT_SECONDS,
        },
    )


def verified_claims(issuer: SsoIssuer, client: FlaskOAuth2App) -> dict:
    """Finish the code flow on the callback request: check ``state``, swap the code for
    tokens, check the ID token's signature, issuer, audience, expiry and nonce. Returns
    its claims (completed from the userinfo endpoint when the token lacks the e-mail)."""
    metadata = client.load_server_metadata()
    options = {
        "iss": {"essential": True, "value": metadata["issuer"]},
        "aud": {"essential": True, "value": issuer.client_id},
    }
    # Authlib's default leeway is two minutes; clocks of a provider and the platform
    # are kept by NTP, so a few seconds is enough.
    token = client.authorize_access_token(claims_options=options, leeway=10)
    claims = dict(token.get("userinfo") or {})
    if not claims.get("sub"):
        raise SignInRefused("The identity provider sent no ID token.")
    if "email" not in claims and metadata.get("userinfo_endpoint"):
        extra = dict(client.userinfo(token=token))
        if extra.get("sub") == claims["sub"]:
            claims = {**extra, **claims}
    return claims


def mapped_role(issuer: SsoIssuer, claims: dict) -> str:
    """The highest role any value of the issuer's role claim maps to, else the default."""
    mapping = parse_role_mapping(issuer.role_mapping)
    values = claims.get(issuer.role_claim) if issuer.role_claim else None
    if isinstance(values, str):
        values = values.split()
    roles = [mapping[str(v)] for v in values or () if str(v) in mapping]
    return max(roles, key=_RANK.__getitem__) if roles else issuer.default_role


def account_for(issuer: SsoIssuer, claims: dict) -> tuple[User, bool]:
    """The account the identity signs in to (committed), and whether it was created.
    Raises SignInRefused with the reason."""
    email = (claims.get("email") or "").strip()
    if not email:
        raise SignInRefused("The identity provider did not share your e-mail address.")
    if claims.get("email_verified") not in (True, "true"):
        raise SignInRefused(
            f"Your identity provider has not verified {email}. Verify it there, then sign in again."
        )
    user = accounts.find_user_by_email(email)
    created = user is None
    if user is None:
        try:
            user = accounts.create_user(
                email,
                None,
                role=mapped_role(issuer, claims),
                name=str(claims.get("name") or "")[:120],
                centre_id=issuer.centre_id,
            )
        except accounts.AccountError as exc:
            db.session.rollback()
            raise SignInRefused(str(exc)) from exc
    elif user.is_platform_admin or user.centre_id != issuer.centre_id:
        raise SignInRefused(
            f"The account {email} does not belong to {issuer.centre.name}: sign in with "
            "its password."
        )
    elif not user.is_active:
        raise SignInRefused("This account is switched off. Ask your centre.")
    user.last_login_at = utcnow()
    db.session.commit()
    return user, created
