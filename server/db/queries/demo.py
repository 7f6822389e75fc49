"""SQL for the demo loader (server/demo.py): plain inserts of its accounts, communities and first content."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg


async def lock(connection: asyncpg.Connection, key: int) -> None:
    """Hold the advisory lock key until the transaction ends: two processes starting at once load once."""
    await connection.execute("SELECT pg_advisory_xact_lock($1)", key)


async def community_exists(connection: asyncpg.Connection, slug: str) -> bool:
    return bool(await connection.fetchval("SELECT 1 FROM communities WHERE slug = $1", slug))


async def community_id(connection: asyncpg.Connection, slug: str) -> int | None:
    found = await connection.fetchval("SELECT id FROM communities WHERE slug = $1", slug)
    return int(found) if found is not None else None


async def add_user(
    connection: asyncpg.Connection, username: str, display_name: str, bio: str, password_hash: str, is_admin: bool
) -> int:
    user_id = await connection.fetchval(
        """INSERT INTO users (username, display_name, bio, password_hash, is_admin)
           VALUES ($1, $2, $3, $4, $5) RETURNING id""",
        username,
        display_name,
        bio,
        password_hash,
        is_admin,
    )
    return int(user_id)


async def add_community(
    connection: asyncpg.Connection, slug: str, name: str, synonyms: list[str], description: str
) -> int:
    """An active community with its main room."""
    community_id = await connection.fetchval(
        """INSERT INTO communities (slug, name, synonyms, description, status)
           VALUES ($1, $2, $3, $4, 'active') RETURNING id""",
        slug,
        name,
        synonyms,
        description,
    )
    await connection.execute(
        "INSERT INTO rooms (community_id, slug, name, is_main) VALUES ($1, 'main', 'Main room', true)", community_id
    )
    return int(community_id)


async def add_member(connection: asyncpg.Connection, community_id: int, user_id: int, role: str) -> None:
    """A member already trusted to post without review, counted in the community's member count."""
    await connection.execute(
        "INSERT INTO memberships (community_id, user_id, role, approved_posts) VALUES ($1, $2, $3, 10)",
        community_id,
        user_id,
        role,
    )
    await connection.execute("UPDATE communities SET member_count = member_count + 1 WHERE id = $1", community_id)


async def add_section(
    connection: asyncpg.Connection, community_id: int, section: str, body: str, author_id: int
) -> None:
    """A condition section with its first revision."""
    await connection.execute(
        "INSERT INTO condition_sections (community_id, section, body_md, updated_by) VALUES ($1, $2, $3, $4)",
        community_id,
        section,
        body,
        author_id,
    )
    await connection.execute(
        """INSERT INTO section_revisions (community_id, section, body_md, summary, author_id)
           VALUES ($1, $2, $3, 'First version', $4)""",
        community_id,
        section,
        body,
        author_id,
    )


async def add_resource(
    connection: asyncpg.Connection,
    community_id: int,
    kind: str,
    title: str,
    description: str,
    url: str,
    published_on: date,
    created_by: int,
) -> None:
    await connection.execute(
        """INSERT INTO resources (community_id, kind, title, description, url, published_on, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        community_id,
        kind,
        title,
        description,
        url,
        published_on,
        created_by,
    )


async def add_tip(
    connection: asyncpg.Connection, community_id: int, author_id: int, name: str, description: str
) -> None:
    await connection.execute(
        "INSERT INTO tips (community_id, author_id, name, description) VALUES ($1, $2, $3, $4)",
        community_id,
        author_id,
        name,
        description,
    )


async def add_introduction(
    connection: asyncpg.Connection, community_id: int, author_id: int, title: str, intro: dict[str, Any], body: str
) -> int:
    """A first-connection thread with its guided answers and its opening post; returns the thread id."""
    thread_id = await connection.fetchval(
        """INSERT INTO threads (community_id, kind, title, author_id, intro)
           VALUES ($1, 'introduction', $2, $3, $4) RETURNING id""",
        community_id,
        title,
        author_id,
        intro,
    )
    await connection.execute(
        "INSERT INTO posts (thread_id, author_id, body_md) VALUES ($1, $2, $3)", thread_id, author_id, body
    )
    return int(thread_id)
