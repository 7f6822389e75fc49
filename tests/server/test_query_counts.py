"""Pages cost a fixed, small number of queries: never one per post or per row (counted with asyncpg's query logger)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest

from server.db.pool import KindredConnection, _init_connection
from tests.factories import add_member, create_cast, create_post, create_session, create_thread, create_user, login
from tests.harness import LiveServer
from tests.live_client import LiveClient

# The whole budget of a page for a signed-in member: the session with the header's unread count
# (middleware, one query); the community (with the thread, on a thread page) with the reader's standing,
# and the rows (the route). The counted pool uses the app's connection class, which sends no reset query
# when a connection goes back (server/db/pool.py). A visitor's page costs one query less (no session).
MAX_QUERIES = 3


@dataclass
class QueryLog:
    queries: list[str] = field(default_factory=list)

    def record(self, logged: object) -> None:
        self.queries.append(str(getattr(logged, "query", "")))


@pytest.fixture
async def counted(server: LiveServer, database_url: str) -> AsyncIterator[QueryLog]:
    """Swap the live app's pool for one whose every connection reports each query to a log."""
    log = QueryLog()

    async def init(connection: asyncpg.Connection) -> None:
        await _init_connection(connection)
        connection.add_query_logger(log.record)

    pool = await asyncpg.create_pool(
        database_url, min_size=1, max_size=2, init=init, connection_class=KindredConnection
    )
    assert pool is not None
    original = server.app.state.db
    server.app.state.db = pool
    try:
        yield log
    finally:
        server.app.state.db = original
        await pool.close()


async def _count(client: httpx.AsyncClient, log: QueryLog, path: str) -> int:
    await client.get(path)  # a first request warms up codecs and caches
    log.queries.clear()
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return len(log.queries)


async def _busy_thread(db: asyncpg.Connection, cast: dict[str, int], posts: int) -> int:
    """A thread where every post has an author with a badge, reactions, a quote and an edit."""
    expert = await db.fetchval("SELECT id FROM users WHERE username = 'drwho'")
    if expert is None:
        expert = await create_user(db, "drwho", expert=True)
        await add_member(db, cast["community"], expert)
    thread = await create_thread(db, cast["community"], cast["leader"], f"Busy {posts}")
    previous = await db.fetchval("SELECT id FROM posts WHERE thread_id = $1", thread)
    authors = [cast["leader"], cast["member"], expert]
    for number in range(posts - 1):
        post = await create_post(
            db, thread, authors[number % 3], f"Post {number} with **markdown**", reply_to_post_id=previous
        )
        for reactor, kind in ((cast["muted"], "helped"), (cast["admin"], "thanks")):
            await db.execute("INSERT INTO reactions (post_id, user_id, kind) VALUES ($1, $2, $3)", post, reactor, kind)
        await db.execute("INSERT INTO post_revisions (post_id, body_md) VALUES ($1, 'older')", post)
        await db.execute("UPDATE posts SET edited_at = now() WHERE id = $1", post)
        previous = post
    return thread


async def test_a_thread_page_of_50_posts_costs_as_few_queries_as_one_of_5(
    client: httpx.AsyncClient, db: asyncpg.Connection, counted: QueryLog
) -> None:
    cast = await create_cast(db)
    small = await _busy_thread(db, cast, 5)
    large = await _busy_thread(db, cast, 50)
    await login(client, "member")
    small_count = await _count(client, counted, f"/c/test-condition/t/{small}")
    large_count = await _count(client, counted, f"/c/test-condition/t/{large}")
    page = await client.get(f"/c/test-condition/t/{large}")
    assert page.text.count('<article class="post') == 50
    assert large_count == small_count <= MAX_QUERIES, counted.queries
    client.cookies.clear()
    assert await _count(client, counted, f"/c/test-condition/t/{large}") <= MAX_QUERIES - 1, counted.queries


