"""Redis loses its state while Postgres keeps the rooms (issue 17): a new Redis, a FLUSHALL, an empty restart."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from server.embedded import EmbeddedRedis
from server.settings import Settings
from tests.factories import create_community, member_session
from tests.harness import WebProcess, web_processes
from tests.live_client import Frame, LiveClient

pytestmark = pytest.mark.slow
ROOM = "test-condition/main"
HISTORY = 60  # more than the 50 messages a join without `since` is sent
CLUSTER_ENV = {"KINDRED_REDIS_CLUSTER": "1", "KINDRED_READ_LIMIT_IP": "100000"}


async def _connect(web: WebProcess, settings: Settings, session: str) -> LiveClient:
    return await LiveClient.connect(web.ws_url, settings.site_origin, session)


def _message(seq: int) -> Callable[[Frame], bool]:
    return lambda f: f["type"] == "message" and f["room"] == ROOM and f["seq"] == seq


@pytest.mark.parametrize("new_redis", ["single", "cluster"])
async def test_messages_reach_members_after_redis_is_replaced_under_kept_history(
    settings: Settings, db: asyncpg.Connection, tmp_path: Path, request: pytest.FixtureRequest, new_redis: str
) -> None:
    await create_community(db)
    writer_session = await member_session(db, "amara", "leader")
    reader_session = await member_session(db, "lucia")
    resumer_session = await member_session(db, "omar")
    for folder in ("before", "after"):
        (tmp_path / folder).mkdir()
    old = EmbeddedRedis(tmp_path / "old-redis")
    old.start()
    history_ids: list[str] = []
    try:
        with web_processes(settings.with_overrides(redis_url=old.url), tmp_path / "before") as (first, second):
            writer = await _connect(first, settings, writer_session)
            reader = await _connect(second, settings, reader_session)
            epoch = (await writer.join(ROOM))["epoch"]
            await reader.join(ROOM)
            for number in range(HISTORY):
                history_ids.append(str(uuid.uuid4()))
                assert (await writer.say(ROOM, f"before {number}", history_ids[-1]))["seq"] == number + 1
            await reader.wait_for(_message(HISTORY))
    finally:
        old.stop()  # the Redis is gone for good, with everything it held; Postgres keeps the rooms

    env: dict[str, str] = {}
    if new_redis == "cluster":
        cluster = request.getfixturevalue("redis_cluster")
        settings = settings.with_overrides(redis_url=cluster.url)
        env = CLUSTER_ENV
    else:
        settings = settings.with_overrides(redis_url=request.getfixturevalue("private_redis").url)
    with web_processes(settings, tmp_path / "after", extra_env=env) as (first, second):
        writer = await _connect(first, settings, writer_session)
        fresh = await _connect(second, settings, reader_session)
        resumer = await _connect(second, settings, resumer_session)
        assert (await writer.join(ROOM))["head_seq"] == HISTORY
        joined = await fresh.join(ROOM)  # a first visit: the latest 50 from history
        assert (joined["epoch"], joined["head_seq"]) == (epoch, HISTORY)
        resumed = await resumer.join(ROOM, since=HISTORY - 5, epoch=epoch)
        assert resumed["type"] == "joined" and resumed["head_seq"] == HISTORY
        await fresh.wait_for(_message(HISTORY))
        await resumer.wait_for(_message(HISTORY))

        ack = await writer.say(ROOM, "after the move")
        assert ack["type"] == "ack" and ack["seq"] == HISTORY + 1
        for client in (fresh, resumer, writer):
            live = await client.wait_for(_message(HISTORY + 1))
            assert live["body"] == "after the move"
        assert fresh.seqs(ROOM) == list(range(HISTORY - 49, HISTORY + 2))
        assert resumer.seqs(ROOM) == list(range(HISTORY - 4, HISTORY + 2))

        # What the bench ran into: a client id the room already stored names that message, whichever Redis:
        # other words under it are refused (they were once acked with the first one's seq and lost), and
        # nothing new goes to the room.
        again = await writer.say(ROOM, "new words under an old client id", history_ids[0])
        assert again["type"] == "error" and again["code"] == "bad_request" and again["ref"] == history_ids[0]
        assert (await writer.say(ROOM, "next"))["seq"] == HISTORY + 2
        await fresh.wait_for(_message(HISTORY + 2))
        assert fresh.seqs(ROOM)[-2:] == [HISTORY + 1, HISTORY + 2]
        assert not any(m["body"] == "new words under an old client id" for m in fresh.messages(ROOM))
        logs = [web.log() for web in (first, second)]
    assert not any("Traceback" in log for log in logs), logs
    assert await db.fetchval("SELECT count(*) FROM room_messages") == HISTORY + 2


async def test_a_flushall_under_running_processes_loses_no_message_and_members_keep_talking(
    settings: Settings, db: asyncpg.Connection, tmp_path: Path, private_redis: EmbeddedRedis
) -> None:
    await create_community(db)
    settings = settings.with_overrides(redis_url=private_redis.url)
    with web_processes(settings, tmp_path) as (first, second):
        writer = await _connect(first, settings, await member_session(db, "amara", "leader"))
        reader = await _connect(second, settings, await member_session(db, "lucia"))
        await writer.join(ROOM)
        await reader.join(ROOM)
        for number in range(5):
            await writer.say(ROOM, f"before {number}")
        await reader.wait_for(_message(5))

        flusher = aioredis.Redis.from_url(private_redis.url)
        try:
            assert await flusher.flushall()  # every key: presence, rate limits, slow mode
        finally:
            await flusher.aclose()

        for number in range(5):
            assert (await writer.say(ROOM, f"after {number}"))["seq"] == 6 + number
        await reader.wait_for(_message(10))
        assert reader.seqs(ROOM) == list(range(1, 11))
        newcomer = await _connect(first, settings, await member_session(db, "omar"))
        assert (await newcomer.join(ROOM))["head_seq"] == 10
        # A member's own send after the flush reaches the others, across processes.
        assert (await reader.say(ROOM, "still here"))["seq"] == 11
        for client in (writer, newcomer):
            await client.wait_for(_message(11))
        assert newcomer.seqs(ROOM) == list(range(1, 12))


async def test_redis_restarted_empty_under_running_processes_members_catch_up_and_stay_live(
    settings: Settings, db: asyncpg.Connection, tmp_path: Path, private_redis: EmbeddedRedis
) -> None:
    await create_community(db)
    settings = settings.with_overrides(redis_url=private_redis.url)
    with web_processes(settings, tmp_path) as (first, second):
        writer = await _connect(first, settings, await member_session(db, "amara", "leader"))
        reader = await _connect(second, settings, await member_session(db, "lucia"))
        epoch = (await writer.join(ROOM))["epoch"]
        await reader.join(ROOM)
        for number in range(5):
            await writer.say(ROOM, f"before {number}")
        await reader.wait_for(_message(5))

        private_redis.stop()
        shutil.rmtree(private_redis.data_dir)  # its append-only file too: it comes back with nothing
        for number in range(3):
            assert (await writer.say(ROOM, f"meanwhile {number}"))["type"] == "ack"
        private_redis.start()  # the same address, empty

        announce = await reader.wait_for(lambda f: f["type"] == "joined" and f["head_seq"] == 8, timeout=20)
        assert announce["epoch"] == epoch
        await reader.join(ROOM, since=5, epoch=epoch)
        await reader.wait_for(_message(8))
        assert sorted(set(reader.seqs(ROOM))) == list(range(1, 9))
        await writer.say(ROOM, "after")
        await reader.wait_for(_message(9), timeout=10)
        newcomer = await _connect(second, settings, await member_session(db, "omar"))
        assert (await newcomer.join(ROOM))["head_seq"] == 9
        assert (await newcomer.say(ROOM, "hello"))["seq"] == 10
        await writer.wait_for(_message(10), timeout=10)
