from tests.conftest import PASSWORD


def bearer(app, email):
    from lms.auth.services import find_user_by_email, issue_token

    with app.app_context():
        return {"Authorization": f"Bearer {issue_token(find_user_by_email(email))}"}


def test_api_needs_authentication_and_answers_json(client, courses):
    response = client.get("/api/v1/courses")
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized" and response.json["message"]


def test_courses_with_a_token(app, client, courses, make_user):
    make_user("api@example.org")
    headers = bearer(app, "api@example.org")
    listing = client.get("/api/v1/courses", headers=headers).json
    assert listing["courses"][0]["slug"] == "demo-course"
    detail = client.get("/api/v1/courses/demo-course", headers=headers).json
    assert [m["status"] for m in detail["modules"]] == ["not_started", "not_started"]
    assert detail["modules"][0]["questions"] == 2
    missing = client.get("/api/v1/courses/nope", headers=headers)
    assert missing.status_code == 404 and missing.json["error"] == "not_found"


def test_progress_through_the_session(client, courses, trainee):
    client.get("/courses/demo-course/next-steps")
    client.post("/courses/demo-course/next-steps/complete")
    progress = client.get("/api/v1/me/progress").json
    assert progress["courses"][0]["percent"] == 50
    assert progress["courses"][0]["next_module"] == "first-steps"


def test_session_post_needs_csrf_but_token_does_not(tmp_path, make_user):
    from lms import create_app
    from lms.extensions import db
    from tests.conftest import test_config

    app = create_app(test_config(tmp_path, WTF_CSRF_ENABLED=True))
    with app.app_context():
        db.create_all()
        from lms.auth.services import create_user

        create_user("x@example.org", PASSWORD)
        db.session.commit()
    response = app.test_client().post("/api/v1/labs/anything/start")
    assert response.status_code in {400, 401, 404}
    assert response.is_json


def test_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    for path in ("/courses", "/courses/{slug}", "/me/progress"):
        assert path in doc["paths"]
