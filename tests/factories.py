"""Test data builders: users, communities, memberships, and signing in through the real login form."""

from __future__ import annotations

import re

import asyncpg
import httpx

from server.passwords import hash_password

DEFAULT_PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def create_user(
    db: asyncpg.Connection,
    username: str,
    *,
    password: str = DEFAULT_PASSWORD,
    display_name: str | None = None,
    admin: bool = False,
    expert: bool = False,
    email: str | None = None,
) -> int:
    user_id = await db.fetchval(
        """INSERT INTO users (username, display_name, password_hash, is_admin, is_expert, email)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
        username,
        display_name or username.title(),
        hash_password(password),
        admin,
        expert,
        email,
    )
    return int(user_id)


async def create_community(
    db: asyncpg.Connection, slug: str = "test-condition", name: str = "Test Condition", **columns: object
) -> int:
    extra_names = "".join(f", {column}" for column in columns)
    placeholders = "".join(f", ${index}" for index in range(3, 3 + len(columns)))
    community_id = await db.fetchval(
        f"INSERT INTO communities (slug, name{extra_names}) VALUES ($1, $2{placeholders}) RETURNING id",
        slug,
        name,
        *columns.values(),
    )
    await db.execute(
        "INSERT INTO rooms (community_id, slug, name, is_main) VALUES ($1, 'main', 'Main room', true)", community_id
    )
    return int(community_id)


async def add_member(
    db: asyncpg.Connection, community_id: int, user_id: int, role: str = "member", approved_posts: int = 10
) -> None:
    await db.execute(
        "INSERT INTO memberships (community_id, user_id, role, approved_posts) VALUES ($1, $2, $3, $4)",
        community_id,
        user_id,
        role,
        approved_posts,
    )
    await db.execute("UPDATE communities SET member_count = member_count + 1 WHERE id = $1", community_id)


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


async def csrf_token(client: httpx.AsyncClient, path: str = "/login") -> str:
    response = await client.get(path)
    return csrf_from(response.text)


async def login(client: httpx.AsyncClient, username: str, password: str = DEFAULT_PASSWORD) -> str:
    """Sign in through the real form; returns the CSRF token of the new session."""
    token = await csrf_token(client, "/login")
    response = await client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 303, response.text
    return csrf_from((await client.get("/")).text)


async def post_form(client: httpx.AsyncClient, path: str, data: dict[str, str], *, page: str = "/") -> httpx.Response:
    """Submit a form the way a browser does: with the CSRF token of the page it came from."""
    token = csrf_from((await client.get(page)).text)
    return await client.post(path, data={**data, "csrf_token": token})
