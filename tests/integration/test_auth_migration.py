"""The auth hardening migration on a database that already has accounts: existing users
keep signing in, get a session version and a look-alike skeleton."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from lms.auth.lookalike import skeleton
from lms.extensions import db
from tests.conftest import PASSWORD

BEFORE = "5d7a2813448a"
AUTH_HARDENING = "0002_auth_hardening"


def empty_database() -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    else:
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def test_existing_accounts_are_carried_over(app, auth):
    from werkzeug.security import generate_password_hash

    with app.app_context():
        empty_database()
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (email, name, password_hash, role, is_active_account,"
                    " created_at) VALUES (:email, 'Old', :hash, 'trainee', true, :now)"
                ),
                {
                    "email": "old.timer@example.org",
                    "hash": generate_password_hash(PASSWORD),
                    "now": "2025-01-01 00:00:00",
                },
            )
        upgrade(revision=AUTH_HARDENING)
        with db.engine.connect() as conn:
            row = conn.execute(text("SELECT session_version, email_skeleton FROM users")).one()
        assert row == (0, skeleton("old.timer@example.org"))
        downgrade(revision=BEFORE)  # and back, keeping the account
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT email FROM users")).scalar() == "old.timer@example.org"
        upgrade()
    assert auth.login("old.timer@example.org").status_code == 302
