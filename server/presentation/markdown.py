"""The one Markdown filter: members' text as safe HTML for pages and the API, rendered once per distinct text."""

from __future__ import annotations

import re
from functools import lru_cache

from markupsafe import Markup

from server.markdown import render_markdown

# Member text is rendered once per distinct body and kept: a popular thread is read far more
# often than it is written, and the cache key is the text itself, so an edit can never show stale HTML.
CACHED_BODY_MAX = 8000
# Headings written in member text start below the page's own (h1 page, h2 and h3 sections), so a
# "# Title" in a post or a condition section never becomes a second h1 on the page.
HEADING_SHIFT = 3

_HEADING_TAG = re.compile(r"<(/?)h([1-6])>")


@lru_cache(maxsize=2048)
def _cached(source: str, below: int) -> str:
    return _render(source, below)


def _render(source: str, below: int) -> str:
    html = render_markdown(source)
    if below:
        html = _HEADING_TAG.sub(lambda match: f"<{match.group(1)}h{min(6, int(match.group(2)) + below)}>", html)
    return html


def html(source: str, below: int = HEADING_SHIFT) -> str:
    """Sanitized HTML (render_markdown: raw HTML off, nh3), headings moved `below` levels down."""
    return _cached(source, below) if len(source) <= CACHED_BODY_MAX else _render(source, below)


def markdown(source: str, below: int = HEADING_SHIFT) -> Markup:
    """`{{ markdown(text) }}` in every template: the only way member text becomes HTML on a page."""
    return Markup(html(source, below))  # noqa: S704 - sanitized by render_markdown; only heading levels changed
