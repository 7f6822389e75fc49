"""SQL for the health check: one round trip that proves the database answers."""

from __future__ import annotations

import asyncpg


async def ping(connection: asyncpg.Connection) -> None:
    """Raises when the database does not answer on this connection."""
    await connection.fetchval("SELECT 1")
