"""The cohort dashboard at 1,000 trainees × 30 modules: a page of the matrix at a time
(sortable, stuck only), summary figures over the whole cohort, a page that stays small."""

from __future__ import annotations

import re

from lms.auth.services import create_user
from lms.extensions import db
from tests.conftest import PASSWORD

MAX_PAGE_BYTES = 300 * 1024


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr data-trainee="([^"]+)"><th scope="row" class="trainee">', page)


def _done(page: str) -> list[int]:
    matrix = page[page.index('id="matrix"') :]
    return [int(n) for n in re.findall(r"</th>\s*<td>(\d+) %</td>", matrix)]


def test_a_dashboard_of_a_thousand_trainees_is_paged_sorted_and_small(app, client):
    from lms.centres.generator import generate_cohort

    with app.app_context():
        cohort_id = generate_cohort(trainees=1000, modules=30, seed=3).cohort_id
        create_user("admin@example.org", PASSWORD, role="platform_admin")
        db.session.commit()
    client.post("/login", data={"email": "admin@example.org", "password": PASSWORD})
    url = f"/cohorts/{cohort_id}/dashboard"

    response = client.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert len(response.data) <= MAX_PAGE_BYTES, f"{len(response.data) / 1024:.0f} KiB"
    assert len(_rows(page)) == 50 and "1–50 of 1000" in page
    assert f'href="{url}?page=20#matrix-h"' in page  # the last page is one click away
    # The summary covers the whole cohort, not the page shown.
    assert '<div class="stat">1000</div>' in page
    # Columns are headed by module names, the full title as a tooltip.
    headers = re.findall(r'<th scope="col" class="m" data-module="[^"]+" title="([^"]+)">', page)
    assert len(headers) == 30 and all(re.search(r"\(.+\)$", h) for h in headers)
    assert '<span class="module-name">' in page

    by_progress = client.get(f"{url}?sort=progress&order=desc").get_data(as_text=True)
    done = _done(by_progress)
    assert done == sorted(done, reverse=True) and done[0] > done[-1]

    stuck = client.get(f"{url}?filter=stuck&page=2").get_data(as_text=True)
    total = int(re.search(r"Stuck trainees \((\d+)\)", stuck).group(1))
    assert total > 50
    assert re.search(rf"51–\d+ of {total}</span> stuck trainees", stuck)
    rows = stuck[stuck.index('id="matrix"') :].split("<tr data-trainee=")[1:]
    assert rows and all("stuck</span>" in row for row in rows)
