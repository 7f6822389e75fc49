"""The /ws endpoint on one process: upgrade checks, join, send/ack, resume, idempotency, errors."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os

import asyncpg
import pytest
import websockets
from websockets.typing import Origin

from channels.protocol import CloseCode
from tests.factories import add_member, create_community, create_session, create_user
from tests.harness import LiveServer
from tests.live_client import LiveClient

ROOM = "test-condition/main"


async def _member(db: asyncpg.Connection, username: str, role: str = "member", community: int | None = None) -> str:
    community = community or await db.fetchval("SELECT id FROM communities WHERE slug = 'test-condition'")
    user_id = await create_user(db, username)
    await add_member(db, community, user_id, role)
    return await create_session(db, user_id)


@pytest.fixture
async def community(db: asyncpg.Connection) -> int:
    return await create_community(db)


async def _client(server: LiveServer, session: str | None = None) -> LiveClient:
    return await LiveClient.connect(server.ws_url, server.base_url, session)


async def test_an_upgrade_from_another_origin_is_refused(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    session = await _member(db, "lucia")
    with pytest.raises(websockets.InvalidStatus) as refused:
        await LiveClient.connect(server.ws_url, "https://evil.example", session)
    assert refused.value.response.status_code == 403
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(server.ws_url)  # no Origin at all


async def test_a_websocket_upgrade_anywhere_but_ws_is_refused(server: LiveServer) -> None:
    # Upgrades skip the router (KindredApp): the live endpoint itself refuses other paths.
    with pytest.raises(websockets.InvalidStatus) as refused:
        await LiveClient.connect(server.ws_url.replace("/ws", "/c/cms/live"), server.base_url, None)
    assert refused.value.response.status_code == 403


async def test_a_sent_message_is_acked_only_after_it_is_committed_and_reaches_the_room(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    lucia = await _client(server, await _member(db, "lucia"))
    amara = await _client(server, await _member(db, "amara"))
    joined = await lucia.join(ROOM)
    assert joined["type"] == "joined" and joined["head_seq"] == 0
    await amara.join(ROOM)
    ack = await lucia.say(ROOM, "Hello from Lyon", client_id="c-1")
    assert ack["type"] == "ack" and ack["seq"] == 1
    stored = await db.fetchrow("SELECT seq, body, client_msg_id FROM room_messages")
    assert stored is not None and dict(stored) == {"seq": 1, "body": "Hello from Lyon", "client_msg_id": "c-1"}
    message = await amara.wait_for(lambda f: f["type"] == "message")
    assert message["body"] == "Hello from Lyon" and message["seq"] == 1 and message["author"]["username"] == "lucia"
    assert message["client_id"] == "c-1"
    await lucia.close()
    await amara.close()


async def test_anonymous_visitors_read_rooms_their_leaders_opened_but_cannot_send(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    await db.execute("UPDATE communities SET rooms_open = true WHERE id = $1", community)
    member = await _client(server, await _member(db, "lucia"))
    await member.join(ROOM)
    await member.say(ROOM, "first")
    visitor = await _client(server)
    joined = await visitor.join(ROOM)
    assert joined["type"] == "joined"
    await visitor.wait_for(lambda f: f["type"] == "message" and f["body"] == "first")
    refused = await visitor.say(ROOM, "let me in")
    assert refused["type"] == "error" and refused["code"] == "forbidden"
    assert await db.fetchval("SELECT count(*) FROM room_messages") == 1


async def test_members_only_rooms_are_not_found_for_outsiders(server: LiveServer, db: asyncpg.Connection) -> None:
    await create_community(db, "private-one", "Private", visibility="members")
    outsider = await _client(server, await create_session(db, await create_user(db, "outsider")))
    answer = await outsider.join("private-one/main")
    assert answer["type"] == "error" and answer["code"] == "not_found"
    unknown = await outsider.join("nope/main")
    assert unknown["type"] == "error" and unknown["code"] == "not_found"


async def test_resume_sends_exactly_the_missed_messages_in_order_then_live_ones(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    writer = await _client(server, await _member(db, "writer"))
    await writer.join(ROOM)
    for number in range(1, 6):
        await writer.say(ROOM, f"m{number}")
    reader = await _client(server, await _member(db, "reader"))
    epoch = (await reader.join(ROOM, since=2, epoch=None))["epoch"]
    await reader.wait_for(lambda f: f["type"] == "message" and f["seq"] == 5)
    await writer.say(ROOM, "m6")
    await reader.wait_for(lambda f: f["type"] == "message" and f["seq"] == 6)
    assert reader.seqs(ROOM) == [3, 4, 5, 6]
    assert epoch == await db.fetchval("SELECT epoch FROM rooms")


async def test_resume_under_concurrent_sends_has_no_gap_and_no_duplicate(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    # A leader writes: leaders are not held to the per-member message rate limit.
    writer = await _client(server, await _member(db, "writer", "leader"))
    await writer.join(ROOM)
    for number in range(10):
        await writer.say(ROOM, f"before {number}")

    async def keep_sending() -> None:
        for number in range(40):
            assert (await writer.say(ROOM, f"during {number}"))["type"] == "ack"

    sending = asyncio.create_task(keep_sending())
    readers = []
    for index in range(5):  # joins land at different points of the stream
        reader = await _client(server, await _member(db, f"reader{index}"))
        await reader.join(ROOM, since=3)
        readers.append(reader)
        await asyncio.sleep(0.01)
    await sending
    for reader in readers:
        await reader.wait_for(lambda f: f["type"] == "message" and f["seq"] == 50)
        assert reader.seqs(ROOM) == list(range(4, 51))


async def test_a_changed_epoch_or_a_future_seq_is_told_to_resync(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    client = await _client(server, await _member(db, "lucia"))
    first = await client.join(ROOM)
    await client.say(ROOM, "one")
    stale = await client.join(ROOM, since=1, epoch="not-" + first["epoch"])
    assert stale == {"type": "resync", "room": ROOM, "reason": "epoch_changed"}
    ahead = await client.join(ROOM, since=99, epoch=first["epoch"])
    assert ahead == {"type": "resync", "room": ROOM, "reason": "ahead_of_head"}


async def test_the_same_client_id_twice_yields_one_message_and_the_same_ack(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    client = await _client(server, await _member(db, "lucia"))
    await client.join(ROOM)
    first = await client.say(ROOM, "only once", client_id="retry-me")
    second = await client.say(ROOM, "only once", client_id="retry-me")
    assert first["seq"] == second["seq"] == 1
    assert await db.fetchval("SELECT count(*) FROM room_messages") == 1
    # Other words under that id are no retry: refused with the reason, rather than acked as seq 1 and lost.
    other = await client.say(ROOM, "something else", client_id="retry-me")
    assert other["type"] == "error" and other["code"] == "bad_request" and "already used" in other["message"]
    assert await db.fetchval("SELECT array_agg(body) FROM room_messages") == ["only once"]
    # Once edited, a late retry of the first words is still a retry.
    await client.send({"type": "edit", "room": ROOM, "seq": 1, "body": "only once, edited"})
    await client.wait_for(lambda f: f["type"] == "edit" and f["seq"] == 1)
    assert (await client.say(ROOM, "only once", client_id="retry-me"))["seq"] == 1


async def test_bad_frames_get_an_error_and_the_connection_stays_usable(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    client = await _client(server, await _member(db, "lucia"))
    for raw in ["not json", json.dumps({"type": "dance"}), json.dumps({"type": "send", "room": ROOM}), "[]"]:
        start = len(client.frames)
        await client.websocket.send(raw)
        error = await client.wait_for(lambda f: f["type"] == "error", start=start)
        assert error["code"] == "bad_request"
    start = len(client.frames)
    await client.send({"type": "ping"})
    assert (await client.wait_for(lambda f: f["type"] == "pong", start=start)) == {"type": "pong"}
    not_joined = await client.say(ROOM, "hello")
    assert not_joined["type"] == "error" and not_joined["code"] == "not_found"
    await client.join(ROOM)
    too_long = await client.say(ROOM, "x" * 4001)
    assert too_long["code"] == "too_large"
    assert (await client.say(ROOM, "still here"))["type"] == "ack"


async def test_a_deeply_nested_frame_gets_an_error_and_the_connection_answers_the_next_ping(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    client = await _client(server, await _member(db, "lucia"))
    await client.websocket.send('{"type":"ping","x":' + "[" * 2000 + "]" * 2000 + "}")
    error = await client.wait_for(lambda f: f["type"] == "error")
    assert error["code"] == "bad_request"
    start = len(client.frames)
    await client.send({"type": "ping"})
    assert (await client.wait_for(lambda f: f["type"] == "pong", start=start)) == {"type": "pong"}


async def test_a_nul_character_in_a_send_or_a_join_is_a_bad_request_not_unavailable(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    # "unavailable" tells a client to retry the same frame: for NUL, which Postgres cannot store,
    # that would be forever.
    client = await _client(server, await _member(db, "lucia"))
    joined_nul = await client.join(ROOM + "\x00")
    assert joined_nul["type"] == "error" and joined_nul["code"] == "bad_request"
    await client.join(ROOM)
    refused = await client.say(ROOM, "hello\x00there", client_id="nul-1")
    assert refused["type"] == "error" and refused["code"] == "bad_request" and refused["ref"] == "nul-1"
    start = len(client.frames)
    await client.send({"type": "remove", "room": ROOM, "seq": 1, "reason": "\x00"})
    assert (await client.wait_for(lambda f: f["type"] == "error", start=start))["code"] == "bad_request"
    assert (await client.say(ROOM, "hello there", client_id="nul-1"))["type"] == "ack"
    assert await db.fetchval("SELECT body FROM room_messages") == "hello there"


async def test_a_frame_over_64_kib_closes_the_socket_with_1009(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    client = await _client(server, await _member(db, "lucia"))
    await client.websocket.send(json.dumps({"type": "ping", "padding": "x" * (64 * 1024)}))
    assert await client.wait_closed() == 1009


async def test_logging_out_closes_that_sessions_sockets_with_4001(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    import httpx

    from server import auth
    from tests.factories import csrf_from

    session = await _member(db, "lucia")
    socket = await _client(server, session)
    await socket.join(ROOM)
    other_session = await create_session(db, await db.fetchval("SELECT id FROM users WHERE username = 'lucia'"))
    other_device = await _client(server, other_session)
    await other_device.join(ROOM)
    async with httpx.AsyncClient(base_url=server.base_url, cookies={auth.SESSION_COOKIE: session}) as http:
        token = csrf_from((await http.get("/")).text)
        assert (await http.post("/logout", data={"csrf_token": token})).status_code == 303
    assert await socket.wait_closed(timeout=2) == CloseCode.LOGGED_OUT
    # The member's other device keeps its connection.
    start = len(other_device.frames)
    await other_device.send({"type": "ping"})
    await other_device.wait_for(lambda f: f["type"] == "pong", start=start)


async def test_a_leader_removes_a_message_for_everyone_and_a_member_cannot(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    member = await _client(server, await _member(db, "lucia"))
    leader = await _client(server, await _member(db, "amara", "leader"))
    await member.join(ROOM)
    await leader.join(ROOM)
    await member.say(ROOM, "oops, my phone number")
    await leader.wait_for(lambda f: f["type"] == "message")
    start = len(member.frames)
    await member.send({"type": "remove", "room": ROOM, "seq": 1, "reason": "mine"})
    refused = await member.wait_for(lambda f: f["type"] == "error", start=start)
    assert refused["code"] == "forbidden"
    # Without a reason it is refused, by name: its author is told why.
    start = len(leader.frames)
    await leader.send({"type": "remove", "room": ROOM, "seq": 1, "reason": "   "})
    empty = await leader.wait_for(lambda f: f["type"] == "error", start=start)
    assert empty["code"] == "bad_request" and "reason" in empty["message"]
    # Each refusal names the frame it answers, so the page shows it in that message's Remove dialog.
    for error in (refused, empty):
        assert (error["ref"], error["request"], error["seq"]) == (ROOM, "remove", 1)
    await leader.send({"type": "remove", "room": ROOM, "seq": 1, "reason": "Private information"})
    for client in (member, leader):
        assert await client.wait_for(lambda f: f["type"] == "remove") == {"type": "remove", "room": ROOM, "seq": 1}
    # Resuming members get a remove in its place; the message is not served again.
    late = await _client(server, await _member(db, "late"))
    await late.join(ROOM, since=0)
    await late.wait_for(lambda f: f["type"] == "remove" and f["seq"] == 1)
    assert late.messages(ROOM) == []


async def test_typing_is_shown_to_others_and_throttled(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    typist = await _client(server, await _member(db, "lucia"))
    watcher = await _client(server, await _member(db, "amara"))
    await typist.join(ROOM)
    await watcher.join(ROOM)
    for _ in range(5):
        await typist.send({"type": "typing", "room": ROOM})
    await watcher.wait_for(lambda f: f["type"] == "typing" and f["user"]["username"] == "lucia")
    start = len(watcher.frames)
    await watcher.send({"type": "ping"})
    await watcher.wait_for(lambda f: f["type"] == "pong", start=start)
    assert sum(f["type"] == "typing" for f in watcher.frames) == 1


async def test_a_member_who_hides_their_presence_is_not_listed(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    shy = await _member(db, "shy")
    shy_id = await db.fetchval("SELECT id FROM users WHERE username = 'shy'")
    room_id = await db.fetchval("SELECT id FROM rooms")
    await db.execute(
        "INSERT INTO room_members (room_id, user_id, hide_presence) VALUES ($1, $2, true)", room_id, shy_id
    )
    watcher = await _client(server, await _member(db, "amara"))
    await watcher.join(ROOM)
    hidden = await _client(server, shy)
    await hidden.join(ROOM)
    visible = await _client(server, await _member(db, "lucia"))
    await visible.join(ROOM)
    await watcher.wait_for(
        lambda f: f["type"] == "presence_change" and any(u["username"] == "lucia" for u in f["joined"])
    )
    snapshot = await visible.wait_for(lambda f: f["type"] == "presence")
    assert sorted(u["username"] for u in snapshot["members"]) == ["amara", "lucia"]
    for client in (watcher, hidden, visible):
        for frame in client.frames:
            if frame["type"] in {"presence", "presence_change"}:
                listed = frame.get("members", []) + frame.get("joined", []) + frame.get("left", [])
                assert "shy" not in [u["username"] for u in listed]


async def test_the_joiner_gets_everyone_present_and_the_room_gets_only_the_newcomer(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    present = []
    for name in ("amara", "carlos", "lucia"):
        client = await _client(server, await _member(db, name))
        await client.join(ROOM)
        await client.wait_for(lambda f: f["type"] == "presence")
        present.append(client)
    newcomer = await _client(server, await _member(db, "nadia"))
    await newcomer.join(ROOM)

    snapshot = await newcomer.wait_for(lambda f: f["type"] == "presence")
    assert [u["username"] for u in snapshot["members"]] == ["amara", "carlos", "lucia", "nadia"]
    for client in present:
        change = await client.wait_for(
            lambda f: f["type"] == "presence_change" and [u["username"] for u in f["joined"]] == ["nadia"]
        )
        assert "members" not in change and change["left"] == []
        assert change["version"] == snapshot["version"]
        # Each member got the full list once, when they joined, and only changes since.
        assert sum(f["type"] == "presence" for f in client.frames) == 1

    await newcomer.close()
    for client in present:
        await client.wait_for(
            lambda f: f["type"] == "presence_change" and [u["username"] for u in f["left"]] == ["nadia"]
        )


async def test_metrics_count_sockets_messages_and_latency(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    import httpx

    client = await _client(server, await _member(db, "lucia"))
    await client.join(ROOM)
    await client.say(ROOM, "counted")
    await client.wait_for(lambda f: f["type"] == "message")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        text = (await http.get("/metrics")).text
    assert "kindred_open_sockets 1.0" in text
    assert "kindred_messages_sent_total 1.0" in text
    assert "kindred_messages_delivered_total 1.0" in text
    assert "kindred_send_to_deliver_seconds_count 1.0" in text
    assert "kindred_dropped_slow_clients_total 0.0" in text and "kindred_redis_reconnects_total 0.0" in text


async def _scrape(server: LiveServer) -> dict[str, float]:
    """/metrics, each metric's samples summed (kindred_asyncio_tasks over its coroutine labels)."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    async with httpx.AsyncClient(base_url=server.base_url) as http:
        text = (await http.get("/metrics")).text
    return {
        family.name: sum(sample.value for sample in family.samples) for family in text_string_to_metric_families(text)
    }


