"""Redis pub/sub for one process: subscriber connections (one, or one per cluster shard), publishing, reconnect."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from channels.redis_client import UNREACHABLE, BoundedRedisCluster
from channels.subscriber import Subscriber, Timing

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], object]
ReconnectHandler = Callable[[], Awaitable[None]]

# The one subscriber of a single Redis, in Broker._shards.
_SINGLE = ""


def node_url(redis_url: str, host: str, port: int) -> str:
    """redis_url (its credentials, options and database) pointed at another node of the cluster."""
    parts = urlsplit(redis_url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class Broker:
    """Topics are Redis channels named prefix + topic, on one subscriber connection per process, or,
    on a Redis Cluster (cluster=True), sharded channels (SSUBSCRIBE/SPUBLISH, Redis 7) on one
    connection per shard that holds any of this process's topics.

    Each connection is a channels.subscriber.Subscriber, which owns its socket, resubscribes after
    a drop and waits for Redis's confirmations. Whenever a subscription may have missed messages
    (a connection came back; on a cluster also a failover or a slot moved to another shard, after
    which the slot map is read again and the topics subscribed on their new shard), the broker
    counts a reconnect and calls on_reconnect, so the server can make its clients catch up from Postgres.
    """

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        *,
        cluster: bool = False,
        on_reconnect: ReconnectHandler | None = None,
        publish_timeout: float = 1.0,
        connect_timeout: float = 2.0,
        subscribe_timeout: float = 2.0,
        ping_interval: float = 5.0,
        min_backoff: float = 0.05,
        max_backoff: float = 5.0,
        publish_connections: int = 20,
    ) -> None:
        self.prefix = prefix
        self.cluster = cluster
        # Names the subscribers in CLIENT LIST, to tell them apart from command connections.
        self.client_name = f"{prefix}subscriber:{os.getpid()}"
        # Set by the Hub this broker feeds (channels.hub.Hub), never by its users.
        self.on_message: MessageHandler | None = None
        self.on_reconnect = on_reconnect
        self.reconnects = 0
        self._redis_url = redis_url
        self._publish_timeout = publish_timeout
        # The subscribers' timing; the slot-map keeper (cluster) waits and backs off by it too.
        self._timing = Timing(connect_timeout, subscribe_timeout, ping_interval, min_backoff, max_backoff)
        self.redis: aioredis.Redis | RedisCluster
        if cluster:
            # A burst waits for a place, as below; redis-py follows MOVED and reads the slot map again after a failover.
            self.redis = BoundedRedisCluster.from_url(
                redis_url,
                max_connections=publish_connections,
                wait_timeout=publish_timeout,
                socket_connect_timeout=connect_timeout,
                socket_timeout=publish_timeout,
            )
        else:
            # No retries inside redis-py: a publish during an outage fails at once and says so.
            # At most publish_connections at once: a burst of publications waits (within publish_timeout)
            # for a connection rather than opening one each and keeping them all.
            self.redis = aioredis.Redis.from_pool(
                aioredis.BlockingConnectionPool.from_url(
                    redis_url,
                    max_connections=publish_connections,
                    timeout=publish_timeout,
                    socket_connect_timeout=connect_timeout,
                    socket_timeout=publish_timeout,
                    retry=Retry(NoBackoff(), 0),
                )
            )
        self._prefix_bytes = prefix.encode()
        self._topics: set[str] = set()
        # Subscribers by node ("host:port" on a cluster, _SINGLE otherwise), and each topic's node (cluster).
        self._shards: dict[str, Subscriber] = {}
        self._shard_of: dict[str, str] = {}
        self._lost = False
        self._publish_failing = False
        self._dirty = asyncio.Event()  # the slot map must be read again
        self._changed = asyncio.Event()  # a shard came up or went down
        self._task: asyncio.Task[None] | None = None
        self._callbacks: set[asyncio.Task[None]] = set()

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start subscribing; returns after the first connection attempt, whether or not it worked."""
        if not self.cluster:
            await self._shard(_SINGLE)
            return
        if self._task is None:
            self._task = asyncio.create_task(self._maintain(), name="broker-cluster-map")
            if not await self._read_slot_map():
                self._lost = True
                self._dirty.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for task in list(self._callbacks):
            task.cancel()
        shards, self._shards = list(self._shards.values()), {}
        for shard in shards:
            await shard.stop()
        await self.redis.aclose()

    @property
    def connected(self) -> bool:
        """True while every subscriber holding topics is up, from when Redis confirmed its subscriptions."""
        if not self.cluster:
            shard = self._shards.get(_SINGLE)
            return shard is not None and shard.connected
        return bool(self._shards) and self._all_ready()

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(self._topics)

    @property
    def shards(self) -> frozenset[str]:
        """The nodes this process keeps a subscriber connection to ("" for a single Redis)."""
        return frozenset(self._shards)

    # --- subscriptions ------------------------------------------------------------------------

    async def subscribe(self, topic: str) -> bool:
        """Listen to topic; True once Redis confirms, False if Redis is unreachable now.

        Either way the topic is remembered: it is subscribed again after every reconnect, and
        on_reconnect then tells the server that anything published meanwhile was missed.
        """
        self._topics.add(topic)
        name = self._node_of(topic) if self.cluster else _SINGLE
        if name is None:
            self._dirty.set()  # no slot map yet: subscribed when one is read
            return False
        self._shard_of[topic] = name
        shard = await self._shard(name)
        if topic not in self._topics or self._shard_of.get(topic) != name:
            return False  # left, or moved, while the shard's connection was being made
        return await shard.subscribe(self._channel(topic))

    async def unsubscribe(self, topic: str) -> None:
        self._topics.discard(topic)
        name = self._shard_of.pop(topic, None) if self.cluster else _SINGLE
        shard = self._shards.get(name) if name is not None else None
        if shard is not None:
            await shard.unsubscribe(self._channel(topic))

    # --- publishing ---------------------------------------------------------------------------

    async def publish(self, topic: str, payload: bytes) -> bool:
        """Publish payload on topic; False when Redis cannot take it, after publish_timeout at most.

        A refused Redis fails at once. This does not short-cut on the subscriber being down:
        once Redis is back, a process whose subscriber has not reconnected yet must still
        publish, or processes that already caught up from Postgres would miss its messages.
        """
        try:
            async with asyncio.timeout(self._publish_timeout):
                if self.cluster:
                    await self.redis.spublish(self._channel(topic), payload)
                else:
                    await self.redis.publish(self._channel(topic), payload)
        except UNREACHABLE as exc:
            # Once per outage, not once per message.
            (log.debug if self._publish_failing else log.warning)("publish to %s failed: %s", topic, exc)
            self._publish_failing = True
            return False
        self._publish_failing = False
        return True

    # --- internals ----------------------------------------------------------------------------

    def _channel(self, topic: str) -> bytes:
        return self._prefix_bytes + topic.encode()

    async def _shard(self, name: str) -> Subscriber:
        """The subscriber for node name, made and started (its first attempt made) if there is none."""
        shard = self._shards.get(name)
        if shard is None:
            url = self._redis_url
            if name != _SINGLE:
                host, _, port = name.rpartition(":")
                url = node_url(self._redis_url, host, int(port))
            shard = self._shards[name] = Subscriber(
                url,
                sharded=self.cluster,
                on_message=self._received,
                on_ready=self._shard_ready,
                on_lost=self._shard_lost,
                on_evicted=self._shard_evicted,
                timing=self._timing,
                client_name=self.client_name,
                name=f"redis subscriber {name}".rstrip(),
            )
        await shard.start()
        return shard

    def _received(self, channel: bytes, payload: bytes) -> None:
        topic = channel[len(self._prefix_bytes) :].decode()
        if topic in self._topics and self.on_message is not None:
            self.on_message(topic, payload)

    def _shard_ready(self, shard: Subscriber, after_loss: bool) -> None:
        if not self.cluster:
            if after_loss:
                self._reconnected()
        else:
            self._changed.set()  # the map keeper (_maintain) decides once every shard is back

    def _shard_lost(self, shard: Subscriber) -> None:
        if self.cluster:
            self._lost = True
            self._dirty.set()
            self._changed.set()

    def _shard_evicted(self, shard: Subscriber, channel: bytes) -> None:
        log.info("%s: %r moved to another shard", shard.name, channel)
        self._lost = True
        self._dirty.set()
        self._changed.set()

    def _reconnected(self) -> None:
        self.reconnects += 1
        log.info("redis subscriptions back (%d topics)", len(self._topics))
        if self.on_reconnect is not None:
            task = asyncio.create_task(self._call_on_reconnect(self.on_reconnect))
            self._callbacks.add(task)
            task.add_done_callback(self._callbacks.discard)

    async def _call_on_reconnect(self, callback: ReconnectHandler) -> None:
        try:
            await callback()
        except Exception:
            log.exception("on_reconnect callback failed")

    # --- cluster: the slot map ----------------------------------------------------------------

    def _node_of(self, topic: str) -> str | None:
        """The primary that serves topic's slot, by the slot map last read; None before there is one."""
        assert isinstance(self.redis, RedisCluster)
        try:
            node = self.redis.get_node_from_key(self.prefix + topic)
        except Exception:
            return None
        return node.name if node is not None else None

    async def _read_slot_map(self) -> bool:
        assert isinstance(self.redis, RedisCluster)
        try:
            async with asyncio.timeout(self._timing.connect_timeout * 2):
                await self.redis.initialize()
                await self.redis.nodes_manager.initialize()
        except Exception as exc:
            log.warning("redis cluster: cannot read the slot map: %s", exc)
            return False
        return True

    def _all_ready(self) -> bool:
        if any(topic not in self._shard_of for topic in self._topics):
            return False
        return all(shard.connected for shard in self._shards.values() if shard.channels)

    async def _maintain(self) -> None:
        """After a shard is lost or a channel evicted: read the slot map again, move topics to their
        shard, and once every shard holding topics is confirmed, count one reconnect."""
        failures = 0
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                if await self._read_slot_map():
                    await self._regroup()
                    async with asyncio.timeout(self._timing.subscribe_timeout):
                        while not self._all_ready() and not self._dirty.is_set():
                            self._changed.clear()
                            await self._changed.wait()
            except TimeoutError:
                pass
            except Exception:
                log.exception("redis cluster: regrouping subscriptions failed")
            if self._all_ready():
                failures = 0
                if self._lost:
                    self._lost = False
                    self._reconnected()
                continue
            failures += 1
            await self._timing.back_off(failures)
            self._dirty.set()

    async def _regroup(self) -> None:
        assert isinstance(self.redis, RedisCluster)
        moved: list[tuple[str, str]] = []
        for topic in list(self._topics):
            name = self._node_of(topic)
            if name is None:
                continue
            old = self._shard_of.get(topic)
            if old != name:
                if old is not None and old in self._shards:
                    await self._shards[old].unsubscribe(self._channel(topic))
                self._shard_of[topic] = name
                moved.append((topic, name))
            elif name not in self._shards or not self._shards[name].confirmed(self._channel(topic)):
                moved.append((topic, name))  # evicted, or never subscribed
        for _topic, name in moved:
            await self._shard(name)
        await asyncio.gather(
            *(self._shards[name].subscribe(self._channel(topic)) for topic, name in moved if topic in self._topics)
        )
        primaries = {node.name for node in self.redis.get_primaries()}
        for name, shard in list(self._shards.items()):
            if not shard.channels and name not in primaries:
                del self._shards[name]
                await shard.stop()
