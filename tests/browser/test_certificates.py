"""A trainee opens their certificate from their home page, and the verification page its
QR code leads to says the certificate is valid."""

from __future__ import annotations

import segno
from sqlalchemy import select

from lms.auth.models import User
from lms.catalog.models import Course
from lms.extensions import db


def complete_course_for(live_app, live_server, email: str, slug: str) -> None:
    """Every module done but the last, which the platform completes as the page would (in
    a request to the live server's address, so the certificate's links point there)."""
    from lms.progress import services
    from lms.progress.models import DONE, IN_PROGRESS, ModuleProgress

    with live_app.test_request_context(base_url=live_server):
        user = db.session.scalar(select(User).where(User.email == email))
        course = db.session.scalar(select(Course).where(Course.slug == slug))
        *earlier, last = course.live_modules
        for module in earlier:
            db.session.add(ModuleProgress(user_id=user.id, module_id=module.id, status=DONE))
        db.session.add(
            ModuleProgress(user_id=user.id, module_id=last.id, status=IN_PROGRESS, quiz_passed=True)
        )
        db.session.commit()
        assert services.complete_module(user, last) == []


def test_trainee_opens_their_certificate_and_its_qr_code_verifies(
    page, live_app, live_server, sign_in
):
    email = sign_in(page)
    complete_course_for(live_app, live_server, email, "demo-course")

    page.goto("/")
    page.locator("#certificates").get_by_role("link", name="Demo course for tests").click()
    page.get_by_role("heading", name="Certificate of completion").wait_for()
    assert page.locator(".certificate-recipient").inner_text() == "Test trainee"
    verify_url = page.locator("#verify-link").get_attribute("href")
    assert verify_url.startswith(f"{live_server}/certificates/")
    # The QR code on the page encodes exactly the verification page's address.
    qr_src = page.locator("img.certificate-qr").get_attribute("src")
    assert qr_src == segno.make(verify_url, error="m").svg_data_uri(scale=4, border=2)

    page.goto(verify_url)
    verdict = page.locator(".verification")
    assert verdict.get_attribute("data-status") == "valid"
    assert page.get_by_role("heading", name="Valid").is_visible()
    assert "Test trainee" in verdict.inner_text()
