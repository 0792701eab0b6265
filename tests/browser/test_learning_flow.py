"""A trainee signs in, reads a module, answers its quiz wrongly then rightly, sees progress."""

from playwright.sync_api import expect


def test_trainee_reads_a_module_and_passes_the_quiz(page, sign_in):
    sign_in(page)
    expect(page.get_by_role("heading", name="Your courses")).to_be_visible()

    page.get_by_role("link", name="Catalogue", exact=True).click()
    page.get_by_label("Search").fill("Demo course")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("link", name="Demo course for tests").click()
    expect(page.locator("[data-module=first-steps] [data-status]")).to_have_text("Not started")
    page.get_by_role("button", name="Start the course").click()

    expect(page.get_by_role("heading", name="First steps", level=1)).to_be_visible()
    expect(page.locator(".module-body table")).to_be_visible()
    expect(page.locator(".module-body .codehilite")).to_be_visible()
    expect(page.locator(".module-body .admonition.warning")).to_contain_text("Admonitions work.")
    image = page.locator(".module-body img")
    expect(image).to_have_attribute("src", "/courses/demo-course/assets/images/diagram.png")
    assert page.evaluate("document.querySelector('.module-body img').naturalWidth") == 4

    # Wrong answers first: 644 and only "vi".
    page.get_by_label("644").check()
    page.get_by_label("vi", exact=True).check()
    page.get_by_role("button", name="Submit answers").click()
    expect(page.locator("#quiz-result")).to_contain_text("You got 0 of 2 right")
    expect(page.locator(".quiz-question.wrong").first).to_contain_text("600 is rw for the owner")
    # Too early: "Mark as complete" is disabled and says why, beside the button.
    expect(page.get_by_role("button", name="Mark as complete")).to_be_disabled()
    expect(page.locator("#module-missing")).to_contain_text("pass the quiz")

    # Then right, on the module page again.
    page.goto("/courses/demo-course/first-steps")
    page.get_by_label("600").check()
    page.get_by_label("vi", exact=True).check()
    page.get_by_label("nano").check()
    page.get_by_role("button", name="Submit answers").click()
    expect(page.locator("#quiz-result")).to_contain_text("You got 2 of 2 right")
    page.get_by_role("button", name="Mark as complete").click()
    expect(page.get_by_role("heading", name="Next steps", level=1)).to_be_visible()

    page.get_by_role("link", name="Home", exact=True).click()
    course = page.locator(".my-course[data-course=demo-course]")
    expect(course).to_contain_text("1 of 2 modules done")
    expect(course.locator("progress")).to_have_attribute("value", "50")
    expect(page.locator("#resume")).to_contain_text("Next steps")

    # Progress survives signing out and in again.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_pages_send_a_strict_content_security_policy(page, live_server):
    response = page.goto("/login")
    csp = response.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    # Every form that posts (sign-in, and the footer's language menu) carries its token.
    forms = page.locator("form[method=post]")
    assert forms.count() >= 2
    for index in range(forms.count()):
        assert forms.nth(index).locator("input[name=csrf_token]").count() == 1


def test_a_quiz_with_a_question_left_out_comes_back_with_the_answers_kept(page, sign_in):
    sign_in(page)
    page.goto("/courses/demo-course/first-steps")
    # The first question is left out; the second is answered with two choices.
    page.get_by_label("vi", exact=True).check()
    page.get_by_label("nano").check()
    page.get_by_role("button", name="Submit answers").click()

    expect(page.get_by_role("heading", name="First steps", level=1)).to_be_visible()
    expect(page.locator("#quiz-incomplete")).to_contain_text("Question 1 has no answer yet")
    first = page.locator(".quiz-question[data-question='0']")
    expect(first).to_have_attribute("aria-invalid", "true")
    expect(first.locator(".quiz-unanswered")).to_contain_text("no answer yet")
    expect(page.get_by_label("vi", exact=True)).to_be_checked()
    expect(page.get_by_label("nano")).to_be_checked()
    expect(page.get_by_label("ls", exact=True)).not_to_be_checked()
    expect(page.locator("#quiz-result")).to_have_count(0)

    # Answering the one left out is enough to be graded.
    page.get_by_label("600").check()
    page.get_by_role("button", name="Submit answers").click()
    expect(page.locator("#quiz-result")).to_contain_text("You got 2 of 2 right")
