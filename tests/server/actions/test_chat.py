"""Sending and removing live-room messages: numbering, idempotency, authorization, slow mode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
import redis.asyncio as aioredis

from server.actions import access, chat
from server.actions.access import actor_for
from server.db.pool import create_pool
from server.db.queries import messages, rooms, users
from server.errors import AppError
from server.ratelimit import RateLimiter
from tests.factories import add_member, create_community, create_user
from tests.harness import Services


@pytest.fixture
async def limiter(services: Services, redis_prefix: str) -> AsyncIterator[RateLimiter]:
    client = aioredis.Redis.from_url(services.redis_url)
    yield RateLimiter(client, redis_prefix)
    await client.aclose()


async def _setup(db: asyncpg.Connection, role: str = "member"):
    community = await create_community(db)
    user_id = await create_user(db, "lucia")
    await add_member(db, community, user_id, role)
    user = await users.by_id(db, user_id)
    room = await rooms.in_community(db, community, None)
    assert user is not None and room is not None
    return community, user, room


async def _send(db, limiter, user, room, client_id: str, body: str = "hello") -> chat.Sent:
    actor = await actor_for(db, user, room.community_id)
    slug = await _slug(db, room)
    return await chat.do_send_message(
        db,
        limiter,
        actor,
        room,
        community_slug=slug,
        community=access.CommunityState("active", "public"),
        client_msg_id=client_id,
        body=body,
    )


async def _slug(db, room) -> str:
    slug: str = await db.fetchval("SELECT slug FROM communities WHERE id = $1", room.community_id)
    return slug


async def test_messages_get_gap_free_sequence_numbers(db: asyncpg.Connection, limiter: RateLimiter) -> None:
    _, user, room = await _setup(db)
    sent = [await _send(db, limiter, user, room, f"c{i}") for i in range(5)]
    assert [s.message.seq for s in sent] == [1, 2, 3, 4, 5]
    assert all(s.epoch == room.epoch for s in sent)


async def test_the_same_client_id_twice_makes_one_message_and_the_same_ack(
    db: asyncpg.Connection, limiter: RateLimiter
) -> None:
    _, user, room = await _setup(db)
    first = await _send(db, limiter, user, room, "same-id", "hi")
    again = await _send(db, limiter, user, room, "same-id", "hi")
    assert again.duplicate and not first.duplicate
    assert again.message.seq == first.message.seq and again.message.id == first.message.id
    assert await db.fetchval("SELECT count(*) FROM room_messages") == 1


async def test_concurrent_retries_through_separate_connections_make_one_message(
    database_url: str, db: asyncpg.Connection, limiter: RateLimiter
) -> None:
    _, user, room = await _setup(db)
    pool = await create_pool(database_url, min_size=4, max_size=4)
    try:

        async def attempt() -> chat.Sent:
            async with pool.acquire() as connection:
                return await _send(connection, limiter, user, room, "raced", "only once")

        results = await asyncio.gather(*[attempt() for _ in range(4)])
    finally:
        await pool.close()
    assert {r.message.id for r in results} == {results[0].message.id}
    assert sum(not r.duplicate for r in results) == 1
    assert await db.fetchval("SELECT count(*) FROM room_messages") == 1
    assert await db.fetchval("SELECT last_seq FROM rooms WHERE id = $1", room.id) == 1


async def test_concurrent_senders_never_share_or_skip_a_sequence_number(
    database_url: str, db: asyncpg.Connection, limiter: RateLimiter
) -> None:
    community, _, room = await _setup(db)
    senders = []
    for index in range(4):
        user_id = await create_user(db, f"sender{index}")
        await add_member(db, community, user_id)
        senders.append(await users.by_id(db, user_id))
    pool = await create_pool(database_url, min_size=4, max_size=4)
    try:

        async def burst(user) -> None:
            for number in range(5):
                async with pool.acquire() as connection:
                    await _send(connection, limiter, user, room, f"{user.username}-{number}")

        await asyncio.gather(*[burst(user) for user in senders])
    finally:
        await pool.close()
    seqs = [row["seq"] for row in await db.fetch("SELECT seq FROM room_messages ORDER BY seq")]
    assert seqs == list(range(1, 21))


@pytest.mark.parametrize("body", ["", "   ", "x" * 4001])
async def test_empty_or_oversized_messages_are_refused(db: asyncpg.Connection, limiter: RateLimiter, body: str) -> None:
    _, user, room = await _setup(db)
    with pytest.raises(AppError) as refused:
        await _send(db, limiter, user, room, "c1", body)
    assert refused.value.code in {"bad_request", "too_large"}
    assert await db.fetchval("SELECT count(*) FROM room_messages") == 0


@pytest.mark.parametrize(("client_id", "body"), [("c1", "hello\x00world"), ("c\x001", "hello")])
async def test_a_nul_character_is_refused_as_bad_input_not_as_a_database_failure(
    db: asyncpg.Connection, limiter: RateLimiter, client_id: str, body: str
) -> None:
    _, user, room = await _setup(db)
    with pytest.raises(AppError) as refused:
        await _send(db, limiter, user, room, client_id, body)
    assert refused.value.code == "bad_request" and "U+0000" in refused.value.message
    assert await db.fetchval("SELECT count(*) FROM room_messages") == 0


async def test_non_members_and_anonymous_visitors_cannot_send(db: asyncpg.Connection, limiter: RateLimiter) -> None:
    community, _, room = await _setup(db)
    outsider = await users.by_id(db, await create_user(db, "outsider"))
    with pytest.raises(AppError) as refused:
        await _send(db, limiter, outsider, room, "c1")
    assert refused.value.status == 403
    anonymous = await actor_for(db, None, community)
    with pytest.raises(AppError) as unauthenticated:
        await chat.do_send_message(
            db,
            limiter,
            anonymous,
            room,
            community_slug=await _slug(db, room),
            community=access.CommunityState("active", "public"),
            client_msg_id="c2",
            body="hi",
        )
    assert unauthenticated.value.status == 401
    assert await db.fetchval("SELECT count(*) FROM room_messages") == 0


async def test_a_muted_member_is_told_the_reason_and_end_time(db: asyncpg.Connection, limiter: RateLimiter) -> None:
    community, user, room = await _setup(db)
    ends = datetime.now(UTC) + timedelta(minutes=30)
    await db.execute(
        "INSERT INTO sanctions (community_id, user_id, kind, reason, ends_at) VALUES ($1, $2, 'mute', 'Please cool down', $3)",
        community,
        user.id,
        ends,
    )
    with pytest.raises(AppError) as refused:
        await _send(db, limiter, user, room, "c1")
    assert refused.value.code == "muted"
    assert "Please cool down" in refused.value.message and "until" in refused.value.message
    # Once the mute has expired, sending works again without anyone acting.
    await db.execute("UPDATE sanctions SET ends_at = now() - interval '1 second'")
    assert (await _send(db, limiter, user, room, "c2")).message.seq == 1


async def test_a_banned_member_cannot_send(db: asyncpg.Connection, limiter: RateLimiter) -> None:
    community, user, room = await _setup(db)
    await db.execute(
        "INSERT INTO sanctions (community_id, user_id, kind, reason) VALUES ($1, $2, 'ban', 'spam')", community, user.id
    )
    with pytest.raises(AppError) as refused:
        await _send(db, limiter, user, room, "c1")
    assert refused.value.code == "banned"
    assert await db.fetchval("SELECT count(*) FROM room_messages") == 0


async def test_slow_mode_holds_members_back_but_not_leaders(db: asyncpg.Connection, limiter: RateLimiter) -> None:
    community, user, room = await _setup(db)
    await rooms.set_slow_mode(db, room.id, 60)
    room = await rooms.by_id(db, room.id)
    assert room is not None
    await _send(db, limiter, user, room, "c1")
    with pytest.raises(AppError) as refused:
        await _send(db, limiter, user, room, "c2")
    assert refused.value.code == "slow_mode" and "seconds" in refused.value.message
    leader = await users.by_id(db, await create_user(db, "amara"))
    await add_member(db, community, leader.id, "leader")
    await _send(db, limiter, leader, room, "l1")
    await _send(db, limiter, leader, room, "l2")
    assert await db.fetchval("SELECT count(*) FROM room_messages") == 3


async def test_only_leaders_remove_and_members_stop_seeing_removed_messages(
    db: asyncpg.Connection, limiter: RateLimiter
) -> None:
    community, user, room = await _setup(db)
    await _send(db, limiter, user, room, "c1", "keep")
    await _send(db, limiter, user, room, "c2", "remove me")
    other_community = await create_community(db, "other-condition", "Other")
    other_leader = await users.by_id(db, await create_user(db, "elsewhere"))
    await add_member(db, other_community, other_leader.id, "leader")
    member = await users.by_id(db, await create_user(db, "member2"))
    await add_member(db, community, member.id)
    for refused_user in [user, member, other_leader]:
        with pytest.raises(AppError) as refused:
            await chat.do_remove_message(
                db,
                await actor_for(db, refused_user, community),
                room,
                community_slug=await _slug(db, room),
                seq=2,
                reason="x",
            )
        assert refused.value.status == 403
    assert await db.fetchval("SELECT state FROM room_messages WHERE seq = 2") == "visible"

    leader = await users.by_id(db, await create_user(db, "amara"))
    await add_member(db, community, leader.id, "leader")
    await chat.do_remove_message(
        db,
        await actor_for(db, leader, community),
        room,
        community_slug=await _slug(db, room),
        seq=2,
        reason="Private information",
    )
    seen_by_member = await messages.after(db, room.id, 0, viewer_id=member.id, include_removed=False, limit=50)
    seen_by_leader = await messages.after(db, room.id, 0, viewer_id=leader.id, include_removed=True, limit=50)
    assert [m.seq for m in seen_by_member] == [1]
    assert [(m.seq, m.state, m.state_reason) for m in seen_by_leader][1] == (2, "hidden", "Private information")
    assert await db.fetchval("SELECT action FROM moderation_actions") == "remove_message"
    # Its author is told privately, with the reason, once even if a leader removes it again.
    await chat.do_remove_message(
        db,
        await actor_for(db, leader, community),
        room,
        community_slug=await _slug(db, room),
        seq=2,
        reason="Private information",
    )
    told = await db.fetch("SELECT user_id, kind, data FROM notifications")
    assert [(row["user_id"], row["kind"]) for row in told] == [(user.id, "moderation")]
    assert "Private information" in str(told[0]["data"])


async def test_nobody_sends_in_an_archived_communitys_room_not_even_a_site_admin(
    db: asyncpg.Connection, limiter: RateLimiter
) -> None:
    community, _user, room = await _setup(db)
    await db.execute("UPDATE communities SET status = 'archived' WHERE id = $1", community)
    admin = await users.by_id(db, await create_user(db, "siteadmin", admin=True))
    with pytest.raises(AppError) as refused:
        await chat.do_send_message(
            db,
            limiter,
            await actor_for(db, admin, community),
            room,
            community_slug=await _slug(db, room),
            community=access.CommunityState("archived", "public"),
            client_msg_id="c1",
            body="hello",
        )
    assert refused.value.status == 409
    assert await db.fetchval("SELECT count(*) FROM room_messages") == 0
