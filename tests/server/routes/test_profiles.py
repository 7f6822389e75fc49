"""Public profiles over HTTP: /u/<username> shows name, bio, communities and public posts, never an email."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import httpx

from tests.factories import add_member, create_community, create_user, login
from tests.test_templates import page_problems


async def create_post(
    db: asyncpg.Connection,
    community_id: int,
    author_id: int,
    body: str,
    *,
    title: str = "A thread",
    thread_state: str = "visible",
    post_state: str = "visible",
    created_at: datetime | None = None,
) -> tuple[int, int]:
    """A thread with one post by author_id; returns (thread id, post id)."""
    thread_id = await db.fetchval(
        "INSERT INTO threads (community_id, title, author_id, state) VALUES ($1, $2, $3, $4) RETURNING id",
        community_id,
        title,
        author_id,
        thread_state,
    )
    post_id = await db.fetchval(
        """INSERT INTO posts (thread_id, author_id, body_md, state, created_at)
           VALUES ($1, $2, $3, $4, coalesce($5, now())) RETURNING id""",
        thread_id,
        author_id,
        body,
        post_state,
        created_at,
    )
    return int(thread_id), int(post_id)


async def test_a_profile_shows_name_bio_communities_and_recent_public_posts(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    maria = await create_user(db, "maria", display_name="María G.")
    # Maria chose to show her communities and her posts on her profile.
    await db.execute(
        "UPDATE users SET bio = 'Mother of Ana, who has CMS.', show_communities = true, show_posts = true WHERE id = $1",
        maria,
    )
    cms = await create_community(db, "cms", "Congenital Myasthenic Syndromes")
    await add_member(db, cms, maria, role="leader")
    thread_id, _post = await create_post(db, cms, maria, "Salbutamol helped us **a lot**.", title="What helped")

    response = await client.get("/u/maria")

    assert response.status_code == 200
    page = response.text
    assert "<h1" in page and "María G." in page and "@maria" in page
    assert "Mother of Ana, who has CMS." in page
    assert 'href="/c/cms"' in page and "Congenital Myasthenic Syndromes" in page and "Leader" in page
    assert f'href="/c/cms/t/{thread_id}"' in page and "What helped" in page
    # The excerpt is plain text from the Markdown, not raw Markdown and not HTML.
    assert "Salbutamol helped us a lot." in page and "**" not in page
    assert page_problems(page) == []


async def test_usernames_are_matched_without_regard_to_case(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await create_user(db, "Maria", display_name="María G.")
    response = await client.get("/u/maria")
    assert response.status_code == 200 and "María G." in response.text


async def test_a_profile_never_shows_the_email_address(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await create_user(db, "maria", email="maria@example.org")
    assert "maria@example.org" not in (await client.get("/u/maria")).text
    await login(client, "maria")
    assert "maria@example.org" not in (await client.get("/u/maria")).text
    assert "maria@example.org" not in (await client.get("/settings")).text


async def test_a_deleted_member_has_no_profile(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    user_id = await create_user(db, "maria")
    await db.execute(
        "UPDATE users SET username = 'deleted-' || id, display_name = 'Former member', deleted_at = now() WHERE id = $1",
        user_id,
    )
    assert (await client.get("/u/maria")).status_code == 404
    assert (await client.get(f"/u/deleted-{user_id}")).status_code == 404


async def test_an_unknown_username_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get("/u/nobody-here")
    assert response.status_code == 404
    assert "There is no member with that username." in response.text


async def test_only_visible_posts_in_active_public_communities_are_listed(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    maria = await create_user(db, "maria")
    await db.execute("UPDATE users SET show_communities = true, show_posts = true WHERE id = $1", maria)
    public = await create_community(db, "open-one", "Open One")
    private = await create_community(db, "closed-one", "Closed One", visibility="members")
    archived = await create_community(db, "old-one", "Old One", status="archived")
    for community in (public, private, archived):
        await add_member(db, community, maria)
    await create_post(db, public, maria, "shown post", title="Shown thread")
    await create_post(db, public, maria, "held post", title="Held post thread", post_state="held")
    await create_post(db, public, maria, "hidden post", title="Hidden post thread", post_state="hidden")
    await create_post(db, public, maria, "deleted post", title="Deleted post thread", post_state="deleted")
    await create_post(db, public, maria, "post in held thread", title="Held thread", thread_state="held")
    await create_post(db, private, maria, "members only post", title="Private thread")
    await create_post(db, archived, maria, "archived post", title="Archived thread")

    page = (await client.get("/u/maria")).text

    assert "Shown thread" in page and "shown post" in page
    for absent in ["Held post thread", "Hidden post thread", "Deleted post thread", "Held thread"]:
        assert absent not in page
    assert "Private thread" not in page and "Archived thread" not in page
    # An archived community is not listed among the member's communities either.
    assert "Old One" not in page


async def test_members_only_communities_are_listed_only_to_fellow_members_and_the_member(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    maria = await create_user(db, "maria")
    await db.execute("UPDATE users SET show_communities = true WHERE id = $1", maria)
    fellow = await create_user(db, "fellow")
    await create_user(db, "stranger")
    private = await create_community(db, "closed-one", "Closed One", visibility="members")
    await add_member(db, private, maria)
    await add_member(db, private, fellow)

    assert "Closed One" not in (await client.get("/u/maria")).text
    await login(client, "stranger")
    assert "Closed One" not in (await client.get("/u/maria")).text
    async with httpx.AsyncClient(base_url=str(client.base_url)) as other:
        await login(other, "fellow")
        assert "Closed One" in (await other.get("/u/maria")).text
    async with httpx.AsyncClient(base_url=str(client.base_url)) as own:
        await login(own, "maria")
        assert "Closed One" in (await own.get("/u/maria")).text


async def test_member_text_on_a_profile_is_escaped(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    maria = await create_user(db, "maria", display_name="<b>Maria</b>")
    await db.execute("UPDATE users SET bio = '<script>alert(1)</script>' WHERE id = $1", maria)
    community = await create_community(db)
    await create_post(db, community, maria, "<img src=x onerror=alert(1)>", title="<i>title</i>")
    page = (await client.get("/u/maria")).text
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert "<b>Maria</b>" not in page and "<i>title</i>" not in page and "<img" not in page


async def test_my_own_profile_links_to_my_settings_and_others_do_not(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_user(db, "maria")
    await create_user(db, "jon")
    await login(client, "maria")
    assert 'href="/settings">Edit your profile' in (await client.get("/u/maria")).text
    assert "Edit your profile" not in (await client.get("/u/jon")).text


async def test_profile_dates_are_in_the_readers_language_and_time_zone(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    maria = await create_user(db, "maria")
    await db.execute("UPDATE users SET show_posts = true WHERE id = $1", maria)
    reader = await create_user(db, "reader")
    await db.execute("UPDATE users SET language = 'fr', time_zone = 'Europe/Paris' WHERE id = $1", reader)
    community = await create_community(db)
    await create_post(db, community, maria, "hello", created_at=datetime(2026, 3, 5, 14, 30, tzinfo=UTC))
    await login(client, "reader")
    page = (await client.get("/u/maria")).text
    # 14:30 UTC is 15:30 in Paris in March; the month is in French.
    assert "5 mars 2026" in page and "15:30" in page
    assert 'datetime="2026-03-05T14:30:00+00:00"' in page
    assert "Membre depuis" in page


async def test_a_profile_shows_no_communities_and_no_excerpts_to_others_until_the_member_chooses(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    maria = await create_user(db, "maria")
    fellow = await create_user(db, "fellow")
    await create_user(db, "stranger")
    cms = await create_community(db, "cms", "Congenital Myasthenic Syndromes")
    await add_member(db, cms, maria)
    await add_member(db, cms, fellow)
    await create_post(db, cms, maria, "Our son, 4, DOK7, Lyon", title="Hello from Lyon")

    # By default: visitors and other members of the site see neither; fellow members see the excerpts.
    for reader in ("visitor", "stranger"):
        async with httpx.AsyncClient(base_url=str(client.base_url)) as http:
            if reader != "visitor":
                await login(http, reader)
            page = (await http.get("/u/maria")).text
            assert "Congenital Myasthenic Syndromes" not in page and "DOK7" not in page, reader
            api = (await http.get("/api/v1/users/maria")).json()
            assert api["communities"] == [] and api["recent_posts"] == [], reader
    async with httpx.AsyncClient(base_url=str(client.base_url)) as http:
        await login(http, "fellow")
        assert "DOK7" in (await http.get("/u/maria")).text
        api = (await http.get("/api/v1/users/maria")).json()
        assert api["communities"] == [] and [post["excerpt"] for post in api["recent_posts"]] == [
            "Our son, 4, DOK7, Lyon"
        ]

    # Maria turns both on in her settings: then anyone who may read the posts sees them.
    token = await login(client, "maria")
    saved = await client.post(
        "/settings/profile",
        data={"display_name": "Maria", "bio": "", "show_communities": "on", "show_posts": "on", "csrf_token": token},
    )
    assert saved.status_code == 303
    async with httpx.AsyncClient(base_url=str(client.base_url)) as http:
        api = (await http.get("/api/v1/users/maria")).json()
        assert [c["slug"] for c in api["communities"]] == ["cms"] and "DOK7" in (await http.get("/u/maria")).text
    # Her export lists the choices.
    export = (await client.get("/api/v1/me/export")).json()
    assert export["profile"]["show_communities"] is True and export["profile"]["show_posts"] is True
    # And the API changes them back.
    csrf = (await client.get("/api/v1/session")).json()["csrf_token"]
    changed = await client.patch("/api/v1/me", json={"show_posts": False}, headers={"x-csrf-token": csrf})
    assert changed.status_code == 200 and changed.json()["show_posts"] is False
    async with httpx.AsyncClient(base_url=str(client.base_url)) as http:
        assert "DOK7" not in (await http.get("/u/maria")).text
