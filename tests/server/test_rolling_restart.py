"""Three web processes behind HAProxy: a rolling restart while 200 members chat loses and doubles nothing."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from bench import _setup
from server.settings import Settings
from tests.chat_member import ChatMember
from tests.haproxy import HAProxy, require_haproxy
from tests.harness import WebProcess, start_web_process

pytestmark = pytest.mark.slow

ROOMS = 10
MEMBERS_PER_ROOM = 20  # 200 light clients: a 2-core machine shared with other work
# Joins count as reads, and every member joins again after each restart, all from 127.0.0.1.
ENV = {"KINDRED_READ_LIMIT_IP": "1000000", "KINDRED_READ_LIMIT_SESSION": "100000"}


async def seed(db: asyncpg.Connection) -> dict[str, list[str]]:
    """ROOMS communities with MEMBERS_PER_ROOM members each (sessions), by room."""
    sessions: dict[str, list[str]] = {}
    for number in range(ROOMS):
        slug = f"rolling-{number}"
        user_ids = await _setup._users(db, f"{slug}-", MEMBERS_PER_ROOM, "not-a-password-hash")
        community_id, _room = await _setup._community(db, slug)
        await _setup._members(db, community_id, user_ids)
        sessions[f"{slug}/main"] = await _setup._sessions(db, user_ids)
    return sessions


async def stored(db: asyncpg.Connection) -> dict[str, dict[int, str]]:
    rows = await db.fetch(
        """SELECT c.slug || '/' || r.slug AS room, m.seq, m.body FROM room_messages m
           JOIN rooms r ON r.id = m.room_id JOIN communities c ON c.id = r.community_id ORDER BY room, m.seq"""
    )
    result: dict[str, dict[int, str]] = {}
    for row in rows:
        result.setdefault(row["room"], {})[row["seq"]] = row["body"]
    return result


@pytest.fixture
def processes(settings: Settings, tmp_path: Path) -> Iterator[list[WebProcess]]:
    require_haproxy()
    started: list[WebProcess] = []
    try:
        for _ in range(3):
            started.append(start_web_process(settings, tmp_path, ENV))
        yield started
    finally:
        for web in started:
            web.stop()


async def restart_one_by_one(
    haproxy: HAProxy, processes: list[WebProcess], settings: Settings, log_dir: Path
) -> list[float]:
    """For each process: drain it in HAProxy, stop it (SIGTERM: its sockets close with 1012), start it
    again on its port, and put it back once its health check passes. Returns each step's seconds."""
    took = []
    for index, web in enumerate(processes):
        began = time.monotonic()
        await asyncio.to_thread(haproxy.drain, index)
        await asyncio.to_thread(web.stop)
        processes[index] = await asyncio.to_thread(start_web_process, settings, log_dir, ENV, port=web.port)
        await asyncio.to_thread(haproxy.ready, index)
        took.append(time.monotonic() - began)
    return took


async def test_a_rolling_restart_behind_haproxy_loses_no_acked_message_and_doubles_none(
    settings: Settings, db: asyncpg.Connection, tmp_path: Path, processes: list[WebProcess]
) -> None:
    sessions = await seed(db)
    haproxy = HAProxy(tmp_path / "haproxy", [web.port for web in processes])
    haproxy.start()
    try:
        assert haproxy.healthz() == 200
        members = [
            ChatMember(haproxy.ws_url, settings.site_origin, session, room)
            for room, room_sessions in sessions.items()
            for session in room_sessions
        ]
        for member in members:
            member.start()
        await asyncio.gather(*(member.until(member.joined, 30) for member in members))
        # leastconn spread the sockets over the three processes.
        assert all(haproxy.sessions(index) > 0 for index in range(3))

        restarting = asyncio.create_task(restart_one_by_one(haproxy, processes, settings, tmp_path))

        async def chat(member: ChatMember, rng: random.Random) -> None:
            number = 0
            while not restarting.done() or number < 3:
                await member.say(f"{member.session[:8]} {number}")
                number += 1
                await asyncio.sleep(rng.uniform(1.0, 2.5))

        await asyncio.gather(*(chat(member, random.Random(i)) for i, member in enumerate(members)))
        took = await restarting
        await asyncio.gather(*(member.flush(60) for member in members))
        history = await stored(db)
        await asyncio.gather(*(member.catch_up(max(history[member.room]), 60) for member in members))
        for member in members:
            await member.stop()
    finally:
        haproxy.stop()

    assert len(took) == 3
    sent = sum(len(member.sent) for member in members)
    bodies = [body for room in history.values() for body in room.values()]
    assert len(bodies) == len(set(bodies)) == sent  # each message stored once: none lost, none doubled
    for member in members:
        room = history[member.room]
        assert len(member.acked) == len(member.sent)
        # Each acked message is stored with its acked seq ...
        assert {seq: member.sent[client_id] for client_id, seq in member.acked.items()}.items() <= room.items()
        # ... and each member ends with the room's history in Postgres's order, no seq twice on a connection.
        assert member.got == room
        assert member.tally.duplicates == 0
    # Every member was moved at least once (1012 from a stopping process) and came back through HAProxy.
    assert all(member.tally.connections >= 2 for member in members)
    assert {code for member in members for code in member.tally.close_codes} >= {1012}
