"""Presence: who is in a room across processes, changes announced to the room, expiring with dead processes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from channels.protocol import User
from server.embedded import EmbeddedRedis
from tests.channels.conftest import Process, StartProcess
from tests.channels.fakes import WAIT, RecordingSocket, eventually

AMARA = User(id=1, username="amara", display_name="Amara", badge="leader")
LUCIA = User(id=2, username="lucia", display_name="Lucía")
CARLOS = User(id=3, username="carlos", display_name="Carlos")

ROOM = "cms/main"


def names(users: list[dict[str, Any]]) -> list[str]:
    return [user["username"] for user in users]


async def next_change(socket: RecordingSocket, seen: int) -> tuple[dict[str, Any], int]:
    """The first presence_change frame after the first `seen` frames, and how many frames that makes."""
    while True:
        frames = await socket.wait_for(seen + 1)
        seen += 1
        frame = frames[seen - 1]
        assert frame["type"] != "presence", "the full member list must never be broadcast to the room"
        if frame["type"] == "presence_change":
            return frame, seen


async def members_now(process: Process) -> list[User]:
    snapshot = await process.presence.snapshot(ROOM)
    assert snapshot is not None
    return snapshot.members


async def test_a_member_joining_is_announced_on_every_process_as_a_change(start_process: StartProcess) -> None:
    here, there = await start_process().start(), await start_process().start()
    watcher = await there.watch(ROOM)

    snapshot = await here.presence.join(ROOM, AMARA)
    assert snapshot is not None
    assert snapshot.members == [AMARA]

    event, _ = await next_change(watcher, 0)
    assert event == {
        "type": "presence_change",
        "room": ROOM,
        "version": snapshot.version,
        "joined": [{"id": 1, "username": "amara", "display_name": "Amara", "badge": "leader"}],
        "left": [],
    }
    assert await members_now(there) == [AMARA]


async def test_a_change_carries_only_the_newcomer_however_full_the_room(start_process: StartProcess) -> None:
    here, there = await start_process().start(), await start_process().start()
    crowd = [User(id=100 + i, username=f"member{i:02}", display_name=f"Member {i:02}") for i in range(20)]
    for user in crowd:
        await here.presence.join(ROOM, user)
    watcher = await here.watch(ROOM)

    snapshot = await there.presence.join(ROOM, CARLOS)

    event, _ = await next_change(watcher, 0)
    assert "members" not in event
    assert names(event["joined"]) == ["carlos"] and event["left"] == []
    assert len(json.dumps(event)) < 200  # the same size with 20 members present as with none
    # The newcomer alone gets the whole list, and it already includes their own arrival.
    assert snapshot is not None
    assert snapshot.members == [CARLOS, *crowd]
    assert snapshot.version == event["version"]


async def test_versions_increase_strictly_and_a_snapshot_names_the_last_change_it_includes(
    start_process: StartProcess,
) -> None:
    here = await start_process().start()
    watcher = await here.watch(ROOM)
    versions = []
    for user in (AMARA, LUCIA, CARLOS):
        snapshot = await here.presence.join(ROOM, user)
        assert snapshot is not None
        versions.append(snapshot.version)
    again = await here.presence.join(ROOM, AMARA)  # a second tab changes nothing
    assert again is not None and again.version == versions[-1]
    read = await here.presence.snapshot(ROOM)
    assert read is not None and read.version == versions[-1]
    seen = 0
    for version in versions:
        event, seen = await next_change(watcher, seen)
        assert event["version"] == version
    assert versions == sorted(set(versions))


async def test_members_are_counted_across_processes_and_tabs(start_process: StartProcess) -> None:
    here, there = await start_process().start(), await start_process().start()
    watcher = await there.watch(ROOM)

    await here.presence.join(ROOM, AMARA)  # two tabs on this process
    await here.presence.join(ROOM, AMARA)
    await there.presence.join(ROOM, AMARA)  # and a phone on the other one
    await there.presence.join(ROOM, LUCIA)
    for process in (here, there):
        assert await members_now(process) == [AMARA, LUCIA]

    first, seen = await next_change(watcher, 0)
    assert names(first["joined"]) == ["amara"]  # once, not once per tab
    second, seen = await next_change(watcher, seen)
    assert names(second["joined"]) == ["lucia"]

    # Amara closes both tabs here: she is still on her phone, so nobody is told she left.
    await here.presence.leave(ROOM, AMARA.id)
    await here.presence.leave(ROOM, AMARA.id)
    await there.presence.leave(ROOM, LUCIA.id)
    third, seen = await next_change(watcher, seen)
    assert names(third["left"]) == ["lucia"] and third["joined"] == []
    assert await members_now(here) == [AMARA]

    await there.presence.leave(ROOM, AMARA.id)
    fourth, _ = await next_change(watcher, seen)
    assert names(fourth["left"]) == ["amara"]
    assert await members_now(here) == []
    assert first["version"] < second["version"] < third["version"] < fourth["version"]


async def test_a_hidden_member_is_never_listed_announced_or_shown_typing(start_process: StartProcess) -> None:
    here = await start_process().start()
    watcher = await here.watch(ROOM)

    snapshot = await here.presence.join(ROOM, LUCIA, hidden=True)
    assert snapshot is not None
    assert snapshot.members == []
    assert await here.presence.typing(ROOM, LUCIA) is False

    await here.presence.join(ROOM, AMARA)
    event, seen = await next_change(watcher, 0)  # the first thing the watcher hears of anyone
    assert names(event["joined"]) == ["amara"]
    assert await members_now(here) == [AMARA]

    await here.presence.leave(ROOM, LUCIA.id)
    await here.presence.leave(ROOM, AMARA.id)
    event, _ = await next_change(watcher, seen)
    assert names(event["left"]) == ["amara"]
    assert all(frame["type"] != "typing" for frame in watcher.frames())


async def test_members_of_a_dead_process_expire_and_are_announced_as_left(start_process: StartProcess) -> None:
    quick = {"ttl": 0.5, "refresh_every": 0.1}
    # The dead process joined Carlos and then stopped refreshing, as if it had been killed.
    dead = await start_process(presence=quick).start()
    alive = await start_process(presence=quick).start()
    await alive.presence.start()
    watcher = await alive.watch(ROOM)

    await dead.presence.join(ROOM, CARLOS)
    await alive.presence.join(ROOM, AMARA)
    seen = 0
    while True:
        event, seen = await next_change(watcher, seen)
        if event["left"]:
            break
    assert names(event["left"]) == ["carlos"]
    assert await members_now(alive) == [AMARA]  # kept alive by its heartbeat all along


async def test_a_stopping_process_withdraws_its_members_at_once(start_process: StartProcess) -> None:
    leaving, staying = await start_process().start(), await start_process().start()
    watcher = await staying.watch(ROOM)
    await leaving.presence.join(ROOM, CARLOS)
    _, seen = await next_change(watcher, 0)

    await leaving.presence.stop()
    event, _ = await next_change(watcher, seen)
    assert names(event["left"]) == ["carlos"]
    assert await members_now(staying) == []


async def test_typing_is_announced_at_most_once_per_interval_per_member(start_process: StartProcess) -> None:
    here, there = await start_process(presence={"typing_every": 0.3}).start(), await start_process().start()
    watcher = await there.watch(ROOM)
    await here.presence.join(ROOM, AMARA)
    await here.presence.join(ROOM, LUCIA)

    assert await here.presence.typing(ROOM, AMARA) is True
    assert await here.presence.typing(ROOM, AMARA) is False
    assert await here.presence.typing(ROOM, LUCIA) is True
    assert await here.presence.typing(ROOM, CARLOS) is False  # not in the room

    typing = [frame for frame in await watcher.wait_for(4) if frame["type"] == "typing"]
    assert [(frame["room"], frame["user"]["username"]) for frame in typing] == [(ROOM, "amara"), (ROOM, "lucia")]

    await eventually(lambda: here.presence.typing(ROOM, AMARA))


async def test_presence_keeps_its_local_view_while_redis_is_down_and_writes_it_back_after(
    start_process: StartProcess, private_redis: EmbeddedRedis
) -> None:
    here = await start_process(private_redis.url, presence={"ttl": 5, "refresh_every": 0.1}).start()
    there = await start_process(private_redis.url).start()
    await here.presence.start()
    await here.presence.join(ROOM, AMARA)

    private_redis.stop()
    assert await asyncio.wait_for(here.presence.join(ROOM, LUCIA), WAIT) is None
    assert await asyncio.wait_for(here.presence.snapshot(ROOM), WAIT) is None
    assert await asyncio.wait_for(here.presence.typing(ROOM, LUCIA), WAIT) is False

    private_redis.start()

    async def both_listed() -> bool:
        members = await there.presence.snapshot(ROOM)
        return members is not None and members.members == [AMARA, LUCIA]

    await eventually(both_listed)
