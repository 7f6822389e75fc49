"""SQL for a community's resources: clinical trials, registries, e-books, podcasts, organisations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg


@dataclass(frozen=True)
class Resource:
    id: int
    community_id: int
    kind: str
    title: str
    description: str
    url: str
    published_on: date | None
    created_at: datetime
    updated_at: datetime


_COLUMNS = "id, community_id, kind, title, description, url, published_on, created_at, updated_at"


def _resource(row: asyncpg.Record) -> Resource:
    return Resource(**dict(row))


async def list_for(
    connection: asyncpg.Connection, community_id: int, *, kind: str | None = None, limit: int = 500
) -> list[Resource]:
    """Newest first; removed resources are left out."""
    rows = await connection.fetch(
        f"""SELECT {_COLUMNS} FROM resources
            WHERE community_id = $1 AND removed_at IS NULL AND ($2::text IS NULL OR kind = $2)
            ORDER BY created_at DESC, id DESC LIMIT $3""",
        community_id,
        kind,
        limit,
    )
    return [_resource(row) for row in rows]


async def get(connection: asyncpg.Connection, community_id: int, resource_id: int) -> Resource | None:
    row = await connection.fetchrow(
        f"SELECT {_COLUMNS} FROM resources WHERE id = $1 AND community_id = $2 AND removed_at IS NULL",
        resource_id,
        community_id,
    )
    return _resource(row) if row else None


async def create(
    connection: asyncpg.Connection,
    community_id: int,
    *,
    kind: str,
    title: str,
    description: str,
    url: str,
    published_on: date | None,
    created_by: int,
) -> Resource:
    row = await connection.fetchrow(
        f"""INSERT INTO resources (community_id, kind, title, description, url, published_on, created_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLUMNS}""",
        community_id,
        kind,
        title,
        description,
        url,
        published_on,
        created_by,
    )
    assert row is not None
    return _resource(row)


async def update(
    connection: asyncpg.Connection,
    community_id: int,
    resource_id: int,
    *,
    kind: str,
    title: str,
    description: str,
    url: str,
    published_on: date | None,
) -> Resource | None:
    row = await connection.fetchrow(
        f"""UPDATE resources SET kind = $3, title = $4, description = $5, url = $6, published_on = $7, updated_at = now()
            WHERE id = $1 AND community_id = $2 AND removed_at IS NULL RETURNING {_COLUMNS}""",
        resource_id,
        community_id,
        kind,
        title,
        description,
        url,
        published_on,
    )
    return _resource(row) if row else None


async def remove(connection: asyncpg.Connection, community_id: int, resource_id: int) -> bool:
    """Soft removal: the row stays for the record but is never listed again."""
    removed = await connection.fetchval(
        """UPDATE resources SET removed_at = now()
           WHERE id = $1 AND community_id = $2 AND removed_at IS NULL RETURNING true""",
        resource_id,
        community_id,
    )
    return bool(removed)
