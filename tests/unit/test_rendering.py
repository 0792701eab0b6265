from lms.catalog.rendering import render_inline, render_markdown, sanitise


def test_markdown_features_render():
    out = render_markdown(
        "## Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nprint('x')\n```\n\n"
        '!!! note "Heads up"\n    Body text.\n'
    )
    assert "<table>" in out.html
    assert 'class="codehilite"' in out.html
    assert 'class="admonition note"' in out.html
    assert 'id="title"' in out.html and 'href="#title"' in out.toc_html


def test_raw_html_is_sanitised():
    html = sanitise(
        '<script>alert(1)</script><img src=x onerror="alert(2)">'
        '<a href="javascript:alert(3)">x</a><iframe src="/"></iframe><p onclick="x()">ok</p>'
    )
    assert "<script" not in html and "onerror" not in html and "onclick" not in html
    assert "javascript:" not in html and "<iframe" not in html
    assert "<p>ok</p>" in html


def test_relative_images_point_at_the_course_assets():
    out = render_markdown(
        "![d](images/a.png) ![e](https://example.org/b.png)",
        asset_url=lambda p: f"/courses/c/assets/{p}",
    )
    assert 'src="/courses/c/assets/images/a.png"' in out.html
    assert 'src="https://example.org/b.png"' in out.html
    assert out.images == ["images/a.png"]


def test_inline_rendering_drops_the_paragraph():
    assert render_inline("Use `chmod`") == "Use <code>chmod</code>"
