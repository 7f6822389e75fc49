"""Members-only threads and posts in a public community: the author chooses, the post shows it, and no
door shows it to anyone outside the community (pages, API, quotes, permalinks, search, profiles,
notifications)."""

from __future__ import annotations

import asyncpg
import httpx

from tests.factories import create_cast, create_thread, login

SLUG = "test-condition"


async def _visitor(client: httpx.AsyncClient) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=str(client.base_url), timeout=10)


async def test_a_members_only_thread_is_for_members_on_every_door(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await db.execute("UPDATE users SET show_posts = true WHERE id = $1", cast["member"])
    token = await login(client, "member")
    started = await client.post(
        f"/c/{SLUG}/forum/new",
        data={"title": "Our son, 4, DOK7", "body": "We live near Lyon.", "audience": "members", "csrf_token": token},
    )
    assert started.status_code == 303
    thread_url = started.headers["location"]
    assert await db.fetchval("SELECT audience FROM threads") == "members"
    assert await db.fetchval("SELECT audience FROM posts") == "members"
    # Members see it, marked.
    page = (await client.get(thread_url)).text
    assert "DOK7" in page and "Members only" in page
    assert "Members only" in (await client.get(f"/c/{SLUG}/forum")).text

    async with await _visitor(client) as visitor:
        for reader in ("visitor", "outsider"):
            if reader == "outsider":
                await login(visitor, "outsider")
            assert (await visitor.get(thread_url)).status_code == 404, reader
            for door in (f"/c/{SLUG}/forum", "/search?q=live+near", "/u/member", f"/api/v1/communities/{SLUG}/threads"):
                answer = await visitor.get(door)
                assert "DOK7" not in answer.text and "Lyon" not in answer.text, (reader, door)
            post_id = await db.fetchval("SELECT id FROM posts")
            assert (await visitor.get(f"/c/{SLUG}/posts/{post_id}")).status_code == 404, reader


async def test_a_members_only_reply_in_a_public_thread_is_left_out_for_others_with_its_quotes(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"], "Night-time breathing")
    token = await login(client, "member")
    private = await client.post(
        f"/c/{SLUG}/t/{thread}/reply",
        data={"body": "Our daughter's school in Lyon knows.", "audience": "members", "csrf_token": token},
    )
    assert private.status_code == 303
    private_id = await db.fetchval("SELECT id FROM posts WHERE audience = 'members'")
    quoting = await client.post(
        f"/c/{SLUG}/t/{thread}/reply",
        data={"body": "Same for us.", "reply_to_post_id": str(private_id), "csrf_token": token},
    )
    assert quoting.status_code == 303
    member_page = (await client.get(f"/c/{SLUG}/t/{thread}")).text
    assert "school in Lyon" in member_page and "Members only" in member_page

    async with await _visitor(client) as visitor:
        page = (await visitor.get(f"/c/{SLUG}/t/{thread}")).text
        assert "Night-time breathing" in page and "Same for us." in page
        # Neither the reply nor the quote of it.
        assert "school in Lyon" not in page
        api = (await visitor.get(f"/api/v1/threads/{thread}")).json()
        assert [post["id"] for post in api["posts"]] == [
            row["id"] for row in await db.fetch("SELECT id FROM posts WHERE audience = 'everyone' ORDER BY id")
        ]
        assert all("Lyon" not in str(post) for post in api["posts"])
        assert (await visitor.get(f"/c/{SLUG}/posts/{private_id}")).status_code == 404
        assert "Lyon" not in (await visitor.get("/search?q=school")).text


async def test_a_members_only_reply_does_not_notify_someone_who_left(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    # The outsider started the thread while a member, then left the community.
    thread = await create_thread(db, cast["community"], cast["outsider"], "Where to find a neurologist")
    token = await login(client, "member")
    await client.post(
        f"/c/{SLUG}/t/{thread}/reply", data={"body": "Dr. M in Lyon", "audience": "members", "csrf_token": token}
    )
    await client.post(f"/c/{SLUG}/t/{thread}/reply", data={"body": "Ask your GP too", "csrf_token": token})
    told = await db.fetch(
        "SELECT p.audience FROM notifications n JOIN posts p ON p.id = n.post_id WHERE n.user_id = $1",
        cast["outsider"],
    )
    assert [row["audience"] for row in told] == ["everyone"]


async def test_an_unknown_audience_comes_back_with_the_reason_and_keeps_the_draft(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    token = await login(client, "member")
    refused = await client.post(
        f"/c/{SLUG}/forum/new",
        data={"title": "A title", "body": "My careful words", "audience": "friends", "csrf_token": token},
    )
    assert refused.status_code == 400
    assert "members only" in refused.text and "My careful words" in refused.text
    assert await db.fetchval("SELECT count(*) FROM threads") == 0
    csrf = (await client.get("/api/v1/session")).json()["csrf_token"]
    api = await client.post(
        f"/api/v1/communities/{SLUG}/threads",
        json={"title": "T", "body": "B", "audience": "friends"},
        headers={"x-csrf-token": csrf},
    )
    assert api.status_code == 400 and "members only" in api.json()["message"]
    made = await client.post(
        f"/api/v1/communities/{SLUG}/threads",
        json={"title": "T", "body": "B", "audience": "members"},
        headers={"x-csrf-token": csrf},
    )
    assert made.status_code == 201
    shown = (await client.get(f"/api/v1/threads/{made.json()['thread_id']}")).json()
    assert shown["thread"]["audience"] == "members" and shown["posts"][0]["audience"] == "members"
