"""The asyncpg connection pool: created in the app's lifespan, kept on app state."""

from __future__ import annotations

import json

import asyncpg


async def _init_connection(connection: asyncpg.Connection) -> None:
    # jsonb columns arrive as Python values, not strings.
    await connection.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(database_url: str, *, min_size: int, max_size: int) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        command_timeout=30,
        # Connections are dropped after a while so a failed-over Postgres is picked up.
        max_inactive_connection_lifetime=300,
    )
    assert pool is not None
    return pool


async def connect(database_url: str) -> asyncpg.Connection:
    """A single connection with the same codecs as the pool (for scripts and set-up)."""
    connection = await asyncpg.connect(database_url)
    await _init_connection(connection)
    return connection
