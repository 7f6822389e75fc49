"""SQL for forum posts: a thread's page of posts in one query, creation, edits with revisions, soft deletion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import asyncpg

from server.db.queries.names import membership_of, shown_name, shown_username

# Shown with a reply in place of the post it answers; long enough to recognise, short enough to skim.
EXCERPT_CHARS = 280


@dataclass(frozen=True)
class Post:
    id: int
    thread_id: int
    author_id: int | None
    body_md: str
    state: str
    state_reason: str
    reply_to_post_id: int | None
    created_at: datetime
    edited_at: datetime | None
    audience: str = "everyone"


class PostView(NamedTuple):
    """A post as a thread page shows it: author badges, the quoted excerpt and reactions, all from one query.

    A named tuple rather than a frozen dataclass: a page builds 50 of them, and a frozen dataclass's
    __init__ (one object.__setattr__ per field) took about eight times as long (1.6 µs against 0.2 µs).
    """

    id: int
    author_id: int | None
    author_username: str | None
    author_display_name: str | None
    author_is_expert: bool
    author_is_leader: bool
    body_md: str  # empty unless the reader may see the text
    state: str
    created_at: datetime
    edited_at: datetime | None
    reply_to_post_id: int | None
    quote_author: str | None
    quote_excerpt: str | None  # None when the quoted post is gone or not visible
    helped_count: int
    thanks_count: int
    helped_by: list[str]
    thanks_by: list[str]
    my_reaction: str | None
    revision_count: int
    state_reason: str  # why a leader hid it (shown to leaders only)
    author_is_admin: bool
    audience: str  # 'members': its author meant it for members only


@dataclass(frozen=True)
class Revision:
    id: int
    body_md: str
    editor_display_name: str | None
    created_at: datetime


_POST = (
    "p.id, p.thread_id, p.author_id, p.body_md, p.state, p.state_reason, p.reply_to_post_id, p.created_at, "
    "p.edited_at, p.audience"
)


async def by_id(connection: asyncpg.Connection, post_id: int) -> Post | None:
    record = await connection.fetchrow(f"SELECT {_POST} FROM posts p WHERE p.id = $1", post_id)
    return Post(**dict(record)) if record else None


async def first_post_id(connection: asyncpg.Connection, thread_id: int) -> int | None:
    value: int | None = await connection.fetchval("SELECT min(id) FROM posts WHERE thread_id = $1", thread_id)
    return value


async def page(
    connection: asyncpg.Connection,
    *,
    thread_id: int,
    community_id: int,
    viewer_id: int | None,
    viewer_moderates: bool,
    members_only_readable: bool,
    after_id: int = 0,
    limit: int = 50,
) -> list[PostView]:
    """Posts of a thread in order, starting after `after_id`: one query whatever the number of posts.

    Held posts are shown only to their author and moderators; the text of deleted posts never
    leaves the database for a page, nor that of hidden posts except for moderators (marked, with the reason).
    Posts meant for members only, and quotes of them, only when `members_only_readable` (access.can_read_forum).
    """
    records = await connection.fetch(
        f"""SELECT p.id, p.author_id, {shown_username("u", "m")} AS author_username,
                   {shown_name("u", "m")} AS author_display_name,
                   coalesce(u.is_expert, false) AS author_is_expert,
                   coalesce(m.role = 'leader', false) AS author_is_leader,
                   CASE WHEN p.state IN ('visible', 'held') OR (p.state = 'hidden' AND $5) THEN p.body_md ELSE '' END
                       AS body_md,
                   p.state, p.created_at, p.edited_at, p.reply_to_post_id,
                   {shown_name("qu", "qm")} AS quote_author,
                   CASE WHEN q.state = 'visible' AND (q.audience = 'everyone' OR $7)
                        THEN left(q.body_md, {EXCERPT_CHARS}) END AS quote_excerpt,
                   coalesce(r.helped_count, 0) AS helped_count, coalesce(r.thanks_count, 0) AS thanks_count,
                   coalesce(r.helped_by, '{{}}') AS helped_by, coalesce(r.thanks_by, '{{}}') AS thanks_by,
                   mine.kind AS my_reaction,
                   (SELECT count(*) FROM post_revisions pr WHERE pr.post_id = p.id) AS revision_count,
                   CASE WHEN $5 THEN p.state_reason ELSE '' END AS state_reason,
                   coalesce(u.is_admin, false) AS author_is_admin,
                   p.audience
            FROM posts p
            LEFT JOIN users u ON u.id = p.author_id AND u.deleted_at IS NULL
            LEFT JOIN memberships m ON m.community_id = $2 AND m.user_id = p.author_id
            LEFT JOIN posts q ON q.id = p.reply_to_post_id
            LEFT JOIN users qu ON qu.id = q.author_id AND qu.deleted_at IS NULL
            {membership_of("qm", "$2", "qu")}
            LEFT JOIN LATERAL (
                SELECT count(*) FILTER (WHERE rr.kind = 'helped') AS helped_count,
                       count(*) FILTER (WHERE rr.kind = 'thanks') AS thanks_count,
                       array_agg({shown_name("ru", "rm")} ORDER BY rr.created_at) FILTER (WHERE rr.kind = 'helped')
                           AS helped_by,
                       array_agg({shown_name("ru", "rm")} ORDER BY rr.created_at) FILTER (WHERE rr.kind = 'thanks')
                           AS thanks_by
                FROM reactions rr JOIN users ru ON ru.id = rr.user_id {membership_of("rm", "$2", "ru")}
                WHERE rr.post_id = p.id) r ON true
            LEFT JOIN reactions mine ON mine.post_id = p.id AND mine.user_id = $3
            WHERE p.thread_id = $1 AND p.id > $4
              AND (p.state <> 'held' OR p.author_id = $3 OR $5)
              AND (p.audience = 'everyone' OR $7)
            ORDER BY p.id
            LIMIT $6""",
        thread_id,
        community_id,
        viewer_id,
        after_id,
        viewer_moderates,
        limit,
        members_only_readable,
    )
    # Positional: the SELECT lists the columns in PostView's field order (a test checks it), and
    # building 50 views from keyword dicts was a visible share of a thread page's time.
    return [PostView(*record) for record in records]


async def create(
    connection: asyncpg.Connection,
    *,
    thread_id: int,
    author_id: int,
    body_md: str,
    reply_to_post_id: int | None = None,
    state: str = "visible",
    audience: str = "everyone",
) -> Post:
    record = await connection.fetchrow(
        f"""INSERT INTO posts AS p (thread_id, author_id, body_md, reply_to_post_id, state, audience)
            VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_POST}""",
        thread_id,
        author_id,
        body_md,
        reply_to_post_id,
        state,
        audience,
    )
    assert record is not None
    return Post(**dict(record))


async def edit(connection: asyncpg.Connection, post_id: int, *, body_md: str, editor_id: int) -> None:
    """Keep the text being replaced as a revision, then store the new one (call inside a transaction)."""
    await connection.execute(
        """INSERT INTO post_revisions (post_id, body_md, editor_id, created_at)
           SELECT id, body_md, $2, coalesce(edited_at, created_at) FROM posts WHERE id = $1""",
        post_id,
        editor_id,
    )
    await connection.execute("UPDATE posts SET body_md = $2, edited_at = now() WHERE id = $1", post_id, body_md)


async def set_state(connection: asyncpg.Connection, post_id: int, state: str, reason: str = "") -> None:
    await connection.execute("UPDATE posts SET state = $2, state_reason = $3 WHERE id = $1", post_id, state, reason)


async def revisions(connection: asyncpg.Connection, post_id: int) -> list[Revision]:
    """Earlier versions of a post, oldest first (each with the time it was written)."""
    records = await connection.fetch(
        f"""SELECT pr.id, pr.body_md, {shown_name("u", "em")} AS editor_display_name, pr.created_at
           FROM post_revisions pr
           JOIN posts p ON p.id = pr.post_id JOIN threads t ON t.id = p.thread_id
           LEFT JOIN users u ON u.id = pr.editor_id {membership_of("em", "t.community_id", "u")}
           WHERE pr.post_id = $1 ORDER BY pr.id""",
        post_id,
    )
    return [Revision(**dict(record)) for record in records]


async def page_start(connection: asyncpg.Connection, thread_id: int, post_id: int, page_size: int) -> int:
    """The `after` id of the thread page that holds this post (0 for the first page)."""
    before: int = await connection.fetchval(
        "SELECT count(*) FROM posts WHERE thread_id = $1 AND id < $2", thread_id, post_id
    )
    page_number = before // page_size
    if page_number == 0:
        return 0
    after: int = await connection.fetchval(
        "SELECT id FROM posts WHERE thread_id = $1 ORDER BY id OFFSET $2 LIMIT 1",
        thread_id,
        page_number * page_size - 1,
    )
    return after
