"""SQL for forum threads: keyset-paginated listings, lookup, creation, counters, pin/lock, accepted answers."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import asyncpg

from server.db.queries.communities import Community
from server.db.queries.memberships import NO_STANDING, Standing, pop_standing, standing_columns, standing_sql
from server.db.queries.names import membership_of, shown_name, shown_username


@dataclass(frozen=True)
class Thread:
    id: int
    community_id: int
    community_slug: str
    kind: str
    title: str
    author_id: int | None
    state: str
    pinned: bool
    locked: bool
    reply_count: int
    accepted_post_id: int | None
    intro: dict[str, Any] | None
    created_at: datetime
    last_activity_at: datetime
    # 'members': its author meant it for members of the community only (access.open_to_everyone).
    audience: str = "everyone"


@dataclass(frozen=True)
class ThreadRow:
    """One row of a thread list: what the list shows, with the author's public names."""

    id: int
    kind: str
    title: str
    pinned: bool
    locked: bool
    reply_count: int
    accepted_post_id: int | None
    created_at: datetime
    last_activity_at: datetime
    author_username: str | None
    author_display_name: str | None
    audience: str = "everyone"


@dataclass(frozen=True)
class Cursor:
    """The position after the last row of a page, in listing order (pinned, last activity, id; all descending)."""

    pinned: bool
    last_activity_at: datetime
    id: int


_THREAD = """t.id, t.community_id, c.slug AS community_slug, t.kind, t.title, t.author_id, t.state, t.pinned,
    t.locked, t.reply_count, t.accepted_post_id, t.intro, t.created_at, t.last_activity_at, t.audience"""

_ROW = f"""t.id, t.kind, t.title, t.pinned, t.locked, t.reply_count, t.accepted_post_id, t.created_at,
    t.last_activity_at, {shown_username("u", "am")} AS author_username, {shown_name("u", "am")} AS author_display_name,
    t.audience"""
# Joined after the thread's author (u) wherever _ROW is selected.
_AUTHOR = f"LEFT JOIN users u ON u.id = t.author_id {membership_of('am', 't.community_id', 'u')}"


def _row(record: asyncpg.Record) -> ThreadRow:
    # Positional: _ROW lists the columns in ThreadRow's field order (a test checks it).
    return ThreadRow(*record)


# The community comes with its thread in one query; the columns follow the Community dataclass.
_COMMUNITY = ", ".join(f"c.{field.name} AS community__{field.name}" for field in fields(Community))


_WITH_COMMUNITY = (
    f"SELECT {_THREAD}, {_COMMUNITY} FROM threads t JOIN communities c ON c.id = t.community_id WHERE t.id = $1"
)
# For a signed-in reader, their standing in the thread's community comes in the same round trip.
_WITH_COMMUNITY_AND_STANDING = f"""SELECT {_THREAD}, {_COMMUNITY}, {standing_columns("st")}
    FROM threads t JOIN communities c ON c.id = t.community_id
    LEFT JOIN LATERAL ({standing_sql("t.community_id", "$2")}) st ON true
    WHERE t.id = $1"""


async def with_community(
    connection: asyncpg.Connection, thread_id: int, *, viewer_id: int | None = None
) -> tuple[Thread, Community, Standing] | None:
    """The thread, its community, and the standing there of the reader `viewer_id` (NO_STANDING for none)."""
    if viewer_id is None:
        record = await connection.fetchrow(_WITH_COMMUNITY, thread_id)
    else:
        record = await connection.fetchrow(_WITH_COMMUNITY_AND_STANDING, thread_id, viewer_id)
    if record is None:
        return None
    values = dict(record)
    community = Community(**{field.name: values.pop(f"community__{field.name}") for field in fields(Community)})
    standing = NO_STANDING
    if viewer_id is not None:
        standing = pop_standing(values)
    return Thread(**values), community, standing


async def by_id(connection: asyncpg.Connection, thread_id: int) -> Thread | None:
    record = await connection.fetchrow(
        f"SELECT {_THREAD} FROM threads t JOIN communities c ON c.id = t.community_id WHERE t.id = $1", thread_id
    )
    return Thread(**dict(record)) if record else None


