"""Warm lab pools on the real Docker engine: fill, claim, the trainee's own flag, removal
after the session, refill, schedules that raise and drain a pool, a pool whose image is
missing, and concurrent claims (run them on PostgreSQL with LMS_TEST_DATABASE_URL).

The pooled lab is tests/fixtures/labs/documented-lab (an unprivileged ``trainee`` user,
uid 1234, the flag in its home) copied with ``pool: 2``. The claim runs on both backends
(``ON_BOTH_BACKENDS``: one engine, and services of a Docker Swarm).
"""

from __future__ import annotations

import shutil
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.auth.models import User, utcnow
from lms.content.lab_parser import load_lab
from lms.extensions import db
from lms.labs import pools, services, workers
from lms.labs.flags import flag_for
from lms.labs.models import LabSession
from lms.labs.pool_models import CLAIMED, READY, PoolSession
from lms.labs.runtime import LABEL_OWNER, LABEL_PLATFORM, LABEL_SESSION, PLATFORM_NAME
from tests.conftest import PASSWORD
from tests.lab_support import (
    FIXTURE_LABS,
    ON_BOTH_BACKENDS,
    ApiClient,
    close_lab_app,
    create_user,
    lab_backend,
    make_lab_app,
    wait_removed,
)

pytestmark = pytest.mark.docker

LAB = "pooled-lab"


@pytest.fixture(scope="module")
def labs_dir(tmp_path_factory, docker_client):
    """tiny-lab (the test course uses it), pooled-lab (pool: 2, built) and unbuilt-lab
    with ``pool: 1`` (never built)."""
    from lms.labs.runtime import get_image_builder

    folder = tmp_path_factory.mktemp("pool-labs")
    shutil.copytree(FIXTURE_LABS / "tiny-lab", folder / "tiny-lab")
    shutil.copytree(FIXTURE_LABS / "documented-lab", folder / LAB)
    with (folder / LAB / "lab.yaml").open("a") as lab_yaml:
        lab_yaml.write("pool: 2\n")
    shutil.copytree(FIXTURE_LABS / "unbuilt-lab", folder / "unbuilt-lab")
    with (folder / "unbuilt-lab" / "lab.yaml").open("a") as lab_yaml:
        lab_yaml.write("pool: 1\n")
    get_image_builder().build(load_lab(folder / LAB))
    return folder


@pytest.fixture
def backend(request, labs_dir):
    """docker, or the test's parameter; on a swarm the pooled lab is built for it."""
    backend = lab_backend(request)
    if backend == "swarm":
        from lms.labs.runtime import get_image_builder

        get_image_builder(backend="swarm").build(load_lab(labs_dir / LAB))
    return backend


@pytest.fixture
def app(tmp_path, labs_dir, backend):
    app = make_lab_app(
        tmp_path,
        LMS_LABS_DIR=str(labs_dir),
        LMS_POOL_REFILL_DELAY=0,
        LMS_LAB_BACKEND=backend,
    )
    yield app
    close_lab_app(app)


def containers_of(docker_client, session_key: str):
    labels = [f"{LABEL_PLATFORM}={PLATFORM_NAME}", f"{LABEL_SESSION}={session_key}"]
    return docker_client.containers.list(all=True, filters={"label": labels})


def pool_rows(lab: str = LAB, status: str = READY) -> list[PoolSession]:
    db.session.commit()
    return list(
        db.session.scalars(
            select(PoolSession).where(PoolSession.lab_slug == lab, PoolSession.status == status)
        )
    )


def fill_pools(lab: str | None = None) -> None:
    pools.maintain(lab)
    assert pools.wait_refills(120)


@ON_BOTH_BACKENDS
def test_a_start_claims_a_warm_session_with_the_trainees_own_flag(app, backend, docker_client):
    with app.app_context():
        fill_pools()
        ready = {row.key for row in pool_rows()}
        assert len(ready) == 2
        for key in ready:  # started, unassigned, under the platform's prefix
            assert key.startswith(services.key_prefix())
            (container,) = containers_of(docker_client, key)
            assert container.status == "running" and container.labels[LABEL_OWNER] == "pool"
            assert container.exec_run("ls /home/trainee", user="trainee").output == b""  # no flag

    user_id, token = create_user(app, "ada@example.org")
    api = ApiClient(app, token)
    started = api.start(LAB)
    assert started.status_code == 202, started.json
    session = api.wait_settled(started.json["id"])
    assert session["status"] == "running", session

    with app.app_context():
        claimed = db.session.get(LabSession, session["id"])
        key = claimed.key
        assert key in ready  # the warm one, not a cold start
        # Where it runs, recorded when the pool started it: the engine, or the swarm node.
        assert claimed.node == ("local" if backend == "docker" else docker_client.info()["Name"])
        (container,) = containers_of(docker_client, key)
        read = container.exec_run(
            "sh -c 'cat ~/flag.txt; stat -c \"%u %a\" ~/flag.txt'", user="trainee"
        )
        assert read.exit_code == 0, read.output
        assert read.output.decode().split("\n")[:2] == [flag_for(user_id, LAB), "1234 400"]
        assert not any("FLAG{" in item for item in container.attrs["Config"]["Env"] or [])

    # Ownership is the database's: `lms labs ls` names the trainee, not the "pool" label.
    listing = app.test_cli_runner().invoke(args=["labs", "ls"])
    assert "ada@example.org" in listing.output and key in listing.output
    assert "orphan" not in listing.output

    with app.app_context():
        assert pools.wait_refills(120)
        refilled = {row.key for row in pool_rows()}
        assert len(refilled) == 2 and key not in refilled  # a new one took its place

    assert api.post(f"/api/v1/labs/sessions/{session['id']}/stop").status_code == 200
    with app.app_context():
        assert workers.wait_drained(app, 60)
        assert wait_removed(docker_client, key) == ([], [])  # removed, not returned to the pool
        (claimed,) = pool_rows(status=CLAIMED)
        assert claimed.key == key and claimed.session_id == session["id"]
        assert key not in {row.key for row in pool_rows()}


