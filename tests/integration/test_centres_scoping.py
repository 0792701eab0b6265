"""Every centre, cohort and trainee page against every kind of person: who sees what.

Out of scope is a 403; something that does not exist is a 404; nobody signed in
is sent to sign in (or gets a 401 from the API).
"""

import pytest

from tests.programme import EMAILS

CENTRES = ("alpha", "beta", "gamma")
COHORTS = ("a1", "a2", "b1", "c1")
TRAINEES = ("t_a1", "t_a2", "t_b1", "t_c1", "t_none")

# What each person may open; everything else must be refused.
ALLOWED = {
    "admin": {
        "centres": set(CENTRES),
        "view": set(COHORTS),
        "manage": set(COHORTS),
        "trainees": set(TRAINEES),
        "programme": True,
    },
    "admin_a": {
        "centres": {"alpha"},
        "view": {"a1", "a2"},
        "manage": {"a1", "a2"},
        "trainees": {"t_a1", "t_a2", "t_none"},
    },
    "admin_b": {"centres": {"beta"}, "view": {"b1"}, "manage": {"b1"}, "trainees": {"t_b1"}},
    "admin_ac": {
        "centres": {"alpha", "gamma"},
        "view": {"a1", "a2", "c1"},
        "manage": {"a1", "a2", "c1"},
        "trainees": {"t_a1", "t_a2", "t_c1", "t_none"},
    },
    "inst_a1": {"centres": set(), "view": {"a1"}, "manage": set(), "trainees": {"t_a1"}},
    "inst_b1": {"centres": set(), "view": {"b1"}, "manage": set(), "trainees": {"t_b1"}},
    "t_a1": {"centres": set(), "view": set(), "manage": set(), "trainees": {"t_a1"}},
    "t_b1": {"centres": set(), "view": set(), "manage": set(), "trainees": {"t_b1"}},
}


def _pages(p):
    """(url, kind, key) for every page of the programme."""
    for slug in CENTRES:
        yield f"/centres/{slug}", "centres", slug
        yield f"/centres/{slug}/cohorts/new", "centres", slug
        yield f"/centres/{slug}/cohorts.csv", "centres", slug
    for key in COHORTS:
        cid = p.cohorts[key]
        for url in (
            f"/cohorts/{cid}",
            f"/cohorts/{cid}/dashboard",
            f"/cohorts/{cid}/dashboard?course=demo-course&days=3",
            f"/cohorts/{cid}/export/matrix.csv",
            f"/cohorts/{cid}/export/stuck.csv",
            f"/cohorts/{cid}/export/modules.csv",
            f"/cohorts/{cid}/export/trainees.csv",
            f"/cohorts/{cid}/export/flag-shares.csv",
            f"/cohorts/{cid}/members.csv",
            f"/api/v1/cohorts/{cid}/progress",
        ):
            yield url, "view", key
        for url in (f"/cohorts/{cid}/edit", f"/cohorts/{cid}/roster-template.csv"):
            yield url, "manage", key
    for key in TRAINEES:
        uid = p.users[key]
        yield f"/trainees/{uid}", "trainees", key
        yield f"/trainees/{uid}/timeline.csv", "trainees", key
        yield f"/trainees/{uid}/courses.csv", "trainees", key
    yield "/programme", "programme", None
    yield "/programme.csv", "programme", None


@pytest.mark.parametrize("actor", sorted(ALLOWED))
def test_every_page_is_scoped(actor, client, login_as, programme):
    login_as(actor)
    allowed = ALLOWED[actor]
    wrong = []
    for url, kind, key in _pages(programme):
        ok = allowed.get("programme", False) if kind == "programme" else key in allowed[kind]
        status = client.get(url).status_code
        if (ok and status != 200) or (not ok and status not in (403, 404)):
            wrong.append(f"{url}: {status} (expected {'200' if ok else '403/404'})")
    assert not wrong, f"{actor}:\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    "actor, status",
    [
        ("admin", 200),
        ("admin_a", 200),
        ("inst_a1", 200),
        ("t_a1", 403),
    ],
)
def test_centres_index(actor, status, client, login_as):
    login_as(actor)
    assert client.get("/centres").status_code == status


def test_the_index_lists_only_what_is_in_scope(client, login_as, programme):
    login_as("admin_b")
    page = client.get("/centres").get_data(as_text=True)
    assert 'data-centre="beta"' in page and "B1" in page
    assert 'data-centre="alpha"' not in page and 'data-centre="gamma"' not in page
    # Cohort names are checked by their element, not as bare text: a random CSRF token
    # in the page may contain "A1".
    for other in ("a1", "a2", "c1"):
        assert f'data-cohort="{programme.cohorts[other]}"' not in page
    assert f'data-cohort="{programme.cohorts["b1"]}"' in page
    login_as("inst_a1")
    page = client.get("/centres").get_data(as_text=True)
    assert f'data-cohort="{programme.cohorts["a1"]}"' in page
    assert f'data-cohort="{programme.cohorts["a2"]}"' not in page


