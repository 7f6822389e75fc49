"""SQL for server-side sessions: stored by the hash of the cookie's id, never the id itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from server.db.queries.notifications import unread_count_sql
from server.db.queries.users import User, user_columns, user_from_row


@dataclass(frozen=True)
class Session:
    id_hash: bytes
    user: User
    csrf_token: str
    expires_at: datetime
    # The user's unread notifications (capped), counted only when asked for: pages with the site header.
    unread_count: int = 0


async def create(
    connection: asyncpg.Connection,
    *,
    id_hash: bytes,
    user_id: int,
    csrf_token: str,
    lifetime: timedelta,
    user_agent: str,
) -> None:
    await connection.execute(
        """INSERT INTO sessions (id_hash, user_id, csrf_token, expires_at, user_agent)
           VALUES ($1, $2, $3, now() + $4, $5)""",
        id_hash,
        user_id,
        csrf_token,
        lifetime,
        user_agent[:300],
    )


_USER_COLUMNS = user_columns("u")


_ACTIVE = f"""SELECT s.id_hash, s.csrf_token, s.expires_at, {_USER_COLUMNS}{{unread}}
    FROM sessions s JOIN users u ON u.id = s.user_id
    WHERE s.id_hash = $1 AND s.expires_at > now() AND u.deleted_at IS NULL"""
_ACTIVE_ALONE = _ACTIVE.format(unread="")
# The header's unread count rides along as a scalar subquery: a signed-in page costs one round trip
# for both rather than two (bench/pages.py).
_ACTIVE_WITH_UNREAD = _ACTIVE.format(unread=f", {unread_count_sql('u.id')} AS unread_count")


async def active(connection: asyncpg.Connection, id_hash: bytes, *, count_unread: bool = False) -> Session | None:
    """The live session for this hash with its user; expired sessions and deleted users count as none.

    With count_unread, the session also carries the user's unread notification count (else 0).
    """
    row = await connection.fetchrow(_ACTIVE_WITH_UNREAD if count_unread else _ACTIVE_ALONE, id_hash)
    if row is None:
        return None
    unread = row["unread_count"] if count_unread else 0
    return Session(row["id_hash"], user_from_row(row), row["csrf_token"], row["expires_at"], unread)


async def touch(connection: asyncpg.Connection, id_hash: bytes, lifetime: timedelta) -> None:
    await connection.execute(
        "UPDATE sessions SET last_seen_at = now(), expires_at = now() + $2 WHERE id_hash = $1", id_hash, lifetime
    )


async def delete(connection: asyncpg.Connection, id_hash: bytes) -> int | None:
    """End one session; returns the user it belonged to."""
    user_id: int | None = await connection.fetchval(
        "DELETE FROM sessions WHERE id_hash = $1 RETURNING user_id", id_hash
    )
    return user_id


async def delete_for_user(connection: asyncpg.Connection, user_id: int, *, keep: bytes | None = None) -> int:
    result = await connection.execute(
        "DELETE FROM sessions WHERE user_id = $1 AND ($2::bytea IS NULL OR id_hash <> $2)", user_id, keep
    )
    return int(result.split()[-1])
