"""The settings page in a real browser: API tokens listed and revoked, and "Sign out
everywhere" ending the session in another browser too."""

from __future__ import annotations

from playwright.sync_api import expect


def test_tokens_and_sign_out_everywhere(browser, live_server, page, sign_in):
    email = sign_in(page)
    other = browser.new_context(base_url=live_server)
    try:
        elsewhere = other.new_page()
        sign_in(elsewhere, email=email)

        page.goto("/settings")
        page.get_by_label("What is this token for?").fill("nightly export")
        page.get_by_role("button", name="Create a token").click()
        secret = page.locator("#new-token").inner_text()
        assert secret.startswith("lms_")
        page.goto("/settings")  # listed, but the secret is never shown again
        row = page.get_by_role("row").filter(has_text="nightly export")
        expect(row).to_contain_text("never")
        expect(page.locator("body")).not_to_contain_text(secret)
        row.get_by_role("button", name="Revoke").click()
        expect(page.get_by_role("alert")).to_contain_text("The token is revoked")
        expect(page.get_by_role("row").filter(has_text="nightly export")).to_have_count(0)

        expect(page.get_by_label("Also revoke my API tokens")).not_to_be_checked()
        page.get_by_role("button", name="Sign out everywhere").click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

        elsewhere.goto("/settings")
        expect(elsewhere.get_by_role("heading", name="Sign in")).to_be_visible()
    finally:
        other.close()


def test_the_sign_out_address_in_the_address_bar_offers_the_button(page, sign_in):
    sign_in(page)
    page.goto("/logout")
    expect(page.get_by_role("heading", name="Sign out?")).to_be_visible()
    page.get_by_role("main").get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
