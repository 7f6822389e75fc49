"""Leaders moderate threads: hide and restore posts, move threads, pin and lock; everyone else is refused."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.factories import create_cast, create_community, create_post, create_thread, csrf_from, login, table_rows
from tests.test_templates import page_problems

SLUG = "test-condition"
TABLES = ("threads", "posts", "moderation_actions", "notifications", "flags")
REFUSED = ["anonymous", "member", "muted", "banned", "other_leader", "outsider"]


async def _row(db: asyncpg.Connection, query: str, *args: object) -> tuple[object, ...]:
    record = await db.fetchrow(query, *args)
    assert record is not None
    return tuple(record)


async def _sign_in(client: httpx.AsyncClient, who: str) -> str:
    """Sign in as one of the cast (or stay anonymous); returns a CSRF token valid for this client."""
    if who == "anonymous":
        return csrf_from((await client.get("/login")).text)
    return await login(client, "siteadmin" if who == "admin" else who)


def _refusal(who: str) -> int:
    return 401 if who == "anonymous" else 403


# --- Hiding and restoring posts -----------------------------------------------------------


async def test_a_leader_hides_a_post_with_a_reason_and_restores_it_all_logged(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    post = await create_post(db, thread, cast["member"], "Buy cheap pills at example.com")
    token = await login(client, "leader")
    form = await client.get(f"/c/{SLUG}/posts/{post}/hide")
    assert form.status_code == 200 and "Buy cheap pills" in form.text
    assert page_problems(form.text) == []
    hidden = await client.post(f"/c/{SLUG}/posts/{post}/hide", data={"reason": "Advertising", "csrf_token": token})
    assert hidden.status_code == 303
    row = await _row(db, "SELECT state, state_reason FROM posts WHERE id = $1", post)
    assert row == ("hidden", "Advertising")
    assert await db.fetchval("SELECT reply_count FROM threads WHERE id = $1", thread) == 0

    # Leaders see the text marked hidden, with the reason; members see only the placeholder.
    as_leader = await client.get(f"/c/{SLUG}/t/{thread}")
    assert "Buy cheap pills" in as_leader.text and "Hidden by a leader" in as_leader.text
    assert "Reason: Advertising" in as_leader.text
    await login(client, "outsider")
    as_other = await client.get(f"/c/{SLUG}/t/{thread}")
    assert "This post was hidden by a leader." in as_other.text and "Buy cheap pills" not in as_other.text
    assert "Advertising" not in as_other.text

    token = await login(client, "leader")
    restored = await client.post(f"/c/{SLUG}/posts/{post}/unhide", data={"csrf_token": token})
    assert restored.status_code == 303
    assert await db.fetchval("SELECT state FROM posts WHERE id = $1", post) == "visible"
    assert await db.fetchval("SELECT reply_count FROM threads WHERE id = $1", thread) == 1
    log = await db.fetch(
        "SELECT action, actor_id, target_user_id, target_id, reason FROM moderation_actions ORDER BY id"
    )
    assert [tuple(entry) for entry in log] == [
        ("hide_post", cast["leader"], cast["member"], post, "Advertising"),
        ("restore_post", cast["leader"], cast["member"], post, ""),
    ]
    told = await db.fetch("SELECT kind, data FROM notifications WHERE user_id = $1 ORDER BY id", cast["member"])
    assert [(row["kind"], row["data"]["event"]) for row in told] == [
        ("moderation", "hidden"),
        ("moderation", "restored"),
    ]
    await login(client, "member")
    page = await client.get("/notifications")
    assert "A leader hid your post in “A thread”. Reason: Advertising" in page.text


async def test_hiding_needs_a_reason_and_keeps_the_form(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    post = await create_post(db, thread, cast["member"], "Something")
    token = await login(client, "leader")
    before = await table_rows(db, *TABLES)
    response = await client.post(f"/c/{SLUG}/posts/{post}/hide", data={"reason": "   ", "csrf_token": token})
    assert response.status_code == 400 and "Please give a reason" in response.text
    assert 'aria-describedby="f-reason-error"' in response.text
    too_long = await client.post(f"/c/{SLUG}/posts/{post}/hide", data={"reason": "x" * 501, "csrf_token": token})
    assert too_long.status_code == 400 and "x" * 501 in too_long.text
    assert await table_rows(db, *TABLES) == before


@pytest.mark.parametrize("who", REFUSED)
async def test_only_leaders_of_the_community_hide_or_restore_posts(
    client: httpx.AsyncClient, db: asyncpg.Connection, who: str
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    visible = await create_post(db, thread, cast["member"], "Visible")
    hidden = await create_post(db, thread, cast["member"], "Hidden", state="hidden", state_reason="rude")
    before = await table_rows(db, *TABLES)
    token = await _sign_in(client, who)
    assert (await client.get(f"/c/{SLUG}/posts/{visible}/hide")).status_code == _refusal(who)
    for path, data in [
        (f"/c/{SLUG}/posts/{visible}/hide", {"reason": "no"}),
        (f"/c/{SLUG}/posts/{hidden}/unhide", {}),
        # Refused before anything about the input is looked at, even for a post that does not exist.
        (f"/c/{SLUG}/posts/999999/hide", {"reason": ""}),
    ]:
        response = await client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == _refusal(who), (path, response.status_code)
    assert await table_rows(db, *TABLES) == before


@pytest.mark.parametrize("author", ["peer_leader", "admin"])
async def test_a_leader_cannot_hide_the_posts_of_a_leader_or_an_admin(
    client: httpx.AsyncClient, db: asyncpg.Connection, author: str
) -> None:
    cast = await create_cast(db)
    if author == "peer_leader":
        author_id = await db.fetchval("INSERT INTO users (username, display_name) VALUES ('peer', 'Peer') RETURNING id")
        await db.execute(
            "INSERT INTO memberships (community_id, user_id, role) VALUES ($1, $2, 'leader')",
            cast["community"],
            author_id,
        )
    else:
        author_id = cast["admin"]
    thread = await create_thread(db, cast["community"], cast["leader"])
    post = await create_post(db, thread, author_id, "Words of a leader")
    before = await table_rows(db, *TABLES)
    token = await login(client, "leader")
    response = await client.post(f"/c/{SLUG}/posts/{post}/hide", data={"reason": "no", "csrf_token": token})
    assert response.status_code == 403
    assert await table_rows(db, *TABLES) == before
    # The page does not offer what the server would refuse.
    assert f"/posts/{post}/hide" not in (await client.get(f"/c/{SLUG}/t/{thread}")).text


async def test_a_site_admin_may_hide_a_leaders_post(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["member"])
    post = await create_post(db, thread, cast["leader"], "Leader's words")
    token = await login(client, "siteadmin")
    response = await client.post(f"/c/{SLUG}/posts/{post}/hide", data={"reason": "Off topic", "csrf_token": token})
    assert response.status_code == 303
    assert await db.fetchval("SELECT state FROM posts WHERE id = $1", post) == "hidden"


async def test_only_a_visible_post_can_be_hidden_and_only_a_hidden_one_restored(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    deleted = await create_post(db, thread, cast["member"], "Deleted", state="deleted")
    visible = await create_post(db, thread, cast["member"], "Visible")
    token = await login(client, "leader")
    hide = await client.post(f"/c/{SLUG}/posts/{deleted}/hide", data={"reason": "x", "csrf_token": token})
    assert hide.status_code == 409
    assert (await client.post(f"/c/{SLUG}/posts/{visible}/unhide", data={"csrf_token": token})).status_code == 409


async def test_a_leader_cannot_hide_a_post_of_another_community_through_their_own(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    elsewhere = await create_thread(db, cast["other_community"], cast["other_leader"])
    post = await create_post(db, elsewhere, cast["other_leader"], "Elsewhere")
    token = await login(client, "leader")
    response = await client.post(f"/c/{SLUG}/posts/{post}/hide", data={"reason": "x", "csrf_token": token})
    assert response.status_code == 404
    assert await db.fetchval("SELECT state FROM posts WHERE id = $1", post) == "visible"


# --- Moving threads ---------------------------------------------------------------------------


async def test_a_leader_moves_a_thread_to_another_active_community_logged_in_both(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["member"], "Wrong place")
    reply = await create_post(db, thread, cast["member"], "A reply")
    await db.execute(
        """INSERT INTO flags (community_id, post_id, subject_user_id, flagger_id, reason)
           VALUES ($1, $2, $3, $4, 'spam')""",
        cast["community"],
        reply,
        cast["member"],
        cast["muted"],
    )
    token = await login(client, "leader")
    page = await client.get(f"/c/{SLUG}/t/{thread}/move")
    assert page.status_code == 200 and "Wrong place" in page.text
    assert page_problems(page.text) == []
    moved = await client.post(f"/c/{SLUG}/t/{thread}/move", data={"target": "other-condition", "csrf_token": token})
    assert moved.status_code == 303 and moved.headers["location"] == f"/c/other-condition/t/{thread}"
    assert await db.fetchval("SELECT community_id FROM threads WHERE id = $1", thread) == cast["other_community"]
    # Its open flags now wait in the queue of the community it belongs to.
    assert await db.fetchval("SELECT community_id FROM flags") == cast["other_community"]
    log = await db.fetch("SELECT community_id, action, target_id, details FROM moderation_actions ORDER BY id")
    assert [(row["community_id"], row["action"], row["target_id"]) for row in log] == [
        (cast["community"], "move_thread", thread),
        (cast["other_community"], "move_thread_in", thread),
    ]
    assert log[0]["details"]["to"] == "other-condition"
    assert (await client.get(f"/c/other-condition/t/{thread}")).status_code == 200
    assert (await client.get(f"/c/{SLUG}/t/{thread}")).status_code == 404


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("", "Please give the address"),
        ("no-such-place", "There is no community at that address."),
        ("test-condition", "already in this community"),
        ("archived-one", "only be moved to an active community"),
    ],
)
async def test_moving_a_thread_needs_an_active_other_community(
    client: httpx.AsyncClient, db: asyncpg.Connection, target: str, message: str
) -> None:
    cast = await create_cast(db)
    await create_community(db, "archived-one", "Archived One", status="archived")
    thread = await create_thread(db, cast["community"], cast["member"])
    before = await table_rows(db, *TABLES)
    token = await login(client, "leader")
    response = await client.post(f"/c/{SLUG}/t/{thread}/move", data={"target": target, "csrf_token": token})
    assert response.status_code == 400 and message in response.text
    assert f'value="{target}"' in response.text  # what was typed comes back
    assert await table_rows(db, *TABLES) == before


@pytest.mark.parametrize("who", REFUSED)
async def test_only_leaders_of_the_source_community_move_threads(
    client: httpx.AsyncClient, db: asyncpg.Connection, who: str
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["member"])
    before = await table_rows(db, *TABLES)
    token = await _sign_in(client, who)
    assert (await client.get(f"/c/{SLUG}/t/{thread}/move")).status_code == _refusal(who)
    for path in (f"/c/{SLUG}/t/{thread}/move", f"/c/{SLUG}/t/999999/move"):
        response = await client.post(path, data={"target": "other-condition", "csrf_token": token})
        assert response.status_code == _refusal(who)
    assert await table_rows(db, *TABLES) == before


# --- Pin and lock (built with the forum; checked here for the audit log and every refusal) -----


async def test_unpin_and_unlock_are_logged_too(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["member"], pinned=True, locked=True)
    token = await login(client, "leader")
    for flag in ("pin", "lock"):
        response = await client.post(f"/c/{SLUG}/t/{thread}/{flag}", data={"value": "off", "csrf_token": token})
        assert response.status_code == 303
    row = await db.fetchrow("SELECT pinned, locked FROM threads WHERE id = $1", thread)
    assert not row["pinned"] and not row["locked"]
    log = await db.fetch("SELECT action, actor_id, target_kind, target_id FROM moderation_actions ORDER BY id")
    assert [tuple(entry) for entry in log] == [
        ("unpin", cast["leader"], "thread", thread),
        ("unlock", cast["leader"], "thread", thread),
    ]


@pytest.mark.parametrize("who", ["muted", "banned"])
async def test_muted_and_banned_members_cannot_pin_or_lock(
    client: httpx.AsyncClient, db: asyncpg.Connection, who: str
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["member"])
    before = await table_rows(db, *TABLES)
    token = await login(client, who)
    for flag in ("pin", "lock"):
        response = await client.post(f"/c/{SLUG}/t/{thread}/{flag}", data={"value": "on", "csrf_token": token})
        assert response.status_code == 403
    assert await table_rows(db, *TABLES) == before


async def test_leaders_get_their_tools_on_the_thread_page_and_members_do_not(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    post = await create_post(db, thread, cast["member"], "Hello")
    await login(client, "leader")
    page = (await client.get(f"/c/{SLUG}/t/{thread}")).text
    assert f"/c/{SLUG}/posts/{post}/hide" in page and f"/c/{SLUG}/t/{thread}/move" in page
    await login(client, "outsider")
    page = (await client.get(f"/c/{SLUG}/t/{thread}")).text
    assert "/hide" not in page and "/move" not in page
