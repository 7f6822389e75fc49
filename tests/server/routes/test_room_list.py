"""A community's room list: each room with the member's unread count, kept current over the websocket."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx
import pytest

from server import auth
from server.settings import Settings
from tests.factories import add_member, add_sanction, create_community, create_session, create_user, login
from tests.harness import LiveServer, web_processes
from tests.live_client import Frame, LiveClient

MAIN, PARENTS = "test-condition/main", "test-condition/parents"


async def _member(db: asyncpg.Connection, community: int, username: str, approved_posts: int = 10) -> int:
    user_id = await create_user(db, username)
    await add_member(db, community, user_id, approved_posts=approved_posts)
    return user_id


async def _rooms(db: asyncpg.Connection) -> tuple[int, int, int]:
    community = await create_community(db)
    main = await db.fetchval("SELECT id FROM rooms WHERE community_id = $1", community)
    parents = await db.fetchval(
        "INSERT INTO rooms (community_id, slug, name) VALUES ($1, 'parents', 'Parents') RETURNING id", community
    )
    return community, main, parents


async def _say(db: asyncpg.Connection, room_id: int, author: int, body: str, state: str = "visible") -> None:
    seq = await db.fetchval("UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq", room_id)
    await db.execute(
        "INSERT INTO room_messages (room_id, seq, author_id, client_msg_id, body, state) VALUES ($1, $2, $3, $4, $5, $6)",
        room_id, seq, author, f"c{room_id}-{seq}", body, state,
    )  # fmt: skip


def _counts(html: str) -> dict[str, str]:
    """Each listed room's data-unread, by room topic."""
    found = {}
    for part in html.split('<li data-room="')[1:]:
        room, _, rest = part.partition('"')
        found[room] = rest.split('data-unread="', 1)[1].split('"', 1)[0]
    return found


