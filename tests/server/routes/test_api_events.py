"""Writes through the JSON API emit the same live events as the pages: open thread pages and badges on
another process follow replies, edits, reactions, deletions, new threads and moderation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from server import auth
from server.settings import Settings
from tests.factories import add_member, create_community, create_session, create_thread, create_user
from tests.harness import web_processes
from tests.live_client import LiveClient


async def _api(base_url: str, session: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    async with httpx.AsyncClient(base_url=base_url, cookies={auth.SESSION_COOKIE: session}) as http:
        token = (await http.get("/api/v1/session")).json()["csrf_token"]
        response = await http.request(method, path, json=body, headers={"x-csrf-token": token})
        assert response.status_code < 300, response.text
        return response.json()


@pytest.mark.slow
async def test_api_writes_reach_open_thread_pages_and_badges_on_another_process(
    settings: Settings, db: asyncpg.Connection, tmp_path: Path
) -> None:
    community = await create_community(db)
    asker, helper, leader = [await create_user(db, name) for name in ("lucia", "amara", "noor")]
    for user_id, role in ((asker, "member"), (helper, "member"), (leader, "leader")):
        await add_member(db, community, user_id, role)
    thread_id = await create_thread(db, community, asker, "Tiredness after school")
    asker_session, helper_session, leader_session = [await create_session(db, u) for u in (asker, helper, leader)]

    with web_processes(settings, tmp_path) as (first, second):
        reader = await LiveClient.connect(second.ws_url, settings.site_origin)  # an anonymous open thread page
        await reader.send({"type": "watch", "topic": f"thread:{thread_id}"})
        await reader.wait_for(lambda f: f["type"] == "watching")
        badges: dict[str, LiveClient] = {}
        for name, session in (("asker", asker_session), ("helper", helper_session)):
            badges[name] = await LiveClient.connect(second.ws_url, settings.site_origin, session)
            await badges[name].send({"type": "watch", "topic": "member:me"})
            await badges[name].wait_for(lambda f: f["type"] == "watching")

        async def thread_change(change: str, post_id: int) -> None:
            expected = {"type": "thread", "thread": thread_id, "post": post_id, "change": change}
            await reader.wait_for(lambda f: f == expected)

        def notified(name: str) -> int:
            return sum(frame["count"] for frame in badges[name].frames if frame["type"] == "notify")

        # A reply: the open page shows it, and the asker's badge counts one.
        reply = await _api(
            first.base_url, helper_session, "POST", f"/api/v1/threads/{thread_id}/posts", {"body": "Rest breaks."}
        )
        post_id = reply["post_id"]
        await thread_change("new", post_id)
        await badges["asker"].wait_for(lambda f: f["type"] == "notify")
        assert notified("asker") == 1

        # An edit by its author, then a reaction from the asker.
        await _api(first.base_url, helper_session, "PATCH", f"/api/v1/posts/{post_id}", {"body": "Rest breaks help."})
        await reader.wait_for(lambda f: f.get("change") == "edit" and f.get("post") == post_id)
        edits = len([f for f in reader.frames if f.get("change") == "edit"])
        await _api(first.base_url, asker_session, "POST", f"/api/v1/posts/{post_id}/reaction", {"kind": "thanks"})
        await reader.wait_for(lambda f: len([g for g in reader.frames if g.get("change") == "edit"]) > edits)

        # A leader hides it through the API: it leaves the open page, and its author is told.
        await _api(first.base_url, leader_session, "POST", f"/api/v1/posts/{post_id}/hide", {"reason": "Private"})
        await reader.wait_for(lambda f: f.get("change") == "remove" and f.get("post") == post_id)
        await badges["helper"].wait_for(lambda f: f["type"] == "notify")

        # A second reply, deleted by its author through the API.
        second_reply = await _api(
            first.base_url, helper_session, "POST", f"/api/v1/threads/{thread_id}/posts", {"body": "Also naps."}
        )
        await _api(first.base_url, helper_session, "DELETE", f"/api/v1/posts/{second_reply['post_id']}")
        await reader.wait_for(lambda f: f.get("change") == "remove" and f.get("post") == second_reply["post_id"])

        # A new thread that mentions the asker: her badge counts it.
        before = notified("asker")
        await _api(
            first.base_url,
            helper_session,
            "POST",
            "/api/v1/communities/test-condition/threads",
            {"title": "Swimming lessons", "body": "@lucia did swimming help your son?"},
        )
        await badges["asker"].wait_for(lambda f: notified("asker") > before)
        for client in (reader, *badges.values()):
            await client.close()
