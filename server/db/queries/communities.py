"""SQL for communities: directory listing, lookup by slug, creation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.db.queries.memberships import Standing, pop_standing, standing_columns, standing_sql


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
    # Open to non-members of a public community (members-only until its leaders open them).
    introductions_open: bool = False
    rooms_open: bool = False


_COLUMNS = (
    "id, slug, name, synonyms, description, status, visibility, member_count, last_activity_at, "
    "introductions_open, rooms_open"
)


def _community(row: asyncpg.Record) -> Community:
    return Community(**dict(row))


async def by_slug(connection: asyncpg.Connection, slug: str) -> Community | None:
    row = await connection.fetchrow(f"SELECT {_COLUMNS} FROM communities WHERE slug = $1", slug)
    return _community(row) if row else None


_BY_SLUG_WITH_STANDING = f"""SELECT {", ".join(f"c.{name}" for name in _COLUMNS.split(", "))}, {standing_columns("st")}
    FROM communities c LEFT JOIN LATERAL ({standing_sql("c.id", "$2")}) st ON true
    WHERE c.slug = $1"""


async def by_slug_with_standing(
    connection: asyncpg.Connection, slug: str, viewer_id: int
) -> tuple[Community, Standing] | None:
    """The community and the standing there of user `viewer_id`, in one round trip (a signed-in reader's forum pages)."""
    row = await connection.fetchrow(_BY_SLUG_WITH_STANDING, slug, viewer_id)
    if row is None:
        return None
    values = dict(row)
    standing = pop_standing(values)
    return Community(**values), standing


async def by_id(connection: asyncpg.Connection, community_id: int) -> Community | None:
    row = await connection.fetchrow(f"SELECT {_COLUMNS} FROM communities WHERE id = $1", community_id)
    return _community(row) if row else None


_DIRECTORY_VECTOR = "(folded_search || catalogue_search)"


async def search_active(
    connection: asyncpg.Connection, tsquery: str | None, *, limit: int, offset: int
) -> tuple[list[Community], int]:
    """One page of active communities and the total: matching a 'simple' tsquery of folded words (best first)
    in their names, other names, descriptions or catalogue conditions (names, codes, genes, symptoms),
    or all by activity."""
    if tsquery:
        rows = await connection.fetch(
            f"""SELECT {_COLUMNS} FROM communities
                WHERE status = 'active' AND visibility <> 'hidden' AND {_DIRECTORY_VECTOR} @@ to_tsquery('simple', $1)
                ORDER BY ts_rank({_DIRECTORY_VECTOR}, to_tsquery('simple', $1)) DESC, last_activity_at DESC, id DESC
                LIMIT $2 OFFSET $3""",
            tsquery,
            limit,
            offset,
        )
        total = await connection.fetchval(
            f"""SELECT count(*) FROM communities
               WHERE status = 'active' AND visibility <> 'hidden' AND {_DIRECTORY_VECTOR} @@ to_tsquery('simple', $1)""",
            tsquery,
        )
    else:
        rows = await connection.fetch(
            f"""SELECT {_COLUMNS} FROM communities WHERE status = 'active' AND visibility <> 'hidden'
                ORDER BY last_activity_at DESC, id DESC LIMIT $1 OFFSET $2""",
            limit,
            offset,
        )
        total = await connection.fetchval(
            "SELECT count(*) FROM communities WHERE status = 'active' AND visibility <> 'hidden'"
        )
    return [_community(row) for row in rows], int(total)


async def slugs_like(connection: asyncpg.Connection, base: str) -> set[str]:
    """The slug itself and its numbered variants (base-2, base-3...) already in use."""
    rows = await connection.fetch(
        "SELECT slug FROM communities WHERE slug = $1 OR slug ~ ('^' || $1 || '-[0-9]+$')", base
    )
    return {row["slug"] for row in rows}


async def open_by_name(connection: asyncpg.Connection, name: str) -> Community | None:
    """An active or proposed community with this name, ignoring case."""
    row = await connection.fetchrow(
        f"""SELECT {_COLUMNS} FROM communities WHERE lower(name) = lower($1) AND status IN ('active', 'proposed')
            ORDER BY status LIMIT 1""",
        name,
    )
    return _community(row) if row else None


async def create_proposed(
    connection: asyncpg.Connection, *, slug: str, name: str, synonyms: list[str], description: str
) -> Community | None:
    """A new community awaiting a site admin's decision; None when the slug is taken."""
    row = await connection.fetchrow(
        f"""INSERT INTO communities (slug, name, synonyms, description, status) VALUES ($1, $2, $3, $4, 'proposed')
            ON CONFLICT (slug) DO NOTHING RETURNING {_COLUMNS}""",
        slug,
        name,
        synonyms,
        description,
    )
    return _community(row) if row else None


async def set_status(connection: asyncpg.Connection, community_id: int, status: str) -> None:
    await connection.execute("UPDATE communities SET status = $2 WHERE id = $1", community_id, status)


async def set_reading_rules(
    connection: asyncpg.Connection, community_id: int, *, visibility: str, introductions_open: bool, rooms_open: bool
) -> Community:
    row = await connection.fetchrow(
        f"""UPDATE communities SET visibility = $2, introductions_open = $3, rooms_open = $4
            WHERE id = $1 RETURNING {_COLUMNS}""",
        community_id,
        visibility,
        introductions_open,
        rooms_open,
    )
    assert row is not None
    return _community(row)