def test_a_dashboard_shows_only_its_own_trainees(client, login_as, programme):
    login_as("admin_a")
    page = client.get(f"/cohorts/{programme.cohorts['a1']}/dashboard").get_data(as_text=True)
    assert EMAILS["t_a1"] in page
    assert EMAILS["t_a2"] not in page and EMAILS["t_b1"] not in page


def test_nothing_there_is_a_404(client, login_as):
    login_as("admin")
    for url in (
        "/centres/nowhere",
        "/cohorts/999",
        "/cohorts/999/dashboard",
        "/cohorts/999/export/matrix.csv",
        "/trainees/999",
        "/api/v1/cohorts/999/progress",
    ):
        assert client.get(url).status_code == 404, url


def test_an_unknown_export_is_a_404(client, login_as, programme):
    login_as("admin")
    assert client.get(f"/cohorts/{programme.cohorts['a1']}/export/secrets.csv").status_code == 404


def test_signed_out_people_are_sent_to_sign_in(client, programme):
    cid = programme.cohorts["a1"]
    for url in (
        "/centres",
        f"/cohorts/{cid}",
        f"/cohorts/{cid}/dashboard",
        "/programme",
        f"/trainees/{programme.users['t_a1']}",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    response = client.get(f"/api/v1/cohorts/{cid}/progress")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def _posts(p, cohort_key: str, centre_slug: str):
    cid = p.cohorts[cohort_key]
    member = {"a1": "t_a1", "a2": "t_a2", "b1": "t_b1", "c1": "t_c1"}[cohort_key]
    uid = p.users[member]
    yield f"/centres/{centre_slug}", {"name": "Taken", "country": "X"}
    yield f"/centres/{centre_slug}/cohorts/new", {"name": "Sneaky"}
    yield f"/centres/{centre_slug}/courses/{p.courses['alpha-shared']}/share", {"value": "off"}
    yield f"/cohorts/{cid}/edit", {"name": "Renamed"}
    yield f"/cohorts/{cid}/trainees", {"add-email": "new@example.org", "add-name": "New"}
    yield f"/cohorts/{cid}/courses", {"assign-course": p.courses["demo-course"]}
    yield f"/cohorts/{cid}/courses/{p.courses['demo-course']}/remove", {}
    yield f"/cohorts/{cid}/instructors", {"instructor-email": EMAILS["inst_a1"]}
    yield f"/cohorts/{cid}/trainees/{uid}/remove", {}
    yield f"/cohorts/{cid}/trainees/{uid}/move", {"move-target": p.cohorts["a2"]}


@pytest.mark.parametrize(
    "actor, cohort_key, centre_slug",
    [
        ("admin_a", "b1", "beta"),  # a partner centre is still another centre
        ("admin_a", "c1", "gamma"),
        ("admin_b", "a1", "alpha"),
        ("inst_a1", "a1", "alpha"),  # instructors follow, they do not manage
        ("t_a1", "a1", "alpha"),
    ],
)
def test_changes_out_of_scope_are_refused_and_change_nothing(
    actor, cohort_key, centre_slug, app, client, login_as, programme
):
    from lms.centres.models import Centre, Cohort, CohortCourse, CohortMember
    from lms.extensions import db

    def snapshot():
        with app.app_context():
            return (
                sorted((c.slug, c.name) for c in db.session.query(Centre)),
                sorted(c.name for c in db.session.query(Cohort)),
                sorted((m.cohort_id, m.user_id) for m in db.session.query(CohortMember)),
                sorted((a.cohort_id, a.course_id) for a in db.session.query(CohortCourse)),
            )

    before = snapshot()
    login_as(actor)
    for url, data in _posts(programme, cohort_key, centre_slug):
        status = client.post(url, data=data).status_code
        assert status in (403, 404), f"{actor} POST {url}: {status}"
    data = {"roster-file": (__import__("io").BytesIO(b"email\nx@example.org\n"), "t.csv")}
    cid = programme.cohorts[cohort_key]
    assert client.post(
        f"/cohorts/{cid}/roster", data=data, content_type="multipart/form-data"
    ).status_code in (403, 404)
    assert snapshot() == before


def test_moving_into_a_cohort_of_another_centre_is_refused(client, login_as, programme):
    login_as("admin_a")
    uid = programme.users["t_a1"]
    response = client.post(
        f"/cohorts/{programme.cohorts['a1']}/trainees/{uid}/move",
        data={"move-target": programme.cohorts["b1"]},
    )
    assert response.status_code in (400, 403)


def test_a_trainee_of_another_cohort_cannot_be_moved_from_mine(client, login_as, programme):
    login_as("admin_a")
    uid = programme.users["t_b1"]
    response = client.post(
        f"/cohorts/{programme.cohorts['a1']}/trainees/{uid}/move",
        data={"move-target": programme.cohorts["a2"]},
    )
    assert response.status_code == 404


def test_platform_admin_only_actions(client, login_as, programme):
    login_as("admin_a")
    assert client.get("/centres/new").status_code == 403
    assert (
        client.post("/centres/alpha/admins", data={"admin-email": EMAILS["admin_b"]}).status_code
        == 403
    )
    assert client.post("/centres/alpha/courses", data={"offer-course": 1}).status_code == 403
    login_as("admin")
    assert client.get("/centres/new").status_code == 200


# -- whose lab work staff see: one rule (lms.centres.access.visible_trainee_ids) --------------


def _lab_work(app, programme, rounds: int) -> None:
    """``rounds`` flag shares and recorded lab sessions for each pair of trainees
    (a1 <- b1, b1 <- c1, a2 <- none)."""
    from lms.auth.models import utcnow
    from lms.extensions import db
    from lms.labs.models import FlagShare, LabSession
    from lms.terminal.models import TerminalRecording

    u = programme.users
    with app.app_context():
        for n in range(rounds):
            for submitter, owner in (("t_a1", "t_b1"), ("t_b1", "t_c1"), ("t_a2", "t_none")):
                db.session.add(
                    FlagShare(submitter_id=u[submitter], owner_id=u[owner], lab_slug=f"lab-{n}")
                )
            for key in ("t_a1", "t_b1", "t_c1", "t_none"):
                session = LabSession(
                    key=f"k-{key}-{rounds}-{n}",
                    user_id=u[key],
                    lab_slug=f"lab-{n}",
                    status="stopped",
                    expires_at=utcnow(),
                )
                db.session.add(session)
                db.session.flush()
                db.session.add(
                    TerminalRecording(
                        session_id=session.id, user_id=u[key], terminal_key="t", path="x.cast"
                    )
                )
        db.session.commit()


def _queries(app, client, url: str) -> tuple[str, int]:
    from lms.extensions import db
    from tests.programme import QueryCounter

    with app.app_context():
        engine = db.engine
    with QueryCounter(engine) as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True), counter.count


