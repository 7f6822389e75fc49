"""What search engines may index: the directory, condition pages and the FAQ; never members' words.

The one place for this rule: the `X-Robots-Tag` header (server/security.py), the robots meta tag
(templates/base.html asks `indexable`) and /robots.txt (server/routes/health.py) all come from here.
Indexing is an allowlist, so a new page is kept out of search engines until it is listed here.
"""

from __future__ import annotations

import re

# Pages about a condition, not about its members: the directory, a community's condition page and its
# curated resources, the FAQ, and the doors in. Everything else (forum, threads, introductions,
# questions, live rooms, tips, profiles, search, notifications, member lists, leaders' pages, the API)
# is answered with noindex.
_INDEXABLE = re.compile(r"/|/faq|/login|/register|/c/[^/]+|/c/[^/]+/resources")

NOINDEX = b"noindex"

# Crawlers that honour robots.txt do not even fetch these (noindex covers the others, and any page
# reached through a link). `*` and `$` are understood by the major search engines.
_DISALLOWED = [
    "/c/*/t/",
    "/c/*/forum",
    "/c/*/introductions",
    "/c/*/questions",
    "/c/*/live",
    "/c/*/tips",
    "/c/*/posts/",
    "/c/*/members",
    "/c/*/review",
    "/c/*/audit",
    "/c/*/sections/",
    "/c/*/ask",
    "/u/",
    "/search",
    "/notifications",
    "/settings",
    "/admin/",
    "/api/",
    "/ws",
    "/communities/new",
]
_ALLOWED = ["/$", "/faq", "/c/"]


def indexable(path: str) -> bool:
    """True for the pages a search engine may index; every other answer carries noindex."""
    return _INDEXABLE.fullmatch(path) is not None


def robots_txt() -> str:
    lines = ["User-agent: *"]
    lines += [f"Disallow: {path}" for path in _DISALLOWED]
    lines += [f"Allow: {path}" for path in _ALLOWED]
    return "\n".join(lines) + "\n"