def test_a_schedule_raises_the_pool_and_it_drains_afterwards(app, docker_client):
    from lms.centres.models import Centre, Cohort

    with app.app_context():
        cohort = Cohort(centre=Centre(slug="pool-centre", name="Pool centre"), name="Mornings")
        db.session.add(cohort)
        db.session.commit()
        now = utcnow()
        schedule = pools.add_schedule(
            cohort.id, LAB, 1, now - timedelta(minutes=1), now + timedelta(hours=1)
        )
        fill_pools()
        assert len(pool_rows()) == 3  # lab.yaml's 2 and the schedule's 1
        assert {p.lab_slug: p.target for p in pools.overview()}[LAB] == 3

        schedule.ends_at = utcnow() - timedelta(seconds=1)  # the class is over
        db.session.commit()
        report = pools.maintain()
        assert pools.wait_refills(60)
        assert len(report.drained) == 1
        assert len(pool_rows()) == 2
        assert containers_of(docker_client, report.drained[0]) == []


def test_a_pool_whose_image_is_missing_says_so_and_does_not_retry_at_once(app):
    with app.app_context():
        fill_pools("unbuilt-lab")
        failed = pool_rows("unbuilt-lab", status="failed")
        assert len(failed) == 1 and pool_rows("unbuilt-lab") == []
        (pool,) = [p for p in pools.overview() if p.lab_slug == "unbuilt-lab"]
        assert "lms labs build unbuilt-lab" in pool.error and pool.retry_after > utcnow()

        report = pools.maintain("unbuilt-lab")  # backing off: no second try in a loop
        assert pools.wait_refills(60)
        assert "unbuilt-lab" in report.backing_off and "unbuilt-lab" not in report.filling
        assert len(pool_rows("unbuilt-lab", status="failed")) == 1

    create_user(app, "root@example.org", role="platform_admin")
    client = app.test_client()
    client.post("/login", data={"email": "root@example.org", "password": PASSWORD})
    page = client.get("/labs/admin").get_data(as_text=True)
    assert "Not filling" in page and "lms labs build unbuilt-lab" in page


def test_concurrent_starts_never_share_a_pooled_container(app):
    """Eight trainees claim from two ready rows at once: two claims, two distinct rows.
    (The claim's transaction alone: the rows stand for containers; none is started.)"""
    with app.app_context():
        spec = services.require_spec(LAB)
        for number in range(2):
            db.session.add(
                PoolSession(
                    key=f"{services.key_prefix()}race{number}",
                    lab_slug=LAB,
                    content_hash=spec.content_hash,
                    status=READY,
                )
            )
        db.session.commit()
    user_ids = [create_user(app, f"racer{n}@example.org")[0] for n in range(8)]
    barrier = threading.Barrier(len(user_ids))
    claimed: dict[int, str | None] = {}

    def claim(user_id: int) -> None:
        with app.app_context():
            user = db.session.get(User, user_id)
            barrier.wait()
            result = pools.claim_for(user, spec, None)
            claimed[user_id] = result.session.key if result else None
            db.session.remove()

    threads = [threading.Thread(target=claim, args=(uid,)) for uid in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = [key for key in claimed.values() if key is not None]
    assert len(claimed) == 8
    assert len(keys) == len(set(keys)) == 2  # each ready row went to one trainee only
    with app.app_context():
        rows = pool_rows(status=CLAIMED)
        assert len(rows) == 2
        owners = {db.session.get(LabSession, row.session_id).user_id for row in rows}
        assert len(owners) == 2
        workers.wait_drained(app, 60)


def test_pooled_sessions_take_places_of_the_platform(tmp_path, labs_dir):
    """Two ready pooled sessions on a platform of two places: a cold start is refused,
    a start of the pooled lab takes one of them (it adds nothing to the total)."""
    from lms.labs.errors import CapacityReached

    app = make_lab_app(tmp_path, LMS_LABS_DIR=str(labs_dir), LMS_MAX_LABS_TOTAL=2)
    try:
        cold_id, _ = create_user(app, "cold@example.org")
        warm_id, _ = create_user(app, "warm@example.org")
        with app.app_context():
            spec = services.require_spec(LAB)
            keys = [f"{services.key_prefix()}held{n}" for n in range(2)]
            for key in keys:
                db.session.add(
                    PoolSession(key=key, lab_slug=LAB, content_hash=spec.content_hash, status=READY)
                )
            db.session.commit()
            assert pools.capacity_left() == 0
            with pytest.raises(CapacityReached, match="All lab places"):
                services.start_lab(db.session.get(User, cold_id), "tiny-lab")
            claimed = services.start_lab(db.session.get(User, warm_id), LAB)
            assert claimed.created and claimed.session.key in keys
    finally:
        close_lab_app(app)
