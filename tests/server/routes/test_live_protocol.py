"""What docs/protocol.md promises over the wire: anonymous sockets, joins, resyncs, ordering and refs."""

from __future__ import annotations

import json

import asyncpg
import pytest

from tests.factories import add_member, create_community, create_session, create_thread, create_user
from tests.harness import LiveServer
from tests.live_client import Frame, LiveClient

ROOM = "test-condition/main"


@pytest.fixture
async def community(db: asyncpg.Connection) -> int:
    return await create_community(db, rooms_open=True)  # anonymous sockets read rooms their leaders opened


async def _member(server: LiveServer, db: asyncpg.Connection, community: int, username: str) -> LiveClient:
    user_id = await create_user(db, username)
    await add_member(db, community, user_id)
    return await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, user_id))


async def _answer(client: LiveClient, frame: Frame | str) -> Frame:
    """Send a frame, then a ping; return the first frame that came back before the pong (or the pong)."""
    start = len(client.frames)
    await client.websocket.send(frame if isinstance(frame, str) else json.dumps(frame))
    await client.send({"type": "ping"})
    await client.wait_for(lambda f: f["type"] == "pong", start=start)
    # Live frames (and the presence snapshot that follows a join's answer) may come in between.
    live = {"presence", "presence_change", "message", "remove", "typing"}
    return next(frame for frame in client.frames[start:] if frame["type"] not in live)


async def test_the_answer_to_a_join_says_whose_socket_it_is_and_nobody_for_a_visitor(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    member = await _member(server, db, community, "nadia")
    visitor = await LiveClient.connect(server.ws_url, server.base_url, None)
    try:
        joined = await member.join(ROOM)
        assert joined["user_id"] == await db.fetchval("SELECT id FROM users WHERE username = 'nadia'")
        assert "user_id" not in await visitor.join(ROOM)
    finally:
        await member.close()
        await visitor.close()


async def test_a_message_frame_carries_its_authors_expert_badge_live_and_in_history(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    expert_id = await create_user(db, "hana", expert=True)
    await add_member(db, community, expert_id)
    expert = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, expert_id))
    reader = await _member(server, db, community, "nadia")
    try:
        await reader.join(ROOM)
        await expert.join(ROOM)
        start = len(reader.frames)
        assert (await expert.say(ROOM, "A note on the study."))["type"] == "ack"
        live = await reader.wait_for(lambda f: f["type"] == "message", start=start)
        assert live["author"]["badge"] == "expert"
        late = await LiveClient.connect(server.ws_url, server.base_url, None)
        try:
            await late.join(ROOM)
            history = await late.wait_for(lambda f: f["type"] == "message")
            assert history["author"]["badge"] == "expert"
        finally:
            await late.close()
    finally:
        await expert.close()
        await reader.close()


