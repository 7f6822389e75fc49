"""The command client of one process: a bounded pool on a single Redis, or a Redis Cluster client."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

# Everything Kindred asks of Redis (single-key commands, scripts whose keys share one slot, PUBLISH or
# SPUBLISH) is answered the same by both.
RedisClient = aioredis.Redis | RedisCluster


def command_client(
    url: str,
    *,
    cluster: bool = False,
    max_connections: int = 20,
    timeout: float = 5,
    connect_timeout: float = 2,
    health_check_interval: int = 10,
) -> RedisClient:
    """Connects lazily, so a process may start while Redis is down.

    A single Redis gets a bounded pool: a burst (many members leaving at once, a page storm) waits for
    a connection instead of opening one more per concurrent command and keeping it for the process's
    life. A cluster client keeps at most max_connections per node (redis-py refuses past that: the
    callers fail open), reads the slot map from any node of url and follows MOVED and failovers.
    """
    if cluster:
        return RedisCluster.from_url(
            url,
            max_connections=max_connections,
            socket_timeout=timeout,
            socket_connect_timeout=connect_timeout,
            health_check_interval=health_check_interval,
        )
    return aioredis.Redis.from_pool(
        aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout,
            socket_timeout=timeout,
            socket_connect_timeout=connect_timeout,
            health_check_interval=health_check_interval,
        )
    )


# What a Redis command can raise when Redis cannot answer: redis-py's own errors, and on a cluster also
# RedisClusterException (no node reachable to read the slot map from), which is not a RedisError.
REDIS_ERRORS: tuple[type[Exception], ...] = (RedisError, RedisClusterException)
# The same, with the network's own errors and timeouts.
UNREACHABLE: tuple[type[Exception], ...] = (*REDIS_ERRORS, OSError, TimeoutError)
