"""SQL for live rooms: lookup, listing, creation, per-member read position and presence preference."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from server.db.queries.memberships import NO_STANDING, Standing, pop_standing, standing_columns, standing_sql


@dataclass(frozen=True)
class Room:
    id: int
    community_id: int
    slug: str
    name: str
    is_main: bool
    epoch: str
    last_seq: int
    slow_mode_seconds: int


_COLUMNS = "id, community_id, slug, name, is_main, epoch, last_seq, slow_mode_seconds"


def _room(row: asyncpg.Record) -> Room:
    return Room(**dict(row))


async def by_id(connection: asyncpg.Connection, room_id: int) -> Room | None:
    row = await connection.fetchrow(f"SELECT {_COLUMNS} FROM rooms WHERE id = $1", room_id)
    return _room(row) if row else None


async def in_community(connection: asyncpg.Connection, community_id: int, slug: str | None) -> Room | None:
    """The named room of a community, or its main room when no slug is given."""
    if slug is None:
        row = await connection.fetchrow(
            f"SELECT {_COLUMNS} FROM rooms WHERE community_id = $1 AND is_main", community_id
        )
    else:
        row = await connection.fetchrow(
            f"SELECT {_COLUMNS} FROM rooms WHERE community_id = $1 AND slug = $2", community_id, slug
        )
    return _room(row) if row else None


async def create(
    connection: asyncpg.Connection, community_id: int, slug: str, name: str, *, is_main: bool = False
) -> Room | None:
    row = await connection.fetchrow(
        f"""INSERT INTO rooms (community_id, slug, name, is_main) VALUES ($1, $2, $3, $4)
            ON CONFLICT DO NOTHING RETURNING {_COLUMNS}""",
        community_id,
        slug,
        name,
        is_main,
    )
    return _room(row) if row else None


async def set_slow_mode(connection: asyncpg.Connection, room_id: int, seconds: int) -> None:
    await connection.execute("UPDATE rooms SET slow_mode_seconds = $2 WHERE id = $1", room_id, seconds)


async def mark_read(connection: asyncpg.Connection, room_id: int, user_id: int, seq: int) -> None:
    """Remember how far a member has read; never moves backwards."""
    await connection.execute(
        """INSERT INTO room_members (room_id, user_id, last_read_seq) VALUES ($1, $2, $3)
           ON CONFLICT (room_id, user_id) DO UPDATE
           SET last_read_seq = GREATEST(room_members.last_read_seq, EXCLUDED.last_read_seq)""",
        room_id,
        user_id,
        seq,
    )


async def last_read(connection: asyncpg.Connection, room_id: int, user_id: int) -> int:
    """The seq up to which a member has read the room (0: never opened it)."""
    value = await connection.fetchval(
        "SELECT last_read_seq FROM room_members WHERE room_id = $1 AND user_id = $2", room_id, user_id
    )
    return int(value or 0)


async def hides_presence(connection: asyncpg.Connection, room_id: int, user_id: int) -> bool:
    value = await connection.fetchval(
        "SELECT hide_presence FROM room_members WHERE room_id = $1 AND user_id = $2", room_id, user_id
    )
    return bool(value)


async def set_hide_presence(connection: asyncpg.Connection, room_id: int, user_id: int, hidden: bool) -> None:
    await connection.execute(
        """INSERT INTO room_members (room_id, user_id, hide_presence) VALUES ($1, $2, $3)
           ON CONFLICT (room_id, user_id) DO UPDATE SET hide_presence = EXCLUDED.hide_presence""",
        room_id,
        user_id,
        hidden,
    )


async def unread_counts(connection: asyncpg.Connection, user_id: int, community_ids: list[int]) -> dict[int, int]:
    """Unread visible messages per community (all its rooms) for one member, in one query."""
    rows = await connection.fetch(
        """SELECT r.community_id, count(m.id) AS unread
           FROM rooms r
           JOIN memberships ms ON ms.community_id = r.community_id AND ms.user_id = $1
           LEFT JOIN room_members rm ON rm.room_id = r.id AND rm.user_id = $1
           JOIN room_messages m ON m.room_id = r.id AND m.seq > coalesce(rm.last_read_seq, 0)
                AND m.state = 'visible' AND m.author_id IS DISTINCT FROM $1
           WHERE r.community_id = ANY($2::bigint[])
           GROUP BY r.community_id""",
        user_id,
        community_ids,
    )
    return {row["community_id"]: row["unread"] for row in rows}


@dataclass(frozen=True)
class Listed:
    """A room of a community's room list, with the reader's unread messages in it (0 for non-members)."""

    room: Room
    unread: int


# Visible messages past the member's read position, not their own (the same rule as unread_counts).
_UNREAD_IN_ROOM = """(SELECT count(*) FROM room_messages m
        WHERE m.room_id = r.id AND m.seq > coalesce(rm.last_read_seq, 0)
          AND m.state = 'visible' AND m.author_id IS DISTINCT FROM $2)"""


async def listed(connection: asyncpg.Connection, community_id: int, member_id: int | None) -> list[Listed]:
    """A community's rooms (main room first) with each one's unread count for a member, in one query."""
    columns = ", ".join("r." + column for column in _COLUMNS.split(", "))
    rows = await connection.fetch(
        f"""SELECT {columns},
               CASE WHEN $2::bigint IS NULL THEN 0 ELSE {_UNREAD_IN_ROOM} END AS unread
            FROM rooms r LEFT JOIN room_members rm ON rm.room_id = r.id AND rm.user_id = $2
            WHERE r.community_id = $1 ORDER BY r.is_main DESC, r.name""",
        community_id,
        member_id,
    )
    return [
        Listed(Room(**{column: row[column] for column in Room.__dataclass_fields__}), row["unread"]) for row in rows
    ]


async def mark_read_and_count(connection: asyncpg.Connection, room_id: int, user_id: int, seq: int) -> tuple[int, int]:
    """mark_read, answering the read position and how many visible messages of others are still unread
    past it, in one round trip."""
    row = await connection.fetchrow(
        f"""WITH rm AS (
              INSERT INTO room_members (room_id, user_id, last_read_seq) VALUES ($1, $2, $3)
              ON CONFLICT (room_id, user_id) DO UPDATE
              SET last_read_seq = GREATEST(room_members.last_read_seq, EXCLUDED.last_read_seq)
              RETURNING room_id, last_read_seq)
            SELECT rm.last_read_seq, {_UNREAD_IN_ROOM} AS unread FROM rm JOIN rooms r ON r.id = rm.room_id""",
        room_id,
        user_id,
        seq,
    )
    assert row is not None
    return int(row["last_read_seq"]), int(row["unread"])


@dataclass(frozen=True)
class RoomInCommunity:
    """A room with what the websocket needs to know of its community."""

    room: Room
    community_slug: str
    community_name: str
    community_status: str
    community_visibility: str
    community_rooms_open: bool = False


_BY_NAMES_SELECT = f"""SELECT {", ".join("r." + column for column in _COLUMNS.split(", "))},
           c.slug AS community_slug, c.name AS community_name, c.status AS community_status,
           c.visibility AS community_visibility, c.rooms_open AS community_rooms_open"""
_BY_NAMES = f"""{_BY_NAMES_SELECT}
    FROM rooms r JOIN communities c ON c.id = r.community_id
    WHERE c.slug = $1 AND r.slug = $2"""
# Every live frame that acts in a room needs the member's standing there too: one round trip for both.
_BY_NAMES_WITH_STANDING = f"""{_BY_NAMES_SELECT}, {standing_columns("st")}
    FROM rooms r JOIN communities c ON c.id = r.community_id
    LEFT JOIN LATERAL ({standing_sql("r.community_id", "$3", "r.id")}) st ON true
    WHERE c.slug = $1 AND r.slug = $2"""


def _room_in_community(row: asyncpg.Record | Mapping[str, Any]) -> RoomInCommunity:
    room = Room(**{column: row[column] for column in Room.__dataclass_fields__})
    return RoomInCommunity(
        room,
        row["community_slug"],
        row["community_name"],
        row["community_status"],
        row["community_visibility"],
        row["community_rooms_open"],
    )


async def by_names(connection: asyncpg.Connection, community_slug: str, room_slug: str) -> RoomInCommunity | None:
    row = await connection.fetchrow(_BY_NAMES, community_slug, room_slug)
    return _room_in_community(row) if row is not None else None


async def by_names_with_standing(
    connection: asyncpg.Connection, community_slug: str, room_slug: str, viewer_id: int | None
) -> tuple[RoomInCommunity, Standing] | None:
    """The room and the standing of the reader `viewer_id` in its community (NO_STANDING for none)."""
    if viewer_id is None:
        found = await by_names(connection, community_slug, room_slug)
        return (found, NO_STANDING) if found is not None else None
    row = await connection.fetchrow(_BY_NAMES_WITH_STANDING, community_slug, room_slug, viewer_id)
    if row is None:
        return None
    values = dict(row)
    standing = pop_standing(values)
    return _room_in_community(values), standing


async def heads(connection: asyncpg.Connection, names: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, int]]:
    """Epoch and newest seq of rooms named (community slug, room slug), in one query."""
    rows = await connection.fetch(
        """SELECT c.slug AS community_slug, r.slug AS room_slug, r.epoch, r.last_seq
           FROM rooms r JOIN communities c ON c.id = r.community_id
           JOIN unnest($1::text[], $2::text[]) AS wanted(community_slug, room_slug)
             ON wanted.community_slug = c.slug AND wanted.room_slug = r.slug""",
        [name[0] for name in names],
        [name[1] for name in names],
    )
    return {(row["community_slug"], row["room_slug"]): (row["epoch"], row["last_seq"]) for row in rows}


async def head(connection: asyncpg.Connection, room_id: int) -> tuple[str, int] | None:
    row = await connection.fetchrow("SELECT epoch, last_seq FROM rooms WHERE id = $1", room_id)
    return (row["epoch"], row["last_seq"]) if row else None
