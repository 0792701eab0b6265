"""A trainee answers a quiz with typed answers under the incident-response course's rules
(shuffled choices, explanations once passed), reveals a hint that costs points after
confirming it, and finds both in their points. No lab needs to run."""

from __future__ import annotations

from playwright.sync_api import expect

MODULE_URL = "/courses/incident-response/linux-authentication-logs"


def test_typed_answers_shuffled_choices_and_a_hint_that_costs_points(page, sign_in):
    sign_in(page)
    page.goto(MODULE_URL)
    quiz = page.locator("#quiz")
    expect(quiz.locator("#quiz-rules")).to_contain_text("explanations once you pass")
    expect(quiz).not_to_contain_text("Accepted means the authentication succeeded")

    # Choices by their text (their order changes with every attempt), typed answers as typed.
    quiz.get_by_label("Accepted password for alice from 203.0.113.45 port 50870 ssh2").check()
    quiz.get_by_label("The position of the address shifts", exact=False).check()
    for address in ("10.0.0.10", "10.0.0.123", "110.0.0.1"):
        quiz.get_by_label(address, exact=True).check()
    quiz.get_by_label("The key still allows logging in without the password").check()
    quiz.get_by_label("Your answer to question 5").fill(" 203.0.113.45 ")
    quiz.get_by_label("Your answer to question 6").fill("uniq -c")
    quiz.get_by_role("button", name="Submit answers").click()

    expect(page.locator("#quiz-result")).to_contain_text("You got 6 of 6 right")
    expect(page.locator("#quiz-review")).to_contain_text("Accepted means the authentication")
    expect(page.locator("#quiz-review .quiz-text").first).to_have_value("203.0.113.45")

    # A hint with a penalty says so, and asks first: dismissing reveals nothing.
    task = page.locator("#lab-task-attacker-ip")
    button = task.get_by_role("button", name="Show a hint (costs 4 points)")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    button.click()
    expect(task.locator(".lab-hint")).to_be_hidden()
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    button.click()
    expect(task.locator(".lab-hint")).to_contain_text("uniq -c")
    assert len(asked) == 2 and "It costs 4 points of this task’s 10" in asked[0]

    page.get_by_role("link", name="My points").click()
    row = page.locator("#points-table tr[data-course=incident-response]")
    expect(row.locator("td").nth(0)).to_have_text("60")  # six questions at 10 points
    expect(row.locator("td").nth(2)).to_have_text("−4")
    expect(row.locator(".course-points")).to_contain_text("56 of")
