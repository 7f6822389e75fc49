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


async def add_sanction(
    db: asyncpg.Connection, community_id: int, user_id: int, kind: str = "ban", *, reason: str = ""
) -> None:
    """An open-ended ban or mute of a member in a community."""
    await db.execute(
        "INSERT INTO sanctions (community_id, user_id, kind, reason) VALUES ($1, $2, $3, $4)",
        community_id,
        user_id,
        kind,
        reason,
    )


async def table_rows(db: asyncpg.Connection, *tables: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the tables, in a stable order: compare before and after to prove nothing changed."""
    return {
        table: sorted((tuple(row) for row in await db.fetch(f"SELECT * FROM {table}")), key=repr) for table in tables
    }


async def create_cast(db: asyncpg.Connection, slug: str = "test-condition") -> dict[str, int]:
    """A community with everyone permission tests need: its leader, a member, a banned and a muted member,
    a site admin, a signed-up outsider, and the leader of another community. Returns ids by role name."""
    community = await create_community(db, slug, "Test Condition")
    other = await create_community(db, "other-condition", "Other Condition")
    ids = {"community": community, "other_community": other}
    for name in ("leader", "member", "banned", "muted", "admin", "outsider", "other_leader"):
        ids[name] = await create_user(db, name if name != "admin" else "siteadmin", admin=name == "admin")
    await add_member(db, community, ids["leader"], "leader")
    for name in ("member", "banned", "muted"):
        await add_member(db, community, ids[name])
    await add_member(db, other, ids["other_leader"], "leader")
    await add_sanction(db, community, ids["banned"], "ban", reason="spam")
    await add_sanction(db, community, ids["muted"], "mute", reason="heated")
    return ids


async def create_thread(
    db: asyncpg.Connection,
    community_id: int,
    author_id: int,
    title: str = "A thread",
    body: str = "The first post.",
    *,
    kind: str = "discussion",
    **columns: object,
) -> int:
    """A forum thread with its first post (extra thread columns: pinned, locked, state, intro, created_at...)."""
    names = ["community_id", "author_id", "title", "kind", *columns]
    values = [community_id, author_id, title, kind, *columns.values()]
    placeholders = ", ".join(f"${index}" for index in range(1, len(values) + 1))
    thread_id = await db.fetchval(
        f"INSERT INTO threads ({', '.join(names)}) VALUES ({placeholders}) RETURNING id", *values
    )
    await db.execute(
        "INSERT INTO posts (thread_id, author_id, body_md, created_at) SELECT id, $2, $3, created_at FROM threads WHERE id = $1",
        thread_id,
        author_id,
        body,
    )
    return int(thread_id)


async def create_post(
    db: asyncpg.Connection, thread_id: int, author_id: int | None, body: str = "A reply.", **columns: object
) -> int:
    """A reply in a thread (counted in reply_count when visible); extra post columns: state, reply_to_post_id..."""
    names = ["thread_id", "author_id", "body_md", *columns]
    values = [thread_id, author_id, body, *columns.values()]
    placeholders = ", ".join(f"${index}" for index in range(1, len(values) + 1))
    post_id = await db.fetchval(f"INSERT INTO posts ({', '.join(names)}) VALUES ({placeholders}) RETURNING id", *values)
    if columns.get("state", "visible") == "visible":
        await db.execute(
            "UPDATE threads SET reply_count = reply_count + 1, last_activity_at = now() WHERE id = $1", thread_id
        )
    return int(post_id)


async def create_conversation(
    db: asyncpg.Connection,
    community_id: int,
    requester_id: int,
    addressee_id: int,
    status: str = "accepted",
    **columns: object,
) -> int:
    """A family connection (an accepted one is a private conversation); extra columns: last_seq, epoch..."""
    names = ["community_id", "requester_id", "addressee_id", "status", *columns]
    values = [community_id, requester_id, addressee_id, status, *columns.values()]
    placeholders = ", ".join(f"${index}" for index in range(1, len(values) + 1))
    query = f"INSERT INTO family_connections ({', '.join(names)}) VALUES ({placeholders}) RETURNING id"
    return int(await db.fetchval(query, *values))


async def member_session(
    db: asyncpg.Connection, username: str, role: str = "member", slug: str = "test-condition"
) -> str:
    """A new member (or leader) of the community at slug, signed in: their session cookie's value."""
    community = await db.fetchval("SELECT id FROM communities WHERE slug = $1", slug)
    user_id = await create_user(db, username)
    await add_member(db, community, user_id, role)
    return await create_session(db, user_id)


async def create_session(db: asyncpg.Connection, user_id: int) -> str:
    """A signed-in session for user_id; returns the cookie value (what a browser would hold)."""
    from datetime import timedelta

    from server import auth

    token = auth.new_token()
    await db.execute(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, now() + $4)",
        auth.hash_token(token),
        user_id,
        auth.new_token(),
        timedelta(days=1),
    )
    return token


async def load_catalogue(db: asyncpg.Connection, codes: set[str] | None = None) -> None:
    """The real catalogue file, whole (about 5 s) or only these conditions (a fraction of a second)."""
    from server.actions import catalogue

    whole = catalogue.read_file()
    await catalogue.replace(db, whole if codes is None else catalogue.subset(whole, codes))
