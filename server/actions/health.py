"""Health: whether the database and Redis answer within a bound, for GET /healthz."""

from __future__ import annotations

import asyncio
from typing import cast

import asyncpg

from channels.redis_client import RedisClient
from server.db.queries import health

# A check that takes longer than this counts as a failure: a load balancer must not wait on it.
CHECK_TIMEOUT_SECONDS = 2.0


# The database is unreachable or refusing: nothing was stored, and the client may retry.
DATABASE_DOWN = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


def database_down(error: BaseException) -> bool:
    """Whether an error means the database could not be reached (rather than a bug)."""
    return isinstance(error, DATABASE_DOWN)


async def database_ok(pool: asyncpg.Pool) -> bool:
    """True when a pooled connection answers a ping within CHECK_TIMEOUT_SECONDS."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            async with pool.acquire() as connection:
                await health.ping(cast(asyncpg.Connection, connection))
    except Exception:
        return False
    return True


async def redis_ok(redis: RedisClient) -> bool:
    """True when Redis answers a PING within CHECK_TIMEOUT_SECONDS."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await redis.ping()
    except Exception:
        return False
    return True
