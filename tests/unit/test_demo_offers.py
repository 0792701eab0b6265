"""`lms demo` puts every shipped course in a centre's offer, so a demo shows them all."""

from pathlib import Path

from lms.centres.demo import OFFERS

COURSES = Path(__file__).resolve().parents[2] / "courses"


def test_the_demo_offers_every_shipped_course():
    shipped = {folder.name for folder in COURSES.iterdir() if (folder / "course.yaml").is_file()}
    offered = {slug for _centre, slug, _shared in OFFERS}
    assert "windows-ad-detection" in shipped
    assert shipped <= offered, f"not offered by any demo centre: {sorted(shipped - offered)}"
