"""Notifications over HTTP: replies, mentions, the unread count in the header, reading, opt-outs, visibility."""

from __future__ import annotations

import re

import asyncpg
import httpx
import pytest

from tests.factories import (
    add_member,
    create_cast,
    create_community,
    create_thread,
    create_user,
    login,
    table_rows,
)
from tests.test_templates import page_problems

SLUG = "test-condition"


def _unread_badge(html: str) -> str | None:
    match = re.search(r'class="badge notification-count">([^<]+)<', html)
    return match.group(1) if match else None


async def _reply(client: httpx.AsyncClient, token: str, thread: int, body: str, slug: str = SLUG) -> None:
    response = await client.post(f"/c/{slug}/t/{thread}/reply", data={"body": body, "csrf_token": token})
    assert response.status_code == 303, response.text


async def test_a_reply_notifies_the_thread_author_who_sees_the_count_and_the_page(
    client: httpx.AsyncClient, db: asyncpg.Connection, server: object
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["member"], "Sleep tips")
    token = await login(client, "leader")
    await _reply(client, token, thread, "Try a fixed bedtime.")
    await _reply(client, token, thread, "And a warm bath.")
    async with httpx.AsyncClient(base_url=str(client.base_url)) as reader:
        await login(reader, "member")
        home = await reader.get("/")
        assert _unread_badge(home.text) == "2"
        page = await reader.get("/notifications")
        assert page.status_code == 200 and page_problems(page.text) == []
        assert page.text.count("Leader replied to “Sleep tips”") == 2
        first = int(re.findall(r'href="/notifications/(\d+)"', page.text)[0])
        opened = await reader.get(f"/notifications/{first}")
        post_id = await db.fetchval("SELECT post_id FROM notifications WHERE id = $1", first)
        assert opened.status_code == 303 and opened.headers["location"] == f"/c/{SLUG}/posts/{post_id}"
        assert _unread_badge((await reader.get("/")).text) == "1"
    # The replier is not notified about their own reply.
    assert await db.fetchval("SELECT count(*) FROM notifications WHERE user_id = $1", cast["leader"]) == 0


