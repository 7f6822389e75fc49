"""Search engines and link previews: noindex on members' pages, robots.txt, no member text in outsiders' titles."""

from __future__ import annotations

import re

import asyncpg
import httpx

from server import robots
from tests.factories import add_member, create_community, create_post, create_thread, create_user, login

NOINDEX_META = '<meta name="robots" content="noindex">'


def _head(html: str) -> str:
    return html.split("</head>", 1)[0]


def _title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match is not None
    return match.group(1)


def _assert_noindex(page: httpx.Response) -> None:
    assert page.headers.get("x-robots-tag") == "noindex", page.url
    if "text/html" in page.headers.get("content-type", ""):
        assert NOINDEX_META in _head(page.text), page.url


def _assert_indexable(page: httpx.Response) -> None:
    assert page.status_code == 200, page.url
    assert "x-robots-tag" not in page.headers, page.url
    assert NOINDEX_META not in page.text, page.url


async def test_members_pages_carry_noindex_and_condition_pages_do_not(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    community = await create_community(db)
    leader = await create_user(db, "leader")
    await add_member(db, community, leader, "leader")
    thread = await create_thread(db, community, leader, "Night feeds", "What helps at 3 a.m.?")
    await login(client, "leader")
    for path in [
        "/c/test-condition/forum",
        f"/c/test-condition/t/{thread}",
        "/c/test-condition/introductions",
        "/c/test-condition/questions",
        "/c/test-condition/live",
        "/c/test-condition/live/main",
        "/c/test-condition/tips",
        "/c/test-condition/members",
        "/c/test-condition/review",
        "/c/test-condition/audit",
        "/u/leader",
        "/search?q=feeds",
        "/notifications",
        "/settings",
        "/api/v1/session",
        "/api/v1/communities/test-condition/threads",
    ]:
        page = await client.get(path)
        assert page.status_code == 200, (path, page.status_code)
        _assert_noindex(page)
    for path in ["/", "/faq", "/c/test-condition", "/c/test-condition/resources"]:
        _assert_indexable(await client.get(path))
    # An anonymous visitor's view of a public thread is members' words too.
    async with httpx.AsyncClient(base_url=str(client.base_url)) as anonymous:
        _assert_noindex(await anonymous.get(f"/c/test-condition/t/{thread}"))
        _assert_noindex(await anonymous.get("/u/leader"))
        _assert_indexable(await anonymous.get("/c/test-condition"))


async def test_robots_txt_keeps_crawlers_out_of_members_pages_and_lets_them_read_condition_pages(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/robots.txt")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    lines = answer.text.splitlines()
    assert lines[0] == "User-agent: *"
    for path in ["/c/*/t/", "/c/*/forum", "/c/*/introductions", "/c/*/questions", "/c/*/live", "/u/", "/search"]:
        assert f"Disallow: {path}" in lines
    for path in ["/notifications", "/api/", "/c/*/members", "/c/*/tips", "/settings"]:
        assert f"Disallow: {path}" in lines
    assert "Allow: /$" in lines and "Allow: /c/" in lines and "Allow: /faq" in lines
    assert not any(line in {"Disallow: /", "Disallow: /c/"} for line in lines)


def test_indexing_is_an_allowlist_of_pages_about_conditions() -> None:
    for path in ["/", "/faq", "/c/cms", "/c/cms/resources", "/login", "/register"]:
        assert robots.indexable(path), path
    for path in [
        "/c/cms/forum",
        "/c/cms/t/3",
        "/c/cms/introductions",
        "/c/cms/questions",
        "/c/cms/live/main",
        "/c/cms/tips",
        "/c/cms/members",
        "/c/cms/posts/4/history",
        "/u/lucia",
        "/search",
        "/notifications",
        "/api/v1/communities",
        "/some-new-page",
    ]:
        assert not robots.indexable(path), path


async def test_outsiders_never_see_members_only_titles_or_excerpts_in_any_page(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    community = await create_community(db, "private-place", "Private Place", visibility="members")
    insider = await create_user(db, "insider")
    await add_member(db, community, insider)
    await create_user(db, "stranger")
    thread = await create_thread(db, community, insider, "Our secret worries", "Very personal details")
    intro = await create_thread(
        db, community, insider, "Hello from the Marchetti family", "My daughter Zoe was diagnosed", kind="introduction"
    )
    await create_post(db, thread, insider, "A private reply about seizures")
    # A tip is a member's words, and it names them: members-only like the forum.
    await db.execute(
        "INSERT INTO tips (community_id, author_id, name, description) VALUES ($1, $2, 'Weighted blanket', 'Calms her')",
        community,
        insider,
    )
    secrets = ["Our secret worries", "Very personal", "Zoe", "seizures", "Marchetti", "Weighted blanket"]
    for who in (None, "stranger"):
        if who:
            await login(client, who)
        for path in [
            "/",
            "/c/private-place",
            "/c/private-place/forum",
            "/c/private-place/introductions",
            "/c/private-place/questions",
            "/c/private-place/live",
            "/c/private-place/tips",
            f"/c/private-place/t/{thread}",
            f"/c/private-place/t/{intro}",
            "/u/insider",
            "/search?q=secret",
            "/api/v1/communities/private-place/threads",
            "/api/v1/communities/private-place/tips",
        ]:
            page = await client.get(path)
            leaked = [secret for secret in secrets if secret in page.text]
            assert leaked == [], (who, path, leaked)
    assert "shared with its members only" in (await client.get("/c/private-place")).text
    # Members read it, and then the title names the thread (for them, in their own browser).
    await login(client, "insider")
    assert "Weighted blanket" in (await client.get("/c/private-place/tips")).text
    page = await client.get(f"/c/private-place/t/{thread}")
    assert page.status_code == 200 and "Our secret worries" in _title(page.text)
    _assert_noindex(page)


async def test_no_page_offers_a_link_preview_of_members_words(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """No OpenGraph or description tags that a chat app's link preview would show, on any page."""
    community = await create_community(db)
    member = await create_user(db, "member")
    await add_member(db, community, member)
    thread = await create_thread(db, community, member, "Night feeds", "What helps at 3 a.m.?")
    for path in ["/", "/c/test-condition", "/c/test-condition/forum", f"/c/test-condition/t/{thread}", "/u/member"]:
        head = _head((await client.get(path)).text)
        assert 'property="og:' not in head and 'name="description"' not in head and "twitter:" not in head
        assert "What helps" not in head
