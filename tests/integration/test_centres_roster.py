"""Adding trainees by CSV upload and one at a time: every outcome, and a bad file changes nothing."""

import io
import re

import pytest

from tests.conftest import PASSWORD
from tests.programme import EMAILS


def upload(client, cohort_id, content: bytes | str, filename="trainees.csv"):
    if isinstance(content, str):
        content = content.encode("utf-8")
    return client.post(
        f"/cohorts/{cohort_id}/roster",
        data={"roster-file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def state(app):
    """Memberships, open invitations and accounts: what an import may change."""
    from lms.auth.models import Invitation, User
    from lms.centres.models import CohortMember
    from lms.extensions import db

    with app.app_context():
        return (
            sorted((m.cohort_id, m.user_id) for m in db.session.query(CohortMember)),
            sorted((i.email, i.cohort_id) for i in db.session.query(Invitation)),
            sorted(u.email for u in db.session.query(User)),
        )


def rows_of(page: str) -> dict[str, str]:
    """email -> status, from the import report table."""
    found = re.findall(r'data-status="([^"]+)">\s*<td>\d+</td><td>([^<]*)</td>', page)
    return {email: status for status, email in found}


def test_a_good_file_creates_invitations_and_adds_existing_trainees(
    app, client, login_as, programme
):
    login_as("admin_a")
    a1 = programme.cohorts["a1"]
    content = (
        "\ufeffemail,name,cohort\r\n"
        '"jose@example.org","Núñez, José ""Pepe""",\r\n'
        "li.wei@example.org,李伟,A2\r\n"
        f"{EMAILS['t_none'].upper()},Already Has Account,\r\n"
        f"{EMAILS['t_a1']},Trainee t_a1,A1\r\n"
    )
    response = upload(client, a1, content)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert rows_of(page) == {
        "jose@example.org": "created",
        "li.wei@example.org": "created",
        EMAILS["t_none"]: "added",
        EMAILS["t_a1"]: "already present",
    }
    assert "The file is imported" in page
    assert "Núñez, José &#34;Pepe&#34;" in page or 'Núñez, José "Pepe"' in page
    links = re.findall(r'<code class="user-select-all small invitation-link">([^<]+)</code>', page)
    assert len(links) == 2 and all("/invite/" in link for link in links)

    from lms.auth.models import Invitation, User
    from lms.centres.models import CohortMember
    from lms.extensions import db

    with app.app_context():
        invitations = {i.email: i for i in db.session.query(Invitation)}
        assert invitations["jose@example.org"].cohort_id == a1
        assert invitations["li.wei@example.org"].cohort_id == programme.cohorts["a2"]
        t_none = db.session.get(User, programme.users["t_none"])
        assert (
            db.session.query(CohortMember).filter_by(cohort_id=a1, user_id=t_none.id).count() == 1
        )

    # The pending invitation is listed on the cohort page, with the name from the file.
    cohort_page = client.get(f"/cohorts/{a1}").get_data(as_text=True)
    assert "jose@example.org" in cohort_page and "Núñez, José" in cohort_page

    # The invited trainee accepts and is in the cohort.
    client.post("/logout")
    jose_link = next(link for link in links if link in page.split("jose@example.org")[1])
    path = "/invite/" + jose_link.split("/invite/")[1]
    response = client.post(
        path, data={"name": "José Núñez", "password": PASSWORD, "confirm": PASSWORD}
    )
    assert response.status_code == 302
    with app.app_context():
        jose = db.session.query(User).filter_by(email="jose@example.org").one()
        assert jose.centre_id is not None
        assert db.session.query(CohortMember).filter_by(cohort_id=a1, user_id=jose.id).count() == 1


def test_uploading_the_same_file_again_reports_already_present(client, login_as, programme):
    login_as("admin_a")
    a1 = programme.cohorts["a1"]
    content = "email,name\nnew.person@example.org,New Person\n"
    assert rows_of(upload(client, a1, content).get_data(as_text=True)) == {
        "new.person@example.org": "created"
    }
    again = upload(client, a1, content)
    assert again.status_code == 200
    page = again.get_data(as_text=True)
    assert rows_of(page) == {"new.person@example.org": "already present"}
    assert "has not accepted yet" in page


BAD_ROWS = [
    ("not-an-email,Someone", "is not an email address"),
    (",No Email", "no email address"),
    (f"{EMAILS['inst_a1']},An Instructor", "is an instructor; only trainees join cohorts"),
    (f"{EMAILS['t_b1']},Beta Trainee", "belongs to a centre you do not run"),
    ("ok@example.org,Silva, Ana", "double quotes"),
    ("x" * 250 + "@example.org,Long", "is not an email address"),
    ("fine@example.org," + "N" * 130, "longer than 120"),
]


@pytest.mark.parametrize("row, reason", BAD_ROWS)
def test_one_bad_row_changes_nothing_and_says_why(row, reason, app, client, login_as, programme):
    login_as("admin_a")
    before = state(app)
    content = f"email,name\ngood.one@example.org,Good One\n{row}\n{EMAILS['t_none']},T None\n"
    response = upload(client, programme.cohorts["a1"], content)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Nothing was changed" in page
    assert reason in page.replace("&#39;", "'").replace("&#34;", '"')
    assert 'data-status="invalid"' in page
    assert "/invite/" not in page
    assert state(app) == before


def test_duplicates_and_unknown_cohorts_are_invalid(app, client, login_as, programme):
    login_as("admin_a")
    before = state(app)
    content = (
        "email,name,cohort\nsame@example.org,One,\nSame@Example.org,Two,\n"
        "other@example.org,Other,B1\n"
    )
    page = upload(client, programme.cohorts["a1"], content).get_data(as_text=True)
    assert "the same email as line 2" in page
    # B1 belongs to another centre: for Alpha it does not exist.
    assert "Alpha Centre has no cohort called “B1”" in page
    assert state(app) == before


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "The file is empty"),
        (b"name,cohort\nAna,A1\n", "“email” is missing"),
        ("email,name\nana@example.org,Jos\xe9\n".encode("latin-1"), "CSV UTF-8"),
        (b"email\n" + b"x@example.org\n" * 5001, "at most 5000"),
    ],
)
def test_an_unusable_file_changes_nothing(content, message, app, client, login_as, programme):
    login_as("admin_a")
    before = state(app)
    response = upload(client, programme.cohorts["a1"], content)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert state(app) == before