async def test_a_forum_page_costs_the_same_queries_for_3_threads_or_30(
    client: httpx.AsyncClient, db: asyncpg.Connection, counted: QueryLog
) -> None:
    cast = await create_cast(db)
    for number in range(3):
        await create_thread(db, cast["other_community"], cast["other_leader"], f"Other {number}")
    for number in range(40):
        thread = await create_thread(
            db, cast["community"], [cast["member"], cast["leader"]][number % 2], f"Thread {number}"
        )
        await create_post(db, thread, cast["leader"])
    for anonymous in (True, False):
        if not anonymous:
            await login(client, "member")
        few = await _count(client, counted, "/c/other-condition/forum")
        many = await _count(client, counted, "/c/test-condition/forum")
        assert many == few <= MAX_QUERIES - (1 if anonymous else 0), counted.queries


async def test_a_leaders_forum_and_thread_pages_spend_one_query_on_the_review_badge_whatever_their_size(
    client: httpx.AsyncClient, db: asyncpg.Connection, counted: QueryLog
) -> None:
    """The forum's sections show a leader the review queue's count (forum/_nav.html): the one query the
    community page spends on it, never one per thread or post."""
    cast = await create_cast(db)
    for number in range(3):
        await create_thread(db, cast["other_community"], cast["leader"], f"Other {number}")
    await add_member(db, cast["other_community"], cast["leader"], "leader")
    for number in range(30):
        await create_thread(db, cast["community"], cast["member"], f"Thread {number}")
    small, large = await _busy_thread(db, cast, 5), await _busy_thread(db, cast, 50)
    await login(client, "member")
    member_forum = await _count(client, counted, "/c/test-condition/forum")
    member_thread = await _count(client, counted, f"/c/test-condition/t/{large}")
    await login(client, "leader")
    few = await _count(client, counted, "/c/other-condition/forum")
    many = await _count(client, counted, "/c/test-condition/forum")
    assert many == few == member_forum + 1 <= MAX_QUERIES + 1, counted.queries
    assert any("n.data ? 'item'" in query for query in counted.queries)
    small_count = await _count(client, counted, f"/c/test-condition/t/{small}")
    large_count = await _count(client, counted, f"/c/test-condition/t/{large}")
    assert large_count == small_count == member_thread + 1 <= MAX_QUERIES + 1, counted.queries
    assert 'class="review-link"' in (await client.get(f"/c/test-condition/t/{large}")).text


async def test_the_query_counter_does_see_every_query(
    client: httpx.AsyncClient, db: asyncpg.Connection, counted: QueryLog
) -> None:
    """The check above would pass vacuously if the logger saw nothing: it sees the page's own queries."""
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    await _count(client, counted, f"/c/test-condition/t/{thread}")
    assert any("FROM posts p" in query for query in counted.queries)
    assert any("communities" in query for query in counted.queries)


async def test_a_plain_live_message_costs_the_same_three_queries_as_before_replies_and_reactions(
    server: LiveServer, db: asyncpg.Connection, counted: QueryLog
) -> None:
    """The hot send path: the room with the sender's standing, the idempotency check and the numbered insert.

    Replies, reactions and mentions (issue 13) add nothing to a plain message; a reply adds one read of
    the message it answers, and a mention is looked up only after the ack.
    """
    cast = await create_cast(db)
    client = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, cast["member"]))
    await client.join("test-condition/main")
    await client.say("test-condition/main", "warm-up")  # codecs and caches
    counted.queries.clear()
    assert (await client.say("test-condition/main", "a plain message"))["type"] == "ack"
    plain = len(counted.queries)
    counted.queries.clear()
    await client.send(
        {"type": "send", "room": "test-condition/main", "client_id": "r", "body": "a reply", "reply_to": 1}
    )
    await client.wait_for(lambda f: f["type"] == "ack" and f["client_id"] == "r")
    reply = len(counted.queries)
    await client.close()
    assert plain == 3, counted.queries
    assert reply == plain + 1