LIVE_STATE = [
    "kindred_open_sockets",
    "kindred_live_clients",
    "kindred_live_users",
    "kindred_hub_topics",
    "kindred_hub_memberships",
    "kindred_broker_channels",
    "kindred_presence_rooms",
    "kindred_presence_members",
]


async def test_metrics_show_the_live_state_and_it_returns_to_its_baseline_when_the_sockets_close(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    before = await _scrape(server)
    assert before["kindred_asyncio_tasks"] >= 1
    clients = [await _client(server, await _member(db, name)) for name in ("lucia", "amara")]
    for client in clients:
        assert (await client.join(ROOM))["type"] == "joined"
    during = await _scrape(server)
    # Two sockets of two members in one room: the room's topic and each member's own control topic.
    grown = {name: during[name] - before[name] for name in LIVE_STATE}
    assert grown == {
        "kindred_open_sockets": 2,
        "kindred_live_clients": 2,
        "kindred_live_users": 2,
        "kindred_hub_topics": 3,
        "kindred_hub_memberships": 4,
        "kindred_broker_channels": 3,
        "kindred_presence_rooms": 1,
        "kindred_presence_members": 2,
    }
    for client in clients:
        await client.close()
    after = await _scrape(server)
    for _ in range(100):
        if all(after[name] == before[name] for name in [*LIVE_STATE, "kindred_asyncio_tasks"]):
            break
        await asyncio.sleep(0.1)
        after = await _scrape(server)
    assert {name: after[name] for name in LIVE_STATE} == {name: before[name] for name in LIVE_STATE}
    assert after["kindred_asyncio_tasks"] == before["kindred_asyncio_tasks"]


async def test_a_stalled_client_is_closed_with_resume_and_active_clients_get_everything(
    settings, db: asyncpg.Connection, community: int
) -> None:
    import socket

    from tests.harness import live_server

    async with live_server(settings.with_overrides(ws_max_queue=20), send_buffer=8192) as server:
        writer = await _client(server, await _member(db, "amara", "leader"))
        active = [await _client(server, await _member(db, f"active{i}")) for i in range(3)]
        for client in [writer, *active]:
            await client.join(ROOM)
        # The stalled client: a tiny receive buffer, and it never reads after joining.
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", server.port))
        stalled = await websockets.connect(
            server.ws_url, sock=raw, origin=Origin(server.base_url), max_queue=1,
            additional_headers={"Cookie": f"kindred_session={await _member(db, 'stalled')}"},
        )  # fmt: skip
        await stalled.send(json.dumps({"type": "join", "room": ROOM}))
        # Random text: websocket compression would shrink a repeated letter to nothing.
        body = base64.b64encode(os.urandom(2900)).decode()
        for number in range(300):
            assert (await writer.say(ROOM, f"{number} {body}"))["type"] == "ack"
        for client in active:
            await client.wait_for(lambda f: f["type"] == "message" and f["seq"] == 300, timeout=30)
            assert client.seqs(ROOM) == list(range(1, 301))
        # The stalled socket was cut off with "resume" (or dropped, if even the close frame could not get through).
        dropped = server.app.state.metrics.dropped_slow_clients
        for _ in range(150):
            if dropped._value.get() == 1:
                break
            await asyncio.sleep(0.1)
        assert dropped._value.get() == 1
        with contextlib.suppress(Exception):
            async for _ in stalled:
                pass
        assert stalled.close_code in {CloseCode.RESUME, 1006}


async def test_a_new_members_first_message_waits_for_review_and_only_they_see_it(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    newcomer_id = await create_user(db, "newcomer")
    await add_member(db, community, newcomer_id, approved_posts=0)  # the first-post hold is on by default
    newcomer = await _client(server, await create_session(db, newcomer_id))
    other = await _client(server, await _member(db, "lucia"))
    await newcomer.join(ROOM)
    await other.join(ROOM)
    ack = await newcomer.say(ROOM, "Hello, my son has CMS")
    assert ack["type"] == "ack"
    mine = await newcomer.wait_for(lambda f: f["type"] == "message")
    assert mine["held"] is True and mine["body"] == "Hello, my son has CMS"
    assert await other.wait_for(lambda f: f["type"] in {"message", "remove"}) == {
        "type": "remove",
        "room": ROOM,
        "seq": 1,
    }
    assert await db.fetchval("SELECT state FROM room_messages") == "held"
    # A member who joins later does not get it either; its author does, on resume.
    late = await _client(server, await _member(db, "late"))
    await late.join(ROOM, since=0)
    await late.wait_for(lambda f: f["type"] == "remove" and f["seq"] == 1)
    again = await _client(server, await create_session(db, newcomer_id))
    await again.join(ROOM, since=0)
    assert (await again.wait_for(lambda f: f["type"] == "message"))["held"] is True
