"""What the room page tells a member before they send: the slow-mode wait left and the usual review time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
import redis.asyncio as aioredis

from server.actions import access, chat
from server.actions import rooms as room_actions
from server.actions.access import actor_for
from server.db.queries import rooms, users
from server.i18n import set_request_locale
from server.ratelimit import RateLimiter
from tests.factories import add_member, create_community, create_user
from tests.harness import Services


@pytest.fixture
async def limiter(services: Services, redis_prefix: str) -> AsyncIterator[RateLimiter]:
    client = aioredis.Redis.from_url(services.redis_url)
    yield RateLimiter(client, redis_prefix)
    await client.aclose()


async def test_the_slow_mode_wait_is_what_the_server_will_enforce_and_nothing_for_leaders(
    db: asyncpg.Connection, limiter: RateLimiter
) -> None:
    community = await create_community(db)
    member_id, leader_id = await create_user(db, "lucia"), await create_user(db, "amara")
    await add_member(db, community, member_id)
    await add_member(db, community, leader_id, "leader")
    await db.execute("UPDATE rooms SET slow_mode_seconds = 120 WHERE community_id = $1", community)
    room = await rooms.in_community(db, community, None)
    member, leader = await users.by_id(db, member_id), await users.by_id(db, leader_id)
    assert room is not None and member is not None and leader is not None
    actor = await actor_for(db, member, community)
    assert await chat.slow_mode_wait(limiter, room, actor) == 0
    await chat.do_send_message(
        db,
        limiter,
        actor,
        room,
        community_slug="test-condition",
        community=access.CommunityState("active", "public"),
        client_msg_id="c1",
        body="hello",
    )
    assert 0 < await chat.slow_mode_wait(limiter, room, actor) <= 120
    assert await chat.slow_mode_wait(limiter, room, await actor_for(db, leader, community)) == 0


async def test_the_review_note_is_the_median_of_recent_decisions_or_a_plain_estimate(db: asyncpg.Connection) -> None:
    set_request_locale("en", "UTC")
    community = await create_community(db)
    leader_id, newcomer_id = await create_user(db, "amara"), await create_user(db, "noor")
    await add_member(db, community, leader_id, "leader")
    await add_member(db, community, newcomer_id, approved_posts=0)
    newcomer = await users.by_id(db, newcomer_id)
    actor = await actor_for(db, newcomer, community)
    assert actor.standing.needs_review
    assert (
        await room_actions.review_note(db, actor) == "Leaders review first messages by hand; it can take a few hours."
    )
    thread = await db.fetchval(
        "INSERT INTO threads (community_id, author_id, title) VALUES ($1, $2, 'Hi') RETURNING id", community, leader_id
    )
    for hours in (1, 2, 30):
        post = await db.fetchval(
            """INSERT INTO posts (thread_id, author_id, body_md, created_at)
               VALUES ($1, $2, 'hello', now() - make_interval(hours => $3)) RETURNING id""",
            thread,
            newcomer_id,
            hours,
        )
        await db.execute(
            """INSERT INTO moderation_actions (community_id, actor_id, action, target_user_id, target_kind, target_id)
               VALUES ($1, $2, 'approve_post', $3, 'post', $4)""",
            community,
            leader_id,
            newcomer_id,
            post,
        )
    assert await room_actions.review_note(db, actor) == "Leaders usually review first messages within about 2 hours."
