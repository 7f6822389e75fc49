"""Presence on a real Redis Cluster: each room's keys share one slot, changes travel as sharded messages."""

from __future__ import annotations

from redis.crc import key_slot

from channels.protocol import User
from tests.channels.conftest import StartProcess
from tests.channels.test_presence import members_now, next_change
from tests.redis_cluster import LocalCluster

AMARA = User(id=1, username="amara", display_name="Amara", badge="leader")
LUCIA = User(id=2, username="lucia", display_name="Lucía")
ROOMS = [f"{number}-community/main" for number in range(6)]


async def test_presence_spans_processes_in_rooms_on_every_shard(
    redis_cluster: LocalCluster, start_process: StartProcess
) -> None:
    here = await start_process(redis_cluster.url, cluster=True).start()
    there = await start_process(redis_cluster.url, cluster=True).start()
    # Each room's four keys share one hash tag, so its scripts run on one slot; the rooms spread over shards.
    slots = [{key_slot(key.encode()) for key in here.presence._keys(room)} for room in ROOMS]
    assert all(len(room_slots) == 1 for room_slots in slots)
    assert len({redis_cluster.master_of(here.presence._keys(room)[0]).port for room in ROOMS}) > 1
    for room in ROOMS:
        watcher = await there.watch(room)
        snapshot = await here.presence.join(room, AMARA)
        assert snapshot is not None and snapshot.members == [AMARA]
        event, _ = await next_change(watcher, 0)
        assert [user["username"] for user in event["joined"]] == ["amara"]
        assert (await there.presence.join(room, LUCIA)) is not None
        snapshot = await there.presence.snapshot(room)
        assert snapshot is not None and snapshot.members == [AMARA, LUCIA]
        await here.presence.leave(room, AMARA.id)
    assert await members_now(there) == []  # test_presence's ROOM: nobody joined it
