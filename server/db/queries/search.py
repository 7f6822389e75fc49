"""SQL for forum search: ranked Postgres full-text search over posts and thread titles, with marked snippets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.db.queries.access import audience_of, forum_readable_by
from server.db.queries.names import membership_of, shown_name

# ts_headline wraps matches in these private-use characters, never in HTML: the caller escapes
# the whole snippet and only then turns its own markers into <mark> (member text cannot forge
# them, they are removed from the text before highlighting).
MARK_START = "\ue000"
MARK_END = "\ue001"
_SNIPPET_OPTIONS = (
    f'StartSel="{MARK_START}", StopSel="{MARK_END}", MaxWords=35, MinWords=12, ShortWord=3, '
    'MaxFragments=2, FragmentDelimiter=" … "'
)
_TITLE_OPTIONS = f'StartSel="{MARK_START}", StopSel="{MARK_END}", HighlightAll=true'


@dataclass(frozen=True)
class Hit:
    post_id: int
    thread_id: int
    thread_kind: str
    title_marked: str
    snippet_marked: str
    community_slug: str
    community_name: str
    author_display_name: str | None
    created_at: datetime
    rank: float


async def search(
    connection: asyncpg.Connection,
    text: str,
    *,
    viewer_id: int | None,
    viewer_is_admin: bool,
    community_id: int | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[Hit]:
    """Visible posts matching the words (web-search syntax), best first; a match in a thread's title
    counts for its first post and outranks a match in the body. Only communities the viewer may read."""
    records = await connection.fetch(
        f"""WITH query AS (SELECT websearch_to_tsquery('english', $1) AS q),
            matches AS (
                SELECT p.id, ts_rank_cd(p.search, query.q) AS rank
                FROM posts p, query WHERE p.search @@ query.q
                UNION ALL
                SELECT first.id, 1.0 + ts_rank_cd(to_tsvector('english', t.title), query.q)
                FROM threads t, query,
                     LATERAL (SELECT min(id) AS id FROM posts WHERE thread_id = t.id) AS first
                WHERE to_tsvector('english', t.title) @@ query.q AND first.id IS NOT NULL
                  AND ($4::bigint IS NULL OR t.community_id = $4)
            ),
            ranked AS (
                SELECT p.id AS post_id, p.thread_id, t.kind AS thread_kind, t.title, p.body_md, p.author_id,
                       p.created_at, c.slug AS community_slug, c.name AS community_name, sum(m.rank) AS rank
                FROM matches m
                JOIN posts p ON p.id = m.id
                JOIN threads t ON t.id = p.thread_id
                JOIN communities c ON c.id = t.community_id
                WHERE p.state = 'visible' AND t.state = 'visible'
                  AND ($4::bigint IS NULL OR c.id = $4)
                  AND {forum_readable_by("c", "$2::bigint", "$3::boolean", "t.kind", audience_of("t", "p"))}
                GROUP BY p.id, t.id, c.id
                ORDER BY rank DESC, p.id DESC
                LIMIT $5 OFFSET $6
            )
            SELECT r.post_id, r.thread_id, r.thread_kind,
                   ts_headline('english', translate(r.title, $7, ''), query.q, $9) AS title_marked,
                   ts_headline('english', translate(r.body_md, $7, ''), query.q, $8) AS snippet_marked,
                   r.community_slug, r.community_name, {shown_name("u", "am")} AS author_display_name, r.created_at,
                   r.rank::float8 AS rank
            FROM ranked r CROSS JOIN query LEFT JOIN users u ON u.id = r.author_id AND u.deleted_at IS NULL
            LEFT JOIN communities rc ON rc.slug = r.community_slug {membership_of("am", "rc.id", "u")}
            ORDER BY r.rank DESC, r.post_id DESC""",
        text,
        viewer_id,
        viewer_is_admin,
        community_id,
        limit,
        offset,
        MARK_START + MARK_END,
        _SNIPPET_OPTIONS,
        _TITLE_OPTIONS,
    )
    return [Hit(**dict(record)) for record in records]