async def test_an_upgrade_without_a_session_or_with_a_stale_one_is_an_anonymous_socket(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    author = await create_user(db, "amara")
    await add_member(db, community, author)
    thread_id = await create_thread(db, community, author, "Public thread")
    for session in (None, "not-a-session-token"):
        visitor = await LiveClient.connect(server.ws_url, server.base_url, session)
        assert (await visitor.join(ROOM))["type"] == "joined"
        assert await _answer(visitor, {"type": "watch", "topic": f"thread:{thread_id}"}) == {
            "type": "watching",
            "topic": f"thread:{thread_id}",
        }
        mine = await _answer(visitor, {"type": "watch", "topic": "member:me"})
        assert (mine["type"], mine["code"], mine["ref"]) == ("error", "forbidden", "member:me")
        typing = await _answer(visitor, {"type": "typing", "room": ROOM})
        assert (typing["type"], typing["code"], typing["ref"]) == ("error", "forbidden", ROOM)
        # A read mark from nobody is ignored: the next answer is the pong.
        assert (await _answer(visitor, {"type": "read", "room": ROOM, "seq": 1}))["type"] == "pong"
        sent = await visitor.say(ROOM, "hello", client_id="anon-1")
        assert (sent["type"], sent["code"], sent["ref"]) == ("error", "forbidden", "anon-1")
        await visitor.close()


async def test_a_send_to_a_room_not_joined_on_this_connection_is_not_found_naming_the_client_id(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    lucia = await _member(server, db, community, "lucia")
    other_tab = await _member(server, db, community, "amara")
    await other_tab.join(ROOM)
    refused = await lucia.say(ROOM, "hello", client_id="early-1")
    assert (refused["type"], refused["code"], refused["ref"]) == ("error", "not_found", "early-1")
    for frame in ({"type": "typing", "room": ROOM}, {"type": "read", "room": ROOM, "seq": 1}):
        error = await _answer(lucia, frame)
        assert (error["type"], error["code"], error["ref"]) == ("error", "not_found", ROOM)
    await lucia.join(ROOM)
    assert (await lucia.say(ROOM, "hello", client_id="early-1"))["type"] == "ack"
    assert await db.fetchval("SELECT count(*) FROM room_messages") == 1


@pytest.mark.parametrize("reason", ["epoch_changed", "ahead_of_head"])
async def test_a_join_answered_with_resync_leaves_the_room(
    server: LiveServer, db: asyncpg.Connection, community: int, reason: str
) -> None:
    reader = await _member(server, db, community, "reader")
    writer = await _member(server, db, community, "writer")
    await writer.join(ROOM)
    epoch = (await reader.join(ROOM))["epoch"]
    await writer.say(ROOM, "one")
    await reader.wait_for(lambda f: f["type"] == "message" and f["seq"] == 1)
    since, sent_epoch = (1, "not-" + epoch) if reason == "epoch_changed" else (99, epoch)
    assert await reader.join(ROOM, since=since, epoch=sent_epoch) == {"type": "resync", "room": ROOM, "reason": reason}
    refused = await reader.say(ROOM, "am I in?", client_id="after-resync")
    assert (refused["type"], refused["code"]) == ("error", "not_found")
    await writer.say(ROOM, "two")
    # The room's live frame reaches every local socket at once: once the writer has it, so would the reader.
    await writer.wait_for(lambda f: f["type"] == "message" and f["seq"] == 2)
    await _answer(reader, {"type": "ping"})
    assert reader.seqs(ROOM) == [1], "no live frames after the resync"


async def test_a_join_with_since_and_no_epoch_skips_the_epoch_check(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    writer = await _member(server, db, community, "writer")
    await writer.join(ROOM)
    for number in range(3):
        await writer.say(ROOM, f"m{number}")
    reader = await _member(server, db, community, "reader")
    start = len(reader.frames)
    await reader.send({"type": "join", "room": ROOM, "since": 1})
    joined = await reader.wait_for(lambda f: f["type"] in {"joined", "resync"}, start=start)
    assert joined["type"] == "joined" and joined["head_seq"] == 3
    await reader.wait_for(lambda f: f["type"] == "message" and f["seq"] == 3)
    assert reader.seqs(ROOM) == [2, 3]


async def test_a_ping_is_answered_after_everything_the_frames_before_it_produced(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    writer = await _member(server, db, community, "writer")
    await writer.join(ROOM)
    for number in range(5):
        await writer.say(ROOM, f"m{number}")
    reader = await _member(server, db, community, "reader")
    # Sent back to back, without waiting: the server handles one connection's frames in order.
    await reader.send({"type": "join", "room": ROOM, "since": 0})
    await reader.send({"type": "send", "room": ROOM, "client_id": "c-1", "body": "hi"})
    await reader.send({"type": "ping"})
    await reader.wait_for(lambda f: f["type"] == "pong")
    # Live frames (presence changes, the room's copy of the new message) may come at any point.
    kinds = [
        f["type"]
        for f in reader.frames
        if f["type"] != "presence_change" and not (f["type"] == "message" and f["client_id"] == "c-1")
    ]
    assert kinds == ["joined", *["message"] * 5, "presence", "ack", "pong"]


async def test_a_frame_refused_by_the_decoder_names_its_readable_client_id_in_ref(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    lucia = await _member(server, db, community, "lucia")
    await lucia.join(ROOM)
    empty = await _answer(lucia, {"type": "send", "room": ROOM, "client_id": "c-7", "body": ""})
    assert (empty["type"], empty["code"], empty["ref"]) == ("error", "bad_request", "c-7")
    no_body = await _answer(lucia, {"type": "send", "room": ROOM, "client_id": "c-8"})
    assert (no_body["code"], no_body["ref"]) == ("bad_request", "c-8")
    bad_since = await _answer(lucia, {"type": "join", "room": ROOM, "since": -1})
    assert (bad_since["code"], bad_since["ref"]) == ("bad_request", ROOM)
    not_json = await _answer(lucia, '{"type": "send", "client_id": "c-9"')
    assert not_json["code"] == "bad_request" and "ref" not in not_json


async def test_a_seq_beyond_the_databases_bigint_is_a_bad_request_not_unavailable(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    # Found while writing the fuzz strategies (tests/fuzz): msgspec takes integers of any size, so a
    # leader's remove of seq 2**63 went on to Postgres's bigint and the answer would be "unavailable",
    # which tells a client to retry the same frame forever.
    user_id = await create_user(db, "amara")
    await add_member(db, community, user_id, "leader")
    leader = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, user_id))
    await leader.join(ROOM)
    for frame in (
        {"type": "remove", "room": ROOM, "seq": 2**63},
        {"type": "read", "room": ROOM, "seq": 2**64},
        {"type": "join", "room": ROOM, "since": 10**30},
    ):
        error = await _answer(leader, frame)
        assert (error["type"], error["code"], error["ref"]) == ("error", "bad_request", ROOM)
    missing = await _answer(leader, {"type": "remove", "room": ROOM, "seq": 2**63 - 1})
    assert (missing["type"], missing["code"]) == ("error", "not_found")