async def test_the_room_list_shows_each_room_with_the_members_unread_messages_but_not_their_own(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    community, main, parents = await _rooms(db)
    lucia, amara = await _member(db, community, "lucia"), await _member(db, community, "amara")
    for body in ("one", "two", "three"):
        await _say(db, parents, amara, body)
    await _say(db, parents, amara, "removed", state="hidden")
    await _say(db, parents, lucia, "my own")
    await _say(db, main, amara, "read already")
    await db.execute("INSERT INTO room_members (room_id, user_id, last_read_seq) VALUES ($1, $2, 1)", main, lucia)
    client.cookies.set(auth.SESSION_COOKIE, await create_session(db, lucia))
    page = await client.get("/c/test-condition/rooms")
    assert page.status_code == 200
    assert _counts(page.text) == {MAIN: "0", PARENTS: "3"}
    assert "3 unread messages" in page.text and '<script src="/static/js/rooms.js" defer></script>' in page.text
    # The community page lists them too (with the total in its navigation), and the room page's side.
    community_page = (await client.get("/c/test-condition")).text
    assert _counts(community_page) == {MAIN: "0", PARENTS: "3"} and 'data-room-total="test-condition"' in community_page
    assert _counts((await client.get("/c/test-condition/live")).text) == {MAIN: "0", PARENTS: "3"}


async def test_the_room_list_is_not_found_for_readers_who_may_not_read_the_rooms(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    community, _main, _parents = await _rooms(db)  # public, rooms closed to non-members
    assert (await client.get("/c/test-condition/rooms")).status_code == 404
    assert (await client.get("/c/no-such-condition/rooms")).status_code == 404
    assert "data-room-list" not in (await client.get("/c/test-condition")).text
    banned = await _member(db, community, "banned")
    await add_sanction(db, community, banned, reason="spam")
    client.cookies.set(auth.SESSION_COOKIE, await create_session(db, banned))
    assert (await client.get("/c/test-condition/rooms")).status_code == 403


async def _client(server: LiveServer, session: str | None = None) -> LiveClient:
    return await LiveClient.connect(server.ws_url, server.base_url, session)


async def _watch(client: LiveClient, topic: str) -> Frame:
    start = len(client.frames)
    await client.send({"type": "watch", "topic": topic})
    return await client.wait_for(lambda f: f.get("topic", f.get("ref")) == topic, start=start)


async def _pong(client: LiveClient) -> list[Frame]:
    start = len(client.frames)
    await client.send({"type": "ping"})
    await client.wait_for(lambda f: f["type"] == "pong", start=start)
    return client.frames[start:]


async def test_each_new_message_in_a_room_reaches_watchers_of_its_room_list_without_its_text(
    server: LiveServer, db: asyncpg.Connection
) -> None:
    community, _main, _parents = await _rooms(db)
    lucia, amara = await _member(db, community, "lucia"), await _member(db, community, "amara")
    newcomer = await _member(db, community, "newcomer", approved_posts=0)
    watcher = await _client(server, await create_session(db, lucia))
    writer = await _client(server, await create_session(db, amara))
    held = await _client(server, await create_session(db, newcomer))
    try:
        assert (await _watch(watcher, "rooms:test-condition"))["type"] == "watching"
        await writer.join(PARENTS)
        ack = await writer.say(PARENTS, "secret words")
        activity = await watcher.wait_for(lambda f: f["type"] == "room_activity")
        assert activity == {"type": "room_activity", "room": PARENTS, "seq": ack["seq"], "author": amara}
        # A first message held for review is no news to the others.
        await held.join(PARENTS)
        assert (await held.say(PARENTS, "first words"))["type"] == "ack"
        frames = await _pong(watcher)
        assert [f for f in frames if f["type"] == "room_activity"] == []
        assert "secret words" not in str(watcher.frames)
    finally:
        for client in (watcher, writer, held):
            await client.close()


async def test_an_approved_message_is_counted_and_a_removed_one_taken_back_but_a_rejected_one_is_never_news(
    server: LiveServer, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    community, _main, parents = await _rooms(db)
    lucia, amara = await _member(db, community, "lucia"), await _member(db, community, "amara")
    leader = await create_user(db, "leader")
    await add_member(db, community, leader, "leader")
    newcomer = await _member(db, community, "newcomer", approved_posts=0)
    spammer = await _member(db, community, "spammer", approved_posts=0)
    watcher = await _client(server, await create_session(db, lucia))
    writers = [await _client(server, await create_session(db, user)) for user in (amara, leader, newcomer, spammer)]
    writer, moderator, held, rejected = writers
    try:
        assert (await _watch(watcher, "rooms:test-condition"))["type"] == "watching"
        for socket in writers:
            await socket.join(PARENTS)
        # A visible message a leader removes: the lists that counted it take it back.
        said = await writer.say(PARENTS, "our address is")
        await watcher.wait_for(lambda f: f["type"] == "room_activity" and f["seq"] == said["seq"])
        await moderator.send({"type": "remove", "room": PARENTS, "seq": said["seq"], "reason": "private details"})
        gone = await watcher.wait_for(lambda f: f["type"] == "room_activity" and f.get("gone") is True)
        assert gone == {"type": "room_activity", "room": PARENTS, "seq": said["seq"], "gone": True}

        # A newcomer's held message is news once approved, from its author.
        first = await held.say(PARENTS, "hello, first time here")
        doomed = await rejected.say(PARENTS, "buy cheap pills")
        token = await login(client, "leader")
        ids = {
            seq: await db.fetchval("SELECT id FROM room_messages WHERE room_id = $1 AND seq = $2", parents, seq)
            for seq in (first["seq"], doomed["seq"])
        }
        approve = await client.post(
            f"/c/test-condition/review/messages/{ids[first['seq']]}/approve", data={"csrf_token": token}
        )
        assert approve.status_code == 303
        shown = await watcher.wait_for(lambda f: f["type"] == "room_activity" and f["seq"] == first["seq"])
        assert shown == {"type": "room_activity", "room": PARENTS, "seq": first["seq"], "author": newcomer}

        # A rejected one was never visible: nothing to count, nothing to take back.
        reject = await client.post(
            f"/c/test-condition/review/messages/{ids[doomed['seq']]}/reject",
            data={"reason": "Spam", "csrf_token": token},
        )
        assert reject.status_code == 303
        await rejected.wait_for(lambda f: f["type"] == "remove" and f.get("rejected") is True)
        frames = await _pong(watcher)
        assert [f for f in watcher.frames if f["type"] == "room_activity" and f["seq"] == doomed["seq"]] == []
        assert frames[-1]["type"] == "pong"
    finally:
        for socket in (watcher, *writers):
            await socket.close()


async def test_watching_a_room_list_is_not_found_for_readers_who_may_not_read_its_rooms(
    server: LiveServer, db: asyncpg.Connection
) -> None:
    await _rooms(db)  # public, rooms closed to non-members
    outsider = await create_user(db, "outsider")
    for session in (None, await create_session(db, outsider)):
        client = await _client(server, session)
        try:
            for topic in ("rooms:test-condition", "rooms:no-such-condition"):
                answer = await _watch(client, topic)
                assert answer["type"] == "error" and answer["code"] == "not_found", answer
        finally:
            await client.close()


@pytest.mark.slow
async def test_reading_a_room_on_one_process_lowers_its_count_on_the_members_pages_on_another(
    settings: Settings, db: asyncpg.Connection, tmp_path: Path
) -> None:
    community, _main, parents = await _rooms(db)
    lucia, amara = await _member(db, community, "lucia"), await _member(db, community, "amara")
    for body in ("one", "two"):
        await _say(db, parents, amara, body)
    session = await create_session(db, lucia)
    with web_processes(settings, tmp_path) as (first, second):
        room_list = await LiveClient.connect(first.ws_url, settings.site_origin, session)
        reading = await LiveClient.connect(second.ws_url, settings.site_origin, session)
        writer = await LiveClient.connect(second.ws_url, settings.site_origin, await create_session(db, amara))
        try:
            assert (await _watch(room_list, "rooms:test-condition"))["type"] == "watching"
            assert (await _watch(room_list, "member:me"))["type"] == "watching"
            await writer.join(PARENTS)
            ack = await writer.say(PARENTS, "three")
            await room_list.wait_for(lambda f: f["type"] == "room_activity" and f["seq"] == ack["seq"])
            await reading.join(PARENTS)
            await reading.send({"type": "read", "room": PARENTS, "seq": 2})
            told = await room_list.wait_for(lambda f: f["type"] == "unread")
            assert told == {"type": "unread", "room": PARENTS, "seq": 2, "count": 1}
            await reading.send({"type": "read", "room": PARENTS, "seq": ack["seq"]})
            told = await room_list.wait_for(lambda f: f["type"] == "unread" and f["seq"] == ack["seq"])
            assert told["count"] == 0
        finally:
            for client in (room_list, reading, writer):
                await client.close()


async def test_only_members_have_counts_so_only_their_lists_go_live(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    community = await create_community(db, rooms_open=True)  # a visitor may read the rooms
    author = await _member(db, community, "amara")
    main = await db.fetchval("SELECT id FROM rooms WHERE community_id = $1", community)
    await _say(db, main, author, "hello")
    visitor = await create_user(db, "visitor")
    client.cookies.set(auth.SESSION_COOKIE, await create_session(db, visitor))
    page = await client.get("/c/test-condition/rooms")
    assert page.status_code == 200 and _counts(page.text) == {MAIN: "0"} and 'data-counts="1"' not in page.text
    client.cookies.set(auth.SESSION_COOKIE, await create_session(db, await _member(db, community, "lucia")))
    page = await client.get("/c/test-condition/rooms")
    assert _counts(page.text) == {MAIN: "1"} and 'data-counts="1"' in page.text
