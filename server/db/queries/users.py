"""SQL for users: accounts, profiles, preferences."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.db.queries.access import audience_of, forum_readable_by, membership_visible_to


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
    # What the profile shows to others (both off until the member turns them on).
    show_communities: bool = False
    show_posts: bool = False


@dataclass(frozen=True)
class Credentials:
    id: int
    password_hash: str | None


COLUMNS = (
    "id, username, display_name, bio, is_admin, is_expert, language, time_zone, created_at, deleted_at, "
    "show_communities, show_posts"
)


def user_columns(alias: str) -> str:
    """COLUMNS of the users table under `alias`, for queries that join it."""
    return ", ".join(f"{alias}.{name}" for name in COLUMNS.split(", "))


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


# --- Profiles, preferences and account deletion -------------------------------------------


@dataclass(frozen=True)
class JoinedCommunity:
    slug: str
    name: str
    role: str
    joined_at: datetime


@dataclass(frozen=True)
class PublicPost:
    id: int
    thread_id: int
    thread_title: str
    community_slug: str
    community_name: str
    body_md: str
    created_at: datetime


async def active_by_username(connection: asyncpg.Connection, username: str) -> User | None:
    """A member who has not deleted their account (deleted accounts have no profile)."""
    row = await connection.fetchrow(
        f"SELECT {COLUMNS} FROM users WHERE lower(username) = lower($1) AND deleted_at IS NULL", username
    )
    return user_from_row(row) if row else None


async def joined_communities(
    connection: asyncpg.Connection, user_id: int, *, viewer_id: int | None, shown: bool
) -> list[JoinedCommunity]:
    """Active communities the user belongs to: to the member always; to others only when the member
    chose to show them (`shown`), and then a members-only or hidden one (joining says something about
    someone's health) only to fellow members of that community."""
    rows = await connection.fetch(
        f"""SELECT c.slug, c.name, m.role, m.joined_at
           FROM memberships m JOIN communities c ON c.id = m.community_id
           WHERE m.user_id = $1 AND c.status = 'active'
             AND (m.user_id = $2 OR ($3 AND m.pseudonym IS NULL AND {membership_visible_to("c", "$2::bigint")}))
           ORDER BY c.name, c.id""",
        user_id,
        viewer_id,
        shown,
    )
    return [JoinedCommunity(**dict(row)) for row in rows]


async def public_posts(
    connection: asyncpg.Connection, user_id: int, *, viewer_id: int | None, shown: bool, limit: int = 20
) -> list[PublicPost]:
    """Recent visible posts in visible threads, newest first, that the viewer may read (access:
    can_read_forum; site admins are not special here): to the member always; to others, in each
    community, only to fellow members unless the member chose to show them to all readers (`shown`).
    Like the list of communities, a profile leaves archived communities out."""
    rows = await connection.fetch(
        f"""SELECT p.id, p.thread_id, t.title AS thread_title, c.slug AS community_slug,
                  c.name AS community_name, p.body_md, p.created_at
           FROM posts p
           JOIN threads t ON t.id = p.thread_id
           JOIN communities c ON c.id = t.community_id
           WHERE p.author_id = $1 AND p.state = 'visible' AND t.state = 'visible' AND c.status = 'active'
             AND {forum_readable_by("c", "$3::bigint", "false", "t.kind", audience_of("t", "p"))}
             AND (p.author_id = $3 OR $4 OR {forum_readable_by("c", "$3::bigint", "false", "t.kind", "'members'")})
             -- What they wrote under a pseudonym never leads back to the account, except for themselves.
             AND (p.author_id = $3 OR NOT EXISTS (SELECT 1 FROM memberships pm WHERE pm.community_id = c.id
                                                  AND pm.user_id = p.author_id AND pm.pseudonym IS NOT NULL))
           ORDER BY p.id DESC
           LIMIT $2""",
        user_id,
        limit,
        viewer_id,
        shown,
    )
    return [PublicPost(**dict(row)) for row in rows]


async def update_profile(
    connection: asyncpg.Connection,
    user_id: int,
    *,
    display_name: str,
    bio: str,
    show_communities: bool,
    show_posts: bool,
) -> User:
    row = await connection.fetchrow(
        f"""UPDATE users SET display_name = $2, bio = $3, show_communities = $4, show_posts = $5
            WHERE id = $1 RETURNING {COLUMNS}""",
        user_id,
        display_name,
        bio,
        show_communities,
        show_posts,
    )
    assert row is not None
    return user_from_row(row)


async def set_preferences(
    connection: asyncpg.Connection, user_id: int, *, language: str | None, time_zone: str
) -> User:
    row = await connection.fetchrow(
        f"UPDATE users SET language = $2, time_zone = $3 WHERE id = $1 RETURNING {COLUMNS}",
        user_id,
        language,
        time_zone,
    )
    assert row is not None
    return user_from_row(row)


async def anonymize(connection: asyncpg.Connection, user_id: int, *, display_name: str) -> bool:
    """Strip the account of everything that identifies the person; False when already deleted.
    Run it inside a transaction together with forget_personal_rows."""
    result = await connection.execute(
        """UPDATE users SET username = 'deleted-' || id, display_name = $2, bio = '', email = NULL,
                  password_hash = NULL, is_admin = false, is_expert = false, expert_credential = '', language = NULL,
                  time_zone = 'UTC', deleted_at = now()
           WHERE id = $1 AND deleted_at IS NULL""",
        user_id,
        display_name,
    )
    return result.endswith(" 1")


async def forget_personal_rows(connection: asyncpg.Connection, user_id: int) -> None:
    """Sessions, memberships (keeping member counts right), room read marks, notifications and
    preferences go; posts, messages, tips, reactions and flags stay, attributed to the anonymized row."""
    await connection.execute(
        """UPDATE communities c SET member_count = greatest(c.member_count - 1, 0)
           FROM memberships m WHERE m.community_id = c.id AND m.user_id = $1""",
        user_id,
    )
    await connection.execute("DELETE FROM memberships WHERE user_id = $1", user_id)
    await connection.execute("DELETE FROM sessions WHERE user_id = $1", user_id)
    await connection.execute("DELETE FROM room_members WHERE user_id = $1", user_id)
    await connection.execute("DELETE FROM notifications WHERE user_id = $1", user_id)
    await connection.execute("DELETE FROM notification_preferences WHERE user_id = $1", user_id)
