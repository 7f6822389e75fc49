"""SQL for condition sections and their revisions (who changed what, when)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.db.queries.names import membership_of, shown_name, shown_username


@dataclass(frozen=True)
class Section:
    section: str
    body_md: str
    updated_at: datetime


@dataclass(frozen=True)
class Revision:
    id: int
    section: str
    body_md: str
    summary: str
    created_at: datetime
    author_username: str | None
    author_display_name: str | None


async def for_community(connection: asyncpg.Connection, community_id: int) -> dict[str, Section]:
    rows = await connection.fetch(
        "SELECT section, body_md, updated_at FROM condition_sections WHERE community_id = $1", community_id
    )
    return {row["section"]: Section(**dict(row)) for row in rows}


async def get(connection: asyncpg.Connection, community_id: int, section: str) -> Section | None:
    row = await connection.fetchrow(
        "SELECT section, body_md, updated_at FROM condition_sections WHERE community_id = $1 AND section = $2",
        community_id,
        section,
    )
    return Section(**dict(row)) if row else None


async def save(connection: asyncpg.Connection, community_id: int, section: str, body_md: str, user_id: int) -> Section:
    row = await connection.fetchrow(
        """INSERT INTO condition_sections (community_id, section, body_md, updated_by) VALUES ($1, $2, $3, $4)
           ON CONFLICT (community_id, section) DO UPDATE
           SET body_md = EXCLUDED.body_md, updated_by = EXCLUDED.updated_by, updated_at = now()
           RETURNING section, body_md, updated_at""",
        community_id,
        section,
        body_md,
        user_id,
    )
    assert row is not None
    return Section(**dict(row))


_REVISION = f"""r.id, r.section, r.body_md, r.summary, r.created_at,
               {shown_username("u", "am")} AS author_username, {shown_name("u", "am")} AS author_display_name"""
_AUTHOR = f"LEFT JOIN users u ON u.id = r.author_id {membership_of('am', 'r.community_id', 'u')}"


async def add_revision(
    connection: asyncpg.Connection, community_id: int, section: str, body_md: str, summary: str, author_id: int
) -> Revision:
    revision_id = await connection.fetchval(
        """INSERT INTO section_revisions (community_id, section, body_md, summary, author_id)
           VALUES ($1, $2, $3, $4, $5) RETURNING id""",
        community_id,
        section,
        body_md,
        summary,
        author_id,
    )
    row = await connection.fetchrow(
        f"SELECT {_REVISION} FROM section_revisions r {_AUTHOR} WHERE r.id = $1",
        revision_id,
    )
    assert row is not None
    return Revision(**dict(row))


async def revisions(
    connection: asyncpg.Connection, community_id: int, section: str, *, limit: int = 200
) -> list[Revision]:
    """Newest first."""
    rows = await connection.fetch(
        f"""SELECT {_REVISION} FROM section_revisions r {_AUTHOR}
            WHERE r.community_id = $1 AND r.section = $2 ORDER BY r.id DESC LIMIT $3""",
        community_id,
        section,
        limit,
    )
    return [Revision(**dict(row)) for row in rows]
