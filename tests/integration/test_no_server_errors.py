"""No input produces a 500: every GET page, with odd path values, for every role.

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


def test_nul_characters_are_refused_everywhere(client, trainee):
    assert client.get("/courses/a%00b").status_code == 400
    assert client.get("/catalogue?q=%00").status_code == 400
    assert client.post("/courses/x/y/quiz", data={"q0": "\x00"}).status_code == 400
    response = client.post("/api/v1/labs/sessions/1/flag", json={"task": "t", "flag": "\x00"})
    assert response.status_code == 400 and response.json["error"] == "bad_request"
