"""Members' Markdown renders safely: no raw HTML, no script URLs, links marked nofollow ugc noopener."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from server.markdown import render_markdown


def _elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """The real elements in the HTML (escaped text does not count)."""
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def test_urls_are_autolinked_with_nofollow_ugc_noopener() -> None:
    html = render_markdown("Registry: https://example.org/cms")
    assert '<a href="https://example.org/cms" rel="nofollow ugc noopener">' in html


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "<svg onload=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "![x](javascript:alert(1))",
        "<iframe src=//evil>",
        "[x](vbscript:msgbox)",
    ],
)
def test_hostile_markdown_leaves_no_active_content(hostile: str) -> None:
    elements = _elements(render_markdown(hostile))
    assert {tag for tag, _ in elements} <= {"p", "a"}
    for _tag, attributes in elements:
        for name, value in attributes:
            assert not name.startswith("on")
            if name == "href":
                assert (value or "").lower().startswith(("http://", "https://", "mailto:"))


def test_ordinary_formatting_survives() -> None:
    html = render_markdown("**Bold** and *soft*\n\n- one\n- two\n\n> quoted")
    assert "<strong>Bold</strong>" in html and "<em>soft</em>" in html
    assert "<li>one</li>" in html and "<blockquote>" in html
