"""The cyber-range LMS: a Flask application factory.

``create_app`` wires configuration, extensions and one blueprint per domain.
It does no I/O beyond reading configuration: no Docker calls, no sleeps.
"""

from __future__ import annotations

import importlib
import secrets
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from lms import (
    database,  # noqa: F401  (engine tuning hooks)
    ratelimits,  # noqa: F401  (the database:// rate-limit storage, its table)
)
from lms.config import Config, env_settings
from lms.extensions import csrf, db, limiter, login_manager, migrate, sock

# Each domain package exposes ``bp`` (a blueprint) and may expose ``init_app(app)``.
DOMAINS = (
    "web",
    "auth",
    "audit",
    "catalog",
    "xapi",
    "progress",
    "labs",
    "terminal",
    "centres",
    "authoring",
    "exercises",
    "api",
    "sso",
    "lti",
    "certificates",
    "metrics",
)


def create_app(config: dict | type | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    _configure(app, config)

    db.init_app(app)
    from lms.catalog.search import include_in_migrations

    migrate.init_app(
        app,
        db,
        directory=str(Path(__file__).parent / "migrations"),
        include_name=include_in_migrations,  # the search index's own tables
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    sock.init_app(app)
    from lms.web import i18n

    i18n.init_app(app)

    # Every domain is imported before any blueprint is registered: a domain may add routes
    # to a lower one's blueprint (progress serves the catalog's pages).
    modules = [importlib.import_module(f"lms.{name}") for name in DOMAINS]
    for module in modules:
        if hasattr(module, "bp"):
            app.register_blueprint(module.bp)
        if hasattr(module, "init_app"):
            module.init_app(app)

    from lms import commands

    commands.register(app)
    _trust_proxies(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind LMS_TRUSTED_PROXIES reverse proxies, the client's address and scheme come
    from X-Forwarded-For/-Proto (set by those proxies); with 0 (the default) the headers
    are ignored, so a client cannot choose the address its sign-in failures count against."""
    hops = int(app.config.get("LMS_TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _configure(app: Flask, config: dict | type | None) -> None:
    app.config.from_object(Config)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(env_settings())
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config["SECRET_KEY"] = app.config.get("LMS_SECRET_KEY") or _instance_secret(app)
    app.config.setdefault(
        "SQLALCHEMY_DATABASE_URI",
        app.config.get("LMS_DATABASE_URL") or f"sqlite:///{Path(app.instance_path) / 'lms.sqlite'}",
    )
    if app.config.get("LMS_DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["LMS_DATABASE_URL"]
    app.config["RATELIMIT_STORAGE_URI"] = app.config["LMS_RATELIMIT_STORAGE_URI"]
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgres"):
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})


def _instance_secret(app: Flask) -> str:
    """A random secret kept in the instance folder, so sessions and flags survive restarts."""
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
