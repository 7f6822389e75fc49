"""The live layer across separate server processes: fan-out, resume, presence, outages, shutdown."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

import asyncpg
import pytest

from channels.protocol import CloseCode
from server.embedded import EmbeddedRedis
from server.settings import Settings
from tests.factories import create_community, member_session
from tests.harness import WebProcess, web_processes
from tests.live_client import LiveClient

pytestmark = pytest.mark.slow
ROOM = "test-condition/main"


async def _connect(web: WebProcess, settings: Settings, session: str | None) -> LiveClient:
    # Every process serves the same public origin, as behind a load balancer.
    return await LiveClient.connect(web.ws_url, settings.site_origin, session)


@pytest.fixture
async def community(db: asyncpg.Connection) -> int:
    return await create_community(db)


async def test_messages_reach_every_client_on_every_process_in_the_same_order(
    settings: Settings, db: asyncpg.Connection, community: int, tmp_path: Path
) -> None:
    with web_processes(settings, tmp_path) as (first, second):
        writers = [
            await _connect(first, settings, await member_session(db, "amara", "leader")),
            await _connect(second, settings, await member_session(db, "lucia", "leader")),
        ]
        readers = [
            await _connect(web, settings, await member_session(db, f"reader{i}"))
            for i, web in enumerate([first, second])
        ]
        for client in writers + readers:
            await client.join(ROOM)

        async def chat(writer: LiveClient, name: str) -> None:
            for number in range(15):
                assert (await writer.say(ROOM, f"{name} {number}"))["type"] == "ack"

        await asyncio.gather(chat(writers[0], "amara"), chat(writers[1], "lucia"))
        for client in writers + readers:
            await client.wait_for(lambda f: f["type"] == "message" and f["seq"] == 30)
            assert sorted(client.seqs(ROOM)) == list(range(1, 31))
            assert len(client.seqs(ROOM)) == 30
        bodies = [[m["body"] for m in sorted(c.messages(ROOM), key=lambda m: m["seq"])] for c in writers + readers]
        assert all(order == bodies[0] for order in bodies)


async def test_a_client_id_sent_concurrently_through_two_processes_makes_one_message(
    settings: Settings, db: asyncpg.Connection, community: int, tmp_path: Path
) -> None:
    session = await member_session(db, "lucia")
    with web_processes(settings, tmp_path) as (first, second):
        one = await _connect(first, settings, session)
        two = await _connect(second, settings, session)
        await one.join(ROOM)
        await two.join(ROOM)
        client_id = str(uuid.uuid4())
        acks = await asyncio.gather(one.say(ROOM, "same words", client_id), two.say(ROOM, "same words", client_id))
        assert acks[0]["type"] == acks[1]["type"] == "ack"
        assert acks[0]["seq"] == acks[1]["seq"]
        assert await db.fetchval("SELECT count(*) FROM room_messages") == 1


async def test_a_client_that_reconnects_to_another_process_resumes_without_gap_or_duplicate(
    settings: Settings, db: asyncpg.Connection, community: int, tmp_path: Path
) -> None:
    with web_processes(settings, tmp_path) as (first, second):
        writer = await _connect(first, settings, await member_session(db, "amara", "leader"))
        await writer.join(ROOM)
        reader_session = await member_session(db, "lucia")
        reader = await _connect(first, settings, reader_session)
        joined = await reader.join(ROOM)
        for number in range(5):
            await writer.say(ROOM, f"m{number}")
        await reader.wait_for(lambda f: f["type"] == "message" and f["seq"] == 5)
        await reader.close()
        for number in range(5, 12):
            await writer.say(ROOM, f"m{number}")
        again = await _connect(second, settings, reader_session)
        await again.join(ROOM, since=5, epoch=joined["epoch"])
        await writer.say(ROOM, "live one")
        await again.wait_for(lambda f: f["type"] == "message" and f["seq"] == 13)
        assert again.seqs(ROOM) == list(range(6, 14))


async def test_logging_out_closes_the_sessions_sockets_on_every_process(
    settings: Settings, db: asyncpg.Connection, community: int, tmp_path: Path
) -> None:
    session = await member_session(db, "lucia")
    with web_processes(settings, tmp_path) as (first, second):
        on_second = await _connect(second, settings, session)
        await on_second.join(ROOM)
        import httpx

        from server import auth
        from tests.factories import csrf_from

        async with httpx.AsyncClient(base_url=first.base_url, cookies={auth.SESSION_COOKIE: session}) as http:
            token = csrf_from((await http.get("/")).text)
            assert (await http.post("/logout", data={"csrf_token": token})).status_code == 303
        assert await on_second.wait_closed(timeout=1.0) == CloseCode.LOGGED_OUT


async def test_presence_spans_processes_and_a_killed_process_members_expire(
    settings: Settings, db: asyncpg.Connection, community: int, tmp_path: Path
) -> None:
    with web_processes(settings, tmp_path, extra_env={"KINDRED_PRESENCE_TTL": "2"}) as (first, second):
        watcher = await _connect(first, settings, await member_session(db, "amara"))
        await watcher.join(ROOM)
        doomed = await _connect(second, settings, await member_session(db, "lucia"))
        await doomed.join(ROOM)
        await watcher.wait_for(
            lambda f: f["type"] == "presence_change" and any(u["username"] == "lucia" for u in f["joined"])
        )
        # Lucía's snapshot comes from the other process and lists both of them.
        snapshot = await doomed.wait_for(lambda f: f["type"] == "presence")
        assert [u["username"] for u in snapshot["members"]] == ["amara", "lucia"]
        second.stop(signal.SIGKILL)
        left = await watcher.wait_for(
            lambda f: f["type"] == "presence_change" and any(u["username"] == "lucia" for u in f["left"]), timeout=15
        )
        assert "members" not in left and left["joined"] == []
        # Someone arriving now is told only Amara is here.
        late = await _connect(first, settings, await member_session(db, "carlos"))
        await late.join(ROOM)
        now = await late.wait_for(lambda f: f["type"] == "presence")
        assert [u["username"] for u in now["members"]] == ["amara", "carlos"]


async def test_with_redis_down_sends_commit_and_clients_catch_up_when_it_returns(
    settings: Settings, db: asyncpg.Connection, community: int, tmp_path: Path, private_redis: EmbeddedRedis
) -> None:
    settings = settings.with_overrides(redis_url=private_redis.url)
    with web_processes(settings, tmp_path) as (first, second):
        writer = await _connect(first, settings, await member_session(db, "amara", "leader"))
        reader = await _connect(second, settings, await member_session(db, "lucia"))
        epoch = (await writer.join(ROOM))["epoch"]
        await reader.join(ROOM)
        await writer.say(ROOM, "before the outage")
        await reader.wait_for(lambda f: f["type"] == "message" and f["seq"] == 1)

        private_redis.stop()
        for number in range(3):
            ack = await writer.say(ROOM, f"during the outage {number}")
            assert ack["type"] == "ack"  # committed in Postgres and acknowledged
        assert await db.fetchval("SELECT count(*) FROM room_messages") == 4

        private_redis.start()
        # The reader's process tells it the room's head once its subscription is back ...
        announce = await reader.wait_for(lambda f: f["type"] == "joined" and f["head_seq"] == 4, timeout=20)
        # ... and, as the protocol says, the client joins again from the last seq it has.
        await reader.join(ROOM, since=1, epoch=announce["epoch"])
        await reader.wait_for(lambda f: f["type"] == "message" and f["seq"] == 4)
        assert sorted(set(reader.seqs(ROOM))) == [1, 2, 3, 4]
        assert announce["epoch"] == epoch
        await writer.say(ROOM, "after")
        await reader.wait_for(lambda f: f["type"] == "message" and f["seq"] == 5, timeout=10)


async def test_with_postgres_refusing_sends_get_an_error_and_nothing_is_acked_then_it_recovers(
    settings: Settings, db: asyncpg.Connection, database_url: str, community: int, tmp_path: Path
) -> None:
    with web_processes(settings, tmp_path, count=1) as (web,):
        client = await _connect(web, settings, await member_session(db, "amara", "leader"))
        await client.join(ROOM)
        await client.say(ROOM, "stored")
        name = database_url.rsplit("/", 1)[1]
        admin = await asyncpg.connect(database_url.rsplit("/", 1)[0] + "/postgres")
        try:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
            refused = await client.say(ROOM, "not now", client_id="during-outage")
            assert refused["type"] == "error" and refused["code"] == "unavailable"
            assert not any(f["type"] == "ack" and f["client_id"] == "during-outage" for f in client.frames)
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            await admin.close()
        retried = await client.say(ROOM, "not now", client_id="during-outage")
        assert retried["type"] == "ack" and retried["seq"] == 2
    check = await asyncpg.connect(database_url)
    assert await check.fetchval("SELECT count(*) FROM room_messages") == 2
    await check.close()


async def test_shutdown_closes_sockets_with_1012_and_clients_resume_on_another_process(
    settings: Settings, db: asyncpg.Connection, community: int, tmp_path: Path
) -> None:
    with web_processes(settings, tmp_path) as (first, second):
        writer = await _connect(second, settings, await member_session(db, "amara", "leader"))
        await writer.join(ROOM)
        session = await member_session(db, "lucia")
        client = await _connect(first, settings, session)
        joined = await client.join(ROOM)
        await writer.say(ROOM, "one")
        await client.wait_for(lambda f: f["type"] == "message" and f["seq"] == 1)
        first.stop(signal.SIGTERM)
        assert await client.wait_closed() == CloseCode.RESTARTING
        await writer.say(ROOM, "two")
        resumed = await _connect(second, settings, session)
        await resumed.join(ROOM, since=1, epoch=joined["epoch"])
        await resumed.wait_for(lambda f: f["type"] == "message" and f["seq"] == 2)
        assert resumed.seqs(ROOM) == [2]


def _had_without_gap(seqs: list[int]) -> int:
    """The highest seq n such that 1..n all arrived."""
    had, arrived = 0, set(seqs)
    while had + 1 in arrived:
        had += 1
    return had


def _duplicates_between_joined(frames: list[dict[str, object]], room: str) -> list[int]:
    """Seqs a connection was sent twice as a message with no `joined` for the room between them."""
    duplicates: list[int] = []
    seen: set[object] = set()
    for frame in frames:
        if frame.get("room") != room:
            continue
        if frame["type"] == "joined":
            seen = set()
        elif frame["type"] == "message":
            if frame["seq"] in seen:
                duplicates.append(frame["seq"])  # type: ignore[arg-type]
            seen.add(frame["seq"])
    return duplicates


async def test_re_joining_a_room_under_load_never_sends_a_seq_twice_on_one_connection(
    settings: Settings, db: asyncpg.Connection, community: int, tmp_path: Path
) -> None:
    # A gap repair is a join with `since` a seq the client already has, while others keep talking:
    # whatever was committed up to the head comes once, from history; what comes live is above it.
    with web_processes(settings, tmp_path) as (first, second):
        # Leaders are not rate limited, so a few of them keep the room busy.
        writers = [
            await _connect(web, settings, await member_session(db, f"writer{i}", "leader"))
            for i, web in enumerate([first, first, first, second, second, second])
        ]
        for writer in writers:
            await writer.join(ROOM)
        rejoiner = await _connect(second, settings, await member_session(db, "lucia"))
        epoch = (await rejoiner.join(ROOM))["epoch"]
        stop = asyncio.Event()

        async def chat(writer: LiveClient, name: str) -> None:
            number = 0
            while not stop.is_set():
                assert (await writer.say(ROOM, f"{name} {number}"))["type"] == "ack"
                number += 1

        chatting = [asyncio.create_task(chat(writer, f"w{i}")) for i, writer in enumerate(writers)]
        try:
            for _ in range(80):
                await asyncio.sleep(0.02)
                # `since` is what the client has without a gap (as docs/protocol.md tells clients): live
                # frames from two processes may arrive out of order, and a seq that is still on its way
                # is not "had". Three behind that, so each join replays seqs the connection already got.
                answer = await rejoiner.join(ROOM, since=max(_had_without_gap(rejoiner.seqs(ROOM)) - 3, 0), epoch=epoch)
                assert answer["type"] == "joined"
        finally:
            stop.set()
            await asyncio.gather(*chatting)
        head = await db.fetchval("SELECT last_seq FROM rooms")
        await rejoiner.wait_for(lambda f: f["type"] == "message" and f["seq"] == head)
        assert _duplicates_between_joined(rejoiner.frames, ROOM) == []
        assert set(rejoiner.seqs(ROOM)) == set(range(1, head + 1))


async def test_edits_deletions_and_reactions_reach_clients_on_the_other_process_and_a_resume_there(
    settings: Settings, db: asyncpg.Connection, community: int, tmp_path: Path
) -> None:
    with web_processes(settings, tmp_path) as (first, second):
        author = await _connect(first, settings, await member_session(db, "lucia"))
        reader = await _connect(second, settings, await member_session(db, "amara"))
        await author.join(ROOM)
        joined = await reader.join(ROOM)
        await author.say(ROOM, "first")
        await author.say(ROOM, "second")
        await reader.wait_for(lambda f: f["type"] == "message" and f["seq"] == 2)
        await author.send({"type": "edit", "room": ROOM, "seq": 1, "body": "first, edited"})
        edit = await reader.wait_for(lambda f: f["type"] == "edit")
        assert (edit["seq"], edit["body"]) == (1, "first, edited")
        await reader.send({"type": "react", "room": ROOM, "seq": 2, "kind": "helped"})
        shown = await author.wait_for(lambda f: f["type"] == "reactions")
        assert [(r["kind"], [u["username"] for u in r["users"]]) for r in shown["reactions"]] == [("helped", ["amara"])]
        await author.send({"type": "delete", "room": ROOM, "seq": 2})
        assert (await reader.wait_for(lambda f: f["type"] == "remove"))["deleted"] is True
        # A client of the first process that was away since seq 2 resumes on the second and sees it all.
        away = await _connect(second, settings, await member_session(db, "omar"))
        assert (await away.join(ROOM, since=2, epoch=joined["epoch"]))["type"] == "joined"
        await away.send({"type": "ping"})
        await away.wait_for(lambda f: f["type"] == "pong")
        changes = [(f["type"], f["seq"]) for f in away.frames if f["type"] in {"message", "remove"}]
        assert changes == [("message", 1), ("remove", 2)]
        assert away.messages(ROOM)[0]["body"] == "first, edited"
