"""Thread domain rules: cursors, who may read a forum, starting threads and the post rate limit."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest
import redis.asyncio as aioredis

from server.actions import threads
from server.actions.access import ANONYMOUS, actor_for
from server.db.queries import communities, memberships, users
from server.db.queries.threads import ThreadRow
from server.errors import AppError
from server.ratelimit import POSTS_PER_USER, RateLimiter
from tests.factories import create_cast, create_post, create_thread
from tests.harness import Services


def _row(pinned: bool, when: datetime, ident: int) -> ThreadRow:
    return ThreadRow(ident, "discussion", "t", pinned, False, 0, None, when, when, "u", "U")


def test_a_cursor_round_trips_and_is_opaque() -> None:
    when = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    cursor = threads.encode_cursor(_row(True, when, 42))
    assert "2026" not in cursor
    decoded = threads.decode_cursor(cursor)
    assert (decoded.pinned, decoded.last_activity_at, decoded.id) == (True, when, 42)


@pytest.mark.parametrize("forged", ["", "x", "bm9wZQ", "Mn4yMDI2LTAzLTAxVDEyOjMwOjE1KzAwOjAwfjQy", "A" * 201])
def test_a_forged_cursor_is_a_bad_request(forged: str) -> None:
    with pytest.raises(AppError) as refused:
        threads.decode_cursor(forged)
    assert refused.value.status == 400


async def _place(db: asyncpg.Connection, username: str | None) -> threads.Place:
    community = await communities.by_slug(db, "test-condition")
    assert community is not None
    user = await users.by_username(db, username) if username else None
    return threads.Place(community, await actor_for(db, user, community.id))


async def test_who_may_read_a_members_only_forum(db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    await db.execute("UPDATE communities SET visibility = 'members' WHERE id = $1", cast["community"])
    readers = {
        name: (await _place(db, name)).can_read
        for name in ["member", "leader", "muted", "siteadmin", "banned", "outsider", None]
    }
    assert readers == {
        "member": True, "leader": True, "muted": True, "siteadmin": True,
        "banned": False, "outsider": False, None: False,
    }  # fmt: skip
    await db.execute("UPDATE communities SET visibility = 'public' WHERE id = $1", cast["community"])
    assert (await _place(db, None)).can_read and (await _place(db, "banned")).can_read


async def test_a_proposed_community_has_no_forum(db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    await db.execute("UPDATE communities SET status = 'proposed' WHERE id = $1", cast["community"])
    with pytest.raises(AppError) as missing:
        await threads.open_community(db, None, "test-condition")
    assert missing.value.status == 404


async def test_a_thread_or_forum_opened_with_the_reader_has_the_standing_the_standing_query_gives(
    db: asyncpg.Connection,
) -> None:
    """open_thread and open_community fetch the reader's standing inside their own query: the same answer."""
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    await db.execute(
        "UPDATE memberships SET approved_posts = 5 WHERE community_id = $1 AND user_id = $2",
        cast["community"],
        cast["member"],
    )
    for name in ["member", "leader", "muted", "siteadmin", "banned", "outsider", None]:
        user = await users.by_username(db, name) if name else None
        expected = await memberships.standing(db, cast["community"], user.id) if user else ANONYMOUS
        place, _thread = await threads.open_thread(db, user, thread, "test-condition")
        assert place.actor.standing == expected, name
        assert (await threads.open_community(db, user, "test-condition")).actor.standing == expected, name


async def test_starting_a_thread_stores_it_with_its_first_post(db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    place = await _place(db, "member")
    started = await threads.do_create_thread(db, None, place, title=" Hello ", body=" Text ", kind="question")
    row = await db.fetchrow("SELECT title, kind, author_id FROM threads WHERE id = $1", started.thread_id)
    assert row is not None and dict(row) == {"title": "Hello", "kind": "question", "author_id": cast["member"]}
    assert await db.fetchval("SELECT body_md FROM posts WHERE id = $1", started.post_id) == "Text"


async def test_posting_too_fast_is_refused_across_processes(
    db: asyncpg.Connection, services: Services, redis_prefix: str
) -> None:
    await create_cast(db)
    place = await _place(db, "member")
    client = aioredis.Redis.from_url(services.redis_url)
    try:
        limiter = RateLimiter(client, redis_prefix)
        for number in range(POSTS_PER_USER.count):
            await threads.do_create_thread(db, limiter, place, title=f"T{number}", body="b")
        with pytest.raises(AppError) as refused:
            await threads.do_create_thread(db, limiter, place, title="One too many", body="b")
        assert refused.value.status == 429
    finally:
        await client.aclose()
    assert await db.fetchval("SELECT count(*) FROM threads") == POSTS_PER_USER.count


async def test_rows_are_built_from_columns_of_the_same_names(db: asyncpg.Connection) -> None:
    """Thread rows and post views are built positionally: each field must get the column of its name."""
    cast = await create_cast(db)
    await db.execute("UPDATE users SET is_expert = true WHERE id = $1", cast["leader"])
    thread = await create_thread(db, cast["community"], cast["leader"], "Named", "Opening words")
    first = await db.fetchval("SELECT id FROM posts WHERE thread_id = $1", thread)
    reply = await create_post(db, thread, cast["member"], "A reply", reply_to_post_id=first)
    await db.execute("INSERT INTO reactions (post_id, user_id, kind) VALUES ($1, $2, 'thanks')", reply, cast["leader"])
    place = await _place(db, "leader")
    listing = await threads.list_threads(db, place)
    row = listing.rows[0]
    assert (row.id, row.kind, row.title, row.reply_count, row.author_username, row.author_display_name) == (
        thread,
        "discussion",
        "Named",
        1,
        "leader",
        "Leader",
    )
    view = await threads.view_thread(db, place.actor.user, thread)
    opening, answer = view.posts
    assert (opening.author_username, opening.author_is_leader, opening.author_is_expert, opening.body_md) == (
        "leader",
        True,
        True,
        "Opening words",
    )
    assert (answer.id, answer.author_id, answer.author_display_name, answer.state) == (
        reply,
        cast["member"],
        "Member",
        "visible",
    )
    assert (answer.reply_to_post_id, answer.quote_author, answer.quote_excerpt) == (first, "Leader", "Opening words")
    assert (answer.helped_count, answer.thanks_count, answer.thanks_by, answer.my_reaction, answer.revision_count) == (
        0,
        1,
        ["Leader"],
        "thanks",
        0,
    )
