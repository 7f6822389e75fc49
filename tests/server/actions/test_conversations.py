"""Private conversations as actions: who may read and write, the export of one's own words, account deletion."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
import redis.asyncio as aioredis

from server.actions import conversations, profiles
from server.db.queries import users
from server.db.queries.users import User
from server.errors import AppError
from server.ratelimit import RateLimiter
from tests.factories import add_member, add_sanction, create_community, create_conversation, create_user
from tests.harness import Services


async def _user(db: asyncpg.Connection, user_id: int) -> User:
    found = await users.by_id(db, user_id)
    assert found is not None
    return found


async def _conversation(db: asyncpg.Connection) -> dict[str, int]:
    community = await create_community(db)
    ids = {"community": community, "ana": await create_user(db, "ana"), "ben": await create_user(db, "ben")}
    for name in ("ana", "ben"):
        await add_member(db, community, ids[name])
    ids["conversation"] = await create_conversation(db, community, ids["ana"], ids["ben"])
    return ids


@pytest.fixture
async def limiter(services: Services, redis_prefix: str) -> AsyncIterator[RateLimiter]:
    client = aioredis.Redis.from_url(services.redis_url)
    yield RateLimiter(client, redis_prefix)
    await client.aclose()


async def test_a_participant_banned_from_the_community_can_no_longer_read_or_write(
    db: asyncpg.Connection, limiter: RateLimiter
) -> None:
    ids = await _conversation(db)
    await add_sanction(db, ids["community"], ids["ben"], "ban", reason="spam")
    ben = await _user(db, ids["ben"])
    for attempt in (
        conversations.open_conversation(db, ben, ids["conversation"]),
        conversations.do_send(db, limiter, ben, ids["conversation"], client_msg_id="c1", body="hi"),
    ):
        with pytest.raises(AppError) as refused:
            await attempt
        assert refused.value.status == 404
    assert await db.fetchval("SELECT count(*) FROM conversation_messages") == 0


async def test_a_muted_participant_reads_but_does_not_write(db: asyncpg.Connection, limiter: RateLimiter) -> None:
    ids = await _conversation(db)
    await add_sanction(db, ids["community"], ids["ben"], "mute", reason="heated")
    ben = await _user(db, ids["ben"])
    assert (await conversations.open_conversation(db, ben, ids["conversation"])).conversation.id == ids["conversation"]
    with pytest.raises(AppError) as refused:
        await conversations.do_send(db, limiter, ben, ids["conversation"], client_msg_id="c1", body="hi")
    assert refused.value.code == "muted"


async def test_the_export_holds_ones_own_words_and_facts_never_the_other_participants(
    db: asyncpg.Connection, limiter: RateLimiter
) -> None:
    ids = await _conversation(db)
    ana, ben = await _user(db, ids["ana"]), await _user(db, ids["ben"])
    await db.execute(
        "INSERT INTO family_facts (community_id, user_id, gene) VALUES ($1, $2, 'DOK7')", ids["community"], ana.id
    )
    await conversations.do_send(db, limiter, ana, ids["conversation"], client_msg_id="a", body="mine")
    await conversations.do_send(db, limiter, ben, ids["conversation"], client_msg_id="b", body="theirs")

    export = await profiles.export_data(db, ana)

    assert [m["body"] for m in export["conversation_messages"]] == ["mine"]
    assert [f["gene"] for f in export["family_facts"]] == ["DOK7"]
    assert [(c["status"], c["asked_by_me"]) for c in export["family_connections"]] == [("accepted", True)]


async def test_deleting_an_account_ends_its_conversations(db: asyncpg.Connection) -> None:
    ids = await _conversation(db)
    await profiles.do_delete_account(db, await _user(db, ids["ana"]), confirmation="ana")
    assert await db.fetchval("SELECT status FROM family_connections") == "ended"
    with pytest.raises(AppError) as gone:
        await conversations.open_conversation(db, await _user(db, ids["ben"]), ids["conversation"])
    assert gone.value.status == 404


async def test_a_report_needs_a_reason_and_only_site_admins_read_it(db: asyncpg.Connection) -> None:
    ids = await _conversation(db)
    ana = await _user(db, ids["ana"])
    with pytest.raises(AppError) as empty:
        await conversations.do_report(db, ana, ids["conversation"], "   ")
    assert (empty.value.status, empty.value.field) == (400, "reason")
    report = await conversations.do_report(db, ana, ids["conversation"], "Unkind")
    with pytest.raises(AppError) as refused:
        await conversations.report_for_admins(db, ana, report)
    assert refused.value.status == 403
    admin = await _user(db, await create_user(db, "root", admin=True))
    assert (await conversations.report_for_admins(db, admin, report)).report.reason == "Unkind"


async def test_a_participant_may_still_report_a_conversation_after_blocking_and_nobody_else_ever(
    db: asyncpg.Connection, limiter: RateLimiter
) -> None:
    ids = await _conversation(db)
    ana, ben = await _user(db, ids["ana"]), await _user(db, ids["ben"])
    await conversations.do_send(db, limiter, ben, ids["conversation"], client_msg_id="c1", body="Send me money")
    await conversations.do_block(db, ana, ids["conversation"])
    with pytest.raises(AppError) as ended:
        await conversations.open_conversation(db, ana, ids["conversation"])
    assert ended.value.status == 404  # nobody reads or writes an ended conversation...
    assert [c.id for c in await conversations.mine(db, ana, ended=True)] == [ids["conversation"]]
    # ...but it can still be reported.
    report = await conversations.do_report(db, ana, ids["conversation"], "He asked for money")
    admin = await _user(db, await create_user(db, "root", admin=True))
    view = await conversations.report_for_admins(db, admin, report)
    assert [m.body for m in view.messages] == ["Send me money"]
    leader = await create_user(db, "leila")
    await add_member(db, ids["community"], leader, "leader")
    for outsider in (admin, await _user(db, leader), None):
        with pytest.raises(AppError) as refused:
            await conversations.do_report(db, outsider, ids["conversation"], "curious")
        assert refused.value.status in (401, 404)
    assert await db.fetchval("SELECT count(*) FROM conversation_reports") == 1


async def test_a_read_frame_reads_up_to_its_seq_never_back_never_past_the_head_and_only_for_participants(
    db: asyncpg.Connection, limiter: RateLimiter
) -> None:
    ids = await _conversation(db)
    ana, ben = await _user(db, ids["ana"]), await _user(db, ids["ben"])
    for number in range(3):
        await conversations.do_send(db, limiter, ben, ids["conversation"], client_msg_id=f"c{number}", body="hi")

    async def unread() -> int:
        return (await conversations.mine(db, ana))[0].unread

    assert await unread() == 3
    await conversations.do_mark_read(db, ana, ids["conversation"], 2)
    assert await unread() == 1
    await conversations.do_mark_read(db, ana, ids["conversation"], 1)
    assert await unread() == 1
    await conversations.do_mark_read(db, ana, ids["conversation"], 99)
    await conversations.do_send(db, limiter, ben, ids["conversation"], client_msg_id="c4", body="still there?")
    assert await unread() == 1
    opened = await conversations.open_conversation(db, ana, ids["conversation"])
    await conversations.history(db, opened)  # the conversation's page
    assert await unread() == 0
    outsider = await _user(db, await create_user(db, "olga"))
    with pytest.raises(AppError) as refused:
        await conversations.do_mark_read(db, outsider, ids["conversation"], 4)
    assert refused.value.status == 404
