"""SQL for the expert badge a site admin gives to members who answer expert questions, with its credential."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class Expert:
    id: int
    username: str
    display_name: str
    credential: str


@dataclass(frozen=True)
class BadgeChange:
    """One grant or revocation from the audit log."""

    created_at: datetime
    action: str  # expert_marked or expert_unmarked
    actor_username: str
    target_username: str
    credential: str
    reason: str


async def set_expert(connection: asyncpg.Connection, username: str, value: bool, credential: str = "") -> int | None:
    """Set (with its credential) or clear the badge; the user's id, or None when there is no such (live) account."""
    user_id: int | None = await connection.fetchval(
        """UPDATE users SET is_expert = $2, expert_credential = CASE WHEN $2 THEN $3 ELSE '' END
           WHERE lower(username) = lower($1) AND deleted_at IS NULL RETURNING id""",
        username,
        value,
        credential,
    )
    return user_id


async def listed(connection: asyncpg.Connection) -> list[Expert]:
    """Every live account with the badge, by username."""
    rows = await connection.fetch(
        """SELECT id, username, display_name, expert_credential AS credential FROM users
           WHERE is_expert AND deleted_at IS NULL ORDER BY lower(username)"""
    )
    return [Expert(**dict(row)) for row in rows]


async def history(connection: asyncpg.Connection, limit: int = 50) -> list[BadgeChange]:
    """The latest grants and revocations, newest first (site-wide entries of the audit log)."""
    rows = await connection.fetch(
        """SELECT a.created_at, a.action, coalesce(actor.username, '') AS actor_username,
                  coalesce(target.username, '') AS target_username,
                  coalesce(a.details->>'credential', '') AS credential, a.reason
           FROM moderation_actions a
           LEFT JOIN users actor ON actor.id = a.actor_id
           LEFT JOIN users target ON target.id = a.target_user_id
           WHERE a.community_id IS NULL AND a.action IN ('expert_marked', 'expert_unmarked')
           ORDER BY a.created_at DESC, a.id DESC LIMIT $1""",
        limit,
    )
    return [BadgeChange(**dict(row)) for row in rows]