async def test_the_header_has_no_count_when_nothing_is_unread(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    await login(client, "member")
    home = await client.get("/")
    assert 'href="/notifications"' in home.text and _unread_badge(home.text) is None


async def test_the_header_count_stops_at_99_plus(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    await db.execute(
        "INSERT INTO notifications (user_id, kind, actor_id) SELECT $1, 'reply', $2 FROM generate_series(1, 130)",
        cast["member"],
        cast["leader"],
    )
    await login(client, "member")
    assert _unread_badge((await client.get("/")).text) == "99+"


async def test_mentions_notify_members_of_the_community_only(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"], "Gathering")
    token = await login(client, "member")
    await _reply(
        client,
        token,
        thread,
        "Ping @Leader, @muted and @outsider and @banned and @nobody-at-all; mail me at me@member.org. Also @member",
    )
    rows = await db.fetch("SELECT user_id, kind FROM notifications ORDER BY user_id")
    # The thread's author gets one 'reply' (not also a mention); outsiders, the banned, unknown names,
    # email addresses and the author themself get nothing.
    assert sorted(tuple(row) for row in rows) == sorted([(cast["leader"], "reply"), (cast["muted"], "mention")])


async def test_a_mention_added_by_an_edit_notifies_once(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["member"], "Mine")
    post = await db.fetchval("SELECT id FROM posts WHERE thread_id = $1", thread)
    token = await login(client, "member")
    await client.post(f"/c/{SLUG}/posts/{post}/edit", data={"body": "What do you think, @leader?", "csrf_token": token})
    await client.post(
        f"/c/{SLUG}/posts/{post}/edit", data={"body": "What do you think, @leader? Anyone?", "csrf_token": token}
    )
    assert [tuple(row) for row in await db.fetch("SELECT user_id, kind FROM notifications")] == [
        (cast["leader"], "mention")
    ]


async def test_a_member_switches_off_a_kind_of_notification(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["member"], "Mine")
    token = await login(client, "member")
    kinds = ["mention", "answer", "accepted", "welcome", "introduction"]  # every kind but 'reply'
    response = await client.post(
        "/notifications/preferences", data={"in_app": kinds, "email": ["welcome"], "csrf_token": token}
    )
    assert response.status_code == 303
    stored = {
        row["kind"]: (row["in_app"], row["email"]) for row in await db.fetch("SELECT * FROM notification_preferences")
    }
    assert (
        stored["reply"] == (False, False) and stored["welcome"] == (True, True) and stored["mention"] == (True, False)
    )
    page = await client.get("/notifications")
    assert re.search(r'name="in_app" value="reply"[^>]*>', page.text).group(0).find("checked") == -1
    async with httpx.AsyncClient(base_url=str(client.base_url)) as other:
        other_token = await login(other, "leader")
        await _reply(other, other_token, thread, "A reply the member opted out of")
        await _reply(other, other_token, thread, "But @member is mentioned here")
    assert [tuple(row) for row in await db.fetch("SELECT user_id, kind FROM notifications")] == [
        (cast["member"], "mention")
    ]
    bad = await client.post("/notifications/preferences", data={"in_app": ["gossip"], "csrf_token": token})
    assert bad.status_code == 400


async def test_marking_one_and_all_read_touches_only_your_own(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    insert = "INSERT INTO notifications (user_id, kind, actor_id) VALUES ($1, 'reply', $2) RETURNING id"
    mine = [await db.fetchval(insert, cast["member"], cast["leader"]) for _ in range(3)]
    theirs = await db.fetchval(insert, cast["leader"], cast["member"])
    token = await login(client, "member")
    assert (await client.post(f"/notifications/{mine[0]}/read", data={"csrf_token": token})).status_code == 303
    assert (await client.post(f"/notifications/{theirs}/read", data={"csrf_token": token})).status_code == 303
    assert (await client.get(f"/notifications/{theirs}")).status_code == 404
    unread = "SELECT id FROM notifications WHERE read_at IS NULL ORDER BY id"
    assert [row["id"] for row in await db.fetch(unread)] == [mine[1], mine[2], theirs]
    await client.post("/notifications/read", data={"csrf_token": token})
    assert [row["id"] for row in await db.fetch(unread)] == [theirs]


async def test_notifications_need_sign_in(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    page = await client.get("/notifications")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    token = (await client.get("/login")).text.split('name="csrf_token" value="')[1].split('"')[0]
    assert (await client.post("/notifications/read", data={"csrf_token": token})).status_code == 401
    assert (await client.get("/api/v1/notifications")).status_code == 401


async def test_notifications_from_a_members_only_community_vanish_for_someone_who_left(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    private = await create_community(db, "private-place", "Private Place", visibility="members")
    author = await create_user(db, "author")
    helper = await create_user(db, "helper")
    for user in (author, helper):
        await add_member(db, private, user)
    thread = await create_thread(db, private, author, "Private worry")
    token = await login(client, "helper")
    await _reply(client, token, thread, "Here for you", slug="private-place")
    async with httpx.AsyncClient(base_url=str(client.base_url)) as reader:
        await login(reader, "author")
        assert "Private worry" in (await reader.get("/notifications")).text
        await db.execute("DELETE FROM memberships WHERE user_id = $1", author)
        page = await reader.get("/notifications")
        assert "Private worry" not in page.text and _unread_badge(page.text) is None
        assert (await reader.get("/api/v1/notifications")).json() == {
            "notifications": [],
            "unread": 0,
            "next_before": None,
        }
        notification = await db.fetchval("SELECT id FROM notifications")
        assert (await reader.get(f"/notifications/{notification}")).status_code == 404


async def test_no_notification_is_created_for_someone_who_cannot_see_the_thread(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    private = await create_community(db, "private-place", "Private Place", visibility="members")
    former = await create_user(db, "former")
    helper = await create_user(db, "helper")
    await add_member(db, private, helper)
    thread = await create_thread(db, private, former, "Asked before leaving")  # the author is no longer a member
    token = await login(client, "helper")
    await _reply(client, token, thread, "Answer for @former", slug="private-place")
    assert await db.fetchval("SELECT count(*) FROM notifications") == 0


@pytest.mark.parametrize("endpoint", ["/notifications/read", "/notifications/preferences"])
async def test_notification_forms_need_the_csrf_token(
    client: httpx.AsyncClient, db: asyncpg.Connection, endpoint: str
) -> None:
    cast = await create_cast(db)
    await db.execute("INSERT INTO notifications (user_id, kind) VALUES ($1, 'reply')", cast["member"])
    before = await table_rows(db, "notifications", "notification_preferences")
    await login(client, "member")
    assert (await client.post(endpoint, data={"in_app": ["reply"]})).status_code == 403
    assert await table_rows(db, "notifications", "notification_preferences") == before


async def test_a_consent_request_sent_before_it_had_its_own_kind_still_reads_as_one_and_in_french(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    for kind in ("moderation", "consent"):  # before migration 0011, and since
        await db.execute(
            "INSERT INTO notifications (user_id, kind, actor_id, community_id, data) VALUES ($1, $2, $3, $4, $5)",
            cast["member"], kind, cast["leader"], cast["community"],
            {"event": "consent", "what": "resource", "title": "Feeding pumps", "room": "Main room"},
        )  # fmt: skip
    await login(client, "member")
    english = (await client.get("/notifications")).text
    asked = "Someone would like to quote your words from Main room in a resource, “Feeding pumps”"
    assert english.count(asked) == 2 and page_problems(english) == []
    french = (await client.get("/notifications", headers={"Accept-Language": "fr"})).text
    assert asked not in french and french.count("Feeding pumps") == 2
