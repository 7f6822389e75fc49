"""SQL for the moderation audit log: append-only (a trigger refuses edits and deletes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from server.db.queries.names import handle, membership_of


@dataclass(frozen=True)
class AuditEntry:
    id: int
    community_id: int | None
    actor_id: int | None
    actor_username: str
    action: str
    target_user_id: int | None
    target_username: str
    target_kind: str
    target_id: int | None
    reason: str
    details: dict[str, Any]
    created_at: datetime


async def record(
    connection: asyncpg.Connection,
    *,
    community_id: int | None,
    actor_id: int,
    action: str,
    target_user_id: int | None = None,
    target_kind: str = "",
    target_id: int | None = None,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    await connection.execute(
        """INSERT INTO moderation_actions
               (community_id, actor_id, action, target_user_id, target_kind, target_id, reason, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        community_id,
        actor_id,
        action,
        target_user_id,
        target_kind,
        target_id,
        reason,
        details or {},
    )


async def for_community(
    connection: asyncpg.Connection, community_id: int, *, before_id: int | None, limit: int
) -> list[AuditEntry]:
    rows = await connection.fetch(
        f"""SELECT a.id, a.community_id, a.actor_id, coalesce({handle("actor", "am")}, '') AS actor_username, a.action,
                  a.target_user_id, coalesce({handle("target", "tm")}, '') AS target_username, a.target_kind,
                  a.target_id, a.reason, a.details, a.created_at
           FROM moderation_actions a
           LEFT JOIN users actor ON actor.id = a.actor_id {membership_of("am", "a.community_id", "actor")}
           LEFT JOIN users target ON target.id = a.target_user_id {membership_of("tm", "a.community_id", "target")}
           WHERE a.community_id = $1 AND ($2::bigint IS NULL OR a.id < $2)
           ORDER BY a.id DESC LIMIT $3""",
        community_id,
        before_id,
        limit,
    )
    return [AuditEntry(**dict(row)) for row in rows]
