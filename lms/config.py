"""Configuration, read from the environment (``LMS_*``) and ``instance/config.py``.

The keys are documented in docs/configuration.md: extend, never rename.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Keys that may come from the environment, and how to read each one.
ENV_KEYS: dict[str, type] = {
    "LMS_SECRET_KEY": str,
    "LMS_DATABASE_URL": str,
    "LMS_COURSES_DIR": str,
    "LMS_LABS_DIR": str,
    "LMS_DOCKER_URL": str,
    "LMS_LAB_BACKEND": str,
    "LMS_REGISTRY": str,
    "LMS_SWARM_NODE_ENGINES": str,
    "LMS_SWARM_ALLOW_NEW_PRIVILEGES": bool,
    "LMS_MAX_LABS_PER_USER": int,
    "LMS_MAX_LABS_TOTAL": int,
    "LMS_RATELIMIT_STORAGE_URI": str,
    "LMS_SELF_REGISTRATION": bool,
    "LMS_LAB_SESSION_PREFIX": str,
    "LMS_LAB_WORKER": str,
    "LMS_START_LAB_WORKERS": int,
    "LMS_REAPER_INTERVAL": int,
    "LMS_TRUSTED_PROXIES": int,
    "LMS_COOKIE_SECURE": bool,
    "LMS_LOGIN_FAILURES_PER_ADDRESS": int,
    "LMS_LOGIN_MAX_DELAY": int,
    "LMS_PASSWORD_RESET_MINUTES": int,
    "LMS_SMTP_URL": str,
    "LMS_MAIL_FROM": str,
    "LMS_INVITATION_DAYS": int,
    "LMS_CERTIFICATE_KEY_FILE": str,
    "LMS_CERTIFICATE_ISSUER_NAME": str,
    "LMS_XAPI_ENDPOINT": str,
    "LMS_XAPI_USERNAME": str,
    "LMS_XAPI_PASSWORD": str,
    "LMS_XAPI_PLATFORM_URL": str,
    "LMS_XAPI_ACTOR": str,
    "LMS_SSO_ALLOW_HTTP": bool,
    "LMS_LTI_KEY_FILE": str,
    "LMS_LTI_FRAME_ANCESTORS": str,
}


def _parse_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_settings(environ: dict[str, str] | None = None) -> dict[str, object]:
    """The ``LMS_*`` settings present in the environment, typed."""
    environ = os.environ if environ is None else environ
    settings: dict[str, object] = {}
    for key, kind in ENV_KEYS.items():
        if key in environ:
            raw = environ[key]
            settings[key] = _parse_bool(raw) if kind is bool else kind(raw)
    return settings


class Config:
    LMS_SECRET_KEY: str | None = None
    LMS_DATABASE_URL: str | None = None  # default: sqlite under the instance folder
    LMS_COURSES_DIR = str(PROJECT_ROOT / "courses")
    LMS_LABS_DIR = str(PROJECT_ROOT / "labs")
    LMS_DOCKER_URL: str | None = None  # default: the local engine's socket
    # Where labs run: "docker" (containers on one engine) or "swarm" (services over the
    # nodes of a Docker Swarm that LMS_DOCKER_URL's engine manages).
    LMS_LAB_BACKEND = "docker"
    # A registry the swarm's nodes pull lab images from (host:port/prefix); "": none, and
    # every node must hold the images itself.
    LMS_REGISTRY = ""
    # The Docker engines of a swarm's other nodes, for terminals and checks in the labs they
    # run: `node=tcp://host:2376,...` or a JSON object (TLS: DOCKER_TLS_VERIFY/CERT_PATH).
    LMS_SWARM_NODE_ENGINES = ""
    # Swarm services on Engine 20.10 cannot set no-new-privileges: a lab running its own
    # `image:` without `setuid: true` is refused on that backend unless this is True.
    LMS_SWARM_ALLOW_NEW_PRIVILEGES = False
    LMS_MAX_LABS_PER_USER = 1
    LMS_MAX_LABS_TOTAL = 40
    LMS_SELF_REGISTRATION = False
    # Plain-HTTP discovery URLs on this machine (a development identity provider).
    LMS_SSO_ALLOW_HTTP = False
    # Flask-Limiter's counts: in the database (lms.ratelimits), or redis://host:6379/0
    LMS_RATELIMIT_STORAGE_URI = "database://"
    # Platform ceilings: a lab.yaml can ask for less, never more.
    LMS_LAB_MAX_MEMORY = "1g"
    LMS_LAB_MAX_CPUS = 1.0
    LMS_LAB_MAX_PIDS = 512
    LMS_START_LAB_WORKERS = 4
    LMS_REAPER_INTERVAL = 30  # seconds; 0 disables the background reaper
    # Where lab jobs run (lms.labs.workers): "inline", on threads of each web process, or
    # "external", in `lms labs worker` processes (the web tier only queues them).
    LMS_LAB_WORKER = "inline"
    # Warm lab pools (lms.labs.pools) refill this many seconds after their last claim.
    LMS_POOL_REFILL_DELAY = 5
    # Engine objects of this platform's labs carry session keys with this prefix; sweeps
    # touch nothing else (two platforms, or a test run, can share one engine). Default:
    # "lab-" and a hash of the instance folder and database (labs.services.key_prefix).
    LMS_LAB_SESSION_PREFIX: str | None = None

    # Reverse proxies in front of the platform whose X-Forwarded-For/-Proto are trusted
    # (werkzeug ProxyFix); 0: none, the client's address is the connection's.
    LMS_TRUSTED_PROXIES = 0
    LMS_COOKIE_SECURE = False  # Secure cookies even on plain HTTP (they are on HTTPS anyway)
    # Sign-in throttling (lms.auth.throttle): only failures count.
    LMS_LOGIN_FREE_FAILURES = 5  # per account, before the growing delay starts
    LMS_LOGIN_MAX_DELAY = 60  # seconds: the longest an account waits between attempts
    LMS_LOGIN_FAILURES_PER_ADDRESS = 30  # per client address and window
    LMS_LOGIN_ADDRESS_WINDOW = 600  # seconds
    LMS_TOKEN_USE_INTERVAL = 300  # seconds between writes of an API token's "last used"
    LMS_PASSWORD_RESET_MINUTES = 60  # how long a password reset link works (once)
    # Outgoing mail (lms.mail): smtp://user:pass@host:587 or smtps://...; None: no mail,
    # links are shown to copy instead.
    LMS_SMTP_URL: str | None = None
    LMS_MAIL_FROM: str | None = None  # default: lms@<the SMTP host>
    LMS_INVITATION_DAYS = 14  # how long every invitation link stays valid
    # Certificates (lms.certificates): the Ed25519 key that signs their credentials, made on
    # first use (default: instance/certificate_key.pem; keep it secret, back it up), and the
    # issuer's name on certificates and in credentials.
    LMS_CERTIFICATE_KEY_FILE: str | None = None
    LMS_CERTIFICATE_ISSUER_NAME = "Cyber Range LMS"
    # xAPI (lms.xapi): the learning record store's xAPI endpoint (https://lrs.example.org/xAPI/;
    # None: no statement is recorded), its Basic credentials (an LRS's key and secret),
    # the platform's public address that activity ids and the actor's homePage start with,
    # and how a trainee is named: "account" (homePage and user id) or "mbox" (e-mail).
    LMS_XAPI_ENDPOINT: str | None = None
    LMS_XAPI_USERNAME: str | None = None
    LMS_XAPI_PASSWORD: str | None = None
    LMS_XAPI_PLATFORM_URL: str | None = None
    LMS_XAPI_ACTOR = "account"
    # LTI 1.3 (lms.lti): the tool's RSA key (None: instance/lti_key.pem, made on first use),
    # and the LMS origins that may show pages in an iframe (space-separated; set: the
    # session cookie is SameSite=None; Secure, so the platform must be served over HTTPS).
    LMS_LTI_KEY_FILE: str | None = None
    LMS_LTI_FRAME_ANCESTORS = ""

    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # tokens last for the session: a slow reader keeps their form
    MAX_CONTENT_LENGTH = 5 * 1024 * 1024
    RATELIMIT_HEADERS_ENABLED = True
    TESTING = False


class TestingConfig(Config):
    TESTING = True
    LMS_SECRET_KEY = "test-secret-key"  # noqa: S105 - tests only
    WTF_CSRF_ENABLED = False
    LMS_REAPER_INTERVAL = 0