def _lab_work_shown(app, client, programme, url: str, mark) -> set[str]:
    """The trainees whose lab work the page ``url`` shows (``mark(key)`` is how a row names them)."""
    _lab_work(app, programme, 1)
    page, _ = _queries(app, client, url)
    return {key for key in ("t_a1", "t_a2", "t_b1", "t_c1", "t_none") if mark(key) in page}


@pytest.mark.parametrize(
    "viewer, seen",
    [
        ("inst_a1", {"t_a1", "t_b1"}),
        ("admin_a", {"t_a1", "t_b1", "t_a2", "t_none"}),
        ("admin_b", {"t_a1", "t_b1", "t_c1"}),
        ("admin", {"t_a1", "t_b1", "t_c1", "t_a2", "t_none"}),
    ],
)
def test_flag_shares_page_shows_shares_of_visible_trainees(
    viewer, seen, app, client, login_as, programme
):
    """A share shows when its submitter or its owner is someone the viewer follows."""
    login_as(viewer)
    assert _lab_work_shown(app, client, programme, "/labs/flag-shares", EMAILS.get) == seen


@pytest.mark.parametrize(
    "viewer, seen",
    [
        ("inst_a1", {"t_a1"}),
        ("admin_a", {"t_a1", "t_none"}),
        ("admin", {"t_a1", "t_b1", "t_c1", "t_none"}),
    ],
)
def test_recordings_list_shows_sessions_of_visible_trainees(
    viewer, seen, app, client, login_as, programme
):
    login_as(viewer)
    link = "/labs/trainees/{}/sessions".format
    shown = _lab_work_shown(
        app, client, programme, "/labs/recordings", lambda key: link(programme.users[key])
    )
    assert shown == seen


@pytest.mark.parametrize("url", ["/labs/flag-shares", "/labs/recordings"])
def test_lab_work_pages_cost_the_same_queries_for_many_rows(url, app, client, login_as, programme):
    login_as("admin_a")
    client.get(url)  # warm up: first-request work is not the page's
    _lab_work(app, programme, 2)
    _, few = _queries(app, client, url)
    _lab_work(app, programme, 12)
    page, many = _queries(app, client, url)
    assert page.count("<tr>") > 20  # the rows are there
    assert few == many, f"{url}: {few} queries for 2 rounds, {many} for 14"
