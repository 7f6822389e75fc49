"""Live thread pages and live notifications: watch a thread or one's notifications over /ws, across processes."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx
import pytest

from server import auth
from server.settings import Settings
from tests.factories import add_member, create_community, create_session, create_thread, create_user, csrf_from
from tests.harness import LiveServer, web_processes
from tests.live_client import LiveClient


async def _reply(base_url: str, session: str, slug: str, thread_id: int, body: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url, cookies={auth.SESSION_COOKIE: session}) as http:
        page = await http.get(f"/c/{slug}/t/{thread_id}")
        return await http.post(
            f"/c/{slug}/t/{thread_id}/reply", data={"body": body, "csrf_token": csrf_from(page.text)}
        )


@pytest.mark.slow
async def test_a_reply_reaches_every_open_copy_of_the_thread_on_every_process_and_its_author_is_notified(
    settings: Settings, db: asyncpg.Connection, tmp_path: Path
) -> None:
    community = await create_community(db)
    asker = await create_user(db, "lucia")
    helper = await create_user(db, "amara")
    for user_id in (asker, helper):
        await add_member(db, community, user_id)
    thread_id = await create_thread(db, community, asker, "Tiredness after school")
    asker_session = await create_session(db, asker)
    with web_processes(settings, tmp_path) as (first, second):
        reader = await LiveClient.connect(second.ws_url, settings.site_origin)  # an anonymous reader
        await reader.send({"type": "watch", "topic": f"thread:{thread_id}"})
        await reader.wait_for(lambda f: f["type"] == "watching")
        author = await LiveClient.connect(second.ws_url, settings.site_origin, asker_session)
        await author.send({"type": "watch", "topic": "member:me"})
        await author.wait_for(lambda f: f["type"] == "watching")

        response = await _reply(
            first.base_url, await create_session(db, helper), "test-condition", thread_id, "Rest breaks helped us."
        )
        assert response.status_code == 303
        post_id = await db.fetchval("SELECT max(id) FROM posts")
        changed = await reader.wait_for(lambda f: f["type"] == "thread", timeout=1.0)
        assert changed == {"type": "thread", "thread": thread_id, "post": post_id, "change": "new"}
        assert (await author.wait_for(lambda f: f["type"] == "notify", timeout=1.0))["count"] == 1

        # The author deletes it: the open copies are told it is gone.
        async with httpx.AsyncClient(
            base_url=second.base_url, cookies={auth.SESSION_COOKIE: await create_session(db, helper)}
        ) as http:
            page = await http.get(f"/c/test-condition/t/{thread_id}")
            deleted = await http.post(
                f"/c/test-condition/posts/{post_id}/delete", data={"csrf_token": csrf_from(page.text)}
            )
            assert deleted.status_code == 303
        await reader.wait_for(lambda f: f["type"] == "thread" and f["change"] == "remove", timeout=1.0)


async def test_a_members_only_thread_cannot_be_watched_by_outsiders(server: LiveServer, db: asyncpg.Connection) -> None:
    community = await create_community(db, "private-one", "Private", visibility="members")
    member = await create_user(db, "lucia")
    await add_member(db, community, member)
    thread_id = await create_thread(db, community, member, "Only for us")
    outsider = await LiveClient.connect(
        server.ws_url, server.base_url, await create_session(db, await create_user(db, "outsider"))
    )
    await outsider.send({"type": "watch", "topic": f"thread:{thread_id}"})
    refused = await outsider.wait_for(lambda f: f["type"] == "error")
    assert refused["code"] == "not_found"
    insider = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, member))
    await insider.send({"type": "watch", "topic": f"thread:{thread_id}"})
    assert (await insider.wait_for(lambda f: f["type"] in {"watching", "error"}))["type"] == "watching"


async def test_notifications_can_only_be_watched_by_a_signed_in_member_for_themself(
    server: LiveServer, db: asyncpg.Connection
) -> None:
    visitor = await LiveClient.connect(server.ws_url, server.base_url)
    await visitor.send({"type": "watch", "topic": "member:me"})
    assert (await visitor.wait_for(lambda f: f["type"] == "error"))["code"] == "forbidden"
    # "²" and "١" are digits to str.isdigit(): the first once made int() fail and the answer "unavailable".
    for name in ["member:12", "user:1", "test-condition/main", "thread:abc", "thread:²", "thread:١٢"]:
        start = len(visitor.frames)
        await visitor.send({"type": "watch", "topic": name})
        assert (await visitor.wait_for(lambda f: f["type"] == "error", start=start))["code"] == "not_found"


async def test_only_those_who_may_read_it_hear_of_a_members_only_reply(
    server: LiveServer, db: asyncpg.Connection
) -> None:
    community = await create_community(db)
    lucia, amara = await create_user(db, "lucia"), await create_user(db, "amara")
    for user_id in (lucia, amara):
        await add_member(db, community, user_id)
    thread_id = await create_thread(db, community, lucia, "Schools")
    visitor = await LiveClient.connect(server.ws_url, server.base_url)
    member = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, lucia))
    for socket in (visitor, member):
        await socket.send({"type": "watch", "topic": f"thread:{thread_id}"})
        await socket.wait_for(lambda f: f["type"] == "watching")
    async with httpx.AsyncClient(
        base_url=server.base_url, cookies={auth.SESSION_COOKIE: await create_session(db, amara)}
    ) as http:
        page = await http.get(f"/c/test-condition/t/{thread_id}")
        token = csrf_from(page.text)
        private = await http.post(
            f"/c/test-condition/t/{thread_id}/reply",
            data={"body": "Her school in Lyon", "audience": "members", "csrf_token": token},
        )
        assert private.status_code == 303
        private_id = await db.fetchval("SELECT max(id) FROM posts")
        await http.post(f"/c/test-condition/t/{thread_id}/reply", data={"body": "Ask the teacher", "csrf_token": token})
        public_id = await db.fetchval("SELECT max(id) FROM posts")
    # The member hears of both; the visitor, on a socket whose frames come in order, only of the public one.
    # (two topics: the two frames may come in either order)
    await member.wait_for(lambda f: f["type"] == "thread" and f["post"] == private_id)
    await member.wait_for(lambda f: f["type"] == "thread" and f["post"] == public_id)
    await visitor.wait_for(lambda f: f["type"] == "thread" and f["post"] == public_id)
    assert [f["post"] for f in visitor.frames if f["type"] == "thread"] == [public_id]
    for socket in (visitor, member):
        await socket.close()
