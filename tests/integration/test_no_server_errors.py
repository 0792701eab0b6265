"""No input produces a 500: every GET page, with odd path values, for every role;
every route with every HTTP method; garbage posted to every form.

Lab-engine pages are given a dead engine, which must also end in a clear answer.
"""

import pytest

from tests.conftest import test_config

ODD_VALUES = {
    "int": ["0", "1", "999999"],
    "default": ["nope", "demo-course", "..%2F..%2Fetc", "%00", "x" * 300],
}
SKIP_PREFIXES = ("/static", "/authoring/static")


@pytest.fixture
def app(tmp_path):
    from lms import create_app
    from lms.extensions import db
    from tests.conftest import reset_schema

    app = create_app(test_config(tmp_path, LMS_DOCKER_URL=f"unix://{tmp_path}/no-engine.sock"))
    with app.app_context():
        reset_schema()
    yield app
    with app.app_context():
        db.session.remove()


def get_urls(app):
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(SKIP_PREFIXES) or rule.websocket:
            continue
        kinds = {name: type(conv).__name__ for name, conv in rule._converters.items()}
        for index in range(5):
            url = rule.rule
            for name, kind in kinds.items():
                values = ODD_VALUES["int"] if kind == "IntegerConverter" else ODD_VALUES["default"]
                url = url.replace(
                    f"<{rule.arguments and _raw(rule, name)}>", values[index % len(values)]
                )
            yield url
            if not kinds:
                break


def _raw(rule, name):
    for converter, _args, variable in _parse(rule.rule):
        if variable == name:
            return f"{converter}:{name}" if converter else name
    return name


def _parse(rule_text):
    import re

    for match in re.finditer(r"<(?:(\w+)(\([^)]*\))?:)?(\w+)>", rule_text):
        yield match.group(1), match.group(2), match.group(3)


@pytest.mark.parametrize("role", ["trainee", "instructor", "centre_admin", "platform_admin"])
def test_every_page_answers_without_a_server_error(app, client, courses, make_user, auth, role):
    make_user(f"{role}@example.org", role=role)
    auth.login(f"{role}@example.org")
    failures = []
    for url in set(get_urls(app)):
        response = client.get(url)
        if response.status_code >= 500 and response.status_code != 503:
            failures.append(f"{url}: {response.status_code}")
    assert not failures, failures


def post_urls(app):
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.websocket or rule.rule in ("/logout",):
            continue
        url = rule.rule
        for _conv, _args, name in _parse(rule.rule):
            kind = type(rule._converters[name]).__name__
            value = "1" if kind == "IntegerConverter" else "nope"
            url = url.replace(f"<{_raw(rule, name)}>", value)
        yield url


GARBAGE_BODIES = [
    {"json": {"task": 12, "flag": ["x"], "text": None}},
    {"json": ["not", "an", "object"]},
    {"data": b"\xff\xfe{not json", "content_type": "application/json"},
    {"data": {"q0": "x" * 5000, "csv": "a,b", "email": "not-an-email", "cohort_id": "abc"}},
]


