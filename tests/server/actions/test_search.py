"""Search snippets: member text is escaped and only our own markers become <mark>."""

from __future__ import annotations

from server.actions.search import highlight
from server.db.queries.search import MARK_END, MARK_START


def test_highlight_escapes_everything_but_its_own_markers() -> None:
    marked = f"<script>alert(1)</script> {MARK_START}rare{MARK_END} & <mark>x</mark>"
    assert str(highlight(marked)) == (
        "&lt;script&gt;alert(1)&lt;/script&gt; <mark>rare</mark> &amp; &lt;mark&gt;x&lt;/mark&gt;"
    )
