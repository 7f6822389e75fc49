"""Markdown for members' text: raw HTML off, URLs autolinked, output sanitized with nh3."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_renderer = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False}).enable(
    ["table", "strikethrough", "linkify"]
)

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "del", "s", "a", "ul", "ol", "li", "blockquote", "code", "pre",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, "ol": {"start"}}
LINK_REL = "nofollow ugc noopener"


def render_markdown(text: str) -> str:
    """Safe HTML from untrusted Markdown: http(s) and mailto links only, each with rel="nofollow ugc noopener"."""
    html = _renderer.render(text)
    # Raw HTML is already escaped by markdown-it; nh3 is the second wall (it also drops
    # javascript: and data: URLs that Markdown link syntax could smuggle in).
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel=LINK_REL,
    )