def test_no_file_at_all(client, login_as, programme):
    login_as("admin_a")
    response = client.post(
        f"/cohorts/{programme.cohorts['a1']}/roster", data={}, content_type="multipart/form-data"
    )
    assert response.status_code == 400


def test_semicolons_and_utf16_files_are_read(client, login_as, programme):
    login_as("admin_a")
    a1 = programme.cohorts["a1"]
    page = upload(client, a1, "email;name\nzoe@example.org;Zoë Müller\n").get_data(as_text=True)
    assert rows_of(page) == {"zoe@example.org": "created"}
    page = upload(
        client, a1, "email\tname\nmai@example.org\tNguyễn Thị Mai\n".encode("utf-16")
    ).get_data(as_text=True)
    assert rows_of(page) == {"mai@example.org": "created"} and "Nguyễn Thị Mai" in page


def test_the_template_downloads(client, login_as, programme):
    login_as("admin_a")
    response = client.get(f"/cohorts/{programme.cohorts['a1']}/roster-template.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.get_data(as_text=True).startswith("\ufeffemail,name,cohort")


def test_adding_one_trainee(app, client, login_as, programme):
    login_as("admin_a")
    a1 = programme.cohorts["a1"]
    response = client.post(
        f"/cohorts/{a1}/trainees",
        data={"add-email": "solo@example.org", "add-name": "Solo Ñandú"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Invitation made for solo@example.org" in page
    assert re.search(r'invitation-link[^"]*" id="invited-link">http://[^<]+/invite/[^<]+<', page)

    add = {"add-email": EMAILS["t_none"]}
    response = client.post(f"/cohorts/{a1}/trainees", data=add, follow_redirects=True)
    assert response.status_code == 200 and "joined A1" in response.get_data(as_text=True)

    response = client.post(f"/cohorts/{a1}/trainees", data=add, follow_redirects=True)
    assert "already in A1" in response.get_data(as_text=True)

    response = client.post(f"/cohorts/{a1}/trainees", data={"add-email": EMAILS["admin_b"]})
    assert response.status_code == 400
    assert "only trainees join cohorts" in response.get_data(as_text=True)

    response = client.post(f"/cohorts/{a1}/trainees", data={"add-email": "nope"})
    assert response.status_code == 400


def test_invitation_links_can_be_renewed_and_cancelled(app, client, login_as, programme):
    from lms.auth.models import Invitation
    from lms.extensions import db

    login_as("admin_a")
    a1 = programme.cohorts["a1"]
    page = client.post(
        f"/cohorts/{a1}/trainees", data={"add-email": "late@example.org"}, follow_redirects=True
    ).get_data(as_text=True)
    first = re.search(r'id="invited-link">[^<]+/invite/([^<]+)<', page).group(1)
    with app.app_context():
        invitation_id = db.session.query(Invitation).filter_by(email="late@example.org").one().id
    renew = f"/cohorts/{a1}/invitations/{invitation_id}/renew"
    page = client.post(renew, follow_redirects=True).get_data(as_text=True)
    second = re.search(r'id="invited-link">[^<]+/invite/([^<]+)<', page).group(1)
    assert second != first
    client.post("/logout")
    assert client.get(f"/invite/{first}").status_code == 404
    assert client.get(f"/invite/{second}").status_code == 200

    login_as("admin_a")
    with app.app_context():
        newest = (
            db.session.query(Invitation)
            .filter_by(email="late@example.org")
            .order_by(Invitation.id.desc())
            .first()
            .id
        )
    client.post(f"/cohorts/{a1}/invitations/{newest}/cancel")
    client.post("/logout")
    assert client.get(f"/invite/{second}").status_code == 404


def test_a_cohort_column_can_name_another_cohort_of_the_centre(app, client, login_as, programme):
    login_as("admin_a")
    page = upload(client, programme.cohorts["a1"], "email,cohort\nmoved@example.org,a2\n").get_data(
        as_text=True
    )
    assert rows_of(page) == {"moved@example.org": "created"}
    from lms.auth.models import Invitation
    from lms.extensions import db

    with app.app_context():
        assert (
            db.session.query(Invitation).filter_by(email="moved@example.org").one().cohort_id
            == programme.cohorts["a2"]
        )
