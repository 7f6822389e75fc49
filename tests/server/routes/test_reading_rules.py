"""Who may read a community: introductions and live rooms start members-only; leaders change it, audited, at once."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx
import pytest

from server import auth
from server.actions import events
from server.actions import notifications as notify
from server.settings import Settings
from tests.factories import add_member, create_cast, create_session, create_thread, csrf_from, login
from tests.harness import LiveServer, web_processes
from tests.live_client import LiveClient

SLUG = "test-condition"


async def test_introductions_and_live_rooms_start_members_only_in_a_public_community(
    client: httpx.AsyncClient, server: LiveServer, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    discussion = await create_thread(db, cast["community"], cast["member"], "Night-time breathing")
    introduction = await create_thread(
        db, cast["community"], cast["member"], "My son, 4, DOK7, Lyon", kind="introduction"
    )
    # A visitor reads the discussion, but not the introduction: not listed, not found, not in the forum list.
    assert (await client.get(f"/c/{SLUG}/t/{discussion}")).status_code == 200
    assert (await client.get(f"/c/{SLUG}/t/{introduction}")).status_code == 404
    assert "DOK7" not in (await client.get(f"/c/{SLUG}/introductions")).text
    assert "DOK7" not in (await client.get(f"/c/{SLUG}/forum")).text
    assert (await client.get(f"/c/{SLUG}/live")).status_code == 404
    visitor = await LiveClient.connect(server.ws_url, server.base_url)
    refused = await visitor.join(f"{SLUG}/main")
    assert refused["type"] == "error" and refused["code"] == "not_found"
    # A member reads both, and joins the room.
    await login(client, "member")
    assert (await client.get(f"/c/{SLUG}/t/{introduction}")).status_code == 200
    assert "DOK7" in (await client.get(f"/c/{SLUG}/introductions")).text
    member = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, cast["member"]))
    assert (await member.join(f"{SLUG}/main"))["type"] == "joined"
    for socket in (visitor, member):
        await socket.close()


async def test_a_leader_sets_who_can_read_and_it_is_audited(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    introduction = await create_thread(db, cast["community"], cast["member"], "Our story", kind="introduction")
    token = await login(client, "leader")
    page = await client.get(f"/c/{SLUG}/reading")
    assert page.status_code == 200 and 'name="visibility"' in page.text
    saved = await client.post(
        f"/c/{SLUG}/reading",
        data={"visibility": "public", "introductions_open": "on", "rooms_open": "on", "csrf_token": token},
    )
    assert saved.status_code == 303
    row = await db.fetchrow("SELECT visibility, introductions_open, rooms_open FROM communities WHERE slug = $1", SLUG)
    assert row is not None and tuple(row) == ("public", True, True)
    audit = await db.fetchrow("SELECT action, details FROM moderation_actions ORDER BY id DESC LIMIT 1")
    assert audit["action"] == "reading_rules" and audit["details"]["introductions_open"] is True
    assert audit["details"]["before"] == {"visibility": "public", "introductions_open": False, "rooms_open": False}
    async with httpx.AsyncClient(base_url=str(client.base_url)) as visitor:
        assert (await visitor.get(f"/c/{SLUG}/t/{introduction}")).status_code == 200

    # Members only: threads close to visitors, and the open introductions and rooms close with them.
    saved = await client.post(
        f"/c/{SLUG}/reading", data={"visibility": "members", "rooms_open": "on", "csrf_token": token}
    )
    assert saved.status_code == 303
    row = await db.fetchrow("SELECT visibility, introductions_open, rooms_open FROM communities WHERE slug = $1", SLUG)
    assert row is not None and tuple(row) == ("members", False, False)
    async with httpx.AsyncClient(base_url=str(client.base_url)) as visitor:
        assert (await visitor.get(f"/c/{SLUG}/t/{introduction}")).status_code == 404
        assert "Members only" in (await visitor.get(f"/c/{SLUG}")).text


async def test_a_bad_choice_comes_back_with_the_reason_and_changes_nothing(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    token = await login(client, "leader")
    refused = await client.post(f"/c/{SLUG}/reading", data={"visibility": "everyone-ish", "csrf_token": token})
    assert refused.status_code == 400 and "Choose who can read" in refused.text
    assert await db.fetchval("SELECT visibility FROM communities WHERE slug = $1", SLUG) == "public"
    assert await db.fetchval("SELECT count(*) FROM moderation_actions") == 0


async def test_the_api_sets_who_can_read_for_leaders_only(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    for role, expected in (("member", 403), ("leader", 200)):
        async with httpx.AsyncClient(
            base_url=str(client.base_url), cookies={auth.SESSION_COOKIE: await create_session(db, cast[role])}
        ) as http:
            token = (await http.get("/api/v1/session")).json()["csrf_token"]
            response = await http.put(
                f"/api/v1/communities/{SLUG}/reading",
                json={"visibility": "public", "rooms_open": True},
                headers={"x-csrf-token": token},
            )
            assert response.status_code == expected, response.text
    assert response.json() == {"visibility": "public", "introductions_open": False, "rooms_open": True}
    listed = (await client.get(f"/api/v1/communities/{SLUG}")).json()["community"]["reading"]
    assert listed == {"visibility": "public", "introductions_open": False, "rooms_open": True}


@pytest.mark.slow
async def test_closing_the_rooms_takes_effect_at_once_on_every_process(
    settings: Settings, db: asyncpg.Connection, tmp_path: Path
) -> None:
    cast = await create_cast(db)
    await db.execute("UPDATE communities SET rooms_open = true WHERE id = $1", cast["community"])
    outsider = await create_session(db, cast["outsider"])
    member = await create_session(db, cast["member"])
    leader = await create_session(db, cast["leader"])
    with web_processes(settings, tmp_path) as (first, second):
        sockets = {
            "visitor": await LiveClient.connect(second.ws_url, settings.site_origin),
            "outsider": await LiveClient.connect(second.ws_url, settings.site_origin, outsider),
            "member": await LiveClient.connect(second.ws_url, settings.site_origin, member),
        }
        for socket in sockets.values():
            assert (await socket.join(f"{SLUG}/main"))["type"] == "joined"

        async with httpx.AsyncClient(base_url=first.base_url, cookies={auth.SESSION_COOKIE: leader}) as http:
            token = csrf_from((await http.get(f"/c/{SLUG}/reading")).text)
            closed = await http.post(f"/c/{SLUG}/reading", data={"visibility": "public", "csrf_token": token})
            assert closed.status_code == 303

        # Every socket in the room, on the other process, is told to resume; joining again applies the new rules.
        for name, socket in sockets.items():
            assert await socket.wait_closed() == 4008, name
        again = {
            "visitor": await LiveClient.connect(second.ws_url, settings.site_origin),
            "outsider": await LiveClient.connect(second.ws_url, settings.site_origin, outsider),
            "member": await LiveClient.connect(second.ws_url, settings.site_origin, member),
        }
        answers = {name: (await socket.join(f"{SLUG}/main"))["type"] for name, socket in again.items()}
        assert answers == {"visitor": "error", "outsider": "error", "member": "joined"}
        for socket in again.values():
            await socket.close()


async def test_an_introduction_notification_reaches_only_those_who_may_read_it(db: asyncpg.Connection) -> None:
    # The notification query follows the thread's kind (server/db/queries/access.py: forum_readable_by).
    cast = await create_cast(db)
    outsider_mentioned = cast["outsider"]
    await add_member(db, cast["other_community"], outsider_mentioned)

    thread = await create_thread(db, cast["community"], cast["member"], "Hello", kind="introduction")
    async with events.unit_of_work(db):
        created = await notify.create(
            db,
            [(cast["outsider"], "mention"), (cast["leader"], "mention")],
            community_id=cast["community"],
            thread_id=thread,
            post_id=None,
            actor_id=cast["member"],
        )
    assert [row.user_id for row in created] == [cast["leader"]]