async def listing(
    connection: asyncpg.Connection,
    community_id: int,
    *,
    kind: str | None = None,
    unanswered: bool = False,
    after: Cursor | None = None,
    limit: int = 30,
    without_introductions: bool = False,
    without_members_only: bool = False,
) -> list[ThreadRow]:
    """Visible threads, newest activity first; the whole forum puts pinned threads on top
    (without_introductions, without_members_only: leaves those out, for readers they are not open to).

    Keyset pagination: each page starts strictly after the cursor with a row comparison the
    listing indexes answer directly, so page 100 costs what page 1 costs (no OFFSET scan).
    """
    if kind is None:
        order = "t.pinned DESC, t.last_activity_at DESC, t.id DESC"
        where = "t.community_id = $1 AND t.state = 'visible'"
        if without_introductions:
            where += " AND t.kind <> 'introduction'"
        if without_members_only:
            where += " AND t.audience = 'everyone'"
        args: list[object] = [community_id]
        if after is not None:
            where += " AND (t.pinned, t.last_activity_at, t.id) < ($2, $3, $4)"
            args += [after.pinned, after.last_activity_at, after.id]
    else:
        order = "t.last_activity_at DESC, t.id DESC"
        where = "t.community_id = $1 AND t.kind = $2 AND t.state = 'visible'"
        args = [community_id, kind]
        if without_members_only:
            where += " AND t.audience = 'everyone'"
        if unanswered:
            where += " AND t.accepted_post_id IS NULL"
        if after is not None:
            where += " AND (t.last_activity_at, t.id) < ($3, $4)"
            args += [after.last_activity_at, after.id]
    args.append(limit)
    records = await connection.fetch(
        f"""SELECT {_ROW} FROM threads t {_AUTHOR}
            WHERE {where} ORDER BY {order} LIMIT ${len(args)}""",
        *args,
    )
    return [_row(record) for record in records]


async def count_visible(connection: asyncpg.Connection, community_id: int, kind: str | None = None) -> int:
    count: int = await connection.fetchval(
        "SELECT count(*) FROM threads WHERE community_id = $1 AND state = 'visible' AND ($2::text IS NULL OR kind = $2)",
        community_id,
        kind,
    )
    return count


async def waiting_for_welcome(
    connection: asyncpg.Connection, community_id: int, *, older_than_hours: int = 24, limit: int = 50
) -> list[ThreadRow]:
    """Introductions that nobody but their author has answered after the given time, oldest first."""
    records = await connection.fetch(
        f"""SELECT {_ROW} FROM threads t {_AUTHOR}
            WHERE t.community_id = $1 AND t.kind = 'introduction' AND t.state = 'visible'
              AND t.created_at < now() - make_interval(hours => $2)
              AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.thread_id = t.id AND p.state = 'visible'
                              AND p.author_id IS DISTINCT FROM t.author_id)
            ORDER BY t.created_at, t.id LIMIT $3""",
        community_id,
        older_than_hours,
        limit,
    )
    return [_row(record) for record in records]


async def create(
    connection: asyncpg.Connection,
    *,
    community_id: int,
    kind: str,
    title: str,
    author_id: int,
    intro: dict[str, Any] | None = None,
    state: str = "visible",
    audience: str = "everyone",
) -> int:
    thread_id: int = await connection.fetchval(
        """INSERT INTO threads (community_id, kind, title, author_id, intro, state, audience)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
        community_id,
        kind,
        title,
        author_id,
        intro,
        state,
        audience,
    )
    return thread_id


async def note_reply(connection: asyncpg.Connection, thread_id: int) -> None:
    """A new visible reply: one more in the count, and the thread rises in the listing."""
    await connection.execute(
        "UPDATE threads SET reply_count = reply_count + 1, last_activity_at = now() WHERE id = $1", thread_id
    )
    await connection.execute(
        "UPDATE communities SET last_activity_at = now() FROM threads t WHERE t.id = $1 AND communities.id = t.community_id",
        thread_id,
    )


async def note_community_activity(connection: asyncpg.Connection, community_id: int) -> None:
    await connection.execute("UPDATE communities SET last_activity_at = now() WHERE id = $1", community_id)


async def change_reply_count(connection: asyncpg.Connection, thread_id: int, delta: int) -> None:
    await connection.execute(
        "UPDATE threads SET reply_count = greatest(reply_count + $2, 0) WHERE id = $1", thread_id, delta
    )


async def set_accepted(connection: asyncpg.Connection, thread_id: int, post_id: int | None) -> None:
    await connection.execute("UPDATE threads SET accepted_post_id = $2 WHERE id = $1", thread_id, post_id)


async def set_flags(
    connection: asyncpg.Connection, thread_id: int, *, pinned: bool | None = None, locked: bool | None = None
) -> None:
    await connection.execute(
        "UPDATE threads SET pinned = coalesce($2, pinned), locked = coalesce($3, locked) WHERE id = $1",
        thread_id,
        pinned,
        locked,
    )


async def log_moderation(
    connection: asyncpg.Connection,
    *,
    community_id: int | None,
    actor_id: int,
    action: str,
    target_kind: str,
    target_id: int | None,
    target_user_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one entry to the (append-only) audit log."""
    await connection.execute(
        """INSERT INTO moderation_actions (community_id, actor_id, action, target_user_id, target_kind, target_id, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        community_id,
        actor_id,
        action,
        target_user_id,
        target_kind,
        target_id,
        details or {},
    )
