"""Markdown to safe HTML, done once at sync time and stored."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import urlsplit

import markdown
import nh3
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

ALLOWED_TAGS = nh3.ALLOWED_TAGS | {
    "div",
    "span",
    "pre",
    "code",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "img",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "details",
    "summary",
    "sup",
    "sub",
    "dl",
    "dt",
    "dd",
    "kbd",
    "mark",
}
ALLOWED_ATTRIBUTES = {
    "*": {"class", "id", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "th": {"align", "colspan", "rowspan"},
    "td": {"align", "colspan", "rowspan"},
}
URL_SCHEMES = {"http", "https", "mailto"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}


@dataclass
class RenderedMarkdown:
    html: str
    toc_html: str
    images: list[str]  # image paths relative to the course folder


def sanitise(html: str) -> str:
    """Allow-list sanitising: no script, no event handlers, no javascript: URLs."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


class _RelativeImages(Treeprocessor):
    """Point relative image paths at the course asset route and remember them."""

    def __init__(self, md, asset_url, module_dir):
        super().__init__(md)
        self.asset_url = asset_url
        self.module_dir = module_dir
        self.images: list[str] = []

    def run(self, root):
        for img in root.iter("img"):
            src = img.get("src", "")
            parts = urlsplit(src)
            if parts.scheme or parts.netloc or src.startswith("/"):
                continue
            path = posixpath.normpath(posixpath.join(self.module_dir, parts.path))
            self.images.append(path)
            img.set("src", self.asset_url(path))
            img.set("class", (img.get("class", "") + " img-fluid").strip())


class _RelativeImagesExtension(Extension):
    def __init__(self, asset_url, module_dir):
        super().__init__()
        self.asset_url = asset_url
        self.module_dir = module_dir
        self.processor: _RelativeImages | None = None

    def extendMarkdown(self, md):  # noqa: N802 - Markdown's API
        self.processor = _RelativeImages(md, self.asset_url, self.module_dir)
        md.treeprocessors.register(self.processor, "lms_relative_images", 5)


def render_markdown(
    text: str, asset_url=lambda path: path, module_dir: str = ""
) -> RenderedMarkdown:
    images = _RelativeImagesExtension(asset_url, module_dir)
    md = markdown.Markdown(
        extensions=[
            "tables",
            "fenced_code",
            "admonition",
            "sane_lists",
            "def_list",
            "abbr",
            "codehilite",
            "toc",
            images,
        ],
        extension_configs={
            "codehilite": {"css_class": "codehilite", "guess_lang": False},
            "toc": {"permalink": "#", "permalink_class": "headerlink", "toc_depth": "2-3"},
        },
        output_format="html",
    )
    html = md.convert(text)
    return RenderedMarkdown(
        html=sanitise(html), toc_html=sanitise(md.toc), images=images.processor.images
    )


def render_inline(text: str) -> str:
    """A short piece (quiz question, explanation) as safe HTML, without a wrapping <p>."""
    html = markdown.markdown(text or "", extensions=["sane_lists"])
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return sanitise(html)
