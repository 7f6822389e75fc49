"""SQL for first-connection introductions: who welcomes newcomers in a community."""

from __future__ import annotations

import asyncpg


async def set_welcomer(connection: asyncpg.Connection, community_id: int, user_id: int, value: bool) -> bool:
    """Opt a member in or out of welcoming; False when they are not a member."""
    result = await connection.execute(
        "UPDATE memberships SET is_welcomer = $3 WHERE community_id = $1 AND user_id = $2",
        community_id,
        user_id,
        value,
    )
    return result.endswith(" 1")


async def is_welcomer(connection: asyncpg.Connection, community_id: int, user_id: int) -> bool:
    value = await connection.fetchval(
        "SELECT is_welcomer FROM memberships WHERE community_id = $1 AND user_id = $2", community_id, user_id
    )
    return bool(value)


async def greeters(connection: asyncpg.Connection, community_id: int) -> list[int]:
    """Leaders and members who asked to welcome newcomers."""
    records = await connection.fetch(
        "SELECT user_id FROM memberships WHERE community_id = $1 AND (role = 'leader' OR is_welcomer) ORDER BY user_id",
        community_id,
    )
    return [record["user_id"] for record in records]
