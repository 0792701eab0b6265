"""Each staff role's home page ("/") and menu: what it shows, scoped to the person."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from lms.auth.models import utcnow
from lms.extensions import db
from lms.labs.models import FAILED, RUNNING, LabSession


@pytest.fixture
def labs(app, programme):
    """A running lab of t_a1 and of t_b1, and a failed start of t_c1."""
    with app.app_context():
        now = utcnow()
        for key, user, status in (
            ("home-a1", "t_a1", RUNNING),
            ("home-b1", "t_b1", RUNNING),
            ("home-c1", "t_c1", FAILED),
        ):
            db.session.add(
                LabSession(
                    key=key,
                    user_id=programme.users[user],
                    lab_slug="web-injection",
                    status=status,
                    started_at=now,
                    expires_at=now + timedelta(minutes=40),
                    error="the image could not be pulled" if status == FAILED else None,
                )
            )
        db.session.commit()


def test_an_instructor_sees_their_cohorts_stuck_trainees_and_running_labs(client, login_as, labs):
    login_as("inst_a1")
    html = client.get("/").get_data(as_text=True)
    assert "Your cohorts" in html and "You have not started a course" not in html
    assert ">A1</a>" in html and ">B1</a>" not in html  # only the cohort they teach
    stuck = html[html.index('id="home-stuck"') :]
    # A1's course was due two days ago: its trainee is stuck, with the reason.
    assert "Trainee t_a1" in stuck and "overdue" in stuck
    running = html[html.index('id="home-running-labs"') :]
    assert "Trainee t_a1" in running and "Trainee t_b1" not in running


def test_a_centre_admin_sees_their_centres_cohorts_and_due_dates(client, login_as, labs):
    login_as("admin_a")
    html = client.get("/").get_data(as_text=True)
    assert "Your centres" in html
    assert 'data-centre="alpha"' in html and 'data-centre="beta"' not in html
    assert ">A1</a>" in html and ">A2</a>" in html and ">B1</a>" not in html
    due = html[html.index('id="home-due"') :]
    assert "Demo Course" in due or "demo" in due.lower()
    assert "overdue by 2 days" in due
    login_as("admin_b")
    html = client.get("/").get_data(as_text=True)
    assert 'data-centre="beta"' in html and 'data-centre="alpha"' not in html
    assert "No course of your cohorts is due" in html  # B1's course has no due date


def test_a_platform_admin_sees_engine_capacity_pools_and_failures(app, client, login_as, labs):
    from lms.labs.pool_models import READY, PoolSession

    with app.app_context():
        db.session.add(PoolSession(key="home-pool-1", lab_slug="web-injection", status=READY))
        db.session.commit()
    login_as("admin")
    html = client.get("/").get_data(as_text=True)
    assert 'id="home-engine"' in html
    capacity = html[html.index('id="home-capacity"') :]
    assert re.search(r"2 <span[^>]*>of 40</span>", capacity)  # two running labs of 40
    pools = html[html.index('id="home-pools"') :]
    assert 'data-pool="web-injection"' in pools and "1 ready" in pools
    errors = html[html.index('id="home-errors"') :]
    assert "the image could not be pulled" in errors and "Trainee t_c1" in errors


def test_the_capacity_shown_is_what_the_lab_nodes_hold_when_less(app, client, login_as, labs):
    from lms.labs import engine_listing
    from lms.labs.nodes import NodeCapacity

    with app.app_context():  # a swarm of two nodes labelled lms-labs-max=3 and 4
        engine_listing.record([], [NodeCapacity("n1", 1, 3), NodeCapacity("n2", 1, 4)])
    login_as("admin")
    capacity = client.get("/").get_data(as_text=True)
    capacity = capacity[capacity.index('id="home-capacity"') :]
    assert re.search(r"2 <span[^>]*>of 7</span>", capacity)


def test_a_trainee_keeps_the_trainee_home(client, login_as, labs):
    login_as("t_a1")
    html = client.get("/").get_data(as_text=True)
    assert "Your cohorts" not in html and "Your centres" not in html


def _menu(html: str) -> dict[str, str]:
    nav = html[html.index('id="main-nav"') : html.index("</nav>")]
    first_list = nav[: nav.index("</ul>")]
    return {
        label.strip(): href for href, label in re.findall(r'href="([^"]+)">([^<]+)</a>', first_list)
    }


@pytest.mark.parametrize(
    ("who", "present", "absent"),
    [
        ("t_a1", {"Home", "Catalogue", "My report"}, {"Authoring", "Centres", "Users"}),
        ("inst_a1", {"Cohorts", "Authoring", "Flag sharing"}, {"Labs", "Users", "Centres"}),
        ("admin_a", {"Centres", "Flag sharing", "Lab recordings"}, {"Authoring", "Users"}),
        ("admin", {"Centres", "Authoring", "Running labs", "Users"}, {"Flag sharing"}),
    ],
)
def test_every_menu_link_a_role_sees_opens(client, login_as, who, present, absent):
    login_as(who)
    menu = _menu(client.get("/").get_data(as_text=True))
    assert present <= menu.keys()
    assert not absent & menu.keys()
    for label, href in menu.items():
        response = client.get(href)
        assert response.status_code == 200, (
            f"{who}: {label} ({href}) answers {response.status_code}"
        )