@pytest.mark.parametrize("role", ["trainee", "platform_admin"])
def test_garbage_posts_answer_without_a_server_error(app, client, courses, make_user, auth, role):
    make_user(f"{role}@example.org", role=role)
    auth.login(f"{role}@example.org")
    failures = []
    for url in set(post_urls(app)):
        for body in GARBAGE_BODIES:
            response = client.post(url, **body)
            if response.status_code >= 500 and response.status_code != 503:
                failures.append(f"POST {url} {list(body)}: {response.status_code}")
    assert not failures, failures


ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def every_route_url(app):
    """Each route once (websocket routes included), with plain values for its arguments."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(SKIP_PREFIXES):
            continue
        url = rule.rule
        for _conv, _args, name in _parse(rule.rule):
            kind = type(rule._converters[name]).__name__
            value = "1" if kind == "IntegerConverter" else "nope"
            url = url.replace(f"<{_raw(rule, name)}>", value)
        yield rule, url


def _is_server_error(rule, response) -> bool:
    if response.status_code < 500:
        return False
    # The engine is dead in this app: its pages may say so with a 503.
    engine_page = rule.endpoint.startswith(("labs.", "terminal.", "api.lab"))
    return not (response.status_code == 503 and engine_page)


@pytest.mark.parametrize("role", ["anonymous", "trainee", "centre_admin", "platform_admin"])
def test_every_route_with_every_method_answers_without_a_server_error(
    app, client, courses, make_user, auth, role
):
    """Wrong methods included: the old GET/POST tests only sent each route a method it
    allows, so the crash in the 405 handler was never reached."""
    if role != "anonymous":
        make_user(f"{role}@example.org", role=role)
    failures = []
    for rule, url in every_route_url(app):
        if rule.rule == "/logout":
            continue  # ends the session: tried last
        for method in ALL_METHODS:
            if role != "anonymous" and not client.get_cookie("session"):
                auth.login(f"{role}@example.org")
            response = client.open(url, method=method)
            if _is_server_error(rule, response):
                failures.append(f"{method} {url}: {response.status_code}")
    for method in ALL_METHODS:
        response = client.open("/logout", method=method)
        if response.status_code >= 500:
            failures.append(f"{method} /logout: {response.status_code}")
    assert not failures, failures


def test_a_wrong_method_gets_a_friendly_405_with_allow(client, trainee, courses):
    response = client.delete("/catalogue")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}
    assert "DELETE" not in response.headers["Allow"]
    assert b"not allowed" in response.data and b"<html" in response.data
    api = client.put("/api/v1/courses")
    assert api.status_code == 405 and "GET" in api.headers["Allow"]
    assert api.json["error"] == "method_not_allowed"


def test_logout_by_get_is_not_a_server_error(client, trainee):
    response = client.get("/logout")
    assert response.status_code < 500


@pytest.mark.parametrize(
    "url, page",
    [
        ("/courses/demo-course/first-steps/quiz", "/courses/demo-course/first-steps"),
        ("/courses/demo-course/first-steps/complete", "/courses/demo-course/first-steps"),
    ],
)
def test_get_on_a_form_address_goes_back_to_the_form(client, trainee, courses, url, page):
    """Enter in the address bar after submitting a form lands on the form's page."""
    for method in ("GET", "HEAD"):
        response = client.open(url, method=method)
        assert response.status_code in (302, 303), (method, response.status_code)
        assert response.headers["Location"].endswith(page)


def test_get_on_cohort_forms_goes_back_to_the_cohort(app, client, make_user, auth):
    from lms.centres.models import Centre, Cohort
    from lms.extensions import db

    make_user("admin@example.org", role="platform_admin")
    with app.app_context():
        centre = Centre(slug="tallinn", name="Tallinn", country="EE")
        db.session.add(centre)
        db.session.flush()
        cohort = Cohort(centre_id=centre.id, name="Spring")
        db.session.add(cohort)
        db.session.commit()
        cohort_id = cohort.id
    auth.login("admin@example.org")
    for form in ("trainees", "roster"):
        response = client.get(f"/cohorts/{cohort_id}/{form}")
        assert response.status_code in (302, 303)
        assert response.headers["Location"].endswith(f"/cohorts/{cohort_id}")


def test_nul_characters_are_refused_everywhere(client, trainee):
    assert client.get("/courses/a%00b").status_code == 400
    assert client.get("/catalogue?q=%00").status_code == 400
    assert client.post("/courses/x/y/quiz", data={"q0": "\x00"}).status_code == 400
    response = client.post("/api/v1/labs/sessions/1/flag", json={"task": "t", "flag": "\x00"})
    assert response.status_code == 400 and response.json["error"] == "bad_request"
