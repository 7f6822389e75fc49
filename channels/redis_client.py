"""The command client of one process: a bounded pool on a single Redis, or a Redis Cluster client."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError, RedisClusterException, RedisError

# Everything Kindred asks of Redis (single-key commands, scripts whose keys share one slot, PUBLISH or
# SPUBLISH) is answered the same by both.
RedisClient = aioredis.Redis | RedisCluster


class BoundedRedisCluster(RedisCluster):
    """A cluster client whose commands wait, up to wait_timeout, for one of max_connections places.

    redis-py's cluster client has no blocking pool: past max_connections to a node it raises at once,
    so a burst (200 members joining, each join a read count) would fail open or drop publications.
    At most max_connections commands of this client are in flight at once, so no node is asked for
    more connections than that; the others wait their turn, as on a single Redis's BlockingConnectionPool.
    """

    def __init__(self, *, max_connections: int = 20, wait_timeout: float = 5.0, **kwargs: Any) -> None:
        super().__init__(max_connections=max_connections, **kwargs)
        self._places = asyncio.Semaphore(max_connections)
        self._wait_timeout = wait_timeout

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            async with asyncio.timeout(self._wait_timeout):
                await self._places.acquire()
        except TimeoutError:
            raise MaxConnectionsError(f"no Redis Cluster connection free within {self._wait_timeout} s") from None
        try:
            return await super().execute_command(*args, **kwargs)
        except AttributeError as exc:
            # redis-py 8.1: a node lost while a command was being written to it (its writer already
            # gone) surfaces as an AttributeError; it is a lost connection, and callers fail open on those.
            raise RedisConnectionError(f"connection lost during {args[0] if args else 'a command'}: {exc}") from exc
        finally:
            self._places.release()


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
    life. A cluster client (BoundedRedisCluster) makes a burst wait the same way, reads the slot map
    from any node of url and follows MOVED and failovers.
    """
    if cluster:
        return BoundedRedisCluster.from_url(
            url,
            max_connections=max_connections,
            wait_timeout=timeout,
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
