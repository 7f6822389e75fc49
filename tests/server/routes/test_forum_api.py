"""The forum's JSON API: threads, posts, reactions, accepted answers, search and notifications under /api/v1."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.factories import (
    add_member,
    create_cast,
    create_community,
    create_post,
    create_thread,
    create_user,
    login,
    table_rows,
)

SLUG = "test-condition"
FORUM_TABLES = ("threads", "posts", "post_revisions", "reactions", "notifications")


async def _api_login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    """Sign in and return the headers an API client sends on unsafe requests."""
    await login(client, username)
    token = (await client.get("/api/v1/session")).json()["csrf_token"]
    return {"x-csrf-token": token}


async def test_listing_threads_pages_with_the_cursor(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    for number in range(33):
        await create_thread(db, cast["community"], cast["member"], f"T{number}")
    first = (await client.get(f"/api/v1/communities/{SLUG}/threads")).json()
    assert first["community"] == SLUG and first["members_only"] is False and first["count"] is None
    assert len(first["threads"]) == 30 and first["threads"][0]["title"] == "T32"
    assert first["threads"][0]["author"] == {"username": "member", "display_name": "Member"}
    second = (await client.get(f"/api/v1/communities/{SLUG}/threads", params={"cursor": first["next_cursor"]})).json()
    assert [thread["title"] for thread in second["threads"]] == ["T2", "T1", "T0"] and second["next_cursor"] is None
    bad = await client.get(f"/api/v1/communities/{SLUG}/threads", params={"cursor": "garbage"})
    assert bad.status_code == 400 and bad.json()["error"] == "bad_request"
    assert (await client.get("/api/v1/communities/nowhere/threads")).status_code == 404


async def test_creating_a_thread_reading_it_and_replying(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    headers = await _api_login(client, "member")
    created = await client.post(
        f"/api/v1/communities/{SLUG}/threads",
        json={"title": "Stairs at home", "body": "Any tips for **stairs**?"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    thread_id = created.json()["thread_id"]
    assert created.headers["location"] == f"/c/{SLUG}/t/{thread_id}"
    async with httpx.AsyncClient(base_url=str(client.base_url)) as other:
        other_headers = await _api_login(other, "leader")
        first_post = created.json()["post_id"]
        reply = await other.post(
            f"/api/v1/threads/{thread_id}/posts",
            json={"body": "A stairlift.", "reply_to_post_id": first_post},
            headers=other_headers,
        )
        assert reply.status_code == 201
    page = (await client.get(f"/api/v1/threads/{thread_id}")).json()
    assert page["thread"]["title"] == "Stairs at home" and page["thread"]["reply_count"] == 1
    opening, answer = page["posts"]
    assert opening["body_html"] == "<p>Any tips for <strong>stairs</strong>?</p>\n"
    assert answer["author"]["username"] == "leader" and answer["author_badges"] == ["leader"]
    assert answer["reply_to"] == {"post_id": first_post, "author": "Member", "excerpt": "Any tips for **stairs**?"}
    assert page["next_after"] is None
    assert [(row["user_id"], row["kind"]) for row in await db.fetch("SELECT user_id, kind FROM notifications")] == [
        (cast["member"], "reply")
    ]


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"title": "", "body": "text"}, 400),
        ({"title": "t", "body": ""}, 400),
        ({"title": "t", "body": "b", "kind": "poll"}, 400),
        ({"title": "t", "body": "b", "colour": "red"}, 400),
        ({"title": "t", "body": "b", "intro": {"diagnosis": "x"}}, 400),
    ],
)
async def test_bad_thread_bodies_are_refused_with_a_reason(
    client: httpx.AsyncClient, db: asyncpg.Connection, payload: dict[str, object], status: int
) -> None:
    await create_cast(db)
    headers = await _api_login(client, "member")
    response = await client.post(f"/api/v1/communities/{SLUG}/threads", json=payload, headers=headers)
    assert response.status_code == status and response.json()["message"]
    assert await db.fetchval("SELECT count(*) FROM threads") == 0


async def test_an_introduction_through_the_api(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await create_cast(db)
    headers = await _api_login(client, "member")
    response = await client.post(
        f"/api/v1/communities/{SLUG}/threads",
        json={"kind": "introduction", "intro": {"cares_for": "my son"}, "body": "Hi all"},
        headers=headers,
    )
    assert response.status_code == 201
    row = await db.fetchrow("SELECT kind, title, intro FROM threads")
    assert row is not None and dict(row) == {
        "kind": "introduction",
        "title": "My first connection: Test Condition",
        "intro": {"cares_for": "my son"},
    }


async def test_unsafe_calls_need_the_csrf_header_and_a_session(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    before = await table_rows(db, *FORUM_TABLES)
    anonymous = await client.post(f"/api/v1/threads/{thread}/posts", json={"body": "hi"})
    assert anonymous.status_code == 401
    await login(client, "member")
    no_header = await client.post(f"/api/v1/threads/{thread}/posts", json={"body": "hi"})
    assert no_header.status_code == 403 and no_header.json()["error"] == "csrf_failed"
    assert await table_rows(db, *FORUM_TABLES) == before


async def test_editing_and_deleting_your_post_through_the_api(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    post = await create_post(db, thread, cast["member"], "First words")
    headers = await _api_login(client, "member")
    edited = await client.patch(f"/api/v1/posts/{post}", json={"body": "Better words"}, headers=headers)
    assert edited.status_code == 200 and edited.json() == {"id": post, "state": "visible"}
    assert await db.fetchval("SELECT body_md FROM post_revisions WHERE post_id = $1", post) == "First words"
    data = (await client.get(f"/api/v1/threads/{thread}")).json()
    assert data["posts"][1]["revision_count"] == 1 and data["posts"][1]["edited_at"] is not None
    deleted = await client.delete(f"/api/v1/posts/{post}", headers=headers)
    assert deleted.status_code == 200 and deleted.json()["state"] == "deleted"
    shown = (await client.get(f"/api/v1/threads/{thread}")).json()["posts"][1]
    assert shown["state"] == "deleted" and shown["body_md"] is None and shown["body_html"] is None
    again = await client.delete(f"/api/v1/posts/{post}", headers=headers)
    assert again.status_code == 409


@pytest.mark.parametrize("who", ["leader", "outsider", "banned", "muted"])
async def test_others_cannot_edit_or_delete_a_post_through_the_api(
    client: httpx.AsyncClient, db: asyncpg.Connection, who: str
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    post = await create_post(db, thread, cast["member"], "Mine")
    before = await table_rows(db, *FORUM_TABLES)
    headers = await _api_login(client, who)
    assert (await client.patch(f"/api/v1/posts/{post}", json={"body": "x"}, headers=headers)).status_code == 403
    assert (await client.delete(f"/api/v1/posts/{post}", headers=headers)).status_code == 403
    assert await table_rows(db, *FORUM_TABLES) == before


@pytest.mark.parametrize("who", ["banned", "muted"])
async def test_banned_and_muted_members_are_refused_on_every_api_write(
    client: httpx.AsyncClient, db: asyncpg.Connection, who: str
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    own = await create_post(db, thread, cast[who], "Mine")
    others = await create_post(db, thread, cast["leader"], "Theirs")
    question = await create_thread(db, cast["community"], cast[who], "Q", kind="question")
    answer = await create_post(db, question, cast["leader"], "A")
    before = await table_rows(db, *FORUM_TABLES)
    headers = await _api_login(client, who)
    calls = [
        ("POST", f"/api/v1/communities/{SLUG}/threads", {"title": "t", "body": "b"}),
        ("POST", f"/api/v1/threads/{thread}/posts", {"body": "b"}),
        ("PATCH", f"/api/v1/posts/{own}", {"body": "b"}),
        ("DELETE", f"/api/v1/posts/{own}", None),
        ("POST", f"/api/v1/posts/{others}/reaction", {"kind": "thanks"}),
        ("DELETE", f"/api/v1/posts/{others}/reaction", None),
        ("POST", f"/api/v1/threads/{question}/accept", {"post_id": answer}),
    ]
    for method, path, body in calls:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (method, path)
        assert response.json()["error"] == who, (method, path)
    assert await table_rows(db, *FORUM_TABLES) == before


async def test_reactions_through_the_api_set_and_remove(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    post = await create_post(db, thread, cast["leader"], "Tip")
    headers = await _api_login(client, "member")
    url = f"/api/v1/posts/{post}/reaction"
    assert (await client.post(url, json={"kind": "helped"}, headers=headers)).json() == {
        "helped": 1, "thanks": 0, "mine": "helped", "helped_by": [], "thanks_by": []
    }  # fmt: skip
    # Setting the same kind again keeps it (the API is idempotent); the other kind switches.
    assert (await client.post(url, json={"kind": "helped"}, headers=headers)).json()["mine"] == "helped"
    assert (await client.post(url, json={"kind": "thanks"}, headers=headers)).json()["thanks"] == 1
    data = (await client.get(f"/api/v1/threads/{thread}")).json()["posts"][1]["reactions"]
    assert data == {"helped": 0, "thanks": 1, "mine": "thanks", "helped_by": [], "thanks_by": ["Member"]}
    assert (await client.delete(url, headers=headers)).json()["mine"] is None
    assert (await client.post(url, json={"kind": "hug"}, headers=headers)).status_code == 400
    assert await db.fetchval("SELECT count(*) FROM reactions") == 0


async def test_accepting_through_the_api_is_for_the_asker_only(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    question = await create_thread(db, cast["community"], cast["member"], "Q", kind="question")
    answer = await create_post(db, question, cast["leader"], "A")
    async with httpx.AsyncClient(base_url=str(client.base_url)) as outsider:
        outsider_headers = await _api_login(outsider, "outsider")
        refused = await outsider.post(
            f"/api/v1/threads/{question}/accept", json={"post_id": answer}, headers=outsider_headers
        )
        assert refused.status_code == 403
    headers = await _api_login(client, "member")
    accepted = await client.post(f"/api/v1/threads/{question}/accept", json={"post_id": answer}, headers=headers)
    assert accepted.json() == {"thread_id": question, "accepted_post_id": answer}
    cleared = await client.post(f"/api/v1/threads/{question}/accept", json={"post_id": None}, headers=headers)
    assert cleared.json()["accepted_post_id"] is None


async def test_a_locked_thread_refuses_api_replies(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"], locked=True)
    headers = await _api_login(client, "member")
    response = await client.post(f"/api/v1/threads/{thread}/posts", json={"body": "hi"}, headers=headers)
    assert response.status_code == 409 and response.json()["error"] == "locked"


async def test_members_only_threads_are_hidden_from_outsiders_over_the_api(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    private = await create_community(db, "private-place", "Private Place", visibility="members")
    insider = await create_user(db, "insider")
    await create_user(db, "stranger")
    await add_member(db, private, insider)
    thread = await create_thread(db, private, insider, "Secret")
    post = await create_post(db, thread, insider, "Also secret")
    for who in (None, "stranger"):
        headers = await _api_login(client, who) if who else {}
        listing = (await client.get("/api/v1/communities/private-place/threads")).json()
        assert listing == {
            "community": "private-place",
            "members_only": True,
            "threads": [],
            "next_cursor": None,
            "count": 1,
        }
        assert (await client.get(f"/api/v1/threads/{thread}")).status_code == 404
        if who:
            reply = await client.post(f"/api/v1/threads/{thread}/posts", json={"body": "hi"}, headers=headers)
            react = await client.post(f"/api/v1/posts/{post}/reaction", json={"kind": "thanks"}, headers=headers)
            assert reply.status_code == 404 and react.status_code == 404
    await _api_login(client, "insider")
    assert (await client.get(f"/api/v1/threads/{thread}")).json()["thread"]["title"] == "Secret"


async def test_notifications_through_the_api(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["member"], "Mine")
    async with httpx.AsyncClient(base_url=str(client.base_url)) as other:
        other_headers = await _api_login(other, "leader")
        for body in ("one", "two", "three"):
            await other.post(f"/api/v1/threads/{thread}/posts", json={"body": body}, headers=other_headers)
    headers = await _api_login(client, "member")
    listing = (await client.get("/api/v1/notifications")).json()
    assert listing["unread"] == 3 and len(listing["notifications"]) == 3
    newest = listing["notifications"][0]
    assert newest["kind"] == "reply" and newest["text"] == "Leader replied to “Mine”" and newest["read"] is False
    assert newest["url"] == f"/c/{SLUG}/posts/{newest['post_id']}"
    marked = await client.post("/api/v1/notifications/read", json={"ids": [newest["id"]]}, headers=headers)
    assert marked.json() == {"marked": 1, "unread": 2}
    marked = await client.post("/api/v1/notifications/read", json={"all": True}, headers=headers)
    assert marked.json() == {"marked": 2, "unread": 0}
    for bad in ({}, {"ids": [1], "all": True}, {"ids": "1"}):
        assert (await client.post("/api/v1/notifications/read", json=bad, headers=headers)).status_code == 400


async def test_ids_in_a_body_beyond_a_database_id_are_refused_as_bad_requests_not_server_errors(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    # make fuzz found these (Schemathesis): ids past Postgres's bigint answered 500 from the database.
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["member"], "Mine")
    question = await create_thread(db, cast["community"], cast["member"], "Q", kind="question")
    headers = await _api_login(client, "member")
    for too_big in (2**63, 2**64, 10**30):
        for url, body in (
            ("/api/v1/notifications/read", {"ids": [1, too_big]}),
            (f"/api/v1/threads/{thread}/posts", {"body": "hi", "reply_to_post_id": too_big}),
            (f"/api/v1/threads/{question}/accept", {"post_id": too_big}),
        ):
            response = await client.post(url, json=body, headers=headers)
            assert response.status_code == 400, (url, body, response.text)
            assert response.json()["error"] == "bad_request"
    assert await db.fetchval("SELECT count(*) FROM posts WHERE thread_id = $1", thread) == 1


async def test_the_forum_operations_are_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/api/v1/openapi.json")).json()["paths"]
    expected = {
        "/api/v1/communities/{slug}/threads": {"get", "post"},
        "/api/v1/threads/{thread_id}": {"get"},
        "/api/v1/threads/{thread_id}/posts": {"post"},
        "/api/v1/posts/{post_id}": {"patch", "delete"},
        "/api/v1/posts/{post_id}/reaction": {"post", "delete"},
        "/api/v1/threads/{thread_id}/accept": {"post"},
        "/api/v1/search": {"get"},
        "/api/v1/notifications": {"get"},
        "/api/v1/notifications/read": {"post"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
