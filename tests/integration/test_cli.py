"""The `lms` command line, and migrations that match the models."""

import shutil

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from lms.auth.services import find_user_by_email
from lms.catalog.search import include_in_migrations
from lms.extensions import db
from tests.conftest import FIXTURE_COURSES, PASSWORD


def test_init_migrates_to_a_schema_matching_the_models(app, runner):
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            from sqlalchemy import text

            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        else:
            db.drop_all()
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["init"]).exit_code == 0  # idempotent
    with app.app_context(), db.engine.connect() as conn:
        # as env.py compares: without the search index's own FTS5 tables (lms.catalog.search)
        context = MigrationContext.configure(conn, opts={"include_name": include_in_migrations})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_users_create_and_token(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            " Boss@Example.org",
            "--role",
            "platform_admin",
            "--password",
            PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    duplicate = runner.invoke(args=["users", "create", "boss@example.org", "--password", PASSWORD])
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    weak = runner.invoke(args=["users", "create", "weak@example.org", "--password", "short"])
    assert weak.exit_code == 1 and "at least 10 characters" in weak.output
    token = runner.invoke(args=["users", "token", "boss@example.org"]).output.strip()
    assert token.startswith("lms_")
    response = app.test_client().get(
        "/api/v1/me/progress", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.json["user"]["role"] == "platform_admin"


def test_courses_check_lists_every_problem_and_exits_1(runner, tmp_path):
    folder = tmp_path / "courses"
    shutil.copytree(FIXTURE_COURSES, folder)
    ok = runner.invoke(args=["courses", "check", str(folder)])
    assert ok.exit_code == 0 and "1 course(s) OK" in ok.output
    (folder / "demo-course" / "03-bad.md").write_text("---\nduration: x\nlab: ghost-lab\n---\n")
    bad = runner.invoke(args=["courses", "check", str(folder)])
    assert bad.exit_code == 1
    lines = [line for line in bad.output.splitlines() if "03-bad.md:" in line]
    assert any(":2: 'title' is required" in line for line in lines)
    assert any(":2: duration is a whole number" in line for line in lines)
    assert any(":3: unknown lab 'ghost-lab'" in line for line in lines)


def test_courses_sync(app, runner):
    result = runner.invoke(args=["courses", "sync", str(FIXTURE_COURSES)])
    assert result.exit_code == 0 and "created: demo-course" in result.output
    again = runner.invoke(args=["courses", "sync", str(FIXTURE_COURSES)])
    assert "unchanged: demo-course" in again.output


def test_demo_creates_one_account_per_role(app, runner):
    result = runner.invoke(args=["demo"])
    assert "trainee@example.org" in result.output
    with app.app_context():
        for email in (
            "admin@example.org",
            "centre-admin@example.org",
            "instructor@example.org",
            "trainee@example.org",
        ):
            assert find_user_by_email(email).check_password("demo-password")
