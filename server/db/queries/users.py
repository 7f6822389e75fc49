"""SQL for users: accounts, profiles, preferences."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    bio: str
    is_admin: bool
    is_expert: bool
    language: str | None
    time_zone: str
    created_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True)
class Credentials:
    id: int
    password_hash: str | None


COLUMNS = "id, username, display_name, bio, is_admin, is_expert, language, time_zone, created_at, deleted_at"


def user_from_row(row: asyncpg.Record) -> User:
    return User(**{name: row[name] for name in User.__dataclass_fields__})


async def create(
    connection: asyncpg.Connection, *, username: str, display_name: str, password_hash: str, email: str | None
) -> User | None:
    """Insert a user; None when the username (case-insensitively) is taken."""
    row = await connection.fetchrow(
        f"""INSERT INTO users (username, display_name, password_hash, email) VALUES ($1, $2, $3, $4)
            ON CONFLICT (lower(username)) DO NOTHING RETURNING {COLUMNS}""",
        username,
        display_name,
        password_hash,
        email,
    )
    return user_from_row(row) if row else None


async def by_id(connection: asyncpg.Connection, user_id: int) -> User | None:
    row = await connection.fetchrow(f"SELECT {COLUMNS} FROM users WHERE id = $1", user_id)
    return user_from_row(row) if row else None


async def by_username(connection: asyncpg.Connection, username: str) -> User | None:
    row = await connection.fetchrow(f"SELECT {COLUMNS} FROM users WHERE lower(username) = lower($1)", username)
    return user_from_row(row) if row else None


async def credentials(connection: asyncpg.Connection, username: str) -> Credentials | None:
    row = await connection.fetchrow(
        "SELECT id, password_hash FROM users WHERE lower(username) = lower($1) AND deleted_at IS NULL", username
    )
    return Credentials(row["id"], row["password_hash"]) if row else None


async def password_hash(connection: asyncpg.Connection, user_id: int) -> str | None:
    value: str | None = await connection.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id)
    return value


async def set_password_hash(connection: asyncpg.Connection, user_id: int, new_hash: str) -> None:
    await connection.execute("UPDATE users SET password_hash = $2 WHERE id = $1", user_id, new_hash)
