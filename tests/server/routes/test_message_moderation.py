"""Moderation from a message's own menu (server/routes/pages/message_moderation.py): remove with a reason, send
back to review, mute the author in one room or the whole community; chat and forum; refused to non-moderators."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.factories import (
    create_cast,
    create_post,
    create_session,
    create_thread,
    create_user,
    csrf_from,
    login,
    table_rows,
)
from tests.harness import LiveServer
from tests.live_client import LiveClient
from tests.test_templates import page_problems

SLUG = "test-condition"
TABLES = ("room_messages", "posts", "threads", "sanctions", "notifications", "moderation_actions")


async def _chat(db: asyncpg.Connection, author: int, body: str = "Buy my miracle cure", room: str = "main") -> int:
    room_id = await db.fetchval(
        "SELECT id FROM rooms WHERE slug = $1 AND community_id = (SELECT id FROM communities WHERE slug = $2)",
        room,
        SLUG,
    )
    seq = await db.fetchval("UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq", room_id)
    await db.execute(
        "INSERT INTO room_messages (room_id, seq, author_id, client_msg_id, body) VALUES ($1, $2, $3, $4, $5)",
        room_id, seq, author, f"c{seq}", body,
    )  # fmt: skip
    return int(seq)


async def _second_room(db: asyncpg.Connection, community: int) -> None:
    await db.execute("INSERT INTO rooms (community_id, slug, name) VALUES ($1, 'parents', 'Parents')", community)


async def _notice(client: httpx.AsyncClient) -> str:
    return (await client.get("/notifications")).text


async def test_a_leader_removes_a_chat_message_from_its_menu_and_its_author_is_told_why(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    seq = await _chat(db, cast["member"])
    token = await login(client, "leader")
    page = await client.get(f"/c/{SLUG}/live/main/messages/{seq}/moderate")
    assert page.status_code == 200 and "Buy my miracle cure" in page.text and page_problems(page.text) == []
    room = (await client.get(f"/c/{SLUG}/live/main")).text
    assert "/static/js/moderate.js" in room
    removed = await client.post(
        f"/c/{SLUG}/live/main/messages/{seq}/remove", data={"reason": "No adverts here", "csrf_token": token}
    )
    assert removed.status_code == 303 and removed.headers["location"] == f"/c/{SLUG}/live/main"
    assert await db.fetchval("SELECT state FROM room_messages WHERE seq = $1", seq) == "hidden"
    await login(client, "member")
    assert "No adverts here" in await _notice(client)


async def test_a_leader_cannot_remove_a_message_of_another_leader_or_an_admin_from_the_page_or_the_socket(
    server: LiveServer, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    second = await create_user(db, "second_leader")
    await db.execute(
        "INSERT INTO memberships (community_id, user_id, role) VALUES ($1, $2, 'leader')", cast["community"], second
    )
    by_leader, by_admin = await _chat(db, second, "Meeting at noon"), await _chat(db, cast["admin"], "Site news")
    token = await login(client, "leader")
    page = await client.post(
        f"/c/{SLUG}/live/main/messages/{by_leader}/remove", data={"reason": "I disagree", "csrf_token": token}
    )
    assert page.status_code == 403 and "same or a higher role" in page.text
    socket = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, cast["leader"]))
    try:
        await socket.join(f"{SLUG}/main")
        await socket.send({"type": "remove", "room": f"{SLUG}/main", "seq": by_admin, "reason": "I disagree"})
        refused = await socket.wait_for(lambda f: f["type"] == "error")
        assert refused["code"] == "forbidden"
    finally:
        await socket.close()
    states = await db.fetch("SELECT state FROM room_messages WHERE seq = ANY($1::int[])", [by_leader, by_admin])
    assert [row["state"] for row in states] == ["visible", "visible"]
    assert await db.fetchval("SELECT count(*) FROM moderation_actions") == 0


async def test_removing_without_a_reason_shows_the_form_again_with_a_message(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    seq = await _chat(db, cast["member"])
    token = await login(client, "leader")
    answer = await client.post(f"/c/{SLUG}/live/main/messages/{seq}/remove", data={"reason": " ", "csrf_token": token})
    assert answer.status_code == 400
    assert "Please give a reason" in answer.text and page_problems(answer.text) == []
    mute = await client.post(
        f"/c/{SLUG}/live/main/messages/{seq}/mute",
        data={"scope": "room", "duration": "forever", "mute_reason": "Calm down", "csrf_token": token},
    )
    assert mute.status_code == 400 and 'value="Calm down"' in mute.text
    assert await db.fetchval("SELECT state FROM room_messages WHERE seq = $1", seq) == "visible"


async def test_holding_a_chat_message_sends_it_back_to_the_review_queue(
    server: LiveServer, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    seq = await _chat(db, cast["member"])
    reader = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, cast["muted"]))
    await reader.join(f"{SLUG}/main")
    token = await login(client, "leader")
    held = await client.post(f"/c/{SLUG}/live/main/messages/{seq}/hold", data={"csrf_token": token})
    assert held.status_code == 303
    gone = await reader.wait_for(lambda f: f["type"] == "remove")
    assert gone["seq"] == seq
    assert await db.fetchval("SELECT state FROM room_messages WHERE seq = $1", seq) == "held"
    assert "Buy my miracle cure" in (await client.get(f"/c/{SLUG}/review")).text
    await login(client, "member")
    assert "back for review" in await _notice(client)
    await reader.close()


async def test_a_room_mute_holds_on_every_door_of_that_room_and_nowhere_else(
    server: LiveServer, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await _second_room(db, cast["community"])
    seq = await _chat(db, cast["member"])
    token = await login(client, "leader")
    muted = await client.post(
        f"/c/{SLUG}/live/main/messages/{seq}/mute",
        data={"scope": "room", "duration": "1h", "mute_reason": "Please take a breath", "csrf_token": token},
    )
    assert muted.status_code == 303
    assert await db.fetchval("SELECT room_id IS NOT NULL FROM sanctions WHERE user_id = $1", cast["member"])
    token = await login(client, "member")
    assert "A leader muted you in Main room until" in await _notice(client)
    main = (await client.get(f"/c/{SLUG}/live/main")).text
    assert 'id="composer-muted" role="status">You are muted in this room until' in main
    # The composer stays, disabled, for the page to enable when the mute ends (static/js/live.js).
    assert "Please take a breath" in main and 'id="composer"' in main and 'data-muted="1"' in main
    assert 'data-muted-scope="room"' in main and 'data-muted-until="20' in main
    parents = (await client.get(f"/c/{SLUG}/live/parents")).text
    assert 'id="composer"' in parents and 'id="composer-muted" role="status" hidden></p>' in parents
    assert 'data-muted="1"' not in parents
    live = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, cast["member"]))
    await live.join(f"{SLUG}/main")
    await live.join(f"{SLUG}/parents")
    refused = await live.say(f"{SLUG}/main", "still here?")
    assert refused["type"] == "error" and refused["code"] == "muted"
    assert (await live.say(f"{SLUG}/parents", "hello parents"))["type"] == "ack"
    # The forum is not that room: the member still writes there.
    thread = await create_thread(db, cast["community"], cast["leader"], "Sleep tips")
    replied = await client.post(f"/c/{SLUG}/t/{thread}/reply", data={"body": "A wedge pillow", "csrf_token": token})
    assert replied.status_code == 303
    await live.close()


async def test_a_community_mute_from_the_room_menu_holds_in_every_room_and_the_forum(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await _second_room(db, cast["community"])
    seq = await _chat(db, cast["member"])
    token = await login(client, "leader")
    await client.post(
        f"/c/{SLUG}/live/main/messages/{seq}/mute",
        data={"scope": "community", "duration": "24h", "mute_reason": "Heated", "csrf_token": token},
    )
    await login(client, "member")
    assert "You are muted in this community" in (await client.get(f"/c/{SLUG}/live/parents")).text
    assert "A leader muted you in Test Condition until" in await _notice(client)


async def test_a_leader_holds_or_mutes_from_a_forum_posts_tools_and_the_author_is_told(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"], "Sleep tips")
    post = await create_post(db, thread, cast["member"], "Unkind words")
    token = await login(client, "leader")
    page = (await client.get(f"/c/{SLUG}/t/{thread}")).text
    assert f"/c/{SLUG}/posts/{post}/hold" in page and f"/c/{SLUG}/posts/{post}/hide#mute" in page
    tools = await client.get(f"/c/{SLUG}/posts/{post}/hide")
    assert f'action="/c/{SLUG}/posts/{post}/mute"' in tools.text and page_problems(tools.text) == []
    assert (await client.post(f"/c/{SLUG}/posts/{post}/hold", data={"csrf_token": token})).status_code == 303
    assert await db.fetchval("SELECT state FROM posts WHERE id = $1", post) == "held"
    bad = await client.post(
        f"/c/{SLUG}/posts/{post}/mute", data={"duration": "1h", "mute_reason": "", "csrf_token": token}
    )
    assert bad.status_code == 400 and "Please give a reason" in bad.text
    muted = await client.post(
        f"/c/{SLUG}/posts/{post}/mute", data={"duration": "7d", "mute_reason": "Be kind", "csrf_token": token}
    )
    assert muted.status_code == 303
    await login(client, "member")
    notices = await _notice(client)
    assert "back for review" in notices and "Be kind" in notices


async def test_hiding_a_forum_post_tells_its_author_privately_with_the_reason(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"], "Sleep tips")
    post = await create_post(db, thread, cast["member"], "Private details of another family")
    token = await login(client, "leader")
    await client.post(f"/c/{SLUG}/posts/{post}/hide", data={"reason": "Private information", "csrf_token": token})
    await login(client, "member")
    assert "Private information" in await _notice(client)
    await login(client, "muted")
    assert "Private information" not in await _notice(client)


@pytest.mark.parametrize("who", ["anonymous", "member", "other_leader"])
async def test_someone_who_does_not_lead_the_community_cannot_moderate_from_a_menu(
    client: httpx.AsyncClient, db: asyncpg.Connection, who: str
) -> None:
    cast = await create_cast(db)
    seq = await _chat(db, cast["leader"] if who == "member" else cast["member"])
    thread = await create_thread(db, cast["community"], cast["leader"], "Sleep tips")
    post = await create_post(db, thread, cast["muted"], "Words")
    token = csrf_from((await client.get("/login")).text) if who == "anonymous" else await login(client, who)
    assert (await client.get(f"/c/{SLUG}/live/main/messages/{seq}/moderate")).status_code in {401, 403}
    assert "moderate.js" not in (await client.get(f"/c/{SLUG}/live/main")).text
    before = await table_rows(db, *TABLES)
    forms = {
        f"/c/{SLUG}/live/main/messages/{seq}/remove": {"reason": "x"},
        f"/c/{SLUG}/live/main/messages/{seq}/hold": {},
        f"/c/{SLUG}/live/main/messages/{seq}/mute": {"scope": "room", "duration": "1h", "mute_reason": "x"},
        f"/c/{SLUG}/posts/{post}/hold": {},
        f"/c/{SLUG}/posts/{post}/mute": {"duration": "1h", "mute_reason": "x"},
    }
    for url, form in forms.items():
        answer = await client.post(url, data={**form, "csrf_token": token})
        assert answer.status_code in {401, 403}, (url, answer.status_code)
    assert await table_rows(db, *TABLES) == before


async def test_a_member_muted_in_one_room_is_not_shown_typing_there_but_is_in_another(
    server: LiveServer, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await _second_room(db, cast["community"])
    seq = await _chat(db, cast["member"])
    token = await login(client, "leader")
    await client.post(
        f"/c/{SLUG}/live/main/messages/{seq}/mute",
        data={"scope": "room", "duration": "1h", "mute_reason": "Pause", "csrf_token": token},
    )
    typist = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, cast["member"]))
    watcher = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, cast["leader"]))
    for room in (f"{SLUG}/main", f"{SLUG}/parents"):
        await typist.join(room)
        await watcher.join(room)
    # Frames of one socket are handled in order: the muted room's typing is dropped before the other is shown.
    await typist.send({"type": "typing", "room": f"{SLUG}/main"})
    await typist.send({"type": "typing", "room": f"{SLUG}/parents"})
    await watcher.wait_for(lambda f: f["type"] == "typing" and f["room"] == f"{SLUG}/parents")
    start = len(watcher.frames)
    await watcher.send({"type": "ping"})
    await watcher.wait_for(lambda f: f["type"] == "pong", start=start)
    assert [f["room"] for f in watcher.frames if f["type"] == "typing"] == [f"{SLUG}/parents"]
    await typist.close()
    await watcher.close()
