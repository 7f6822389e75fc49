"""SQL for the leaders' review queue: held posts and chat messages, approvals, a community's moderation settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from server.db.queries.access import audience_of
from server.db.queries.names import membership_of, shown_name, shown_username


@dataclass(frozen=True)
class HeldPost:
    """A forum post (or a new thread's opening post) waiting for a leader's approval."""

    id: int
    thread_id: int
    thread_title: str
    thread_kind: str
    is_first: bool
    author_id: int | None
    author_username: str | None
    author_display_name: str | None
    body_md: str
    created_at: datetime


@dataclass(frozen=True)
class HeldMessage:
    """A chat message waiting for a leader's approval."""

    id: int
    room_slug: str
    room_name: str
    seq: int
    author_id: int | None
    author_username: str | None
    author_display_name: str | None
    body: str
    created_at: datetime


@dataclass(frozen=True)
class ModerationSettings:
    hold_first_posts: bool
    hold_release_after: int
    flag_hide_threshold: int


@dataclass(frozen=True)
class PostPlace:
    """A post with what moderating it needs to know about its thread."""

    id: int
    thread_id: int
    author_id: int | None
    body_md: str
    state: str
    state_reason: str
    reply_to_post_id: int | None
    community_id: int
    community_slug: str
    thread_title: str
    thread_kind: str
    thread_state: str
    thread_author_id: int | None
    is_first: bool
    audience: str = "everyone"  # members when the post or its thread was meant for members only


@dataclass(frozen=True)
class ThreadHeld:
    """One of the reader's own threads that waits for review (only its author sees it in the lists)."""

    id: int
    title: str
    created_at: datetime


# Held for review because of flags (not the first-post hold): handled through the flags.
FLAGGED = "flagged"


async def held_posts(connection: asyncpg.Connection, community_id: int, *, limit: int = 200) -> list[HeldPost]:
    records = await connection.fetch(
        f"""SELECT p.id, p.thread_id, t.title AS thread_title, t.kind AS thread_kind,
                  p.id = (SELECT min(id) FROM posts fp WHERE fp.thread_id = t.id) AS is_first,
                  p.author_id, {shown_username("u", "am")} AS author_username,
                  {shown_name("u", "am")} AS author_display_name, p.body_md, p.created_at
           FROM posts p JOIN threads t ON t.id = p.thread_id
           LEFT JOIN users u ON u.id = p.author_id AND u.deleted_at IS NULL {membership_of("am", "t.community_id", "u")}
           WHERE t.community_id = $1 AND p.state = 'held' AND p.state_reason <> $2
           ORDER BY p.id LIMIT $3""",
        community_id,
        FLAGGED,
        limit,
    )
    return [HeldPost(**dict(record)) for record in records]


async def held_messages(connection: asyncpg.Connection, community_id: int, *, limit: int = 200) -> list[HeldMessage]:
    records = await connection.fetch(
        f"""SELECT m.id, r.slug AS room_slug, r.name AS room_name, m.seq, m.author_id,
                  {shown_username("u", "am")} AS author_username, {shown_name("u", "am")} AS author_display_name,
                  m.body, m.created_at
           FROM room_messages m JOIN rooms r ON r.id = m.room_id
           LEFT JOIN users u ON u.id = m.author_id AND u.deleted_at IS NULL {membership_of("am", "r.community_id", "u")}
           WHERE r.community_id = $1 AND m.state = 'held' AND m.state_reason <> $2
           ORDER BY m.id LIMIT $3""",
        community_id,
        FLAGGED,
        limit,
    )
    return [HeldMessage(**dict(record)) for record in records]


async def post_place(connection: asyncpg.Connection, post_id: int) -> PostPlace | None:
    record = await connection.fetchrow(
        f"""SELECT p.id, p.thread_id, p.author_id, p.body_md, p.state, p.state_reason, p.reply_to_post_id,
                  t.community_id, c.slug AS community_slug, t.title AS thread_title, t.kind AS thread_kind,
                  t.state AS thread_state, t.author_id AS thread_author_id,
                  p.id = (SELECT min(id) FROM posts fp WHERE fp.thread_id = t.id) AS is_first,
                  {audience_of("t", "p")} AS audience
           FROM posts p JOIN threads t ON t.id = p.thread_id JOIN communities c ON c.id = t.community_id
           WHERE p.id = $1""",
        post_id,
    )
    return PostPlace(**dict(record)) if record else None


async def lock_item(connection: asyncpg.Connection, *, post_id: int | None, message_id: int | None) -> None:
    """Lock a post or chat message row for this transaction: flags on one item are counted one at a time."""
    if post_id is not None:
        await connection.execute("SELECT 1 FROM posts WHERE id = $1 FOR UPDATE", post_id)
    else:
        await connection.execute("SELECT 1 FROM room_messages WHERE id = $1 FOR UPDATE", message_id)


async def hold_for_flags(
    connection: asyncpg.Connection, *, post_id: int | None, message_id: int | None, changed_by: int
) -> bool:
    """Take visible content out of view while flags wait; False when it was not visible (any more).

    Conditional, so two members flagging at the same moment take it out of view (and off the reply count) once.
    """
    if post_id is not None:
        done = await connection.fetchval(
            "UPDATE posts SET state = 'held', state_reason = $2 WHERE id = $1 AND state = 'visible' RETURNING true",
            post_id,
            FLAGGED,
        )
    else:
        done = await connection.fetchval(
            # changed_at_seq: a client resuming from before now is told it is gone (queries/messages.py).
            """UPDATE room_messages SET state = 'held', state_reason = $2, state_changed_by = $3,
                   changed_at_seq = (SELECT last_seq FROM rooms WHERE rooms.id = room_messages.room_id)
               WHERE id = $1 AND state = 'visible' RETURNING true""",
            message_id,
            FLAGGED,
            changed_by,
        )
    return bool(done)


async def settings(connection: asyncpg.Connection, community_id: int) -> ModerationSettings | None:
    record = await connection.fetchrow(
        "SELECT hold_first_posts, hold_release_after, flag_hide_threshold FROM communities WHERE id = $1",
        community_id,
    )
    return ModerationSettings(**dict(record)) if record else None


async def set_settings(connection: asyncpg.Connection, community_id: int, chosen: ModerationSettings) -> None:
    await connection.execute(
        """UPDATE communities SET hold_first_posts = $2, hold_release_after = $3, flag_hide_threshold = $4
           WHERE id = $1""",
        community_id,
        chosen.hold_first_posts,
        chosen.hold_release_after,
        chosen.flag_hide_threshold,
    )


async def count_approved(connection: asyncpg.Connection, community_id: int, user_id: int | None) -> None:
    """One more approved post or message: the first-post hold lifts after the community's number of them."""
    await connection.execute(
        "UPDATE memberships SET approved_posts = approved_posts + 1 WHERE community_id = $1 AND user_id = $2",
        community_id,
        user_id,
    )


async def set_thread_state(connection: asyncpg.Connection, thread_id: int, state: str) -> None:
    await connection.execute("UPDATE threads SET state = $2 WHERE id = $1", thread_id, state)


async def open_thread(connection: asyncpg.Connection, thread_id: int) -> None:
    """An approved thread appears in the lists as new activity."""
    await connection.execute("UPDATE threads SET state = 'visible', last_activity_at = now() WHERE id = $1", thread_id)
    await connection.execute(
        """UPDATE communities SET last_activity_at = now() FROM threads t
           WHERE t.id = $1 AND communities.id = t.community_id""",
        thread_id,
    )


async def move_thread(connection: asyncpg.Connection, thread_id: int, community_id: int) -> None:
    await connection.execute("UPDATE threads SET community_id = $2 WHERE id = $1", thread_id, community_id)


async def leader_ids(connection: asyncpg.Connection, community_id: int) -> list[int]:
    records = await connection.fetch(
        """SELECT m.user_id FROM memberships m JOIN users u ON u.id = m.user_id
           WHERE m.community_id = $1 AND m.role = 'leader' AND u.deleted_at IS NULL ORDER BY m.user_id""",
        community_id,
    )
    return [record["user_id"] for record in records]


async def admin_ids(connection: asyncpg.Connection) -> list[int]:
    records = await connection.fetch("SELECT id FROM users WHERE is_admin AND deleted_at IS NULL ORDER BY id")
    return [record["id"] for record in records]


async def held_threads_by(connection: asyncpg.Connection, community_id: int, author_id: int) -> list[ThreadHeld]:
    records = await connection.fetch(
        """SELECT id, title, created_at FROM threads
           WHERE community_id = $1 AND author_id = $2 AND state = 'held' ORDER BY id DESC LIMIT 20""",
        community_id,
        author_id,
    )
    return [ThreadHeld(**dict(record)) for record in records]


async def waiting_count(connection: asyncpg.Connection, community_id: int) -> int:
    """Held posts and messages and flagged items of a community (the number on the leaders' review link)."""
    count: int = await connection.fetchval(
        """SELECT (SELECT count(*) FROM posts p JOIN threads t ON t.id = p.thread_id
                   WHERE t.community_id = $1 AND p.state = 'held' AND p.state_reason <> $2)
                + (SELECT count(*) FROM room_messages m JOIN rooms r ON r.id = m.room_id
                   WHERE r.community_id = $1 AND m.state = 'held' AND m.state_reason <> $2)
                + (SELECT count(DISTINCT coalesce(post_id, -message_id)) FROM flags WHERE community_id = $1 AND status = 'open')""",
        community_id,
        FLAGGED,
    )
    return count


async def typical_wait(connection: asyncpg.Connection, community_id: int) -> timedelta | None:
    """The median time the community's leaders took over their last 20 review decisions (None: no decisions yet)."""
    seconds = await connection.fetchval(
        """SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY waited) FROM (
               SELECT extract(epoch FROM a.created_at - coalesce(m.created_at, p.created_at)) AS waited
               FROM moderation_actions a
               LEFT JOIN room_messages m ON a.target_kind = 'room_message' AND m.id = a.target_id
               LEFT JOIN posts p ON a.target_kind = 'post' AND p.id = a.target_id
               WHERE a.community_id = $1
                 AND a.action IN ('approve_message', 'reject_message', 'approve_post', 'reject_post')
                 AND coalesce(m.created_at, p.created_at) IS NOT NULL
               ORDER BY a.created_at DESC
               LIMIT 20
           ) recent""",
        community_id,
    )
    return timedelta(seconds=float(seconds)) if seconds is not None else None
