"""SQL for "I helped" / "thank you" reactions: one per member per post."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class Counts:
    helped: int
    thanks: int
    mine: str | None


async def current(connection: asyncpg.Connection, post_id: int, user_id: int, *, lock: bool = False) -> str | None:
    """The member's reaction to a post (locked for update inside a transaction when asked)."""
    suffix = " FOR UPDATE" if lock else ""
    kind: str | None = await connection.fetchval(
        f"SELECT kind FROM reactions WHERE post_id = $1 AND user_id = $2{suffix}", post_id, user_id
    )
    return kind


async def put(connection: asyncpg.Connection, post_id: int, user_id: int, kind: str) -> None:
    await connection.execute(
        """INSERT INTO reactions (post_id, user_id, kind) VALUES ($1, $2, $3)
           ON CONFLICT (post_id, user_id) DO UPDATE SET kind = EXCLUDED.kind, created_at = now()""",
        post_id,
        user_id,
        kind,
    )


async def remove(connection: asyncpg.Connection, post_id: int, user_id: int) -> None:
    await connection.execute("DELETE FROM reactions WHERE post_id = $1 AND user_id = $2", post_id, user_id)


async def counts(connection: asyncpg.Connection, post_id: int, user_id: int | None) -> Counts:
    record = await connection.fetchrow(
        """SELECT count(*) FILTER (WHERE kind = 'helped') AS helped, count(*) FILTER (WHERE kind = 'thanks') AS thanks,
                  max(kind) FILTER (WHERE user_id = $2) AS mine
           FROM reactions WHERE post_id = $1""",
        post_id,
        user_id,
    )
    assert record is not None
    return Counts(record["helped"], record["thanks"], record["mine"])
