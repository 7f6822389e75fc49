"""SQL for the expert badge a site admin gives to members who answer expert questions."""

from __future__ import annotations

import asyncpg


async def set_expert(connection: asyncpg.Connection, username: str, value: bool) -> int | None:
    """Set or clear the badge; the user's id, or None when there is no such (live) account."""
    user_id: int | None = await connection.fetchval(
        "UPDATE users SET is_expert = $2 WHERE lower(username) = lower($1) AND deleted_at IS NULL RETURNING id",
        username,
        value,
    )
    return user_id
