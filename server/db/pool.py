"""The asyncpg connection pool: created in the app's lifespan, kept on app state."""

from __future__ import annotations

import json

import asyncpg


class KindredConnection(asyncpg.Connection):
    """A pooled connection released without asyncpg's reset query (one round trip saved per request).

    The reset exists to undo session state: advisory locks held at session level, LISTEN, SET
    and open cursors. Kindred never leaves any of those on a pooled connection (the demo loader
    takes only transaction-level locks, on its own connection), so there is nothing to undo.
    """

    def get_reset_query(self) -> str:
        return ""


async def _init_connection(connection: asyncpg.Connection) -> None:
    # jsonb columns arrive as Python values, not strings.
    await connection.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(database_url: str, *, min_size: int, max_size: int) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        connection_class=KindredConnection,
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
