"""SQL for site-wide search: ranked, accent-folded full-text search of threads, condition pages, tips, resources
and chat history, each filtered by the access rules' SQL twins, with marked snippets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.db.queries.access import audience_of, community_visible_to, forum_readable_by, room_readable_by
from server.db.queries.names import membership_of, shown_name

# ts_headline wraps matches in these private-use characters, never in HTML: the caller escapes
# the whole snippet and only then turns its own markers into <mark> (member text cannot forge
# them, they are removed from the text before highlighting).
MARK_START = "\ue000"
MARK_END = "\ue001"
FRAGMENT_DELIMITER = " … "
_SNIPPET_OPTIONS = (
    f'StartSel="{MARK_START}", StopSel="{MARK_END}", MaxWords=35, MinWords=12, ShortWord=3, '
    f'MaxFragments=2, FragmentDelimiter="{FRAGMENT_DELIMITER}"'
)
_TITLE_OPTIONS = f'StartSel="{MARK_START}", StopSel="{MARK_END}", HighlightAll=true'
_MARKS = MARK_START + MARK_END
# Snippets are taken from the text without its diacritics (kindred_unaccent keeps case and length), so
# that a word typed without accents is highlighted too; the caller puts the original letters back.
_QUERY = "WITH query AS (SELECT websearch_to_tsquery('english', kindred_fold($1)) AS q)"
KINDS = ("section", "thread", "tip", "resource", "message")


@dataclass(frozen=True)
class Hit:
    kind: str  # one of KINDS
    community_slug: str
    community_name: str
    title: str  # as written (markers removed)
    title_marked: str  # unaccented, with markers
    body: str  # as written (markers removed)
    snippet_marked: str  # unaccented, with markers
    author_display_name: str | None
    created_at: datetime
    rank: float
    thread_id: int | None = None
    thread_kind: str | None = None
    post_id: int | None = None
    section: str | None = None
    item_id: int | None = None  # a tip's or a resource's id
    room_slug: str | None = None
    seq: int | None = None


def _headline(text: str, options: str) -> str:
    return f"ts_headline('english', kindred_unaccent(translate({text}, $7, '')), query.q, {options})"


async def search(
    connection: asyncpg.Connection,
    text: str,
    kind: str,
    *,
    viewer_id: int | None,
    viewer_is_admin: bool,
    community_id: int | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[Hit]:
    """One kind's hits for the words (web-search syntax, accents and case aside), best first, limited to
    what the viewer may read (the access rules' SQL twins). Every statement takes the same nine parameters
    (those a kind does not need are named once, harmlessly, so that each has a type)."""
    sql = _SQL[kind]
    records = await connection.fetch(
        sql,
        text,
        viewer_id,
        viewer_is_admin,
        community_id,
        limit,
        offset,
        _MARKS,
        _SNIPPET_OPTIONS,
        _TITLE_OPTIONS,
    )
    return [Hit(kind=kind, **dict(record)) for record in records]


# One result per thread: its title's match and every visible post's match add up; the snippet is the best
# matching post's (the first post's when only the title matched).
_THREADS = f"""{_QUERY},
    matches AS (
        SELECT p.thread_id, p.id AS post_id, ts_rank_cd(p.search, query.q) AS rank
        FROM posts p JOIN threads pt ON pt.id = p.thread_id JOIN communities pc ON pc.id = pt.community_id, query
        WHERE p.search @@ query.q AND p.state = 'visible'
          -- A reply meant for members only neither counts nor shows for anyone else.
          AND {forum_readable_by("pc", "$2::bigint", "$3::boolean", "pt.kind", audience_of("pt", "p"))}
        UNION ALL
        SELECT t.id, NULL, 1.0 + ts_rank_cd(to_tsvector('english', kindred_fold(t.title)), query.q)
        FROM threads t, query WHERE to_tsvector('english', kindred_fold(t.title)) @@ query.q
          AND ($4::bigint IS NULL OR t.community_id = $4)
    ),
    per_thread AS (
        SELECT thread_id, sum(rank) AS rank,
               (array_agg(post_id ORDER BY rank DESC, post_id) FILTER (WHERE post_id IS NOT NULL))[1] AS best_post
        FROM matches GROUP BY thread_id
    ),
    ranked AS (
        SELECT t.id AS thread_id, t.kind AS thread_kind, t.title, c.slug AS community_slug, c.name AS community_name,
               pt.rank, coalesce(pt.best_post, first.id) AS post_id
        FROM per_thread pt
        JOIN threads t ON t.id = pt.thread_id
        JOIN communities c ON c.id = t.community_id
        LEFT JOIN LATERAL (SELECT min(id) AS id FROM posts WHERE thread_id = t.id AND state = 'visible') first ON true
        WHERE t.state = 'visible' AND ($4::bigint IS NULL OR c.id = $4)
          AND {forum_readable_by("c", "$2::bigint", "$3::boolean", "t.kind", audience_of("t"))}
        ORDER BY pt.rank DESC, t.id DESC
        LIMIT $5 OFFSET $6
    )
    SELECT r.thread_id, r.thread_kind, r.post_id, r.community_slug, r.community_name,
           translate(r.title, $7, '') AS title, {_headline("r.title", "$9")} AS title_marked,
           translate(p.body_md, $7, '') AS body, {_headline("p.body_md", "$8")} AS snippet_marked,
           {shown_name("u", "am")} AS author_display_name, p.created_at, r.rank::float8 AS rank
    FROM ranked r CROSS JOIN query JOIN posts p ON p.id = r.post_id JOIN threads rt ON rt.id = r.thread_id
    LEFT JOIN users u ON u.id = p.author_id AND u.deleted_at IS NULL {membership_of("am", "rt.community_id", "u")}
    ORDER BY r.rank DESC, r.thread_id DESC"""

# Condition pages: open communities' sections (as public as the community page itself: a hidden
# community's only to its members).
_SECTIONS = f"""{_QUERY}
    SELECT s.section, c.slug AS community_slug, c.name AS community_name,
           c.name AS title, c.name AS title_marked,
           translate(s.body_md, $7, '') AS body, {_headline("s.body_md", "$8")} AS snippet_marked,
           NULL::text AS author_display_name, s.updated_at AS created_at,
           ts_rank_cd(s.search, query.q)::float8 AS rank
    FROM condition_sections s JOIN communities c ON c.id = s.community_id, query
    WHERE s.search @@ query.q AND ($4::bigint IS NULL OR c.id = $4)
      AND {community_visible_to("c", "$2::bigint", "$3::boolean")} AND $9::text IS NOT NULL
    ORDER BY rank DESC, c.id, s.section LIMIT $5 OFFSET $6"""

# Tips: members' words, read as the forum is; hidden ones never.
_TIPS = f"""{_QUERY}
    SELECT t.id AS item_id, c.slug AS community_slug, c.name AS community_name,
           translate(t.name, $7, '') AS title, {_headline("t.name", "$9")} AS title_marked,
           translate(t.description, $7, '') AS body, {_headline("t.description", "$8")} AS snippet_marked,
           {shown_name("u", "am")} AS author_display_name, t.created_at, ts_rank_cd(t.search, query.q)::float8 AS rank
    FROM tips t JOIN communities c ON c.id = t.community_id
    LEFT JOIN users u ON u.id = t.author_id AND u.deleted_at IS NULL {membership_of("am", "c.id", "u")}, query
    WHERE t.search @@ query.q AND NOT t.hidden AND ($4::bigint IS NULL OR c.id = $4)
      AND {forum_readable_by("c", "$2::bigint", "$3::boolean")}
    ORDER BY rank DESC, t.id DESC LIMIT $5 OFFSET $6"""

# Resources: curated links, as public as the community page (a hidden community's only to its members).
_RESOURCES = f"""{_QUERY}
    SELECT r.id AS item_id, c.slug AS community_slug, c.name AS community_name,
           translate(r.title, $7, '') AS title, {_headline("r.title", "$9")} AS title_marked,
           translate(r.description, $7, '') AS body, {_headline("r.description", "$8")} AS snippet_marked,
           NULL::text AS author_display_name, r.created_at, ts_rank_cd(r.search, query.q)::float8 AS rank
    FROM resources r JOIN communities c ON c.id = r.community_id, query
    WHERE r.search @@ query.q AND r.removed_at IS NULL AND {community_visible_to("c", "$2::bigint", "$3::boolean")}
      AND ($4::bigint IS NULL OR c.id = $4)
    ORDER BY rank DESC, r.id DESC LIMIT $5 OFFSET $6"""

# Chat history: only rooms the viewer may read (can_read_room's twin), only visible messages.
_MESSAGES = f"""{_QUERY}
    SELECT m.seq, rm.slug AS room_slug, c.slug AS community_slug, c.name AS community_name,
           rm.name AS title, rm.name AS title_marked,
           translate(m.body, $7, '') AS body, {_headline("m.body", "$8")} AS snippet_marked,
           {shown_name("u", "am")} AS author_display_name, m.created_at, ts_rank_cd(m.search, query.q)::float8 AS rank
    FROM room_messages m JOIN rooms rm ON rm.id = m.room_id JOIN communities c ON c.id = rm.community_id
    LEFT JOIN users u ON u.id = m.author_id AND u.deleted_at IS NULL {membership_of("am", "c.id", "u")}, query
    WHERE m.search @@ query.q AND m.state = 'visible' AND ($4::bigint IS NULL OR c.id = $4)
      AND {room_readable_by("c", "$2::bigint", "$3::boolean")} AND $9::text IS NOT NULL
    ORDER BY rank DESC, m.id DESC LIMIT $5 OFFSET $6"""

_SQL = {
    "thread": _THREADS,
    "section": _SECTIONS,
    "tip": _TIPS,
    "resource": _RESOURCES,
    "message": _MESSAGES,
}
