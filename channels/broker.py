"""Redis pub/sub for one process: one subscriber connection for all topics, publishing, and reconnect."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import random
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], object]
ReconnectHandler = Callable[[], Awaitable[None]]


class Broker:
    """Topics are Redis channels named prefix + topic, all on one subscriber connection per process.

    The subscriber connection is owned here rather than left to redis-py's PubSub, whose own
    silent reconnects would hide the gap a reconnect leaves: when the connection drops, the
    broker retries with backoff, subscribes every current topic again, waits until Redis has
    confirmed them, counts the reconnect and calls on_reconnect, so the server can make its
    clients catch up from Postgres.
    """

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        *,
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
        # Names the subscriber in CLIENT LIST, to tell it apart from command connections.
        self.client_name = f"{prefix}subscriber:{os.getpid()}"
        # Set by the Hub this broker feeds (channels.hub.Hub), never by its users.
        self.on_message: MessageHandler | None = None
        self.on_reconnect = on_reconnect
        self.reconnects = 0
        self._publish_timeout = publish_timeout
        self._connect_timeout = connect_timeout
        self._subscribe_timeout = subscribe_timeout
        self._ping_interval = ping_interval
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        # No retries inside redis-py: a publish during an outage fails at once and says so.
        no_retry = Retry(NoBackoff(), 0)
        # At most publish_connections at once: a burst of publications waits (within publish_timeout) for a
        # connection rather than opening one each and keeping them all.
        self.redis: aioredis.Redis = aioredis.Redis.from_pool(
            aioredis.BlockingConnectionPool.from_url(
                redis_url,
                max_connections=publish_connections,
                timeout=publish_timeout,
                socket_connect_timeout=connect_timeout,
                socket_timeout=publish_timeout,
                retry=no_retry,
            )
        )
        # RESP2 so that pub/sub messages arrive as plain replies on the subscriber connection.
        self._subscriber_pool = aioredis.ConnectionPool.from_url(
            redis_url,
            protocol=2,
            socket_connect_timeout=connect_timeout,
            socket_timeout=None,
            retry=no_retry,
            client_name=self.client_name,
        )
        self._prefix_bytes = prefix.encode()
        self._topics: set[str] = set()
        self._confirmed: set[str] = set()
        # One future per SUBSCRIBE sent for a channel, resolved in order by Redis's confirmations.
        self._waiting: dict[bytes, collections.deque[asyncio.Future[bool]]] = {}
        self._conn: AbstractConnection | None = None
        self._send_lock = asyncio.Lock()
        self._ready = False
        self._lost = False
        self._failures = 0
        self._publish_failing = False
        self._first_attempt = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._callbacks: set[asyncio.Task[None]] = set()

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the subscriber; returns after the first connection attempt, whether or not it worked."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="broker-subscriber")
        await self._first_attempt.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for task in list(self._callbacks):
            task.cancel()
        self._connection_lost()
        await self.redis.aclose()
        await self._subscriber_pool.aclose()

    @property
    def connected(self) -> bool:
        """True while the subscriber connection is up, from when Redis confirmed the resubscriptions."""
        return self._ready

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(self._topics)

    # --- subscriptions ------------------------------------------------------------------------

    async def subscribe(self, topic: str) -> bool:
        """Listen to topic; True once Redis confirms, False if Redis is unreachable now.

        Either way the topic is remembered: it is subscribed again after every reconnect, and
        on_reconnect then tells the server that anything published meanwhile was missed.
        """
        self._topics.add(topic)
        if topic in self._confirmed:
            return True
        if self._conn is None:
            return False
        channel = self._channel(topic)
        future = self._loop_future()
        waiting = self._waiting.setdefault(channel, collections.deque())
        waiting.append(future)
        if not await self._send("SUBSCRIBE", channel):
            with contextlib.suppress(ValueError):
                waiting.remove(future)  # no confirmation will come for it
            return False
        try:
            async with asyncio.timeout(self._subscribe_timeout):
                return await asyncio.shield(future)
        except TimeoutError:
            return False

    async def unsubscribe(self, topic: str) -> None:
        self._topics.discard(topic)
        self._confirmed.discard(topic)
        if self._conn is not None:
            await self._send("UNSUBSCRIBE", self._channel(topic))

    # --- publishing ---------------------------------------------------------------------------

    async def publish(self, topic: str, payload: bytes) -> bool:
        """Publish payload on topic; False when Redis cannot take it, after publish_timeout at most.

        A refused Redis fails at once. This does not short-cut on the subscriber being down:
        once Redis is back, a process whose subscriber has not reconnected yet must still
        publish, or processes that already caught up from Postgres would miss its messages.
        """
        try:
            async with asyncio.timeout(self._publish_timeout):
                await self.redis.publish(self._channel(topic), payload)
        except (RedisError, OSError, TimeoutError) as exc:
            # Once per outage, not once per message.
            (log.debug if self._publish_failing else log.warning)("publish to %s failed: %s", topic, exc)
            self._publish_failing = True
            return False
        self._publish_failing = False
        return True

    # --- internals ----------------------------------------------------------------------------

    def _channel(self, topic: str) -> bytes:
        return self._prefix_bytes + topic.encode()

    async def _send(self, *args: Any) -> bool:
        conn = self._conn
        if conn is None:
            return False
        try:
            async with self._send_lock:
                if not conn.is_connected:
                    return False  # never let redis-py reconnect it behind the reader's back
                await conn.send_command(*args, check_health=False)
        except (RedisError, OSError, TimeoutError, AttributeError) as exc:
            # AttributeError: the reader disconnected the socket halfway through the send.
            log.warning("redis subscriber: %s failed: %s", args[0], exc)
            return False
        return True

    async def _run(self) -> None:
        while True:
            try:
                await self._session()
            except (RedisError, OSError, TimeoutError) as exc:
                if self._failures == 0:  # say it once per outage, not once per retry
                    log.warning("redis subscriber connection lost: %s", exc)
            except Exception:
                log.exception("redis subscriber failed")
            self._first_attempt.set()
            self._failures += 1
            delay = min(self._max_backoff, self._min_backoff * 2 ** min(self._failures - 1, 16))
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    async def _session(self) -> None:
        conn: AbstractConnection = self._subscriber_pool.make_connection()  # type: ignore[no-untyped-call]
        try:
            # The handshake after the TCP connect has no socket timeout of its own.
            async with asyncio.timeout(self._connect_timeout * 2):
                await conn.connect()  # type: ignore[no-untyped-call]
            self._conn = conn
            # Topics added from here on send their own SUBSCRIBE; the ones before are resent now.
            channels = [self._channel(topic) for topic in self._topics]
            for channel in channels:
                self._waiting.setdefault(channel, collections.deque()).append(self._loop_future())
            if channels and not await self._send("SUBSCRIBE", *channels):
                raise ConnectionError("could not resubscribe")
            # Redis answers in order, so the PONG means every SUBSCRIBE above is in effect.
            if not await self._send("PING"):
                raise ConnectionError("could not ping")
            handshake = True
            ping_outstanding = False
            while True:
                reply = await conn.read_response(timeout=self._ping_interval)
                if reply is None:
                    if ping_outstanding:
                        raise TimeoutError("no answer from redis to a ping")
                    ping_outstanding = True
                    if not await self._send("PING"):
                        raise ConnectionError("could not ping")
                    continue
                kind = self._dispatch(reply)
                if kind == b"pong":
                    ping_outstanding = False
                    if handshake:
                        handshake = False
                        self._became_ready()
        finally:
            # Marked lost before anything else can run, so no sender tries a dead Redis meanwhile.
            self._connection_lost()
            with contextlib.suppress(Exception):
                await conn.disconnect(nowait=True)

    def _loop_future(self) -> asyncio.Future[bool]:
        return asyncio.get_running_loop().create_future()

    def _dispatch(self, reply: Any) -> bytes:
        if isinstance(reply, bytes):  # a PING answered outside subscribed mode
            return b"pong" if reply.upper() == b"PONG" else b""
        kind = reply[0]
        if kind == b"message":
            channel, payload = reply[1], reply[2]
            topic = channel[len(self._prefix_bytes) :].decode()
            if topic in self._topics and self.on_message is not None:
                try:
                    self.on_message(topic, payload)
                except Exception:
                    log.exception("message handler failed for %s", topic)
        elif kind == b"subscribe":
            channel = reply[1]
            queue = self._waiting.get(channel)
            if queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(True)
                if not queue:
                    del self._waiting[channel]
                    topic = channel[len(self._prefix_bytes) :].decode()
                    if topic in self._topics:
                        self._confirmed.add(topic)
        return bytes(kind)

    def _became_ready(self) -> None:
        self._ready = True
        self._failures = 0
        self._first_attempt.set()
        if self._lost:
            self._lost = False
            self.reconnects += 1
            log.info("redis subscriber reconnected (%d topics)", len(self._topics))
            if self.on_reconnect is not None:
                task = asyncio.create_task(self._call_on_reconnect(self.on_reconnect))
                self._callbacks.add(task)
                task.add_done_callback(self._callbacks.discard)

    async def _call_on_reconnect(self, callback: ReconnectHandler) -> None:
        try:
            await callback()
        except Exception:
            log.exception("on_reconnect callback failed")

    def _connection_lost(self) -> None:
        self._conn = None
        self._ready = False
        self._lost = True
        self._confirmed.clear()
        for queue in self._waiting.values():
            for future in queue:
                if not future.done():
                    future.set_result(False)
        self._waiting.clear()
