"""SQL for the moderation audit log: append-only (a trigger refuses edits and deletes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from server.db.queries.names import handle, membership_of, shown_name


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
    # Names as this community shows them (the pseudonym under one): for sentences, never for links.
    actor_name: str = ""
    target_name: str = ""


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to read: by or about one member (their handle or the name shown here), of some actions,
    in a time window."""

    member: str | None = None
    actions: tuple[str, ...] = ()
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


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
    connection: asyncpg.Connection,
    community_id: int,
    *,
    before_id: int | None,
    limit: int,
    where: AuditFilter | None = None,
) -> list[AuditEntry]:
    """A community's entries, newest first, from before_id down, matching `where`."""
    where = where or AuditFilter()
    actor, target = handle("actor", "am"), handle("target", "tm")
    rows = await connection.fetch(
        f"""SELECT a.id, a.community_id, a.actor_id, coalesce({actor}, '') AS actor_username, a.action,
                  a.target_user_id, coalesce({target}, '') AS target_username, a.target_kind,
                  a.target_id, a.reason, a.details, a.created_at,
                  coalesce({shown_name("actor", "am")}, '') AS actor_name,
                  coalesce({shown_name("target", "tm")}, '') AS target_name
           FROM moderation_actions a
           LEFT JOIN users actor ON actor.id = a.actor_id {membership_of("am", "a.community_id", "actor")}
           LEFT JOIN users target ON target.id = a.target_user_id {membership_of("tm", "a.community_id", "target")}
           WHERE a.community_id = $1 AND ($2::bigint IS NULL OR a.id < $2)
             AND ($4::text IS NULL OR lower($4) IN (lower({actor}), lower({target}),
                  lower({shown_name("actor", "am")}), lower({shown_name("target", "tm")})))
             AND (cardinality($5::text[]) = 0 OR a.action = ANY($5::text[]))
             AND ($6::timestamptz IS NULL OR a.created_at >= $6)
             AND ($7::timestamptz IS NULL OR a.created_at < $7)
           ORDER BY a.id DESC LIMIT $3""",
        community_id,
        before_id,
        limit,
        where.member,
        list(where.actions),
        where.since,
        where.until,
    )
    return [AuditEntry(**dict(row)) for row in rows]
