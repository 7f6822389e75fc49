"""SQL for communities: directory listing, lookup by slug, creation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class Community:
    id: int
    slug: str
    name: str
    synonyms: list[str]
    description: str
    status: str
    visibility: str
    member_count: int
    last_activity_at: datetime


_COLUMNS = "id, slug, name, synonyms, description, status, visibility, member_count, last_activity_at"


def _community(row: asyncpg.Record) -> Community:
    return Community(**dict(row))


async def list_active(connection: asyncpg.Connection, *, limit: int = 50) -> list[Community]:
    rows = await connection.fetch(
        f"SELECT {_COLUMNS} FROM communities WHERE status = 'active' ORDER BY last_activity_at DESC, id DESC LIMIT $1",
        limit,
    )
    return [_community(row) for row in rows]


async def by_slug(connection: asyncpg.Connection, slug: str) -> Community | None:
    row = await connection.fetchrow(f"SELECT {_COLUMNS} FROM communities WHERE slug = $1", slug)
    return _community(row) if row else None
