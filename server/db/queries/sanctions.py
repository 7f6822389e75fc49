"""SQL for mutes and bans in a community: active ones, creation, lifting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.db.queries.names import handle, membership_of, shown_name


@dataclass(frozen=True)
class Sanction:
    id: int
    community_id: int
    user_id: int
    username: str  # the handle of the member in this community (names.handle): no username under a pseudonym
    kind: str
    reason: str
    created_by: int | None
    created_at: datetime
    ends_at: datetime | None
    display_name: str = ""  # as this community shows the member
    room_name: str | None = None  # a mute scoped to one room: its name (None: the whole community)


_SELECT = f"""SELECT s.id, s.community_id, s.user_id, {handle("u", "sm")} AS username, s.kind, s.reason,
                    s.created_by, s.created_at, s.ends_at, {shown_name("u", "sm")} AS display_name, r.name AS room_name
             FROM sanctions s JOIN users u ON u.id = s.user_id {membership_of("sm", "s.community_id", "u")}
             LEFT JOIN rooms r ON r.id = s.room_id"""
_ACTIVE = "s.lifted_at IS NULL AND (s.ends_at IS NULL OR s.ends_at > now())"


async def create(
    connection: asyncpg.Connection,
    *,
    community_id: int,
    user_id: int,
    kind: str,
    reason: str,
    created_by: int,
    ends_at: datetime | None,
    room_id: int | None = None,
) -> int:
    """A mute or ban; a mute with room_id holds in that room only."""
    sanction_id: int = await connection.fetchval(
        """INSERT INTO sanctions (community_id, user_id, kind, reason, created_by, ends_at, room_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
        community_id,
        user_id,
        kind,
        reason,
        created_by,
        ends_at,
        room_id,
    )
    return sanction_id


async def lift_active(
    connection: asyncpg.Connection,
    community_id: int,
    user_id: int,
    kind: str,
    lifted_by: int,
    *,
    scope: int | str | None = "any",
) -> int:
    """End every active sanction of that kind (scope: "any", None for community-wide ones only, or a room's
    id for that room's only); returns how many were lifted."""
    result = await connection.execute(
        f"""UPDATE sanctions s SET lifted_at = now(), lifted_by = $4
            WHERE s.community_id = $1 AND s.user_id = $2 AND s.kind = $3 AND {_ACTIVE}
              AND ($5 OR s.room_id IS NOT DISTINCT FROM $6::bigint)""",
        community_id,
        user_id,
        kind,
        lifted_by,
        scope == "any",
        scope if isinstance(scope, int) else None,
    )
    return int(result.split()[-1])


async def active_for_community(connection: asyncpg.Connection, community_id: int) -> list[Sanction]:
    rows = await connection.fetch(
        f"{_SELECT} WHERE s.community_id = $1 AND {_ACTIVE} ORDER BY s.created_at DESC", community_id
    )
    return [Sanction(**dict(row)) for row in rows]
