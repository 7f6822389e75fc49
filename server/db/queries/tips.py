"""SQL for members' tips: short practical advice, which leaders can hide."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.db.queries.names import membership_of, shown_name, shown_username


@dataclass(frozen=True)
class Tip:
    id: int
    community_id: int
    name: str
    description: str
    hidden: bool
    created_at: datetime
    author_username: str | None
    author_display_name: str | None


_COLUMNS = f"""t.id, t.community_id, t.name, t.description, t.hidden, t.created_at,
              {shown_username("u", "am")} AS author_username, {shown_name("u", "am")} AS author_display_name"""
_AUTHOR = f"LEFT JOIN users u ON u.id = t.author_id {membership_of('am', 't.community_id', 'u')}"


def _tip(row: asyncpg.Record) -> Tip:
    return Tip(**dict(row))


async def list_for(
    connection: asyncpg.Connection, community_id: int, *, include_hidden: bool, limit: int = 500
) -> list[Tip]:
    """Newest first; hidden tips only when asked (for the community's leaders)."""
    rows = await connection.fetch(
        f"""SELECT {_COLUMNS} FROM tips t {_AUTHOR}
            WHERE t.community_id = $1 AND ($2 OR NOT t.hidden)
            ORDER BY t.created_at DESC, t.id DESC LIMIT $3""",
        community_id,
        include_hidden,
        limit,
    )
    return [_tip(row) for row in rows]


async def get(connection: asyncpg.Connection, community_id: int, tip_id: int) -> Tip | None:
    row = await connection.fetchrow(
        f"SELECT {_COLUMNS} FROM tips t {_AUTHOR} WHERE t.id = $1 AND t.community_id = $2",
        tip_id,
        community_id,
    )
    return _tip(row) if row else None


async def create(connection: asyncpg.Connection, community_id: int, author_id: int, name: str, description: str) -> Tip:
    tip_id = await connection.fetchval(
        "INSERT INTO tips (community_id, author_id, name, description) VALUES ($1, $2, $3, $4) RETURNING id",
        community_id,
        author_id,
        name,
        description,
    )
    tip = await get(connection, community_id, tip_id)
    assert tip is not None
    return tip


async def set_hidden(
    connection: asyncpg.Connection, community_id: int, tip_id: int, *, hidden: bool, by: int
) -> Tip | None:
    updated = await connection.fetchval(
        """UPDATE tips SET hidden = $3, hidden_by = CASE WHEN $3 THEN $4::bigint END
           WHERE id = $1 AND community_id = $2 RETURNING id""",
        tip_id,
        community_id,
        hidden,
        by,
    )
    return await get(connection, community_id, tip_id) if updated else None
