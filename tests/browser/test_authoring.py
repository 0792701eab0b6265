"""An instructor edits a module in the browser and sees the live preview."""

from playwright.sync_api import expect


def test_live_preview_and_validation(page, sign_in):
    sign_in(page, role="instructor")
    page.get_by_role("link", name="Authoring", exact=True).click()
    page.get_by_role("link", name="demo-course").click()
    page.get_by_role("link", name="02-next-steps.md").click()
    expect(page.locator("#preview")).to_contain_text("Plain text module")
    editor = page.get_by_label("02-next-steps.md")
    editor.fill(
        "---\ntitle: Next steps\n---\n## Fresh heading\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    expect(page.locator("#preview h2")).to_contain_text("Fresh heading")
    expect(page.locator("#preview table")).to_be_visible()
    editor.fill("---\nduration: soon\n---\nbody\n")
    expect(page.locator("#live-issues")).to_contain_text("'title' is required")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#save-issues")).to_contain_text("02-next-steps.md:2")
