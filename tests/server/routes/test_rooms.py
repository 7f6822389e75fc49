"""Live room pages: server-rendered history, membership rules, leaders adding rooms, hiding presence."""

from __future__ import annotations

import asyncpg
import httpx

from channels import protocol
from server import auth
from server.actions import chat
from tests.factories import add_member, create_community, create_session, create_user, csrf_from


async def _signed_in(
    client: httpx.AsyncClient, db: asyncpg.Connection, username: str, community: int | None, role: str = "member"
) -> int:
    user_id = await create_user(db, username)
    if community is not None:
        await add_member(db, community, user_id, role)
    client.cookies.set(auth.SESSION_COOKIE, await create_session(db, user_id))
    return user_id


async def _say(db: asyncpg.Connection, room_id: int, author: int, seq: int, body: str, state: str = "visible") -> None:
    await db.execute(
        "INSERT INTO room_messages (room_id, seq, author_id, client_msg_id, body, state) VALUES ($1, $2, $3, $4, $5, $6)",
        room_id, seq, author, f"c{seq}", body, state,
    )  # fmt: skip
    await db.execute("UPDATE rooms SET last_seq = $2 WHERE id = $1", room_id, seq)


async def test_the_room_page_renders_recent_history_escaped_and_goes_live(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    community = await create_community(db, rooms_open=True)  # read here by a visitor
    room_id = await db.fetchval("SELECT id FROM rooms")
    author = await create_user(db, "lucia")
    await _say(db, room_id, author, 1, "Hello <script>alert(1)</script>")
    await _say(db, room_id, author, 2, "removed one", state="hidden")
    page = await client.get("/c/test-condition/live")
    assert page.status_code == 200
    assert "Hello &lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "removed one" not in page.text
    assert 'data-room="test-condition/main"' in page.text and 'aria-live="polite"' in page.text
    assert '<script src="/static/js/live.js" defer></script>' in page.text
    assert "Log in" in page.text and 'id="composer"' not in page.text
    assert community


async def test_members_get_a_composer_and_leaders_see_removed_messages_marked(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    community = await create_community(db)
    room_id = await db.fetchval("SELECT id FROM rooms")
    author = await create_user(db, "lucia")
    await _say(db, room_id, author, 1, "removed one", state="hidden")
    await _signed_in(client, db, "amara", community, "leader")
    page = await client.get("/c/test-condition/live/main")
    assert 'id="composer"' in page.text
    assert "removed one" in page.text and "removed by a leader" in page.text


async def test_the_room_page_carries_the_servers_replay_limit(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    community = await create_community(db)
    await _signed_in(client, db, "tomas", community)
    page = await client.get("/c/test-condition/live/main")
    # live.js reads how far back a join replays from the page, never from a copy of its own.
    assert f'data-replay-limit="{chat.REPLAY_LIMIT}"' in page.text


async def test_only_leaders_get_the_remove_dialog_and_without_javascript_a_link_to_the_moderation_form(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    community = await create_community(db)
    room_id = await db.fetchval("SELECT id FROM rooms")
    author = await create_user(db, "lucia")
    await _say(db, room_id, author, 1, "My phone number is 0123")
    await _signed_in(client, db, "tomas", community)
    member_page = await client.get("/c/test-condition/live/main")
    assert 'id="remove-dialog"' not in member_page.text and "remove-message" not in member_page.text

    await _signed_in(client, db, "amara", community, "leader")
    page = await client.get("/c/test-condition/live/main")
    dialog = page.text[page.text.index('<dialog id="remove-dialog"') : page.text.index("</dialog>")]
    assert 'aria-labelledby="remove-dialog-heading"' in dialog and ">Remove this message</h2>" in dialog
    assert '<label for="remove-reason">Reason (the author sees it)</label>' in dialog
    assert f'maxlength="{protocol.MAX_REASON_CHARS}" required' in dialog and 'role="alert"' in dialog
    assert "its author is told privately, with your reason" in dialog
    # Without JavaScript a leader's Remove is a link to the message's moderation form.
    assert 'href="/c/test-condition/live/main/messages/1/moderate#remove">Remove</a>' in page.text
    assert 'id="remove"' in (await client.get("/c/test-condition/live/main/messages/1/moderate")).text


async def test_unknown_rooms_and_members_only_rooms_are_404_for_outsiders(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_community(db)
    await create_community(db, "private-one", "Private", visibility="members")
    assert (await client.get("/c/test-condition/live/nope")).status_code == 404
    assert (await client.get("/c/nope/live")).status_code == 404
    assert (await client.get("/c/private-one/live")).status_code == 404


async def test_leaders_add_rooms_and_members_cannot(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    community = await create_community(db)
    other = await create_community(db, "other-condition", "Other")
    await _signed_in(client, db, "elsewhere", other, "leader")  # a leader, but of another community
    token = csrf_from((await client.get("/c/test-condition/live")).text)
    refused = await client.post("/c/test-condition/rooms", data={"name": "Parents", "csrf_token": token})
    assert refused.status_code == 403
    await _signed_in(client, db, "plainmember", community)
    token = csrf_from((await client.get("/c/test-condition/live")).text)
    assert (
        await client.post("/c/test-condition/rooms", data={"name": "Parents", "csrf_token": token})
    ).status_code == 403
    assert await db.fetchval("SELECT count(*) FROM rooms WHERE community_id = $1", community) == 1

    await _signed_in(client, db, "amara", community, "leader")
    token = csrf_from((await client.get("/c/test-condition/live")).text)
    added = await client.post("/c/test-condition/rooms", data={"name": "Adults living with CMS", "csrf_token": token})
    assert added.status_code == 303 and added.headers["location"] == "/c/test-condition/live/adults-living-with-cms"
    page = await client.get("/c/test-condition/live/adults-living-with-cms")
    assert page.status_code == 200 and "Adults living with CMS" in page.text
    assert await db.fetchval("SELECT action FROM moderation_actions") == "add_room"


async def test_a_member_can_hide_their_presence_in_a_room(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    community = await create_community(db)
    user_id = await _signed_in(client, db, "lucia", community)
    token = csrf_from((await client.get("/c/test-condition/live")).text)
    response = await client.post("/c/test-condition/live/main/presence", data={"hidden": "1", "csrf_token": token})
    assert response.status_code == 303
    assert await db.fetchval("SELECT hide_presence FROM room_members WHERE user_id = $1", user_id) is True
    assert "Show me as here" in (await client.get("/c/test-condition/live")).text


async def test_unread_counts_show_on_the_directory_and_community_page_until_read(
    server, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    from tests.live_client import LiveClient

    community = await create_community(db)
    room_id = await db.fetchval("SELECT id FROM rooms")
    author = await create_user(db, "amara")
    await add_member(db, community, author)
    for seq in range(1, 4):
        await _say(db, room_id, author, seq, f"message {seq}")
    session = await create_session(db, await create_user(db, "lucia"))
    await add_member(db, community, await db.fetchval("SELECT id FROM users WHERE username = 'lucia'"))
    client.cookies.set(auth.SESSION_COOKIE, session)
    assert "3 unread" in (await client.get("/")).text
    assert "3 unread" in (await client.get("/c/test-condition")).text
    # Reading up to seq 2 over the live connection leaves one unread.
    live = await LiveClient.connect(server.ws_url, server.base_url, session)
    await live.join("test-condition/main")
    await live.send({"type": "read", "room": "test-condition/main", "seq": 2})
    await live.send({"type": "ping"})
    await live.wait_for(lambda f: f["type"] == "pong")
    assert await db.fetchval("SELECT last_read_seq FROM room_members") == 2
    assert "1 unread" in (await client.get("/c/test-condition")).text
    # Anonymous visitors and non-members see no counts.
    client.cookies.clear()
    assert "unread-count" not in (await client.get("/")).text
