"""The course editor in the browser: CodeMirror with line numbers, the live preview that
follows the cursor, problems marked in the gutter at their line, and a warning before
leaving with unsaved changes."""

from playwright.sync_api import expect

LONG_MODULE = "---\ntitle: Next steps\n---\n" + "".join(
    f"## Part {n}\n\n" + "A paragraph of the lesson.\n\n" * 12 for n in range(1, 9)
)


def test_editor_preview_problems_in_the_gutter_and_unsaved_warning(page, sign_in):
    sign_in(page, role="platform_admin")
    page.get_by_role("link", name="Authoring", exact=True).click()
    page.get_by_role("link", name="Demo course for tests").click()
    page.get_by_role("link", name="02-next-steps.md").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Editing 02-next-steps.md")
    expect(page.locator("#preview")).to_contain_text("Plain text module")
    line_numbers = page.locator(".cm-lineNumbers .cm-gutterElement")
    expect(line_numbers.filter(has_text="5")).to_be_visible()
    expect(page.locator("#unsaved-note")).to_be_hidden()

    editor = page.get_by_label("02-next-steps.md")
    editor.fill(LONG_MODULE)
    expect(page.locator("#preview h2").last).to_contain_text("Part 8")
    expect(page.locator("#unsaved-note")).to_be_visible()
    # The cursor is at the end: the preview has scrolled down to the last part.
    expect(page.locator("#preview")).not_to_have_js_property("scrollTop", 0)
    page.keyboard.press("Control+Home")
    expect(page.locator("#preview")).to_have_js_property("scrollTop", 0)

    editor.fill("---\nduration: soon\n---\nbody\n")
    expect(page.locator("#live-issues")).to_contain_text("'title' is required")
    marker = page.locator(".cm-gutter-lint .cm-gutterElement:has(.cm-lint-marker-error)")
    expect(marker).to_have_count(1)
    line_two = line_numbers.filter(has_text="2").first
    marker_box, line_box = marker.bounding_box(), line_two.bounding_box()
    assert abs(marker_box["y"] - line_box["y"]) < line_box["height"] / 2, (marker_box, line_box)

    dialogs = []

    def stay(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.get_by_role("link", name="Back to the course").click()
    expect(page.locator("#unsaved-note")).to_be_visible()
    assert dialogs == ["beforeunload"] and page.url.endswith("/02-next-steps.md")

    page.get_by_role("button", name="Save").click()  # saving is no leaving: no warning
    expect(page.locator("#save-issues")).to_contain_text("02-next-steps.md:2")
    assert dialogs == ["beforeunload"]
