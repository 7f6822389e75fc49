"""The command client: on a Redis Cluster a burst waits for one of its connections instead of failing."""

from __future__ import annotations

import asyncio

from channels.redis_client import command_client
from tests.redis_cluster import LocalCluster


async def test_a_burst_on_a_cluster_waits_for_a_connection_and_opens_no_more_than_allowed(
    redis_cluster: LocalCluster,
) -> None:
    # redis-py's cluster client alone raises MaxConnectionsError past max_connections, so the read counts of
    # 200 members joining at once failed open (bench/live.py on a cluster logged it).
    key = "{burst}:count"
    node = redis_cluster.master_of(key)
    with node.client() as admin:
        before = len(admin.client_list())
    client = command_client(redis_cluster.url, cluster=True, max_connections=4)
    try:
        counts = await asyncio.gather(*(client.incr(key) for _ in range(200)))
        with node.client() as admin:
            during = len(admin.client_list())
    finally:
        await client.aclose()
    assert sorted(counts) == list(range(1, 201))
    assert during - before <= 4
